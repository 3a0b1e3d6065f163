"""How to ask arXiv: the `arxiv` package's public types over our transport, gate and retries.

The `arxiv` package splits a lookup into what to ask (`arxiv.Search`), how to ask
(`arxiv.Client`) and what came back (`arxiv.Result`). We keep that split and its public API:

* what to ask is an `arxiv.Search` (`query` or `id_list`, `max_results`, sort);
* the endpoint and the politeness knobs are an `arxiv.Client`'s public configuration:
  `query_url_format` (set from `ARXIV_API_URL`), `delay_seconds` (`ARXIV_MIN_INTERVAL`),
  `num_retries` and `page_size`;
* what comes back is `arxiv.Result`s, built with the package's public constructors
  (`Result`, `Result.Author`, `Result.Link`).

The one thing we do not use is `arxiv.Client.results()`, the fetching itself: it sends through
`requests` without a timeout, keeps its delay per client instance (arXiv's limit is per
machine — threads and workers must queue at one door), retries only connection errors, HTTP
errors and empty pages without backoff or `Retry-After`, cannot POST a long `id_list` (arXiv
answers 414 to long GETs), and ends silently on an empty first page, which reads exactly like
"no such paper". So every request here

* passes the process-wide gate (one request in flight, `delay_seconds` between starts; the
  flow adds a fleet-wide gate) and goes through one httpx connection with timeouts and a
  descriptive User-Agent (`enrich.net.http`), as POST when the URL would be long;
* is retried under the shared policy (`enrich.net.retry`) on 5xx/429 (honouring
  `Retry-After`), timeouts, resets, truncated or malformed XML and on empty feeds: a feed that
  claims results but has none, or answers a query known to match, is retried, and a plainly
  empty answer is asked again before it is believed;
* is parsed once, by a hardened lxml parser that refuses DTDs and entity declarations
  (`BadResponseError`), into `arxiv.Result`s.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

import arxiv
import httpx
from lxml import etree

from enrich.errors import BadResponseError
from enrich.net.gate import Gate, process_gate
from enrich.net.http import TransientError, exchange, make_client, public_url, retry_after_seconds
from enrich.net.retry import RetryPolicy, RetryStats, call_with_retries
from enrich.resolve.model import ArxivPaper
from enrich.settings import Settings
from enrich.text.identifiers import id_from_entry_url
from enrich.text.normalise import collapse_ws

log = logging.getLogger(__name__)

SERVICE = "arXiv"
# arXiv answers 414 for GET URLs of several thousand characters; above this length the same
# parameters go as a form body, so batches are bounded by arXiv's per-query work, not the URL.
MAX_GET_URL = 2000
_NS = {
    "atom": "http://www.w3.org/2005/Atom",
    "arxiv": "http://arxiv.org/schemas/atom",
    "opensearch": "http://a9.com/-/spec/opensearch/1.1/",
}
_ATOM = "{http://www.w3.org/2005/Atom}"
# arXiv sometimes answers a query that has matches with an empty feed. A query that may truly
# match nothing is asked this many more times before its empty answer is believed; a query known
# to match something (`nonempty`) is retried on every empty answer instead.
CONFIRM_EMPTY = 1
# arXiv never declares entities; a feed that does is an entity-expansion or XXE attempt.
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.IGNORECASE)


@dataclass(frozen=True)
class ResultPage:
    """What came back for one `arxiv.Search`: the results, and how many the query matched."""

    results: tuple[arxiv.Result, ...]
    total_results: int


@dataclass(frozen=True)
class FeedPage:
    """Today's metadata of the papers found, and how many the query matched."""

    papers: tuple[ArxivPaper, ...]
    total_results: int


@dataclass
class ArxivStats:
    """Counters for the run summary."""

    requests: int = 0
    gate_wait: float = 0.0
    retry: RetryStats = field(default_factory=RetryStats)
    outcomes: dict[str, int] = field(default_factory=dict)

    def count(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1


class ArxivClient:
    """Search arXiv and fetch papers by ID, politely and stubbornly."""

    def __init__(self, *, api_url: str, http: httpx.Client, gate: Gate,
                 min_interval: float, max_attempts: int = 6, retry_budget: float = 120.0,
                 backoff: float | None = None, confirm_empty: int = CONFIRM_EMPTY,
                 deadline: float | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.time) -> None:
        # The package's own configuration object: endpoint and politeness knobs.
        self.config = arxiv.Client(delay_seconds=min_interval, num_retries=max_attempts - 1)
        self.config.query_url_format = api_url + "?{}"
        self.api_url = api_url
        self._http = http
        self._gate = gate
        # Backing off less than the interval would only queue at the gate.
        self._policy = RetryPolicy(max_attempts=max_attempts, budget=retry_budget,
                                   backoff=backoff if backoff is not None
                                   else max(min_interval, 0.05))
        self._confirm_empty = confirm_empty
        self._deadline = deadline
        self._sleep = sleep
        self._clock = clock
        self.stats = ArxivStats()

    @classmethod
    def from_settings(cls, settings: Settings, *, gate: Gate | None = None,
                      transport: httpx.BaseTransport | None = None) -> ArxivClient:
        """A client for the configured endpoint; one connection, the process-wide gate."""
        http = make_client(user_agent=settings.user_agent, timeout=settings.arxiv_timeout,
                           max_connections=1, transport=transport,
                           headers={"Accept": "application/atom+xml"})
        return cls(api_url=settings.arxiv_api_url, http=http,
                   gate=gate or process_gate("arxiv", settings.arxiv_min_interval),
                   min_interval=settings.arxiv_min_interval,
                   max_attempts=settings.arxiv_max_attempts,
                   retry_budget=settings.arxiv_retry_budget,
                   deadline=settings.arxiv_deadline)

    def close(self) -> None:
        self._http.close()

    # -- what callers use ------------------------------------------------------------------

    def search(self, query: str, *, max_results: int, nonempty: bool = False) -> FeedPage:
        """Papers matching `query` (arXiv query syntax), at most `max_results` of them.

        `nonempty`: the query is known to match a paper, so an empty answer is arXiv's
        transient fault, never "no such paper", and is asked again.
        """
        search = arxiv.Search(query=query, max_results=max_results)
        return _papers(self.results(search, nonempty=nonempty))

    def by_ids(self, ids: Sequence[str]) -> FeedPage:
        """Today's metadata for these identifiers; unknown ones are simply absent."""
        if not ids:
            return FeedPage(papers=(), total_results=0)
        return _papers(self.results(arxiv.Search(id_list=list(ids), max_results=len(ids))))

    def results(self, search: arxiv.Search, *, nonempty: bool = False) -> ResultPage:
        """The `arxiv.Result`s of a search, in one request (at most `max_results`, ≤ 2000)."""
        url = self.url_for(search)
        empties = 0

        def attempt() -> ResultPage:
            nonlocal empties
            page = self._parse(self._request(url))
            if not page.results:
                if page.total_results > 0 or nonempty:
                    self.stats.count("empty-inconsistent")
                    raise TransientError("an empty answer to a query that matches papers")
                if empties < self._confirm_empty:
                    empties += 1
                    self.stats.count("empty-unconfirmed")
                    raise TransientError("an empty feed; asking again before believing it")
            return page

        return call_with_retries(attempt, policy=self._policy, service=SERVICE, url=url,
                                 stats=self.stats.retry, sleep=self._sleep, clock=self._clock)

    def url_for(self, search: arxiv.Search) -> str:
        """The query URL of a search: the package's `query_url_format` with the API's
        documented parameters, all results on one page."""
        size = search.max_results if search.max_results is not None else self.config.page_size
        params = {"search_query": search.query, "id_list": ",".join(search.id_list),
                  "sortBy": search.sort_by.value, "sortOrder": search.sort_order.value,
                  "start": "0", "max_results": str(size)}
        return str(self.config.query_url_format.format(urlencode(params)))

    # -- how we ask ------------------------------------------------------------------------

    def _request(self, url: str) -> bytes:
        method, target, body = "GET", url, None
        if len(url) > MAX_GET_URL:
            # Long id_lists and batches: arXiv accepts the same parameters as a form body.
            method, target, body = "POST", self.api_url, urlsplit(url).query.encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded"} if body else {}
        self.stats.requests += 1
        try:
            reply = exchange(self._http, method, target, service=SERVICE, headers=headers,
                             content=body, gate=self._gate, total=self._deadline)
        except TransientError as exc:
            self.stats.count(exc.kind)
            raise
        self.stats.gate_wait += reply.gate_wait
        status = reply.status
        self.stats.count(str(status))
        if status in (429, 500, 502, 503, 504):
            raise TransientError(f"HTTP {status}", status=status,
                                 wait=retry_after_seconds(reply.headers, now=self._clock()))
        if status != 200:
            raise BadResponseError("unexpected answer", service=SERVICE, url=public_url(url),
                                   status=status)
        content_type = reply.headers.get("content-type", "")
        if "xml" not in content_type.lower():
            raise TransientError(f"expected Atom XML, got {content_type or 'no content type'!r}",
                                 status=status)
        return reply.body

    def _parse(self, body: bytes) -> ResultPage:
        if _ENTITY_DECL.search(body):
            # Checked before parsing: libxml2 stops a billion-laughs document with a syntax
            # error ("entity amplification"), which would otherwise pass for a truncated
            # answer and be fetched again.
            raise BadResponseError("refusing an XML answer that declares entities (DTD)",
                                   service=SERVICE)
        parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False,
                                 load_dtd=False, recover=False)
        try:
            root = etree.fromstring(body, parser=parser)
        except etree.XMLSyntaxError as exc:
            raise TransientError(f"malformed or truncated XML ({exc.msg})") from exc
        if root.getroottree().docinfo.doctype:
            # arXiv never sends a DTD; entity tricks (billion laughs, XXE) are refused unread.
            raise BadResponseError("refusing an XML answer with a DTD", service=SERVICE)
        if root.tag != f"{_ATOM}feed":
            raise TransientError(f"not an Atom feed (root {root.tag!r})")
        results = []
        for entry in root.iterfind("atom:entry", _NS):
            if (_text(entry, "atom:title") or "").strip() == "Error":
                message = collapse_ws(_text(entry, "atom:summary") or "")
                raise BadResponseError(f"arXiv rejected the query: {message}", service=SERVICE)
            results.append(_result(entry))
        total = _text(root, "opensearch:totalResults")
        return ResultPage(results=tuple(results),
                          total_results=int(total) if total and total.strip().isdigit() else 0)


def _text(element: Any, path: str) -> str | None:
    found = element.find(path, _NS)
    return None if found is None else found.text


def _when(element: Any, path: str) -> dt.datetime:
    text = (_text(element, path) or "").strip()
    if not text:
        raise TransientError(f"an entry without <{path.split(':')[1]}>")
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise BadResponseError(f"unreadable entry in the feed (date {text[:40]!r})",
                               service=SERVICE) from exc
    return (when if when.tzinfo else when.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


def _result(entry: Any) -> arxiv.Result:
    """One Atom `<entry>` as the package's `arxiv.Result`."""
    entry_id = _text(entry, "atom:id")
    if not entry_id:
        raise TransientError("an entry without <id>")
    primary = entry.find("arxiv:primary_category", _NS)
    return arxiv.Result(
        entry_id=entry_id,
        updated=_when(entry, "atom:updated"),
        published=_when(entry, "atom:published"),
        title=_text(entry, "atom:title") or "",
        authors=[arxiv.Result.Author(_text(a, "atom:name") or "")
                 for a in entry.iterfind("atom:author", _NS)],
        summary=_text(entry, "atom:summary") or "",
        comment=_text(entry, "arxiv:comment"),
        journal_ref=_text(entry, "arxiv:journal_ref"),
        doi=_text(entry, "arxiv:doi"),
        primary_category=(primary.get("term") if primary is not None else None) or "",
        categories=[t for c in entry.iterfind("atom:category", _NS)
                    if (t := c.get("term")) is not None],
        links=[arxiv.Result.Link(href, title=link.get("title"), rel=link.get("rel") or "",
                                 content_type=link.get("type"))
               for link in entry.iterfind("atom:link", _NS)
               if (href := link.get("href")) is not None],
    )


def _papers(page: ResultPage) -> FeedPage:
    try:
        papers = tuple(paper_from_result(r) for r in page.results)
    except ValueError as exc:
        # An entry whose id or fields cannot be read: a bad answer, not a crash of the run.
        raise BadResponseError(f"unreadable entry in the feed ({exc})",
                               service=SERVICE) from exc
    return FeedPage(papers=papers, total_results=page.total_results)


def paper_from_result(result: arxiv.Result) -> ArxivPaper:
    """Our record of an `arxiv.Result` (whitespace collapsed, empty fields as None)."""
    arxiv_id, version = id_from_entry_url(result.entry_id)
    return ArxivPaper(
        arxiv_id=arxiv_id, version=version, title=collapse_ws(result.title),
        authors=tuple(collapse_ws(a.name) for a in result.authors),
        abstract=collapse_ws(result.summary), published=result.published,
        updated=result.updated, primary_category=result.primary_category or None,
        categories=tuple(result.categories), doi=_clean(result.doi),
        journal_ref=_clean(result.journal_ref), comment=_clean(result.comment),
        withdrawn=withdrawn(result.comment or "", result.summary),
    )


_WITHDRAWN = re.compile(
    r"\b(?:this|the) (?:paper|article|submission|manuscript|work) (?:has been|is|was|were) "
    r"withdrawn|\bwithdrawn by (?:the )?(?:authors?|arxiv)|^\s*withdrawn\b", re.IGNORECASE)


def withdrawn(comment: str, abstract: str) -> bool:
    """Whether arXiv's comment or abstract of the latest version says it is withdrawn."""
    return bool(_WITHDRAWN.search(comment) or _WITHDRAWN.search(abstract[:300]))


def _clean(value: str | None) -> str | None:
    return collapse_ws(value) or None if value else None

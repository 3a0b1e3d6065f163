"""How to ask arXiv: the `arxiv` package's client, behind our gate, retries and checks.

The `arxiv` package builds the request URL (`Search`, `Client._format_url`) and turns Atom
entries into `arxiv.Result`s. We replace the one hook where it fetches (`Client._parse_feed`)
so that every request

* passes the process-wide gate (one request in flight, `ARXIV_MIN_INTERVAL` between starts),
* goes through one httpx client (one connection, timeouts, a descriptive User-Agent), as POST
  when the URL would be long enough to risk 414,
* is retried with backoff on 5xx/429 (honouring Retry-After), timeouts, resets, truncated or
  malformed XML, and on *empty feeds* — bounded by attempts and total time. The package would
  end silently on an empty first page, which reads exactly like "no such paper"; here a feed
  that claims results but has none is retried, and a plainly empty answer is asked again once
  before it is believed,
* and refuses hostile answers (DTDs/entities, oversized bodies) with `BadResponseError`.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import arxiv
import httpx
import tenacity
from arxiv import _feed
from lxml import etree

from enrich.errors import BadResponseError, ServiceUnavailableError
from enrich.net.gate import Gate, process_gate
from enrich.net.http import make_client, public_url, read_bounded, retry_after_seconds
from enrich.resolve.model import ArxivPaper
from enrich.settings import Settings
from enrich.text.identifiers import id_from_entry_url
from enrich.text.normalise import collapse_ws

log = logging.getLogger(__name__)

SERVICE = "arXiv"
_ATOM = "{http://www.w3.org/2005/Atom}"
_MAX_GET_URL = 2000
# Unreachable (DNS, refused) gives up sooner than a service answering errors: with no network
# the run must end quickly and say so.
_UNREACHABLE_ATTEMPTS = 3
# Error pages (503 HTML, 429 text) are read up to this size so the connection stays usable.
_MAX_ERROR_BODY = 64 * 1024
# arXiv never declares entities; a feed that does is an entity-expansion or XXE attempt.
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.IGNORECASE)


@dataclass(frozen=True)
class FeedPage:
    """What came back: today's metadata of the papers, and how many the query matched."""

    papers: tuple[ArxivPaper, ...]
    total_results: int


@dataclass
class ArxivStats:
    """Counters for the run summary."""

    requests: int = 0
    retries: int = 0
    retry_wait: float = 0.0
    outcomes: dict[str, int] = field(default_factory=dict)

    def count(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1


class _TransientError(Exception):
    """A failure worth another attempt."""

    def __init__(self, reason: str, *, status: int | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retry_after = retry_after


class _UnreachableError(_TransientError):
    """The service cannot be reached at all (DNS, refused connection)."""


class _PackageClient(arxiv.Client):  # type: ignore[misc]  # the package ships no types
    """`arxiv.Client` whose fetching goes through `ArxivClient` instead of `requests`."""

    def __init__(self, fetch: Callable[[str, bool], _feed.ParsedFeed], api_url: str,
                 page_size: int) -> None:
        super().__init__(page_size=page_size, delay_seconds=0.0, num_retries=0)
        self.query_url_format = api_url + "?{}"
        self._fetch = fetch
        self.total_results = 0

    def _parse_feed(self, url: str, first_page: bool = True,
                    _try_index: int = 0) -> _feed.ParsedFeed:
        feed = self._fetch(url, first_page)
        if first_page:
            self.total_results = feed.header.total_results
        return feed


class ArxivClient:
    """Search arXiv and fetch papers by ID, politely and stubbornly."""

    def __init__(self, *, api_url: str, http: httpx.Client, gate: Gate, min_interval: float,
                 max_attempts: int = 6, retry_budget: float = 120.0, confirm_empty: int = 1,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.api_url = api_url
        self._http = http
        self._gate = gate
        self._backoff = max(min_interval, 0.05)
        self._max_attempts = max_attempts
        self._retry_budget = retry_budget
        self._confirm_empty = confirm_empty
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
                   retry_budget=settings.arxiv_retry_budget)

    def close(self) -> None:
        self._http.close()

    # -- what callers use ------------------------------------------------------------------

    def search(self, query: str, *, max_results: int) -> FeedPage:
        """Papers matching `query` (arXiv query syntax), at most `max_results` of them."""
        return self._run(arxiv.Search(query=query, max_results=max_results), max_results)

    def by_ids(self, ids: Sequence[str]) -> FeedPage:
        """Today's metadata for these identifiers; unknown ones are simply absent."""
        if not ids:
            return FeedPage(papers=(), total_results=0)
        return self._run(arxiv.Search(id_list=list(ids), max_results=len(ids)), len(ids))

    # -- how we ask ------------------------------------------------------------------------

    def _run(self, search: arxiv.Search, max_results: int) -> FeedPage:
        client = _PackageClient(self._fetch, self.api_url, page_size=max_results)
        try:
            papers = tuple(_paper(r) for r in client.results(search))
        except ValueError as exc:
            # An entry whose id, dates or fields cannot be read (the package's date parsing
            # and our records raise ValueError): a bad answer, not a crash of the whole run.
            raise BadResponseError(f"unreadable entry in the feed ({exc})",
                                   service=SERVICE, url=self.api_url) from exc
        return FeedPage(papers=papers, total_results=client.total_results)

    def _fetch(self, url: str, first_page: bool) -> _feed.ParsedFeed:
        empties = 0

        def attempt() -> _feed.ParsedFeed:
            nonlocal empties
            feed = self._parse(self._request(url))
            if not feed.results:
                if feed.header.total_results > 0 or not first_page:
                    self.stats.count("empty-inconsistent")
                    raise _TransientError("an empty page although the feed reports results")
                if empties < self._confirm_empty:
                    empties += 1
                    self.stats.count("empty-unconfirmed")
                    raise _TransientError("an empty feed; asking again before believing it")
            return feed

        return self._retrying(attempt, url)

    def _retrying(self, attempt: Callable[[], _feed.ParsedFeed], url: str) -> _feed.ParsedFeed:
        started = self._clock()

        def wait(state: tenacity.RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, _TransientError) and exc.retry_after is not None:
                return exc.retry_after
            return float(self._backoff * 2 ** (state.attempt_number - 1))

        def stop(state: tenacity.RetryCallState) -> bool:
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, _UnreachableError) and state.attempt_number >= _UNREACHABLE_ATTEMPTS:
                return True
            if state.attempt_number >= self._max_attempts:
                return True
            return self._clock() - started + wait(state) > self._retry_budget

        def before_sleep(state: tenacity.RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            delay = state.upcoming_sleep
            self.stats.retries += 1
            self.stats.retry_wait += delay
            log.info("arXiv: %s; retrying in %.1f s (attempt %d)", exc, delay,
                     state.attempt_number + 1)

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(_TransientError), stop=stop, wait=wait,
            sleep=self._sleep, before_sleep=before_sleep, reraise=True,
        )
        try:
            return retrying(attempt)
        except _TransientError as exc:
            attempts = retrying.statistics.get("attempt_number", 1)
            kind = "unreachable" if isinstance(exc, _UnreachableError) else "unavailable"
            raise ServiceUnavailableError(f"{kind}: {exc.reason}", service=SERVICE,
                                          url=public_url(url), status=exc.status,
                                          attempts=attempts) from exc

    def _request(self, url: str) -> bytes:
        method, target, body = "GET", url, None
        if len(url) > _MAX_GET_URL:
            # Long id_lists and batches: arXiv accepts the same parameters as a form body.
            method, target, body = "POST", self.api_url, urlsplit(url).query.encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded"} if body else {}
        payload, content_type, retry_after = b"", "", None
        with self._gate.slot():
            self.stats.requests += 1
            try:
                with self._http.stream(method, target, content=body, headers=headers) as resp:
                    status = resp.status_code
                    if status == 200:
                        payload = read_bounded(resp, service=SERVICE)
                        content_type = resp.headers.get("content-type", "")
                    else:
                        retry_after = retry_after_seconds(resp.headers)
                        _drain(resp)
            except httpx.ConnectError as exc:
                self.stats.count("unreachable")
                raise _UnreachableError(f"cannot connect ({type(exc).__name__})") from exc
            except httpx.TimeoutException as exc:
                self.stats.count("timeout")
                raise _TransientError(f"timed out ({type(exc).__name__})") from exc
            except httpx.TransportError as exc:
                self.stats.count("transport")
                raise _TransientError(f"connection failed ({type(exc).__name__})") from exc
        self.stats.count(str(status))
        if status in (429, 500, 502, 503, 504):
            raise _TransientError(f"HTTP {status}", status=status, retry_after=retry_after)
        if status != 200:
            raise BadResponseError("unexpected answer", service=SERVICE, url=public_url(url),
                                   status=status)
        if "xml" not in content_type.lower():
            raise _TransientError(f"expected Atom XML, got {content_type or 'no content type'!r}",
                             status=status)
        return payload

    def _parse(self, body: bytes) -> _feed.ParsedFeed:
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
            raise _TransientError(f"malformed or truncated XML ({exc.msg})") from exc
        if root.getroottree().docinfo.doctype:
            # arXiv never sends a DTD; entity tricks (billion laughs, XXE) are refused unread.
            raise BadResponseError("refusing an XML answer with a DTD", service=SERVICE)
        if root.tag != f"{_ATOM}feed":
            raise _TransientError(f"not an Atom feed (root {root.tag!r})")
        entries = root.findall(f"{_ATOM}entry")
        for entry in entries:
            if (entry.findtext(f"{_ATOM}title") or "").strip() == "Error":
                message = collapse_ws(entry.findtext(f"{_ATOM}summary") or "")
                raise BadResponseError(f"arXiv rejected the query: {message}", service=SERVICE)
        feed = _feed.parse(body)
        if len(feed.results) != len(entries):
            raise _TransientError("entries without required fields")
        return feed


def _drain(response: httpx.Response) -> None:
    """Read a small error body so the connection can be reused (arXiv asks for one connection,
    not a new one per retry); a large or broken one is dropped with the connection."""
    with contextlib.suppress(BadResponseError, httpx.TransportError):
        read_bounded(response, service=SERVICE, limit=_MAX_ERROR_BODY)


def _paper(result: arxiv.Result) -> ArxivPaper:
    arxiv_id, version = id_from_entry_url(result.entry_id)
    return ArxivPaper(
        arxiv_id=arxiv_id, version=version, title=collapse_ws(result.title),
        authors=tuple(collapse_ws(a.name) for a in result.authors),
        abstract=collapse_ws(result.summary), published=result.published,
        updated=result.updated, primary_category=result.primary_category or None,
        categories=tuple(result.categories), doi=_clean(result.doi),
        journal_ref=_clean(result.journal_ref), comment=_clean(result.comment),
    )


def _clean(value: str | None) -> str | None:
    return collapse_ws(value) or None if value else None

"""How to ask dblp for a paper's venue: `GET /search/publ/api?q=…&format=json&h=N`.

dblp's JSON has quirks this client absorbs before anything else sees an answer:

* `result.hits.hit` is absent when nothing matched (not an empty list);
* `info.authors.author` is an object when the paper has one author, a list otherwise, and each
  author is `{"@pid": …, "text": "Wei Liu 0001"}` — homonyms carry a four-digit number, which is
  dropped here (it is dblp's, not the person's name);
* titles end with "." (dropped here), `venue` may be a string or a list, `year` is a string;
* arXiv copies are records too: venue `CoRR`, type "Informal and Other Publications", keys
  `journals/corr/abs-…` (kept here, refused by `enrich.published.venues`).

Query words prefix-match and are ANDed. dblp answers 429 with `Retry-After` when pushed; this
client waits as asked within its policy, one request at a time through its process gate.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import httpx

from enrich.errors import BadResponseError
from enrich.net.gate import Gate, process_gate
from enrich.net.http import public_url
from enrich.net.service import JsonReply, JsonService, ServiceClient
from enrich.published.model import DblpHit
from enrich.settings import Settings

SERVICE = "dblp"
HITS = 20
BODY_LIMIT = 8 << 20
BACKOFF = 2.0
_HOMONYM = re.compile(r"\s+\d{4}$")
_KEY = re.compile(r"^[a-z]+/[A-Za-z0-9_./-]{1,200}$")
_DOI = re.compile(r"^10\.\d{4,9}/\S{1,300}$")
_YEAR = re.compile(r"^\d{4}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_MAX_TEXT = 2000


class DblpClient(ServiceClient):
    """Search dblp's publications, politely."""

    @classmethod
    def from_settings(cls, settings: Settings, transport: httpx.BaseTransport | None = None,
                      *, gate: Gate | None = None, sleep: Callable[[float], None] = time.sleep,
                      clock: Callable[[], float] = time.time) -> DblpClient:
        return cls(JsonService.connect(
            SERVICE, base_url=settings.dblp_api_url, user_agent=settings.user_agent,
            timeout=settings.dblp_timeout, headers={},
            max_attempts=settings.dblp_max_attempts, budget=settings.dblp_retry_budget,
            backoff=BACKOFF, gate=gate or process_gate("dblp", settings.dblp_min_interval),
            deadline=settings.dblp_deadline, max_wait=60.0, transport=transport,
            sleep=sleep, clock=clock))

    def search(self, query: str, *, hits: int = HITS) -> tuple[tuple[DblpHit, ...], JsonReply]:
        """Publications matching `query` (at most `hits`), and the answer they came in.

        Hits that cannot be read (no key or title) are skipped; an answer whose structure is
        not dblp's raises `BadResponseError`.
        """
        url = "/search/publ/api?" + urlencode({"q": query, "format": "json", "h": str(hits)})
        reply = self._service.request("GET", url, expected=(200,), limit=BODY_LIMIT)
        return parse_hits(reply.data, url=public_url(reply.url)), reply


def parse_hits(data: Any, *, url: str = "") -> tuple[DblpHit, ...]:
    """dblp's search answer as hits (see the module docstring for the quirks)."""
    result = data.get("result") if isinstance(data, dict) else None
    hits = result.get("hits") if isinstance(result, dict) else None
    if not isinstance(hits, dict):
        raise BadResponseError("not a dblp search answer (no result.hits)", service=SERVICE,
                               url=url, status=200)
    found = hits.get("hit", [])
    if isinstance(found, dict):
        found = [found]
    if not isinstance(found, list):
        raise BadResponseError("result.hits.hit is neither a list nor an object",
                               service=SERVICE, url=url, status=200)
    parsed = []
    for item in found:
        hit = _hit(item.get("info") if isinstance(item, dict) else None)
        if hit is not None:
            parsed.append(hit)
    return tuple(parsed)


def _hit(info: Any) -> DblpHit | None:
    if not isinstance(info, dict):
        return None
    key, title = _str(info.get("key")), _str(info.get("title"))
    if key is None or title is None or not _KEY.match(key):
        return None
    authors = info.get("authors", {})
    listed = authors.get("author", []) if isinstance(authors, dict) else []
    if isinstance(listed, dict | str):
        listed = [listed]
    names = []
    for author in listed if isinstance(listed, list) else []:
        name = _str(author.get("text")) if isinstance(author, dict) else _str(author)
        if name:
            names.append(_HOMONYM.sub("", name))
    venue = info.get("venue")
    if isinstance(venue, list):
        venue = next((v for v in venue if isinstance(v, str)), None)
    year = _str(info.get("year"))
    doi = _str(info.get("doi"))
    return DblpHit(key=key, title=title.rstrip(". ").strip() or title, authors=tuple(names),
                   venue=_str(venue), year=int(year) if year and _YEAR.match(year) else None,
                   type=_str(info.get("type")),
                   doi=doi if doi and _DOI.match(doi) else None,
                   volume=_str(info.get("volume")), pages=_str(info.get("pages")))


def _str(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    text = " ".join(_CONTROL.sub(" ", value).split())[:_MAX_TEXT]
    return text or None

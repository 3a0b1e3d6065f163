"""How to ask Semantic Scholar for published versions: `POST /paper/batch`, 500 IDs a request.

`POST {S2_API_URL}/paper/batch?fields=…` with `{"ids": ["ARXIV:2408.03230", …]}` answers an
array aligned with the ids: a paper object (only the fields asked, plus `paperId`) or `null`
for an ID S2 does not know. The answer is validated as a whole (an array of the right length)
and item by item (strict types, dates, DOI and dblp-key shapes); an item we cannot read
becomes an `error` record for that paper alone, to be asked again.

Limits: with a key (`S2_API_KEY`, sent as `x-api-key` to `S2_API_URL` only) one request per
second; keyless requests share a pool and get 429s at random — both retried under this
client's policy (backoff, `Retry-After` when given) by `enrich.net.service`.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Sequence

import httpx
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError

from enrich.errors import BadResponseError
from enrich.net.gate import Gate, process_gate
from enrich.net.http import public_url
from enrich.net.service import JsonService, ServiceClient
from enrich.published.model import S2Paper, S2Record
from enrich.settings import Settings
from enrich.text.identifiers import base_id

SERVICE = "Semantic Scholar"
BATCH = 500  # S2's limit of IDs per batch request
FIELDS = ("title,authors,venue,publicationVenue,year,publicationDate,journal,externalIds,"
          "citationCount,publicationTypes")
BODY_LIMIT = 16 << 20
BACKOFF = 2.0
_TEXT = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]{0,2000}$"
_SHORT_TEXT = r"^[^\x00-\x1f\x7f{}\\]{0,100}$"
_DATE = r"^\d{4}-\d{2}-\d{2}$"
_DOI = r"^10\.\d{4,9}/\S{1,300}$"
_DBLP_KEY = r"^[a-z]+/[A-Za-z0-9_./-]{1,200}$"


class _Author(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: StrictStr | None = Field(default=None, pattern=_TEXT)


class _Venue(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: StrictStr | None = Field(default=None, pattern=_TEXT)
    type: StrictStr | None = Field(default=None, pattern=_SHORT_TEXT)
    alternate_names: list[StrictStr] | None = None


class _Journal(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: StrictStr | None = Field(default=None, pattern=_TEXT)
    volume: StrictStr | None = Field(default=None, pattern=_SHORT_TEXT)
    pages: StrictStr | None = Field(default=None, pattern=_SHORT_TEXT)


class _ExternalIds(BaseModel):
    model_config = ConfigDict(extra="ignore")
    ArXiv: StrictStr | None = None
    DOI: StrictStr | None = Field(default=None, pattern=_DOI)
    DBLP: StrictStr | None = Field(default=None, pattern=_DBLP_KEY)


class _PaperDoc(BaseModel):
    """One item of the batch answer; wrong types are refused, not coerced."""

    model_config = ConfigDict(extra="ignore")
    paperId: StrictStr = Field(pattern=r"^[A-Za-z0-9]{1,64}$")  # noqa: N815
    title: StrictStr | None = Field(default=None, pattern=_TEXT)
    authors: list[_Author] | None = None
    venue: StrictStr | None = Field(default=None, pattern=_TEXT)
    publicationVenue: _Venue | None = None  # noqa: N815
    year: StrictInt | None = Field(default=None, ge=1800, le=2200)
    publicationDate: StrictStr | None = Field(default=None, pattern=_DATE)  # noqa: N815
    journal: _Journal | None = None
    externalIds: _ExternalIds | None = None  # noqa: N815
    citationCount: StrictInt | None = Field(default=None, ge=0)  # noqa: N815
    publicationTypes: list[StrictStr] | None = None  # noqa: N815

    def paper(self) -> S2Paper:
        venue = self.publicationVenue
        journal = self.journal
        ids = self.externalIds
        return S2Paper(
            paper_id=self.paperId, title=" ".join((self.title or "").split()),
            authors=tuple(" ".join(a.name.split()) for a in self.authors or () if a.name),
            venue=_text(self.venue), venue_name=_text(venue.name) if venue else None,
            venue_type=_text(venue.type) if venue else None,
            venue_alternates=tuple(n for n in (venue.alternate_names or ()) if len(n) <= 100)
            if venue else (),
            year=self.year, publication_date=_date(self.publicationDate),
            journal_name=_text(journal.name) if journal else None,
            journal_volume=_text(journal.volume) if journal else None,
            journal_pages=_text(journal.pages) if journal else None,
            publication_types=tuple(self.publicationTypes or ()),
            arxiv_id=base_id(ids.ArXiv) if ids and ids.ArXiv else None,
            doi=ids.DOI if ids else None, dblp_key=ids.DBLP if ids else None,
            citation_count=self.citationCount)


class SemanticScholarClient(ServiceClient):
    """Read Semantic Scholar's records of arXiv papers, up to 500 per request."""

    @classmethod
    def from_settings(cls, settings: Settings, transport: httpx.BaseTransport | None = None,
                      *, gate: Gate | None = None, sleep: Callable[[float], None] = time.sleep,
                      clock: Callable[[], float] = time.time) -> SemanticScholarClient:
        key = settings.s2_api_key_value
        return cls(JsonService.connect(
            SERVICE, base_url=settings.s2_api_url, user_agent=settings.user_agent,
            timeout=settings.s2_timeout, headers={"x-api-key": key} if key else {},
            max_attempts=settings.s2_max_attempts, budget=settings.s2_retry_budget,
            backoff=BACKOFF,
            gate=gate or process_gate("semantic-scholar", settings.s2_min_interval),
            deadline=settings.s2_deadline, max_wait=60.0, secrets=(key or "",),
            transport=transport, sleep=sleep, clock=clock))

    def papers(self, arxiv_ids: Sequence[str]) -> list[S2Record]:
        """S2's records of up to 500 arXiv papers in one request, aligned with the IDs.

        Raises like `JsonService.request`, and `BadResponseError` when the answer as a whole
        cannot be read (not an array, or not one item per ID).
        """
        if len(arxiv_ids) > BATCH:
            raise ValueError(f"at most {BATCH} IDs per Semantic Scholar batch")
        wanted = []
        for arxiv_id in arxiv_ids:
            bare = base_id(arxiv_id)
            if bare is None:
                raise ValueError(f"not an arXiv identifier: {arxiv_id!r}")
            wanted.append(bare)
        if not wanted:
            return []
        body = json.dumps({"ids": [f"ARXIV:{i}" for i in wanted]}).encode()
        reply = self._service.request(
            "POST", f"/paper/batch?fields={FIELDS}", expected=(200,), content=body,
            headers={"Content-Type": "application/json"}, limit=BODY_LIMIT)
        items = reply.data
        if not isinstance(items, list) or len(items) != len(wanted):
            raise BadResponseError(
                f"expected an array of {len(wanted)} items, got "
                f"{len(items) if isinstance(items, list) else type(items).__name__}",
                service=SERVICE, url=public_url(reply.url), status=reply.status)
        records = []
        for arxiv_id, item in zip(wanted, items, strict=True):
            if item is None:
                records.append(S2Record(arxiv_id=arxiv_id, outcome="absent",
                                        read_at=reply.date))
                continue
            try:
                paper = _PaperDoc.model_validate(item).paper()
            except ValidationError as exc:
                fields = sorted({".".join(str(p) for p in e["loc"]) for e in exc.errors()})
                records.append(S2Record(arxiv_id=arxiv_id, outcome="error", read_at=reply.date,
                                        error="unreadable record: bad "
                                              + ", ".join(fields)[:150]))
                continue
            records.append(S2Record(arxiv_id=arxiv_id, outcome="found", paper=paper,
                                    read_at=reply.date))
        return records


def _text(value: str | None) -> str | None:
    text = " ".join((value or "").split())
    return text or None


def _date(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None

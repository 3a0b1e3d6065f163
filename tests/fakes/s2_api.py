"""A loopback fake of Semantic Scholar's Graph API batch endpoint: `POST /graph/v1/paper/batch`.

* `?fields=a,b,c` selects the fields answered (plus `paperId`, always); nested objects
  (`externalIds`, `publicationVenue`, `journal`, `authors`) come whole;
* the body `{"ids": ["ARXIV:2408.03230", …]}` (≤ 500, else **400** `{"error": …}`) is
  answered by an array aligned with the ids: the paper, or `null` for an unknown id;
* arXiv-only papers look as on S2: venue `arXiv.org`, journal `{"name": "ArXiv"}`;
* `x-api-key` must be one of `keys` (else **403** `{"message": "Forbidden"}`); a key may
  make one request per second (**429** faster); keyless requests draw a seeded chance of the
  shared pool's **429** (`pool_429_rate`) — S2 sends no Retry-After then;
* faults from `tests.fakes.loopback`.
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.loopback import Answer, LoopbackFake, Request, json_answer

MAX_IDS = 500
POOL_MESSAGE = ("Too Many Requests. Please wait and try again or apply for a key for higher "
                "rate limits. https://www.semanticscholar.org/product/api#api-key-form")


@dataclass(frozen=True)
class S2Doc:
    """One paper as S2 holds it, under the arXiv ID it answers to."""

    arxiv_id: str
    title: str
    authors: tuple[str, ...]
    venue: str = "arXiv.org"
    venue_name: str | None = "arXiv.org"
    venue_type: str | None = None
    venue_alternates: tuple[str, ...] = ()
    year: int | None = None
    publication_date: str | None = None
    journal: dict[str, str] | None = field(default_factory=lambda: {"name": "ArXiv"})
    doi: str | None = None
    dblp: str | None = None
    citations: int = 0
    types: tuple[str, ...] = ("JournalArticle",)

    def document(self) -> dict[str, Any]:
        ident = int(hashlib.sha1(self.arxiv_id.encode()).hexdigest(), 16)
        external: dict[str, Any] = {"ArXiv": self.arxiv_id, "CorpusId": ident % 10**9,
                                    "DOI": self.doi or f"10.48550/arXiv.{self.arxiv_id}"}
        if self.dblp:
            external["DBLP"] = self.dblp
        venue = None
        if self.venue_name is not None:
            venue = {"id": f"{ident % 16**32:032x}", "name": self.venue_name,
                     "alternate_names": list(self.venue_alternates),
                     "url": "https://example.org/venue"}
            if self.venue_type is not None:
                venue["type"] = self.venue_type
        return {
            "paperId": f"{ident:040x}",
            "externalIds": external,
            "title": self.title,
            "authors": [{"authorId": str(1000 + i), "name": n}
                        for i, n in enumerate(self.authors)],
            "venue": self.venue,
            "publicationVenue": venue,
            "year": self.year,
            "publicationDate": self.publication_date,
            "journal": self.journal,
            "citationCount": self.citations,
            "publicationTypes": list(self.types) or None,
        }


class FakeSemanticScholar(LoopbackFake):
    """The loopback S2 Graph API: point `S2_API_URL` at `.url` (which ends in /graph/v1)."""

    name = "fake-s2"

    def __init__(self, docs: Iterable[S2Doc] = (), *, keys: Iterable[str] = (),
                 pool_429_rate: float = 0.0, key_interval: float = 1.0, seed: int = 0,
                 **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "/graph/v1")
        super().__init__(seed=seed, **kwargs)
        self.docs = {d.arxiv_id: d for d in docs}
        self.keys = set(keys)
        self.pool_429_rate = pool_429_rate
        self.key_interval = key_interval
        self._pool = random.Random(seed + 1)
        self._last_by_key: dict[str, float] = {}
        self._guard = threading.Lock()
        self.ids_asked = 0

    def add(self, doc: S2Doc) -> None:
        self.docs[doc.arxiv_id] = doc

    def answer(self, request: Request) -> Answer:
        path = self.route(request.path)
        key = request.headers.get("x-api-key")
        if key is not None and key not in self.keys:
            return json_answer(403, {"message": "Forbidden"})
        with self._guard:
            if key is not None:
                now = time.monotonic()
                last = self._last_by_key.get(key)
                self._last_by_key[key] = now
                if last is not None and now - last < self.key_interval:
                    return json_answer(429, {"message": "Too Many Requests", "code": "429"})
            elif self.pool_429_rate and self._pool.random() < self.pool_429_rate:
                return json_answer(429, {"message": POOL_MESSAGE, "code": "429"})
        if request.method != "POST" or path != "/paper/batch":
            return json_answer(404, {"error": "Not found"})
        try:
            ids = json.loads(request.body)["ids"]
            if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
                raise TypeError(ids)
        except (ValueError, KeyError, TypeError):
            return json_answer(400, {"error": "Unacceptable request body: expected "
                                              "{\"ids\": [...]}"})
        if len(ids) > MAX_IDS:
            return json_answer(400, {"error": f"Cannot process more than {MAX_IDS} ids"})
        fields = {f for f in request.query.get("fields", "title").split(",") if f}
        with self._guard:
            self.ids_asked += len(ids)
        answered: list[dict[str, Any] | None] = []
        for ident in ids:
            prefix, _, value = ident.partition(":")
            doc = self.docs.get(value) if prefix.upper() == "ARXIV" else None
            if doc is None:
                answered.append(None)
                continue
            full = doc.document()
            answered.append({k: v for k, v in full.items() if k == "paperId" or k in fields})
        return json_answer(200, answered)

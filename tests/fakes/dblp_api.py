"""A loopback fake of dblp's publication search: `GET /search/publ/api?q=…&format=json&h=N`.

Answers in dblp's JSON shape with its quirks: `result.hits.hit[].info` with
`authors.author` an **object** when there is one author, titles ending in ".", homonym numbers
in names ("Wei Liu 0001"), `venue` sometimes a list, `year` a string, **no `hit` key** on zero
hits, `@total/@computed/@sent/@first` as strings. Query words prefix-match the words of a
record's title, authors, venue and year (case and accents folded) and are ANDed, as on dblp.
Records of arXiv copies look like dblp's: venue `CoRR`, type "Informal and Other
Publications", key `journals/corr/abs-YYMM-NNNNN`. `burst` > 0 answers **429** with
`Retry-After` to more than that many requests within a second; faults from
`tests.fakes.loopback`.
"""

from __future__ import annotations

import threading
import time
import zlib
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from tests.fakes import textfold
from tests.fakes.loopback import Answer, LoopbackFake, Request, json_answer

CONFERENCE = "Conference and Workshop Papers"
JOURNAL = "Journal Articles"
INFORMAL = "Informal and Other Publications"


@dataclass(frozen=True)
class DblpPub:
    """One dblp record (title without its final period: the fake adds it)."""

    key: str
    title: str
    authors: tuple[str, ...]
    venue: str | tuple[str, ...]
    year: int
    type: str = CONFERENCE
    doi: str | None = None
    volume: str | None = None
    pages: str | None = None

    def info(self) -> dict[str, Any]:
        people = [{"@pid": f"{100 + i}/{zlib.crc32(n.encode()) % 9999}", "text": n}
                  for i, n in enumerate(self.authors)]
        info: dict[str, Any] = {
            "authors": {"author": people[0] if len(people) == 1 else people},
            "title": self.title + ".",
            "venue": list(self.venue) if isinstance(self.venue, tuple) else self.venue,
            "year": str(self.year),
            "type": self.type,
            "access": "closed",
            "key": self.key,
            "url": f"https://dblp.org/rec/{self.key}",
        }
        if self.pages:
            info["pages"] = self.pages
        if self.volume:
            info["volume"] = self.volume
        if self.doi:
            info["doi"] = self.doi
            info["ee"] = f"https://doi.org/{self.doi}"
        return info

    def words(self) -> list[str]:
        venue = " ".join(self.venue) if isinstance(self.venue, tuple) else self.venue
        return list(textfold.words(f"{self.title} {' '.join(self.authors)} {venue} "
                                   f"{self.year}"))


def corr(arxiv_id: str, title: str, authors: tuple[str, ...], year: int) -> DblpPub:
    """dblp's record of an arXiv copy."""
    return DblpPub(key=f"journals/corr/abs-{arxiv_id.replace('.', '-')}", title=title,
                   authors=authors, venue="CoRR", year=year, type=INFORMAL,
                   doi=f"10.48550/arXiv.{arxiv_id}", volume=f"abs/{arxiv_id}")


class FakeDblp(LoopbackFake):
    """The loopback dblp search API: point `DBLP_API_URL` at `.url`."""

    name = "fake-dblp"

    def __init__(self, pubs: Iterable[DblpPub] = (), *, burst: int = 0, retry_after: int = 1,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pubs = list(pubs)
        self._words = [p.words() for p in self.pubs]
        self.burst = burst
        self.retry_after = retry_after
        self._recent: deque[float] = deque()
        self._guard = threading.Lock()

    def add(self, pub: DblpPub) -> None:
        with self._guard:
            self.pubs.append(pub)
            self._words.append(pub.words())

    def answer(self, request: Request) -> Answer:
        path = self.route(request.path)
        if self.burst:
            with self._guard:
                now = time.monotonic()
                while self._recent and now - self._recent[0] > 1.0:
                    self._recent.popleft()
                self._recent.append(now)
                if len(self._recent) > self.burst:
                    return Answer(429, b"Too Many Requests\n", "text/plain",
                                  {"Retry-After": str(self.retry_after)})
        if request.method != "GET" or path != "/search/publ/api":
            return Answer(404, b"Not Found\n", "text/plain")
        if request.query.get("format") != "json":
            return Answer(200, b'<?xml version="1.0"?><result/>', "application/xml")
        query = textfold.words(request.query.get("q", ""))
        wanted = int(request.query.get("h", "30") or 30)
        with self._guard:
            found = [pub for pub, words in zip(self.pubs, self._words, strict=True)
                     if query and all(any(w.startswith(q) for w in words) for q in query)]
        sent = found[:wanted]
        hits: dict[str, Any] = {"@total": str(len(found)), "@computed": str(len(found)),
                                "@sent": str(len(sent)), "@first": "0"}
        if sent:
            hits["hit"] = [{"@score": str(10 - i), "@id": str(5000 + i), "info": pub.info(),
                            "url": f"URL#{5000 + i}"} for i, pub in enumerate(sent)]
        return json_answer(200, {"result": {
            "query": request.query.get("q", "") + "*",
            "status": {"@code": "200", "text": "OK"},
            "time": {"@unit": "msecs", "text": "1.23"},
            "completions": {"@total": "0", "@computed": "0", "@sent": "0"},
            "hits": hits}})

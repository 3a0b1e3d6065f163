"""Resolving digest entries to arXiv papers: cache first, then as few requests as possible.

Order of work, each step only for entries the previous ones left open:

1. the lookup cache in `output/.state` (matched and ambiguous verdicts are kept; `not_found` is
   asked again after a day; `error` always);
2. entries whose text carries an arXiv ID: `id_list` batches of up to 200 IDs, checked against
   the digest's title and authors (missing IDs are found by difference);
3. titles, twenty per request as an OR of normalised phrases, matched locally; a batch whose
   answer was cut by `max_results` is split and asked again for the entries it left open;
4. narrower queries (distinctive title words AND the first author's surname), batched;
5. author queries limited to the window before the digest date, judged on author agreement and
   abstract overlap — arXiv indexes only the latest version, so a paper retitled after the
   digest cannot be found by its old title.

Only then is an entry `not_found`. When arXiv stays unavailable after retries the resolver stops
asking (a down service is not hammered) and every open entry is `error` — retryable, never
`not_found`.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from enrich.errors import BadResponseError, ServiceUnavailableError
from enrich.resolve.arxiv_client import ArxivClient, FeedPage
from enrich.resolve.matching import (
    decide_by_authors,
    decide_by_hint,
    decide_by_title,
    fingerprint,
    merge_not_found,
)
from enrich.resolve.model import ArxivMatch, ArxivPaper, EntryQuery
from enrich.resolve.query import (
    FALLBACKS_PER_QUERY,
    IDS_PER_QUERY,
    MAX_RESULTS,
    RESULTS_PER_FALLBACK,
    RESULTS_PER_TITLE,
    RESULTS_PER_WINDOW,
    TITLES_PER_QUERY,
    WINDOWS_PER_QUERY,
    any_of,
    chunked,
    fallback_clause,
    title_clause,
    window_clause,
)
from enrich.store.verdicts import VerdictStore

log = logging.getLogger(__name__)

__all__ = ["ResolveReport", "Resolver", "fingerprint"]

NOT_FOUND_RETRY_SECONDS = 24 * 3600


@dataclass
class ResolveReport:
    """Verdicts by fingerprint, and what it cost."""

    matches: dict[str, ArxivMatch] = field(default_factory=dict)
    from_cache: int = 0
    looked_up: int = 0
    requests: int = 0
    unavailable: str | None = None


Ask = Callable[[], FeedPage]
Judge = Callable[[EntryQuery, Sequence[ArxivPaper]], ArxivMatch]
Clause = Callable[[EntryQuery], str | None]


class Resolver:
    """Turns `EntryQuery`s into `ArxivMatch`es through one `ArxivClient`."""

    def __init__(self, client: ArxivClient, store: VerdictStore | None, *,
                 refresh: bool = False, now: Callable[[], float] = time.time) -> None:
        self._client = client
        self._store = store
        self._refresh = refresh
        self._now = now
        self._down: ServiceUnavailableError | None = None
        self._settled: dict[str, ArxivMatch] = {}
        self._misses: dict[str, list[ArxivMatch]] = {}
        self._failed: dict[str, str] = {}
        self._queries: dict[str, EntryQuery] = {}

    def resolve(self, queries: Sequence[EntryQuery]) -> ResolveReport:
        """A verdict for every query (keyed by `fingerprint`)."""
        report = ResolveReport()
        before = self._client.stats.requests
        self._queries = {}
        for query in queries:
            fp = fingerprint(query)
            known = self._queries.get(fp)
            self._queries[fp] = query if known is None else _combine(known, query)
        self._load_cache(report)
        open_ = [fp for fp in self._queries if fp not in self._settled]
        report.looked_up = len(open_)
        if open_:
            log.info("arXiv: %d entries to look up (%d answered from the cache)",
                     len(open_), report.from_cache)
        self._by_hint([fp for fp in open_ if self._queries[fp].arxiv_id_hint])
        self._phase(self._open(open_), title_clause_for, _judge_title, TITLES_PER_QUERY,
                    RESULTS_PER_TITLE)
        self._phase(self._open(open_), fallback_clause_for, _judge_fallback,
                    FALLBACKS_PER_QUERY, RESULTS_PER_FALLBACK)
        self._phase(self._open(open_), window_clause_for, decide_by_authors, WINDOWS_PER_QUERY,
                    RESULTS_PER_WINDOW)
        # Every open entry gets a verdict, the failed ones included (`_open` leaves them out).
        for fp in [fp for fp in open_ if fp not in self._settled]:
            if self._down is not None or fp in self._failed:
                reason = str(self._down) if self._down is not None else self._failed[fp]
                self._settled[fp] = ArxivMatch(status="error", error=reason)
            else:
                self._settle({fp: merge_not_found(*self._misses.get(fp, []))})
        report.matches = {fp: self._settled[fp] for fp in self._queries}
        report.requests = self._client.stats.requests - before
        report.unavailable = str(self._down) if self._down is not None else None
        return report

    # -- cache -------------------------------------------------------------------------------

    def _load_cache(self, report: ResolveReport) -> None:
        if self._store is None or self._refresh:
            return
        now = self._now()
        for fp, stored in self._store.get_many(self._queries).items():
            match = stored.match
            fresh_miss = (match.status == "not_found"
                          and now - stored.checked_at < NOT_FOUND_RETRY_SECONDS)
            if match.status in ("matched", "ambiguous") or fresh_miss:
                self._settled[fp] = match
                report.from_cache += 1

    def _settle(self, verdicts: dict[str, ArxivMatch]) -> None:
        """Record final verdicts, persisting them at once so a killed run keeps them."""
        self._settled.update(verdicts)
        if self._store is not None:
            self._store.put_many({fp: (m, self._queries[fp].title)
                                  for fp, m in verdicts.items() if m.status != "error"},
                                 checked_at=self._now())

    def _open(self, fps: Sequence[str]) -> list[str]:
        return [fp for fp in fps if fp not in self._settled and fp not in self._failed]

    # -- asking ------------------------------------------------------------------------------

    def _ask(self, ask: Ask, fps: Sequence[str]) -> FeedPage | None:
        """Run one request; None when arXiv is down (then nothing more is asked this run)."""
        if self._down is not None:
            return None
        try:
            return ask()
        except ServiceUnavailableError as exc:
            log.warning("arXiv unavailable, no more arXiv requests this run: %s", exc)
            self._down = exc
        except BadResponseError as exc:
            log.warning("arXiv gave an unusable answer for %d entries: %s", len(fps), exc)
            for fp in fps:
                self._failed[fp] = str(exc)
        return None

    def _by_hint(self, fps: list[str]) -> None:
        wanted = sorted({q.arxiv_id_hint for fp in fps if (q := self._queries[fp]).arxiv_id_hint})
        for ids in chunked(wanted, IDS_PER_QUERY):
            page = self._ask(functools.partial(self._client.by_ids, ids), fps)
            if page is None:
                continue
            found = {p.arxiv_id: p for p in page.papers}
            verdicts: dict[str, ArxivMatch] = {}
            for fp in fps:
                query = self._queries[fp]
                paper = found.get(query.arxiv_id_hint or "")
                if paper is not None and (verdict := decide_by_hint(query, paper)) is not None:
                    verdicts[fp] = verdict
            self._settle(verdicts)

    def _phase(self, fps: list[str], clause_for: Clause, judge: Judge, per_query: int,
               results_per_clause: int) -> None:
        clauses = {fp: c for fp in fps if (c := clause_for(self._queries[fp])) is not None}
        batch = list(clauses)
        for part in chunked(batch, per_query):
            self._batch(list(part), clauses, judge, results_per_clause)

    def _batch(self, fps: list[str], clauses: dict[str, str], judge: Judge,
               results_per_clause: int) -> None:
        query = any_of([clauses[fp] for fp in fps])
        max_results = min(MAX_RESULTS, results_per_clause * len(fps))
        page = self._ask(functools.partial(self._client.search, query, max_results=max_results),
                         fps)
        if page is None:
            return
        verdicts: dict[str, ArxivMatch] = {}
        for fp in fps:
            verdict = judge(self._queries[fp], page.papers)
            if verdict.status in ("matched", "ambiguous"):
                verdicts[fp] = verdict
            else:
                self._misses.setdefault(fp, []).append(verdict)
        self._settle(verdicts)
        left = [fp for fp in fps if fp not in verdicts]
        if left and len(fps) > 1 and page.total_results > len(page.papers):
            # The answer was cut at max_results: the missing ones may be past the cut.
            middle = (len(left) + 1) // 2
            for half in (left[:middle], left[middle:]):
                if half:
                    self._batch(half, clauses, judge, results_per_clause)


def _combine(a: EntryQuery, b: EntryQuery) -> EntryQuery:
    """One query for two digest entries of the same paper (same fingerprint).

    The longer abstract serves the author-window fallback best (a digest may cut it short or
    leave it out), and the earliest digest date is the strictest plausibility check: the paper
    existed by then.
    """
    abstract = a.abstract if len(a.abstract) >= len(b.abstract) else b.abstract
    dates = [d for d in (a.date, b.date) if d is not None]
    return dataclasses.replace(a, abstract=abstract, date=min(dates) if dates else None)


def title_clause_for(query: EntryQuery) -> str | None:
    return title_clause(query.title, query.authors)


def fallback_clause_for(query: EntryQuery) -> str | None:
    return fallback_clause(query.title, query.authors)


def window_clause_for(query: EntryQuery) -> str | None:
    return window_clause(query.authors, query.date)


def _judge_title(query: EntryQuery, papers: Sequence[ArxivPaper]) -> ArxivMatch:
    return decide_by_title(query, papers, "title-batch")


def _judge_fallback(query: EntryQuery, papers: Sequence[ArxivPaper]) -> ArxivMatch:
    return decide_by_title(query, papers, "title-fallback")

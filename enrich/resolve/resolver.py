"""Resolving digest entries to arXiv papers: cache first, then as few requests as possible.

Order of work, each step only for entries the previous ones left open:

1. the verdicts in `output/.state` (matched and ambiguous verdicts are kept; `not_found` is
   asked again after a day; `error` always);
2. entries whose text carries an arXiv ID: `id_list` batches of up to 200 IDs, checked against
   the digest's title and authors (missing IDs are found by difference);
3. titles, twenty per request as an OR of normalised phrases, matched locally; a batch whose
   answer was cut by `max_results` is split and asked again for the entries it left open, at
   most `MAX_SPLITS` times deep (near-identical titles cut every answer: splitting all the way
   down would multiply the requests);
4. narrower queries (distinctive title words AND the first author's surname), batched;
5. author queries limited to the window before the digest date, judged on author agreement and
   abstract overlap — arXiv indexes only the latest version, so a paper retitled after the
   digest cannot be found by its old title.

Once any paper is known (from the state or this run), every search also asks for its title:
arXiv's transient empty answers are then caught for what they are, with no request spent on
confirming a genuinely empty answer, and no paper left `not_found` by one.

Only then is an entry `not_found`. When arXiv stays unavailable after retries the resolver stops
asking (a down service is not hammered) and every open entry is `error` with the reason —
retryable, never `not_found`.

Nothing learnt is lost when a run is killed: final verdicts are recorded as they are reached,
and after every request the phases an open entry has finished and the candidates they showed
(`enrich.store.verdicts.Progress`); a re-run resumes each entry where it stopped.

A verdict's candidates are those arXiv would return for the entry's own query (checked locally,
`enrich.resolve.query.*_admits`), never another entry's hits that shared its batch: the record
is the same however the entries were batched, so a crash-recovered run writes the same bytes.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import time
from collections.abc import Callable, Iterable, Sequence
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
from enrich.resolve.model import ArxivMatch, ArxivPaper, Candidate, EntryQuery
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
    fallback_admits,
    fallback_clause,
    sentinel_clause,
    title_admits,
    title_clause,
    window_admits,
    window_clause,
)
from enrich.store.verdicts import Progress, VerdictStore

log = logging.getLogger(__name__)

__all__ = ["ResolveReport", "Resolver", "fingerprint"]

NOT_FOUND_RETRY_SECONDS = 24 * 3600
# Progress older than this is not resumed: the answers it saw may have changed.
PROGRESS_SECONDS = 24 * 3600
# How many times a batch whose answer was cut is halved and asked again.
MAX_SPLITS = 2


@dataclass
class ResolveReport:
    """Verdicts by fingerprint, and what it cost."""

    matches: dict[str, ArxivMatch] = field(default_factory=dict)
    from_cache: int = 0
    looked_up: int = 0
    resumed: int = 0
    requests: int = 0
    unavailable: str | None = None


Ask = Callable[[], FeedPage]
Judge = Callable[[EntryQuery, Sequence[ArxivPaper]], ArxivMatch]
Clause = Callable[[EntryQuery], str | None]
Admits = Callable[[EntryQuery, ArxivPaper], bool]


@dataclass(frozen=True)
class _Phase:
    name: str
    clause: Clause
    admits: Admits
    judge: Judge
    per_query: int
    results_per_clause: int


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
        self._misses: dict[str, list[Candidate]] = {}
        self._done: dict[str, set[str]] = {}
        self._failed: dict[str, str] = {}
        self._queries: dict[str, EntryQuery] = {}
        self._sentinel: str | None = None
        self._notes: dict[str, tuple[str, ...]] = {}

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
        report.resumed = self._load_progress(open_)
        if open_:
            log.info("arXiv: %d entries to look up (%d answered from the cache, %d resumed)",
                     len(open_), report.from_cache, report.resumed)
        self._by_hint([fp for fp in self._open(open_, "hint")
                       if self._queries[fp].arxiv_id_hint])
        for phase in PHASES:
            self._phase(self._open(open_, phase.name), phase)
        # Every open entry gets a verdict, the failed ones included (`_open` leaves them out).
        finals: dict[str, ArxivMatch] = {}
        for fp in [fp for fp in open_ if fp not in self._settled]:
            if self._down is not None or fp in self._failed:
                reason = str(self._down) if self._down is not None else self._failed[fp]
                finals[fp] = ArxivMatch(status="error", error=reason)
            else:
                finals[fp] = merge_not_found(ArxivMatch(status="not_found",
                                                        candidates=tuple(self._misses.get(fp,
                                                                                          []))))
        self._settle(finals)
        report.matches = {fp: self._settled[fp] for fp in self._queries}
        report.requests = self._client.stats.requests - before
        report.unavailable = str(self._down) if self._down is not None else None
        return report

    # -- the state ---------------------------------------------------------------------------

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
        self._choose_sentinel(self._settled.values())

    def _choose_sentinel(self, verdicts: Iterable[ArxivMatch]) -> None:
        """A clause known to match a paper, added to every search from then on: an empty answer
        to such a query is arXiv's transient fault, caught at once instead of being confirmed by
        asking again — and never believed (a paper `not_found` for a day)."""
        if self._sentinel is not None:
            return
        papers = sorted((m.paper for m in verdicts if m.paper is not None),
                        key=lambda p: p.arxiv_id)
        for paper in papers:
            if (clause := sentinel_clause(paper.title, paper.published)) is not None:
                self._sentinel = clause
                return

    def _load_progress(self, fps: Sequence[str]) -> int:
        """Resume open entries where a killed (or failed) run left them; how many were."""
        if self._store is None or self._refresh or not fps:
            return 0
        now = self._now()
        resumed = 0
        for fp, progress in self._store.progress(fps).items():
            if 0 <= now - progress.at < PROGRESS_SECONDS:
                self._done[fp] = set(progress.done)
                self._misses[fp] = list(progress.candidates)
                if progress.notes:
                    self._notes[fp] = progress.notes
                resumed += 1
        return resumed

    def _settle(self, verdicts: dict[str, ArxivMatch]) -> None:
        """Record final verdicts at once (errors too, with their reason) so a killed run keeps
        them and the outputs say why."""
        if not verdicts:
            return
        verdicts = {fp: m.model_copy(update={"notes": (*m.notes, *self._notes[fp])})
                    if fp in self._notes else m for fp, m in verdicts.items()}
        self._settled.update(verdicts)
        self._choose_sentinel(verdicts.values())
        if self._store is not None:
            self._store.put_many({fp: (m, self._queries[fp].title)
                                  for fp, m in verdicts.items()}, checked_at=self._now())
            self._store.forget_progress(fp for fp, m in verdicts.items()
                                        if m.status != "error")

    def _record_progress(self, fps: Sequence[str], phase: str) -> None:
        """After a request: these open entries have finished `phase`."""
        open_ = [fp for fp in fps if fp not in self._settled]
        for fp in open_:
            self._done.setdefault(fp, set()).add(phase)
        if self._store is not None and open_:
            now = self._now()
            self._store.put_progress({
                fp: Progress(done=tuple(sorted(self._done[fp])),
                             candidates=tuple(self._misses.get(fp, [])), at=now,
                             notes=self._notes.get(fp, ()))
                for fp in open_})

    def _open(self, fps: Sequence[str], phase: str) -> list[str]:
        return [fp for fp in fps if fp not in self._settled and fp not in self._failed
                and phase not in self._done.get(fp, ())]

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
            batch = set(ids)
            asked = [fp for fp in fps if self._queries[fp].arxiv_id_hint in batch]
            page = self._ask(functools.partial(self._client.by_ids, ids), asked)
            if page is None:
                continue
            found = {p.arxiv_id: p for p in page.papers}
            verdicts: dict[str, ArxivMatch] = {}
            for fp in asked:
                query = self._queries[fp]
                hint = query.arxiv_id_hint or ""
                paper = found.get(hint)
                if paper is not None and (verdict := decide_by_hint(query, paper)) is not None:
                    verdicts[fp] = verdict
                else:
                    # The digest's own link is wrong: say so on whatever the verdict becomes.
                    named = (f"another paper ({paper.title})" if paper is not None
                             else "no paper arXiv knows")
                    self._notes[fp] = (f"the digest's link names arXiv:{hint}, {named}; "
                                       "looked up by title and authors instead",)
            self._settle(verdicts)
            self._record_progress(asked, "hint")

    def _phase(self, fps: list[str], phase: _Phase) -> None:
        clauses = {fp: c for fp in fps if (c := phase.clause(self._queries[fp])) is not None}
        for part in chunked(list(clauses), phase.per_query):
            self._batch(list(part), clauses, phase, MAX_SPLITS)
        # Entries this phase has nothing to ask for have finished it too.
        self._record_progress([fp for fp in fps if fp not in clauses], phase.name)

    def _batch(self, fps: list[str], clauses: dict[str, str], phase: _Phase,
               splits_left: int) -> None:
        asked = [clauses[fp] for fp in fps]
        max_results = phase.results_per_clause * len(fps)
        if self._sentinel is not None:
            asked.append(self._sentinel)
            max_results += RESULTS_PER_TITLE
        query = any_of(asked)
        page = self._ask(functools.partial(self._client.search, query,
                                           max_results=min(MAX_RESULTS, max_results),
                                           nonempty=self._sentinel is not None), fps)
        if page is None:
            return
        verdicts: dict[str, ArxivMatch] = {}
        for fp in fps:
            entry = self._queries[fp]
            verdict = _own_candidates(phase.judge(entry, page.papers), entry, page.papers, phase)
            if verdict.status in ("matched", "ambiguous"):
                verdicts[fp] = verdict
            else:
                self._misses.setdefault(fp, []).extend(verdict.candidates)
        self._settle(verdicts)
        left = [fp for fp in fps if fp not in verdicts]
        cut = page.total_results > len(page.papers)
        if left and len(fps) > 1 and cut and splits_left > 0:
            # The answer was cut at max_results: the missing ones may be past the cut.
            middle = (len(left) + 1) // 2
            for half in (left[:middle], left[middle:]):
                if half:
                    self._batch(half, clauses, phase, splits_left - 1)
        else:
            self._record_progress(left, phase.name)


def _own_candidates(verdict: ArxivMatch, entry: EntryQuery, papers: Sequence[ArxivPaper],
                    phase: _Phase) -> ArxivMatch:
    """The verdict with the candidates the entry's own query finds (and the winner): the other
    entries of the batch brought the rest, which depend on how entries were batched."""
    own = [p for p in papers if phase.admits(entry, p)]
    if verdict.paper is not None and verdict.paper not in own:
        own.append(verdict.paper)
    recorded = phase.judge(entry, own) if own else ArxivMatch(status="not_found")
    return verdict.model_copy(update={"candidates": recorded.candidates})


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


PHASES = (
    _Phase("title", title_clause_for,
           lambda q, p: title_admits(q.title, q.authors, p.title, p.authors),
           _judge_title, TITLES_PER_QUERY, RESULTS_PER_TITLE),
    _Phase("fallback", fallback_clause_for,
           lambda q, p: fallback_admits(q.title, q.authors, p.title, p.authors),
           _judge_fallback, FALLBACKS_PER_QUERY, RESULTS_PER_FALLBACK),
    _Phase("window", window_clause_for,
           lambda q, p: window_admits(q.authors, q.date, p.authors, p.published),
           decide_by_authors, WINDOWS_PER_QUERY, RESULTS_PER_WINDOW),
)

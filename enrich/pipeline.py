"""The pipeline's steps as plain functions: what the Prefect tasks in `flows/` call.

    parse_file → DigestStore.record → resolve → read_huggingface → find_published
               → read_github → issue_citekeys → render

Steps that take time accept `progress` (`enrich.progress.Progress`) and report their counts and
waits as they move; the default says nothing.

State in `output/.state` is the source of truth between steps (and between runs, processes and
workers): parsing records each digest, resolving records each verdict as it is reached, reading
GitHub records facts and ETags, issuing keys records every paper's citation key, and rendering
turns the recorded state into the output files (and writes nothing else). Every step can
therefore be retried or re-run alone, and a killed run loses nothing finished. Each step reaches
the state through the typed stores of `enrich.store`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import httpx
from pydantic import Field

from enrich.digest.model import Digest, ParseOutcome, Problem
from enrich.digest.parse import read_digest
from enrich.errors import (
    BadResponseError,
    DigestError,
    InputNotFoundError,
    RateLimitedError,
    RemoteError,
    ServiceUnavailableError,
)
from enrich.net.gate import Gate, process_gate
from enrich.net.retry import RetryStats
from enrich.net.service import JsonService
from enrich.progress import Progress, Tally, silent
from enrich.published.dblp_client import DblpClient
from enrich.published.model import DblpRecord, S2Record
from enrich.published.s2_client import BATCH as S2_BATCH
from enrich.published.s2_client import SemanticScholarClient
from enrich.published.venues import dblp_query, decide, wants_dblp
from enrich.record import Record, to_json
from enrich.render.bibtex import render_bibtex
from enrich.render.csl import render_csl_json
from enrich.render.model import Paper
from enrich.render.papers import (
    Placed,
    build_papers,
    code_links,
    digest_view,
    entry_fingerprint,
    entry_query,
    failed_digest_view,
    matched_paper,
    place,
    report,
)
from enrich.repos.facts import read_repos
from enrich.repos.github_client import GitHubClient
from enrich.repos.hf_client import HuggingFaceClient
from enrich.repos.model import HfRecord
from enrich.resolve.arxiv_client import ArxivClient
from enrich.resolve.matching import fingerprint
from enrich.resolve.model import ArxivMatch, ArxivPaper
from enrich.resolve.resolver import NOT_FOUND_RETRY_SECONDS, Resolver
from enrich.settings import Settings
from enrich.store.citekeys import KeyRegistry
from enrich.store.db import StateStore
from enrich.store.digests import DigestStore
from enrich.store.files import atomic_write, inside, sweep_temp_files, view_stems
from enrich.store.repos import RepoStore, StoredRepo
from enrich.store.sources import dblp_store, hf_store, s2_store
from enrich.store.timed import Stored, TimedRecords
from enrich.store.verdicts import StoredVerdict, VerdictStore
from enrich.text.terms import ProtectedTerms, default_terms

log = logging.getLogger(__name__)

DIGEST_SUFFIXES = (".txt", ".md", ".markdown")
# A digest dated more than this after today is dated in the future (time zones: Beijing).
DATE_AHEAD = dt.timedelta(days=1)


class ResolveStats(Record):
    entries: int = 0
    looked_up: int = 0
    from_cache: int = 0
    requests: int = 0
    retries: int = 0
    retry_wait: float = 0.0
    gate_wait: float = 0.0
    statuses: dict[str, int] = Field(default_factory=dict)
    unavailable: str | None = None


class RepoStats(Record):
    repos: int = 0
    requests: int = 0
    statuses: dict[str, int] = Field(default_factory=dict)
    wait: float = 0.0
    unavailable: str | None = None


class SourceStats(Record):
    """What asking one of the optional sources (HF, S2, dblp) did in a run."""

    papers: int = 0  # papers it could have been asked about
    asked: int = 0  # papers asked this run (the rest were fresh in the state or not due)
    requests: int = 0
    statuses: dict[str, int] = Field(default_factory=dict)  # outcomes of this run's answers
    wait: float = 0.0  # seconds waited on the service's rate limits
    unavailable: str | None = None


class RenderStats(Record):
    papers: int = 0
    in_bib: int = 0
    digests: int = 0
    failed_digests: int = 0
    written: tuple[str, ...] = ()
    statuses: dict[str, int] = Field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# Parse


def discover(sources: Iterable[Path]) -> list[Path]:
    """Digest files: every `.txt`/`.md` directly in a directory given, and files as given."""
    found: list[Path] = []
    for source in sources:
        if source.is_dir():
            found.extend(sorted(p for p in source.iterdir()
                                if p.is_file() and p.suffix.lower() in DIGEST_SUFFIXES
                                and not p.name.startswith(".")))
        elif source.is_file():
            found.append(source)
        else:
            raise InputNotFoundError("no such digest file or directory", path=str(source))
    return list(dict.fromkeys(found))


def digest_names(paths: Sequence[Path]) -> dict[Path, str]:
    """The name that identifies each digest in the records and outputs.

    A digest's file name, as long as no other digest of the run has the same one; digests
    that share a file name in different folders are named `<folder>/<file>` (and, should two
    folders share a name too, with a short hash of the folder's path), so each keeps its own
    records and `digests/<stem>.json`.
    """
    by_name: dict[str, list[Path]] = {}
    for path in paths:
        by_name.setdefault(path.name, []).append(path)
    names: dict[Path, str] = {}
    for name, group in by_name.items():
        distinct = {p.resolve() for p in group}
        for path in group:
            if len(distinct) == 1:
                names[path] = name
                continue
            folder = path.resolve().parent
            siblings = {p.resolve().parent for p in group if p.resolve().parent.name == folder.name}
            tag = folder.name if len(siblings) == 1 else (
                f"{folder.name}-{hashlib.sha256(str(folder).encode()).hexdigest()[:8]}")
            names[path] = f"{tag}/{name}"
    return names


def parse_file(path: Path, name: str | None = None, *,
               today: dt.date | None = None) -> ParseOutcome:
    """Parse one digest; a bad one becomes an error record instead of stopping the run.

    `name` identifies it (default: the file name, see `digest_names`); a digest dated after
    `today` (UTC, default now) + 1 day gets a problem: its date line is probably a typo, and
    papers are checked against it.
    """
    name = name or path.name
    try:
        digest = read_digest(path, name)
    except DigestError as exc:
        log.warning("digest %s cannot be read: %s", name, exc)
        return ParseOutcome(file=name, error=Problem(kind=exc.kind, file=exc.file,
                                                     line=exc.line, message=exc.message))
    today = today or dt.datetime.now(dt.UTC).date()
    future = sorted({e.date for e in digest.entries if e.date and e.date > today + DATE_AHEAD})
    if future:
        line = next(e.line for e in digest.entries if e.date == future[0])
        problem = Problem(kind="future_date", file=name, line=line,
                          message=f"dated {future[0].isoformat()}, in the future: check the "
                                  "date line above this entry (papers are checked against it)")
        digest = digest.model_copy(update={"problems": (*digest.problems, problem)})
    return ParseOutcome(file=name, digest=digest)


def remember(state: StateStore, outcomes: Sequence[ParseOutcome]) -> None:
    """Record parsed digests (or their errors) as part of the output."""
    DigestStore(state).record(outcomes)


def remembered(state: StateStore, files: Iterable[str] | None = None) -> list[ParseOutcome]:
    """Digests recorded in the state: all of them, or the named ones, by file name."""
    return DigestStore(state).outcomes(files)


def _digests(outcomes: Iterable[ParseOutcome]) -> list[Digest]:
    return [o.digest for o in outcomes if o.digest is not None]


# --------------------------------------------------------------------------------------------
# arXiv


def stored_matches(state: StateStore, digests: Iterable[Digest]) -> dict[str, ArxivMatch]:
    """The recorded verdicts of the digests' entries, by entry fingerprint."""
    return VerdictStore(state).matches(entry_fingerprint(e) for d in digests for e in d.entries)


def resolve(digests: Sequence[Digest], *, settings: Settings, state: StateStore,
            refresh: bool = False, gate: Gate | None = None,
            transport: httpx.BaseTransport | None = None,
            progress: Progress = silent) -> ResolveStats:
    """Find every entry's arXiv paper (cached verdicts are reused; see `enrich.resolve.resolver`).

    `gate` replaces the process gate (the flow passes one that is also fleet-wide). `progress`
    hears stage "arxiv": distinct entries with a verdict, and waits as they start.
    """
    queries = [entry_query(e) for d in digests for e in d.entries]
    tally = Tally(progress, "arxiv", len({fingerprint(q) for q in queries}))
    tally.start()
    interval = settings.arxiv_min_interval
    gate = _AnnouncedGate(gate or process_gate("arxiv", interval), interval, tally, "arXiv")
    client = ArxivClient.from_settings(settings, gate=gate, transport=transport)
    client.stats.retry = _AnnouncedRetries(tally=tally, service="arXiv")
    store = _TalliedVerdicts(state, tally, refresh=refresh)
    try:
        result = Resolver(client, store, refresh=refresh).resolve(queries)
    finally:
        client.close()
    tally.finish()
    statuses: dict[str, int] = {}
    for match in result.matches.values():
        statuses[match.status] = statuses.get(match.status, 0) + 1
    return ResolveStats(
        entries=len(queries), looked_up=result.looked_up, from_cache=result.from_cache,
        requests=result.requests, retries=client.stats.retry.retries,
        retry_wait=round(client.stats.retry.backoff_wait + client.stats.retry.asked_wait, 3),
        gate_wait=round(client.stats.gate_wait, 3),
        statuses=dict(sorted(statuses.items())), unavailable=result.unavailable,
    )


# --------------------------------------------------------------------------------------------
# Papers on arXiv, for the sources keyed by arXiv ID

# The weekly re-check asks again about an unpublished paper at most this often.
RECHECK_INTERVAL = 6 * 24 * 3600.0


def matched_papers(state: StateStore, digests: Sequence[Digest]) -> dict[str, ArxivPaper]:
    """The arXiv papers the digests' entries were matched to, by arXiv ID (sorted)."""
    found: dict[str, ArxivPaper] = {}
    for group in _groups(place(digests, stored_matches(state, digests))).values():
        arxiv_id = matched_paper(group)
        paper = next((i.match.paper for i in group if i.match.paper is not None), None)
        if arxiv_id is not None and paper is not None:
            found[arxiv_id] = paper
    return dict(sorted(found.items()))


def _groups(placed: Sequence[Placed]) -> dict[str, list[Placed]]:
    groups: dict[str, list[Placed]] = {}
    for item in placed:
        groups.setdefault(item.key, []).append(item)
    return groups


def _count(statuses: dict[str, int], outcome: str) -> None:
    statuses[outcome] = statuses.get(outcome, 0) + 1


def _asked(stats: SourceStats, service: JsonService, statuses: dict[str, int],
           unavailable: str | None) -> SourceStats:
    """`stats` completed with what the service saw: requests, waits, outcomes, an outage."""
    requests, waited = service.snapshot()
    return stats.model_copy(update={"requests": requests, "wait": round(waited, 3),
                                    "statuses": dict(sorted(statuses.items())),
                                    "unavailable": unavailable})


def _stop_reason(exc: RemoteError) -> tuple[Literal["error", "deferred"], str]:
    """How a service's failure is recorded on the papers it leaves unasked."""
    if isinstance(exc, RateLimitedError):
        when = exc.retry_at.strftime("%Y-%m-%dT%H:%M:%SZ") if exc.retry_at else "later"
        return "deferred", f"{exc.service} rate limit used up until {when}"
    return "error", f"{exc.service} {exc.message}"


# --------------------------------------------------------------------------------------------
# Hugging Face Papers (code links)


def read_huggingface(digests: Sequence[Digest], *, settings: Settings, state: StateStore,
                     refresh: bool = False, gate: Gate | None = None,
                     transport: httpx.BaseTransport | None = None,
                     now: Callable[[], float] = time.time,
                     progress: Progress = silent) -> SourceStats:
    """Ask Hugging Face Papers about every matched paper whose stored answer is missing,
    failed or older than `HF_TTL_HOURS` (all of them with `refresh`), one request each,
    recording each answer as it arrives. A failure leaves the rest `error`/`deferred` (asked
    again on the next run) and never stops the run.

    `progress` hears stage "huggingface": papers answered (or fresh in the state).
    """
    papers = matched_papers(state, digests)
    store = hf_store(state)
    ttl = 0.0 if refresh else settings.hf_ttl_hours * 3600
    stored = store.get_many(papers)
    due = [i for i in papers if i not in stored or not stored[i].fresh(now(), ttl)]
    stats = SourceStats(papers=len(papers), asked=len(due))
    tally = Tally(progress, "huggingface", len(papers))
    tally.add(set(papers) - set(due))
    tally.start()
    if not due:
        tally.finish()
        return stats
    statuses: dict[str, int] = {}
    unavailable = None
    client = HuggingFaceClient.from_settings(settings, transport=transport, gate=gate)
    try:
        for index, arxiv_id in enumerate(due):
            try:
                record = client.get_paper(arxiv_id)
            except (RateLimitedError, ServiceUnavailableError) as exc:
                outcome, unavailable = _stop_reason(exc)
                log.warning("%s; %d paper(s) not asked", unavailable, len(due) - index)
                store.put_failures({i: HfRecord(arxiv_id=i, outcome=outcome, error=unavailable)
                                    for i in due[index:]})
                statuses[outcome] = statuses.get(outcome, 0) + len(due) - index
                break
            except BadResponseError as exc:
                log.warning("Hugging Face: %s: %s", arxiv_id, exc)
                store.put_failures({arxiv_id: HfRecord(arxiv_id=arxiv_id, outcome="error",
                                                       error=exc.message)})
                _count(statuses, "error")
                continue
            store.put_many({arxiv_id: Stored(record, now())})
            _count(statuses, record.outcome)
            tally.add([arxiv_id])
    finally:
        client.close()
    tally.finish()
    return _asked(stats, client.service, statuses, unavailable)


# --------------------------------------------------------------------------------------------
# Published versions (Semantic Scholar, then dblp)


def find_published(digests: Sequence[Digest], *, settings: Settings, state: StateStore,
                   refresh: bool = False, recheck_after_days: float | None = None,
                   s2_gate: Gate | None = None, dblp_gate: Gate | None = None,
                   s2_transport: httpx.BaseTransport | None = None,
                   dblp_transport: httpx.BaseTransport | None = None,
                   now: Callable[[], float] = time.time,
                   progress: Progress = silent) -> tuple[SourceStats, SourceStats]:
    """Find the matched papers' published versions: Semantic Scholar in batches of 500 for
    every paper whose answer is missing, failed or older than `PUBLISHED_TTL_HOURS`; then dblp,
    one search each, only for papers S2 gave no venue for.

    `recheck_after_days` (the weekly deployment): papers first published on arXiv more than
    that long ago and still without a confirmed published version are asked again when their
    answer is older than `RECHECK_INTERVAL` — published versions appear months later.

    `progress` hears stages "semantic-scholar" and "dblp": papers answered (or fresh).
    """
    papers = matched_papers(state, digests)
    ttl = 0.0 if refresh else settings.published_ttl_hours * 3600
    s2s, dblps = s2_store(state), dblp_store(state)
    stored_s2, stored_dblp = s2s.get_many(papers), dblps.get_many(papers)

    def due(arxiv_id: str, stored: Stored[S2Record] | Stored[DblpRecord] | None) -> bool:
        if stored is None or not stored.fresh(now(), ttl):
            return True
        if recheck_after_days is None:
            return False
        paper = papers[arxiv_id]
        old = now() - paper.published.timestamp() > recheck_after_days * 86400
        s2_record = stored_s2.get(arxiv_id)
        dblp_record = stored_dblp.get(arxiv_id)
        unpublished = decide(paper, s2_record.record if s2_record else None,
                             dblp_record.record if dblp_record else None).version is None
        age = stored.age(now())
        return old and unpublished and age is not None and age >= RECHECK_INTERVAL

    s2_due = [i for i in papers if due(i, stored_s2.get(i))]
    s2_tally = Tally(progress, "semantic-scholar", len(papers))
    s2_tally.add(set(papers) - set(s2_due))
    s2_tally.start()
    s2_stats = _ask_s2(s2_due, settings=settings, gate=s2_gate, transport=s2_transport,
                       store=s2s, now=now, tally=s2_tally).model_copy(
                           update={"papers": len(papers)})
    s2_tally.finish()
    # dblp: only where S2 (as stored now) has nothing usable.
    current = s2s.records(papers)
    candidates = [i for i in papers if wants_dblp(papers[i], current.get(i))]
    dblp_due = [i for i in candidates if due(i, stored_dblp.get(i))]
    dblp_tally = Tally(progress, "dblp", len(candidates))
    dblp_tally.add(set(candidates) - set(dblp_due))
    if candidates:
        dblp_tally.start()
    dblp_stats = _ask_dblp(dblp_due, papers, settings=settings, gate=dblp_gate,
                           transport=dblp_transport, store=dblps, now=now, tally=dblp_tally)
    if candidates:
        dblp_tally.finish()
    return s2_stats, dblp_stats.model_copy(update={"papers": len(candidates)})


def _ask_s2(due: Sequence[str], *, settings: Settings, gate: Gate | None,
            transport: httpx.BaseTransport | None, store: TimedRecords[S2Record],
            now: Callable[[], float], tally: Tally) -> SourceStats:
    stats = SourceStats(asked=len(due))
    if not due:
        return stats
    statuses: dict[str, int] = {}
    unavailable = None
    client = SemanticScholarClient.from_settings(settings, transport=transport, gate=gate)
    try:
        for start in range(0, len(due), S2_BATCH):
            batch = list(due[start:start + S2_BATCH])
            try:
                records = client.papers(batch)
            except (RateLimitedError, ServiceUnavailableError) as exc:
                outcome, unavailable = _stop_reason(exc)
                rest = list(due[start:])
                log.warning("%s; %d paper(s) not asked", unavailable, len(rest))
                store.put_failures({i: S2Record(arxiv_id=i, outcome=outcome, error=unavailable)
                                    for i in rest})
                statuses[outcome] = statuses.get(outcome, 0) + len(rest)
                break
            except BadResponseError as exc:
                log.warning("Semantic Scholar: %s", exc)
                store.put_failures({i: S2Record(arxiv_id=i, outcome="error", error=exc.message)
                                    for i in batch})
                statuses["error"] = statuses.get("error", 0) + len(batch)
                continue
            answered = {r.arxiv_id: Stored(r, now()) for r in records
                        if r.outcome != "error"}
            store.put_many(answered)
            store.put_failures({r.arxiv_id: r for r in records if r.outcome == "error"})
            for record in records:
                _count(statuses, record.outcome)
            tally.add(batch)
    finally:
        client.close()
    return _asked(stats, client.service, statuses, unavailable)


def _ask_dblp(due: Sequence[str], papers: dict[str, ArxivPaper], *, settings: Settings,
              gate: Gate | None, transport: httpx.BaseTransport | None,
              store: TimedRecords[DblpRecord],
              now: Callable[[], float], tally: Tally) -> SourceStats:
    stats = SourceStats(asked=len(due))
    if not due:
        return stats
    statuses: dict[str, int] = {}
    unavailable = None
    client = DblpClient.from_settings(settings, transport=transport, gate=gate)
    try:
        for index, arxiv_id in enumerate(due):
            query = dblp_query(papers[arxiv_id].title)
            if not query:
                continue
            try:
                hits, reply = client.search(query)
            except (RateLimitedError, ServiceUnavailableError) as exc:
                outcome, unavailable = _stop_reason(exc)
                log.warning("%s; %d paper(s) not asked", unavailable, len(due) - index)
                store.put_failures({i: DblpRecord(arxiv_id=i, outcome=outcome,
                                                  error=unavailable) for i in due[index:]})
                statuses[outcome] = statuses.get(outcome, 0) + len(due) - index
                break
            except BadResponseError as exc:
                log.warning("dblp: %s: %s", arxiv_id, exc)
                store.put_failures({arxiv_id: DblpRecord(arxiv_id=arxiv_id, outcome="error",
                                                         query=query, error=exc.message)})
                _count(statuses, "error")
                continue
            record = DblpRecord(arxiv_id=arxiv_id, outcome="searched", query=query, hits=hits,
                                read_at=reply.date)
            store.put_many({arxiv_id: Stored(record, now())})
            _count(statuses, "searched")
            tally.add([arxiv_id])
    finally:
        client.close()
    return _asked(stats, client.service, statuses, unavailable)


# --------------------------------------------------------------------------------------------
# GitHub


def read_github(digests: Sequence[Digest], *, settings: Settings, state: StateStore,
                refresh: bool = False, gate: Gate | None = None,
                transport: httpx.BaseTransport | None = None,
                now: Callable[[], float] = time.time,
                sleep: Callable[[float], None] = time.sleep,
                progress: Progress = silent) -> RepoStats:
    """Read facts of every GitHub repository the digests' papers link to.

    `progress` hears stage "github": distinct repositories read (or fresh in the state), and
    waits (rate limits, retries) as they start.
    """
    groups = _groups(place(digests, stored_matches(state, digests)))
    ids = [i for g in groups.values() if (i := matched_paper(g)) is not None]
    hf = hf_store(state).records(ids)
    links = [link for group in groups.values()
             for link in code_links(group, hf.get(matched_paper(group) or ""))]
    ttl = 0.0 if refresh else settings.github_ttl_hours * 3600
    tally = Tally(progress, "github",
                  len({link.repo.lower() for link in links if link.kind == "github" and link.repo}))
    tally.start()

    def announced_sleep(seconds: float) -> None:
        if seconds >= ANNOUNCE_WAIT:
            tally.note(f"waiting {seconds:.1f} s before the next GitHub request")
        sleep(seconds)

    client = GitHubClient.from_settings(settings, transport=transport, gate=gate,
                                        sleep=announced_sleep)
    try:
        result = read_repos(links, client=client,
                            store=_TalliedRepos(state, tally, lambda e: e.fresh(now(), ttl)),
                            ttl=ttl, now=now, concurrency=settings.github_concurrency,
                            use_graphql=settings.github_token_value is not None)
    finally:
        client.close()
    tally.finish()
    statuses: dict[str, int] = {}
    for repo in result.repos.values():
        statuses[repo.status] = statuses.get(repo.status, 0) + 1
    return RepoStats(repos=len(result.repos), requests=result.requests,
                     statuses=dict(sorted(statuses.items())), wait=round(result.waited, 3),
                     unavailable=result.unavailable)


# --------------------------------------------------------------------------------------------
# Render


def _papers(state: StateStore, digests: Sequence[Digest],
            citekeys: Callable[[list[str]], dict[str, str]] | None = None,
            ) -> tuple[list[Placed], list[Paper]]:
    placed = place(digests, stored_matches(state, digests))
    unkeyed = build_papers(placed, {}, {})
    if citekeys is None:
        return placed, unkeyed
    ids = [p.arxiv_id for p in unkeyed if p.arxiv_id]
    hf = hf_store(state).records(ids)
    s2 = s2_store(state).records(ids)
    dblp = dblp_store(state).records(ids)
    linked = build_papers(placed, {}, {}, hf=hf)
    names = sorted({link.repo.lower() for p in linked for link in p.links if link.repo})
    repos = RepoStore(state).facts(names)
    keys = citekeys([p.key for p in unkeyed if p.arxiv_id])
    return placed, build_papers(placed, repos, keys, hf=hf, s2=s2, dblp=dblp)


# --------------------------------------------------------------------------------------------
# Citation keys


def issue_citekeys(state: StateStore) -> int:
    """Give every resolved paper of every recorded digest its citation key, once and for ever
    (see `enrich.store.citekeys`). Returns the number of papers keyed."""
    digests = _digests(remembered(state))
    _, papers = _papers(state, digests)
    keyed = KeyRegistry(state).assign([p for p in papers if p.arxiv_id])
    return len(keyed)


# --------------------------------------------------------------------------------------------
# Render


def protected_terms(path: Path | None) -> ProtectedTerms:
    """The proper nouns titles keep: the packaged list, extended by the user's file at `path`
    (BIBTEX_PROTECTED_TERMS; JabRef's protected-terms format). Read once, at the edge."""
    terms = default_terms()
    if path is None:
        return terms
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputNotFoundError("BIBTEX_PROTECTED_TERMS names no such file",
                                 path=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputNotFoundError(f"BIBTEX_PROTECTED_TERMS cannot be read as UTF-8 text "
                                 f"({type(exc).__name__})", path=str(path)) from None
    return terms.extended(text)


def render(output_dir: Path, state: StateStore, *,
           encoding: Literal["latex", "utf8"] = "latex",
           terms: ProtectedTerms | None = None,
           progress: Progress = silent) -> RenderStats:
    """Write every output file from the recorded state, atomically and deterministically.

    Reads the state only: citation keys were issued before (`issue_citekeys`). `terms` are
    the proper nouns titles keep (`protected_terms`; default: the packaged list). `progress`
    hears stage "render": files written or found unchanged.
    """
    sweep_temp_files(output_dir)
    outcomes = remembered(state)
    digests = _digests(outcomes)
    failures = [o.error for o in outcomes if o.error is not None]
    placed, papers = _papers(state, digests, KeyRegistry(state).existing)
    by_key = {p.key: p for p in papers}

    files: dict[str, str] = {
        "papers.jsonl": "".join(to_json(p, indent=None) for p in papers),
        "references.bib": render_bibtex(papers, encoding=encoding, terms=terms),
        "references.json": render_csl_json(papers, terms),
        "report.json": to_json(report(digests, failures, papers)),
    }
    stems = view_stems(o.file for o in outcomes)
    by_file: dict[str, list[Placed]] = {}  # each digest's entries, found once for all digests
    for item in placed:
        by_file.setdefault(item.digest.file, []).append(item)
    for outcome in outcomes:
        view = (digest_view(outcome.digest, by_file.get(outcome.digest.file, []), by_key)
                if outcome.digest is not None
                else failed_digest_view(outcome.error))  # type: ignore[arg-type]
        files[f"digests/{stems[outcome.file]}.json"] = to_json(view)
    written = []
    tally = Tally(progress, "render", len(files))
    tally.start()
    for name, content in sorted(files.items()):
        if atomic_write(inside(output_dir, output_dir / name), content):
            written.append(name)
        tally.add([name])
    statuses: dict[str, int] = {}
    for paper in papers:
        statuses[paper.match.status] = statuses.get(paper.match.status, 0) + 1
    return RenderStats(papers=len(papers), in_bib=sum(1 for p in papers if p.arxiv_id),
                       digests=len(digests), failed_digests=len(failures),
                       written=tuple(written), statuses=dict(sorted(statuses.items())))


# --------------------------------------------------------------------------------------------
# Progress: the steps' natural points, observed from outside the resolver and the reader


# Waits shorter than this are not worth a word.
ANNOUNCE_WAIT = 1.0


class _TalliedVerdicts(VerdictStore):
    """The verdict store, counting entries as they get a verdict (cached ones at once)."""

    def __init__(self, db: StateStore, tally: Tally, *, refresh: bool,
                 now: Callable[[], float] = time.time) -> None:
        super().__init__(db)
        self._tally = tally
        self._refresh = refresh
        self._now = now

    def get_many(self, fingerprints: Iterable[str]) -> dict[str, StoredVerdict]:
        stored = super().get_many(fingerprints)
        if not self._refresh:  # the resolver's rule for a cached verdict it keeps
            now = self._now()
            self._tally.add(fp for fp, v in stored.items()
                            if v.match.status in ("matched", "ambiguous")
                            or (v.match.status == "not_found"
                                and now - v.checked_at < NOT_FOUND_RETRY_SECONDS))
        return stored

    def put_many(self, verdicts: Mapping[str, tuple[ArxivMatch, str]], checked_at: float) -> None:
        super().put_many(verdicts, checked_at)
        self._tally.add(verdicts)


class _TalliedRepos(RepoStore):
    """The repository store, counting repositories as they are read (fresh ones at once)."""

    def __init__(self, db: StateStore, tally: Tally, fresh: Callable[[StoredRepo], bool]) -> None:
        super().__init__(db)
        self._tally = tally
        self._fresh = fresh

    def get_many(self, keys: Iterable[str]) -> dict[str, StoredRepo]:
        stored = super().get_many(keys)
        self._tally.add(key for key, entry in stored.items() if self._fresh(entry))
        return stored

    def put(self, key: str, stored: StoredRepo) -> None:
        super().put(key, stored)
        self._tally.add([key])


class _AnnouncedGate:
    """Passes `inner`, first saying so when the request will wait for the service's interval
    (reckoned from the last start this gate saw)."""

    def __init__(self, inner: Gate, interval: float, tally: Tally, service: str,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._inner = inner
        self._interval = interval
        self._tally = tally
        self._service = service
        self._clock = clock
        self._last: float | None = None

    @contextmanager
    def slot(self) -> Iterator[None]:
        announced = False
        if self._last is not None:
            wait = self._last + self._interval - self._clock()
            if wait >= ANNOUNCE_WAIT:
                self._tally.note(f"waiting {wait:.1f} s: one {self._service} request every "
                                 f"{self._interval:g} s")
                announced = True
        with self._inner.slot():
            self._last = self._clock()
            if announced:
                self._tally.note("")
            yield


@dataclass
class _AnnouncedRetries(RetryStats):
    """Retry statistics that also say each wait between attempts as it starts."""

    tally: Tally | None = None
    service: str = ""

    def record(self, seconds: float, *, asked: bool) -> None:
        super().record(seconds, asked=asked)
        if self.tally is not None and seconds >= ANNOUNCE_WAIT:
            self.tally.note(f"waiting {seconds:.1f} s as {self.service} asked" if asked
                            else f"waiting {seconds:.1f} s before asking {self.service} again")

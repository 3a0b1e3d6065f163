"""The pipeline's steps as plain functions: what the Prefect tasks in `flows/` call.

    parse_file → DigestStore.record → resolve → read_github → issue_citekeys → render

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
from enrich.errors import DigestError, InputNotFoundError
from enrich.net.gate import Gate, process_gate
from enrich.net.retry import RetryStats
from enrich.progress import Progress, Tally, silent
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
    place,
    report,
)
from enrich.repos.facts import read_repos
from enrich.repos.github_client import GitHubClient
from enrich.resolve.arxiv_client import ArxivClient
from enrich.resolve.matching import fingerprint
from enrich.resolve.model import ArxivMatch
from enrich.resolve.resolver import NOT_FOUND_RETRY_SECONDS, Resolver
from enrich.settings import Settings
from enrich.store.citekeys import KeyRegistry
from enrich.store.db import StateStore
from enrich.store.digests import DigestStore
from enrich.store.files import atomic_write, inside, sweep_temp_files, view_stems
from enrich.store.repos import RepoStore, StoredRepo
from enrich.store.verdicts import StoredVerdict, VerdictStore

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
                                  "date line (papers are checked against it)")
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
    placed = place(digests, stored_matches(state, digests))
    groups: dict[str, list[Placed]] = {}
    for item in placed:
        groups.setdefault(item.key, []).append(item)
    links = [link for group in groups.values() for link in code_links(group)]
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
    names = sorted({link.repo.lower() for p in unkeyed for link in p.links if link.repo})
    repos = RepoStore(state).facts(names)
    keys = citekeys([p.key for p in unkeyed if p.arxiv_id])
    return placed, build_papers(placed, repos, keys)


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


def render(output_dir: Path, state: StateStore, *,
           encoding: Literal["latex", "utf8"] = "latex",
           progress: Progress = silent) -> RenderStats:
    """Write every output file from the recorded state, atomically and deterministically.

    Reads the state only: citation keys were issued before (`issue_citekeys`). `progress`
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
        "references.bib": render_bibtex(papers, encoding=encoding),
        "references.json": render_csl_json(papers),
        "report.json": to_json(report(digests, failures, papers)),
    }
    stems = view_stems(o.file for o in outcomes)
    for outcome in outcomes:
        view = (digest_view(outcome.digest, placed, by_key) if outcome.digest is not None
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

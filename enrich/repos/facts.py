"""Facts of the GitHub repositories papers link to: stored first, then as few requests as possible.

For each distinct repository (compared case-insensitively) in one call:

1. facts stored in the state (`enrich.store.repos`) younger than the TTL are used as they are —
   a re-run within the TTL makes no request at all;
2. with a token, the rest are asked through GraphQL, 100 per query (ETags do not exist there);
3. what is still open is asked through REST, `concurrency` requests in flight, conditionally
   (`If-None-Match`) when an ETag is stored, at the API path that answered last time (so a
   renamed repository is refreshed under its new name with one request). A 304 keeps the stored
   facts and records a new `checked_at`.

Every answer is written to the state as it arrives, so a killed run keeps what finished. When
GitHub's quota runs out (reset further away than the client waits) the remaining repositories are
`deferred`; when GitHub cannot be reached they are `error`. Both are retryable: the state keeps
the last good facts of a repository (never overwritten by a failure), and a repository with none
gets a placeholder that the next run asks again.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

from enrich.errors import BadResponseError, RateLimitedError, ServiceUnavailableError
from enrich.repos.github_client import GRAPHQL_BATCH, GitHubClient
from enrich.repos.model import CodeLink, LinkSource, Repo, RepoAnswer, RepoStatus
from enrich.store.repos import RepoStore, StoredRepo

log = logging.getLogger(__name__)



@dataclass
class ReadResult:
    """Repositories by lower-cased requested `owner/name`, and what reading them cost.

    `repos` holds this call's outcome: a repository that could not be refreshed shows `deferred`
    or `error` (with its last known facts, if any, which the state keeps for the outputs).
    """

    repos: dict[str, Repo] = field(default_factory=dict)
    requests: int = 0
    waited: float = 0.0
    unavailable: str | None = None


@dataclass(frozen=True)
class _Job:
    key: str
    requested: str
    source: LinkSource
    stored: StoredRepo | None


@dataclass
class _Stop:
    status: RepoStatus
    message: str  # may quote GitHub's own words: never used as a format string

    def sentence(self, count: int | None) -> str:
        what = "deferred" if self.status == "deferred" else "not read"
        if count is None:
            return f"{self.message}; the remaining repositories {what}"
        return f"{self.message}; {count} repositor{'y' if count == 1 else 'ies'} {what}"


def read_repos(links: Sequence[CodeLink], *, client: GitHubClient, store: RepoStore, ttl: float,
               now: Callable[[], float], concurrency: int, use_graphql: bool) -> ReadResult:
    """Facts of every GitHub repository linked, each read at most once (see module docstring)."""
    wanted: dict[str, tuple[str, LinkSource]] = {}
    for link in links:
        if link.kind == "github" and link.repo:
            wanted.setdefault(link.repo.lower(), (link.repo, link.source))
    requests_before, waited_before = client.snapshot()
    result = ReadResult()
    stored = store.get_many(wanted)
    due: list[_Job] = []
    for key, (requested, source) in wanted.items():
        entry = stored.get(key)
        if entry is not None and entry.fresh(now(), ttl):
            result.repos[key] = entry.repo
        else:
            due.append(_Job(key, requested, source, entry))
    reader = _Reader(client, store, now, result)
    if due:
        log.info("GitHub: %d repositories to read, %d fresh in the state", len(due),
                 len(wanted) - len(due))
        left = reader.graphql(due) if use_graphql and client.has_token else due
        reader.rest(left, concurrency)
    requests_after, waited_after = client.snapshot()
    result.requests = requests_after - requests_before
    result.waited = round(waited_after - waited_before, 3)
    result.repos = {key: result.repos[key] for key in wanted if key in result.repos}
    if reader.stop is not None:
        not_read = len(reader.failed)
        result.unavailable = reader.stop.sentence(not_read)
    return result


class _Reader:
    """Asks GitHub for due jobs and records each answer as it arrives."""

    def __init__(self, client: GitHubClient, store: RepoStore, now: Callable[[], float],
                 result: ReadResult) -> None:
        self.client = client
        self.store = store
        self.now = now
        self.result = result
        self.stop: _Stop | None = None
        self.failed: set[str] = set()
        self._stop_event = threading.Event()
        self._worker_stop: RepoStatus = "error"

    # -- GraphQL -----------------------------------------------------------------------------

    def graphql(self, jobs: list[_Job]) -> list[_Job]:
        """Ask GraphQL in batches; return the jobs it did not answer (for REST)."""
        left: list[_Job] = []
        for start in range(0, len(jobs), GRAPHQL_BATCH):
            batch = jobs[start:start + GRAPHQL_BATCH]
            if self.stop is not None:
                left.extend(batch)
                continue
            try:
                answers = self.client.get_repos_graphql([job.requested for job in batch])
            except RateLimitedError as exc:
                # GraphQL has its own points budget; REST may still have quota.
                log.warning("GitHub GraphQL: %s; continuing with REST", exc)
                left.extend(jobs[start:])
                break
            except (ServiceUnavailableError, BadResponseError) as exc:
                if self.client.down is not None:
                    self._halt("error", f"GitHub {self.client.down}")
                else:
                    log.warning("GitHub GraphQL failed (%s); continuing with REST", exc)
                left.extend(jobs[start:])
                break
            for job in batch:
                answer = answers.get(job.requested)
                if answer is None:
                    left.append(job)
                else:
                    self._record(job, answer)
        return left

    # -- REST --------------------------------------------------------------------------------

    def rest(self, jobs: list[_Job], concurrency: int) -> None:
        if not jobs:
            return
        if self.stop is not None:
            for job in jobs:
                self._fail(job, self.stop.status, self.stop.message)
            return
        with ThreadPoolExecutor(max_workers=max(1, concurrency),
                                thread_name_prefix="github") as pool:
            futures: dict[Future[RepoAnswer], _Job] = {
                pool.submit(self._fetch, job): job for job in jobs
            }
            for future in as_completed(futures):
                job = futures[future]
                try:
                    answer = future.result()
                except (CancelledError, _SkippedError):
                    self._fail(job, self.stop.status if self.stop else self._worker_stop,
                               self.stop.message if self.stop else "not asked: GitHub stopped")
                except RateLimitedError as exc:
                    retry_at = exc.retry_at.strftime("%Y-%m-%dT%H:%M:%SZ") if exc.retry_at \
                        else "later"
                    self._halt("deferred", f"GitHub quota exhausted until {retry_at}")
                    self._fail(job, "deferred", f"GitHub quota exhausted until {retry_at}")
                    _cancel(futures)
                except ServiceUnavailableError as exc:
                    # exc.message reads "unreachable: …", "unavailable: …" or
                    # "credentials refused: …".
                    self._halt("error", f"GitHub {exc.message}")
                    self._fail(job, "error", f"GitHub {exc.message}")
                    _cancel(futures)
                except BadResponseError as exc:
                    log.warning("GitHub: %s: %s", job.requested, exc)
                    self._fail(job, "error", str(exc))
                else:
                    self._record(job, answer)

    def _fetch(self, job: _Job) -> RepoAnswer:
        if self._stop_event.is_set():
            raise _SkippedError
        stored = job.stored if job.stored is not None and job.stored.answered else None
        try:
            if stored is None or stored.repo.status != "ok":
                return self.client.get_repo(job.requested)
            # Refresh at the path that answered last time: a renamed repository costs one
            # request.
            return self.client.get_repo(job.requested, etag=stored.etag, path=stored.path)
        except RateLimitedError:
            self._stop_workers("deferred")
            raise
        except ServiceUnavailableError:
            self._stop_workers("error")
            raise

    def _stop_workers(self, status: RepoStatus) -> None:
        """Skip every job not started yet, before the main thread hears why (workers race it)."""
        self._worker_stop = status
        self._stop_event.set()

    # -- recording ---------------------------------------------------------------------------

    def _halt(self, status: RepoStatus, message: str) -> None:
        if self.stop is None:
            self.stop = _Stop(status, message)
            log.warning("%s", self.stop.sentence(None))
        self._stop_event.set()

    def _record(self, job: _Job, answer: RepoAnswer) -> None:
        checked = self.now()
        when = answer.date or dt.datetime.fromtimestamp(checked, dt.UTC)
        previous = job.stored if job.stored is not None and job.stored.answered else None
        if answer.outcome == "not_modified":
            if previous is None:
                log.warning("GitHub: 304 for %s without stored facts", job.requested)
                self._fail(job, "error", "GitHub: 304 Not Modified without stored facts")
                return
            repo = previous.repo.model_copy(update={"checked_at": when})
            etag = answer.etag or previous.etag
        elif answer.outcome == "ok" and answer.facts is not None:
            facts = answer.facts
            repo = Repo(full_name=facts.full_name, requested=job.requested, url=facts.html_url,
                        status="ok", stars=facts.stars, forks=facts.forks, license=facts.license,
                        language=facts.language, pushed_at=facts.pushed_at,
                        archived=facts.archived, fetched_at=when, checked_at=when,
                        source=job.source)
            etag = answer.etag
        else:
            status: RepoStatus = "missing" if answer.outcome == "missing" else "unavailable"
            repo = _placeholder(job, status, answer.reason).model_copy(
                update={"fetched_at": when, "checked_at": when})
            etag = None
        entry = StoredRepo(repo=repo, etag=etag, checked=checked, path=answer.path)
        self.store.put(job.key, entry)
        self.result.repos[job.key] = repo

    def _fail(self, job: _Job, status: RepoStatus, reason: str) -> None:
        """A repository not read this time: keep its last good facts, else leave a placeholder
        that says why."""
        self.failed.add(job.key)
        previous = job.stored if job.stored is not None and job.stored.answered else None
        if previous is not None:
            self.result.repos[job.key] = previous.repo.model_copy(
                update={"status": status, "error": reason})
            return
        repo = _placeholder(job, status, reason)
        self.store.put(job.key, StoredRepo(repo=repo, etag=None, checked=None, path=None))
        self.result.repos[job.key] = repo


class _SkippedError(Exception):
    """A job not sent because the run already stopped asking GitHub."""


def _placeholder(job: _Job, status: RepoStatus, reason: str | None) -> Repo:
    return Repo(full_name=job.requested, requested=job.requested,
                url=f"https://github.com/{job.requested}", status=status, source=job.source,
                error=reason)


def _cancel(futures: dict[Future[RepoAnswer], Any]) -> None:
    for future in futures:
        future.cancel()

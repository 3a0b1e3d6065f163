"""How to ask GitHub for repository facts: REST and GraphQL, retries, rate limits, renames.

One `GitHubClient` holds one configured httpx client (base URL, `Accept`, API version,
User-Agent, timeouts, connection limit, and `Authorization: Bearer …` only when a token exists).
What it does on each request, following GitHub's REST documentation:

* **Retries** (`enrich.net.retry`, one layer) only what is transient: transport errors, 5xx,
  truncated or non-JSON bodies, 429, and 403 *with rate-limit signals*. Waits honour
  `retry-after`, else `x-ratelimit-reset` when `x-ratelimit-remaining` is 0, else back off from a
  minute (secondary limits). Bounded by attempts and total time; `sleep` and `clock` are injected.
* **Quota**: when the wait would be longer than `max_wait`, it raises `RateLimitedError` (with
  `retry_at`) and, from then on, refuses without a request until the reset: a scheduled run must
  defer, never sleep for an hour. A response showing `remaining: 0` blocks the same way before the
  next request is wasted on a 403.
* **Unreachable** (DNS, refused, connect timeouts): a few quick attempts, then every later call
  fails at once with `ServiceUnavailableError` — a run without network ends in seconds.
* **Renames** answer 301 with a `Location` (`/repositories/<id>`); it is followed by hand, only to
  the configured API origin (the token never travels elsewhere), and the new `full_name` is kept.
  404/410 mean missing; 451 and non-rate-limit 403 ("Repository access blocked") unavailable.
* **Conditional requests**: `If-None-Match` with a stored ETag; 304 is an answer of its own.
* **GraphQL** (`POST /graphql`, token only): up to 100 aliased `repository(owner:, name:)` fields
  per query. A `NOT_FOUND` alias is a missing repository and `FORBIDDEN` ("Repository access
  blocked") an unavailable one; any other per-alias problem leaves that name out of the answer
  so the caller can ask REST.

The token is sent in one header and nowhere else: it is masked out of every message built from a
server's answer, exceptions are raised without causes that could hold the request, and neither
the client's repr nor its logs mention it.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
    model_validator,
)

from enrich.errors import (
    BadResponseError,
    RateLimitedError,
    RemoteError,
    ServiceUnavailableError,
    ServiceUnreachableError,
)
from enrich.net.gate import Gate
from enrich.net.http import (
    RateLimitWaitError,
    TransientError,
    exchange,
    make_client,
    public_url,
    retry_after_seconds,
)
from enrich.net.retry import RetryPolicy, RetryStats, call_with_retries
from enrich.repos.model import Outcome, RepoAnswer, RepoFacts
from enrich.settings import Settings

log = logging.getLogger(__name__)

SERVICE = "GitHub"
API_VERSION = "2022-11-28"
GRAPHQL_BATCH = 100  # aliased repositories per GraphQL query
MAX_REDIRECTS = 3
REST_BODY_LIMIT = 1 << 20  # a repository document is a few kB
GRAPHQL_BODY_LIMIT = 8 << 20
# GitHub: without retry-after or an exhausted primary quota, "wait at least one minute" and back
# off exponentially (secondary rate limits).
SECONDARY_LIMIT_WAIT = 60.0
BACKOFF = 1.0
_MESSAGE_CHARS = 200
_OWNER = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")
_NAME = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
_API_PATH = re.compile(r"/repos/[A-Za-z0-9-]+/[A-Za-z0-9._-]+|/repositories/[0-9]+")

T = TypeVar("T")


# ------------------------------------------------------------------------------------------------
# What came back


@dataclass
class GitHubStats:
    """Counters for the run summary (thread-safe through the client's lock)."""

    requests: int = 0
    quota_wait: float = 0.0  # waiting for a used-up quota to reset before asking
    retry: RetryStats = field(default_factory=RetryStats)
    statuses: dict[str, int] = field(default_factory=dict)

    @property
    def rate_limit_wait(self) -> float:
        """Seconds spent waiting because GitHub said so (quota resets, Retry-After)."""
        return self.quota_wait + self.retry.asked_wait


# What a service's strings may hold before we store them: an SPDX identifier, a language name.
_SPDX = r"^[A-Za-z0-9.+-]{1,64}$"
_LANGUAGE = r"^[^\x00-\x1f\x7f{}\\<>@\[\]]{1,60}$"
_NAME_PATTERN = r"^[A-Za-z0-9-]+/[A-Za-z0-9._-]+$"


def _checked_url(url: str, full_name: str) -> str:
    """The repository's web URL: https, a plain host, and the path of its own name — else a
    refusal (`"https://github.com/x/y} @misc{…"` must never reach an output)."""
    match = re.fullmatch(r"https://[A-Za-z0-9.-]+(?::[0-9]{1,5})?/([A-Za-z0-9._/-]+?)/?", url)
    if match is None or match.group(1).lower() != full_name.lower():
        raise ValueError("html_url is not the repository's own URL")
    return url.rstrip("/")


class _License(BaseModel):
    model_config = ConfigDict(extra="ignore")
    spdx_id: StrictStr | None = Field(default=None, pattern=_SPDX)


class _RestRepo(BaseModel):
    """The fields of `GET /repos/{owner}/{repo}` we keep; wrong types are refused, not coerced."""

    model_config = ConfigDict(extra="ignore")
    full_name: StrictStr = Field(pattern=_NAME_PATTERN)
    html_url: StrictStr
    stargazers_count: StrictInt = Field(ge=0)
    forks_count: StrictInt = Field(ge=0)
    license: _License | None = None
    language: StrictStr | None = Field(default=None, pattern=_LANGUAGE)
    pushed_at: dt.datetime | None = None
    archived: StrictBool = False
    fork: StrictBool = False

    @model_validator(mode="after")
    def _own_url(self) -> _RestRepo:
        self.html_url = _checked_url(self.html_url, self.full_name)
        return self

    def facts(self) -> RepoFacts:
        return RepoFacts(
            full_name=self.full_name, html_url=self.html_url,
            stars=self.stargazers_count, forks=self.forks_count,
            license=self.license.spdx_id if self.license else None, language=self.language,
            pushed_at=_utc(self.pushed_at), archived=self.archived, fork=self.fork,
        )


class _GqlLicense(BaseModel):
    model_config = ConfigDict(extra="ignore")
    spdxId: StrictStr | None = Field(default=None, pattern=_SPDX)  # noqa: N815 - GraphQL's


class _GqlLanguage(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: StrictStr = Field(pattern=_LANGUAGE)


class _GqlRepo(BaseModel):
    """The fields our GraphQL query selects on `Repository`."""

    model_config = ConfigDict(extra="ignore")
    nameWithOwner: StrictStr = Field(pattern=_NAME_PATTERN)  # noqa: N815
    url: StrictStr
    stargazerCount: StrictInt = Field(ge=0)  # noqa: N815
    forkCount: StrictInt = Field(ge=0)  # noqa: N815
    licenseInfo: _GqlLicense | None = None  # noqa: N815
    primaryLanguage: _GqlLanguage | None = None  # noqa: N815
    pushedAt: dt.datetime | None = None  # noqa: N815
    isArchived: StrictBool  # noqa: N815
    isFork: StrictBool = False  # noqa: N815

    @model_validator(mode="after")
    def _own_url(self) -> _GqlRepo:
        self.url = _checked_url(self.url, self.nameWithOwner)
        return self

    def facts(self) -> RepoFacts:
        return RepoFacts(
            full_name=self.nameWithOwner, html_url=self.url,
            stars=self.stargazerCount, forks=self.forkCount,
            license=self.licenseInfo.spdxId if self.licenseInfo else None,
            language=self.primaryLanguage.name if self.primaryLanguage else None,
            pushed_at=_utc(self.pushedAt), archived=self.isArchived, fork=self.isFork,
        )


# Per-alias GraphQL errors that answer the question; any other leaves the name to REST.
_GRAPHQL_OUTCOMES: dict[str, Outcome] = {"NOT_FOUND": "missing", "FORBIDDEN": "unavailable"}

_GQL_FRAGMENT = (
    "fragment repo on Repository { nameWithOwner url stargazerCount forkCount "
    "licenseInfo { spdxId } primaryLanguage { name } pushedAt isArchived isFork }"
)


def graphql_query(names: Sequence[str]) -> str:
    """One query asking for each `owner/name` under the alias `r<i>`."""
    fields = []
    for i, name in enumerate(names):
        owner, repo = split_name(name)
        fields.append(f"  r{i}: repository(owner: {json.dumps(owner)}, name: {json.dumps(repo)})"
                      " { ...repo }")
    return "query {\n" + "\n".join(fields) + "\n}\n" + _GQL_FRAGMENT + "\n"


def split_name(name: str) -> tuple[str, str]:
    """(`owner`, `name`) of `owner/name`; ValueError for anything GitHub could not hold."""
    owner, _, repo = name.partition("/")
    if not _OWNER.match(owner) or not _NAME.match(repo) or repo in {".", ".."}:
        raise ValueError(f"not a GitHub repository name: {name!r}")
    return owner, repo


@dataclass(frozen=True)
class _Reply:
    status: int
    headers: httpx.Headers
    body: bytes
    url: str
    data: Any = None  # the decoded JSON body, when the parser asked for it

    @property
    def message(self) -> str:
        """GitHub's `message` field, when the body is a JSON object that has one."""
        data = self.data
        if data is None:
            try:
                data = json.loads(self.body)
            except ValueError:
                return ""
        text = data.get("message") if isinstance(data, dict) else None
        return text if isinstance(text, str) else ""


# ------------------------------------------------------------------------------------------------
# The client


class GitHubClient:
    """Read repository facts from GitHub's REST and GraphQL APIs, politely and safely."""

    def __init__(self, *, http: httpx.Client, has_token: bool, secrets: Sequence[str] = (),
                 max_attempts: int = 4, retry_budget: float = 90.0, max_wait: float = 60.0,
                 gate: Gate | None = None, deadline: float | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.time) -> None:
        self._http = http
        self._deadline = deadline
        self._gate = gate
        self.has_token = has_token
        self._secrets = tuple(s for s in secrets if s)
        self._policy = RetryPolicy(max_attempts=max_attempts, budget=retry_budget,
                                   backoff=BACKOFF)
        self.max_wait = max_wait
        self._sleep = sleep
        self._clock = clock
        self._lock = threading.Lock()
        self._blocked: dict[str, float] = {}  # resource → epoch seconds when its quota resets
        self._down: str | None = None
        self.stats = GitHubStats()
        self._base = httpx.URL(str(http.base_url))

    @classmethod
    def from_settings(cls, settings: Settings, transport: httpx.BaseTransport | None = None, *,
                      gate: Gate | None = None, sleep: Callable[[float], None] = time.sleep,
                      clock: Callable[[], float] = time.time) -> GitHubClient:
        """A client for `settings.github_api_url`, authenticated when a token is configured.

        `gate`, when given, is passed by every request (e.g. a fleet-wide in-flight limit); it
        is never held while waiting between attempts.
        """
        token = settings.github_token_value
        headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": API_VERSION}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        http = make_client(base_url=settings.github_api_url.rstrip("/"),
                           user_agent=settings.user_agent, timeout=settings.github_timeout,
                           headers=headers, max_connections=settings.github_concurrency,
                           transport=transport)
        return cls(http=http, has_token=token is not None, secrets=(token or "",),
                   max_attempts=settings.github_max_attempts,
                   retry_budget=settings.github_retry_budget, max_wait=settings.github_max_wait,
                   gate=gate, deadline=settings.github_deadline, sleep=sleep, clock=clock)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> GitHubClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def __repr__(self) -> str:
        auth = "token" if self.has_token else "anonymous"
        return f"GitHubClient({public_url(self._base)!r}, {auth})"

    @property
    def down(self) -> str | None:
        """Why GitHub is treated as unreachable for the rest of this client's life, if it is."""
        return self._down

    def snapshot(self) -> tuple[int, float]:
        """(requests, seconds waited) so far, read consistently."""
        with self._lock:
            return self.stats.requests, self.stats.rate_limit_wait

    # -- what callers use --------------------------------------------------------------------

    def get_repo(self, name: str, *, etag: str | None = None,
                 path: str | None = None) -> RepoAnswer:
        """Facts of `owner/name` (REST), following renames; conditional when `etag` is given.

        `path` asks a known API path instead (e.g. the new name after a rename). Raises
        `RateLimitedError` when the quota is gone for longer than `max_wait`,
        `ServiceUnavailableError` when GitHub cannot be reached or keeps failing, and
        `BadResponseError` for an answer we refuse to trust.
        """
        owner, repo = split_name(name)
        if path is not None and not _API_PATH.fullmatch(path):
            # Paths come back from the state file: only ever ask our own API for a repository.
            log.info("GitHub: ignoring an unexpected stored path for %s", name)
            path = None
        url = path or f"/repos/{quote(owner, safe='')}/{quote(repo, safe='')}"
        headers = {"If-None-Match": etag} if etag else {}
        for _ in range(MAX_REDIRECTS + 1):
            reply = self._call("GET", url, headers=headers, resource="core",
                               limit=REST_BODY_LIMIT, parse=_parse_json)
            status = reply.status
            if status in (301, 302, 307, 308):
                url = self._follow(reply)
                continue
            date = _date(reply.headers)
            if status == 304:
                return RepoAnswer(name, "not_modified", etag=reply.headers.get("etag") or etag,
                                  date=date, path=_path_of(url, self._base))
            if status == 200:
                facts = _validate(_RestRepo, reply.data, reply.url).facts()
                return RepoAnswer(name, "ok", facts=facts, etag=reply.headers.get("etag"),
                                  date=date, path="/repos/" + facts.full_name)
            if status in (404, 410):
                return RepoAnswer(name, "missing", date=date,
                                  reason=self._redact(reply.message) or f"HTTP {status}")
            if status in (403, 451):
                return RepoAnswer(name, "unavailable", date=date,
                                  reason=self._redact(reply.message) or f"HTTP {status}")
            raise self._unexpected(reply)
        raise BadResponseError(f"more than {MAX_REDIRECTS} redirects", service=SERVICE,
                               url=public_url(reply.url), status=reply.status)

    def get_repos_graphql(self, names: Sequence[str]) -> dict[str, RepoAnswer]:
        """Facts of up to 100 repositories in one GraphQL query, keyed by the names given.

        Names missing from the result could not be answered here (ask REST). Raises like
        `get_repo`, and `BadResponseError` when the query as a whole failed.
        """
        if not self.has_token:
            raise ValueError("GitHub's GraphQL API needs a token")
        if len(names) > GRAPHQL_BATCH:
            raise ValueError(f"at most {GRAPHQL_BATCH} repositories per GraphQL query")
        if not names:
            return {}
        body = json.dumps({"query": graphql_query(names)}).encode()
        reply = self._call("POST", self._graphql_url(), content=body,
                           headers={"Content-Type": "application/json"}, resource="graphql",
                           limit=GRAPHQL_BODY_LIMIT, parse=_parse_json)
        if reply.status != 200:
            raise self._unexpected(reply)
        payload = reply.data
        data = payload.get("data") if isinstance(payload, dict) else None
        errors = payload.get("errors") if isinstance(payload, dict) else None
        errors = errors if isinstance(errors, list) else []
        if not isinstance(data, dict):
            first = next((e.get("message") for e in errors if isinstance(e, dict)), None)
            detail = self._redact(first) if isinstance(first, str) else "no data"
            raise BadResponseError(f"GraphQL query failed: {detail}", service=SERVICE,
                                   url=public_url(reply.url), status=reply.status)
        by_alias: dict[str, dict[str, Any]] = {}
        for error in errors:
            path = error.get("path") if isinstance(error, dict) else None
            if isinstance(path, list) and path and isinstance(path[0], str):
                by_alias.setdefault(path[0], error)
        date = _date(reply.headers)
        answers: dict[str, RepoAnswer] = {}
        for i, name in enumerate(names):
            alias = f"r{i}"
            node = data.get(alias)
            if node is None:
                error = by_alias.get(alias, {})
                kind = error.get("type")
                outcome = _GRAPHQL_OUTCOMES.get(kind) if isinstance(kind, str) else None
                if outcome is not None:
                    message = error.get("message")
                    answers[name] = RepoAnswer(
                        name, outcome, date=date,
                        reason=self._redact(message) if isinstance(message, str) else kind)
                continue
            try:
                facts = _GqlRepo.model_validate(node).facts()
            except ValidationError:
                log.info("GitHub GraphQL: unusable node for %s; asking REST", name)
                continue
            answers[name] = RepoAnswer(name, "ok", facts=facts, date=date,
                                       path="/repos/" + facts.full_name)
        return answers

    # -- how we ask --------------------------------------------------------------------------

    def _call(self, method: str, url: str, *, resource: str, limit: int,
              parse: Callable[[_Reply], _Reply], headers: Mapping[str, str] | None = None,
              content: bytes | None = None) -> _Reply:
        def attempt() -> _Reply:
            return parse(self._classify(self._send(method, url, headers=headers,
                                                   content=content, resource=resource,
                                                   limit=limit), resource))

        try:
            return call_with_retries(attempt, policy=self._policy, service=SERVICE, url=url,
                                     stats=self.stats.retry, sleep=self._sleep,
                                     clock=self._clock)
        except ServiceUnreachableError as exc:
            with self._lock:
                self._down = exc.message
            raise

    def _send(self, method: str, url: str, *, headers: Mapping[str, str] | None,
              content: bytes | None, resource: str, limit: int) -> _Reply:
        """One HTTP exchange (no retries), after the client-wide gates."""
        self._pass_gates(resource, url)
        with self._lock:
            self.stats.requests += 1
        try:
            reply = exchange(self._http, method, url, service=SERVICE, limit=limit,
                             headers=headers, content=content, gate=self._gate,
                             total=self._deadline)
        except TransientError as exc:
            self._count(exc.kind)
            raise
        except BadResponseError:  # oversized: refuse, do not retry
            self._count("oversized")
            raise
        self._count(str(reply.status))
        self._note_quota(reply.headers, resource)
        return _Reply(reply.status, reply.headers, reply.body, reply.url)

    def _classify(self, reply: _Reply, resource: str) -> _Reply:
        """Raise for answers worth retrying (5xx, rate limits); return the others."""
        status = reply.status
        if status >= 500:
            raise TransientError(f"HTTP {status}", status=status, url=reply.url)
        if status == 429 or (status == 403 and _rate_limited(reply)):
            delay = self._rate_limit_wait(reply)
            if delay > self.max_wait:
                until = self._clock() + delay
                if self._block(resource, until):
                    log.warning("GitHub: %s quota exhausted until %s; not waiting %.0f s",
                                resource, _from_epoch(until).isoformat(), delay)
                raise RateLimitedError(
                    f"quota exhausted; resets in {delay:.0f} s, beyond the {self.max_wait:.0f} s"
                    " we wait", service=SERVICE, url=public_url(reply.url), status=status,
                    retry_at=_from_epoch(until))
            raise RateLimitWaitError(f"rate limited (HTTP {status})", status=status,
                                     url=reply.url, wait=delay)
        return reply

    def _rate_limit_wait(self, reply: _Reply) -> float:
        after = retry_after_seconds(reply.headers, now=self._clock())
        if after is not None:
            return after
        reset = _reset_epoch(reply.headers)
        if reply.headers.get("x-ratelimit-remaining") == "0" and reset is not None:
            return max(0.0, reset - self._clock()) + 1.0
        return SECONDARY_LIMIT_WAIT

    def _note_quota(self, headers: httpx.Headers, resource: str) -> None:
        """A response that used the last request of the quota blocks until the reset."""
        reset = _reset_epoch(headers)
        if headers.get("x-ratelimit-remaining") == "0" and reset is not None:
            self._block(resource, reset)

    def _block(self, resource: str, until: float) -> bool:
        """Refuse requests for `resource` until `until`; True when it was not blocked yet."""
        with self._lock:
            before = self._blocked.get(resource)
            self._blocked[resource] = max(until, before or 0.0)
            return before is None

    def _pass_gates(self, resource: str, url: str) -> None:
        """Fail fast when GitHub is down or the quota is gone; wait out a short reset."""
        with self._lock:
            down, until = self._down, self._blocked.get(resource)
        if down is not None:
            raise ServiceUnavailableError(down, service=SERVICE, url=public_url(url))
        if until is None:
            return
        delay = until - self._clock()
        if delay <= 0:
            with self._lock:
                if self._blocked.get(resource) == until:
                    del self._blocked[resource]
            return
        if delay > self.max_wait:
            raise RateLimitedError(f"quota exhausted; resets in {delay:.0f} s", service=SERVICE,
                                   url=public_url(url), retry_at=_from_epoch(until))
        log.info("GitHub: %s quota used up; waiting %.1f s for the reset", resource, delay)
        with self._lock:
            self.stats.quota_wait += delay
        self._sleep(delay)

    def _count(self, outcome: str) -> None:
        with self._lock:
            self.stats.statuses[outcome] = self.stats.statuses.get(outcome, 0) + 1

    def _follow(self, reply: _Reply) -> str:
        """The target of a redirect, only when it stays on the configured API origin."""
        location = reply.headers.get("location")
        if not location:
            raise BadResponseError("redirect without a Location", service=SERVICE,
                                   url=public_url(reply.url), status=reply.status)
        target = httpx.URL(reply.url).join(location)
        base = self._base
        prefix = base.path.rstrip("/") + "/"
        if (target.scheme, target.host, target.port) != (base.scheme, base.host, base.port) \
                or not target.path.startswith(prefix):
            raise BadResponseError("redirect away from the API origin refused", service=SERVICE,
                                   url=public_url(reply.url), status=reply.status)
        return str(target)

    def _graphql_url(self) -> str:
        # GitHub Enterprise serves REST under /api/v3 and GraphQL at /api/graphql.
        path = self._base.path.rstrip("/")
        if path.endswith("/api/v3"):
            return str(self._base.copy_with(path=path[: -len("/v3")] + "/graphql"))
        return "/graphql"

    def _unexpected(self, reply: _Reply) -> RemoteError:
        detail = self._redact(reply.message)
        text = f"unexpected answer: {detail}" if detail else "unexpected answer"
        if reply.status == 401:
            # A wrong or expired token fails every request alike: stop asking for this run.
            with self._lock:
                self._down = f"credentials refused: {detail or 'HTTP 401'}"
            return ServiceUnavailableError(f"credentials refused: {detail or 'HTTP 401'}",
                                           service=SERVICE, url=public_url(reply.url),
                                           status=401)
        return BadResponseError(text, service=SERVICE, url=public_url(reply.url),
                                status=reply.status)

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        text = " ".join(text.split())
        return text[:_MESSAGE_CHARS]


# ------------------------------------------------------------------------------------------------
# Helpers


def _parse_json(reply: _Reply) -> _Reply:
    """Decode a 200's JSON body; a body cut short or not JSON at all is worth another attempt."""
    if reply.status != 200:
        return reply
    content_type = reply.headers.get("content-type", "")
    if "json" not in content_type.lower():
        raise TransientError(f"expected JSON, got {content_type or 'no content type'!r}",
                              status=reply.status, url=reply.url)
    try:
        data = json.loads(reply.body)
    except ValueError:
        raise TransientError("truncated or malformed JSON", status=reply.status,
                              url=reply.url) from None
    return _Reply(reply.status, reply.headers, reply.body, reply.url, data)


M = TypeVar("M", bound=BaseModel)


def _validate(model: type[M], data: Any, url: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields = sorted({".".join(str(p) for p in e["loc"]) for e in exc.errors()})
        raise BadResponseError(f"repository document with bad fields: {', '.join(fields)}",
                               service=SERVICE, url=public_url(url), status=200) from None


def _rate_limited(reply: _Reply) -> bool:
    """Whether a 403 is a rate limit (rather than, say, "Repository access blocked")."""
    headers = reply.headers
    if headers.get("retry-after") or headers.get("x-ratelimit-remaining") == "0":
        return True
    return "rate limit" in reply.message.lower()


def _reset_epoch(headers: httpx.Headers) -> float | None:
    value = headers.get("x-ratelimit-reset", "").strip()
    return float(value) if value.isdigit() else None


def _date(headers: httpx.Headers) -> dt.datetime | None:
    value = headers.get("date")
    if not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)


def _from_epoch(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(round(seconds), dt.UTC)


def _utc(when: dt.datetime | None) -> dt.datetime | None:
    if when is None:
        return None
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)


def _path_of(url: str, base: httpx.URL) -> str:
    """The API path of `url` relative to the base URL (what a later request can ask again)."""
    target = httpx.URL(url) if "://" in url else None
    if target is None:
        return url
    prefix = base.path.rstrip("/")
    path = target.path
    return path[len(prefix):] if prefix and path.startswith(prefix) else path

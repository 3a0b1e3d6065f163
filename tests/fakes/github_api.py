"""A loopback fake of GitHub's REST and GraphQL APIs for repository facts.

`FakeGitHub` serves, on 127.0.0.1, what a client reading repository facts meets on
api.github.com:

* `GET /repos/{owner}/{repo}` — the real document shape (`full_name`, `html_url`,
  `stargazers_count`, `forks_count`, `license{key,name,spdx_id}`, `language`, `pushed_at`,
  `archived`, `fork`, `default_branch`, `owner{…}`, …), owner and name matched
  case-insensitively; renamed repositories answer **301** with `Location: …/repositories/<id>`
  (as GitHub does), `GET /repositories/{id}` answers the document; deleted or private ones
  **404** `{"message": "Not Found", "documentation_url": …}`; DMCA-blocked **451** and
  ToS-blocked **403**, both "Repository access blocked".
* Rate limits per identity (anonymous, or each token) and resource (`core`, `graphql`), with
  `x-ratelimit-limit/remaining/used/reset/resource` on every answer: 60 an hour anonymous,
  5,000 with a token (both settable, e.g. a tiny quota that runs out mid-run). An exhausted
  quota answers 403 with `remaining: 0`.
* Weak ETags (`W/"…"`, like GitHub's), specific to the identity, and **304** on a matching
  `If-None-Match` — free for authenticated requests, counted for anonymous ones.
* `POST /graphql` (token required, 401 otherwise): reads the aliased
  `a0: repository(owner: "x", name: "y") { … }` fields of a query (string literals, inline
  selections or fragment spreads), answers only the top-level fields
  selected (nested objects such as `licenseInfo` come whole), follows renames, and reports a
  missing repository as `null` plus an error `{"type": "NOT_FOUND", "path": [alias]}` (a
  blocked one `FORBIDDEN`) while the others succeed. More than 100 repositories in one query is
  refused (`MAX_NODE_LIMIT_EXCEEDED`).
* A frozen `Date` header (settable; None for the real time) so recorded answers are stable.
* Tokens: `Authorization: Bearer <t>` (or `token <t>`) must be one of `tokens`, else 401
  "Bad credentials".

It stands in for GitHub where the real program talks to it over real HTTP (the end-to-end,
fault, crash-recovery, deployment and secrets tests, and `bench/`); unit tests use
`tests.support.transports` instead. It logs every request (thread-safe), counts statuses, and
injects faults — scripted (`enqueue_faults`) or drawn from a seeded `FaultPlan`: 500/502/503,
429 with retry-after, a 403 secondary limit, truncated JSON, a connection reset, slow answers,
an HTML page instead of JSON, a huge body. Run it standalone with
`python -m tests.fakes.github_api --port 8766` (it prints its URL).
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import email.utils
import hashlib
import json
import random
import re
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlsplit

from tests.fakes.github_corpus import FakeRepo, GitHubCorpus, check, load_corpus
from tests.fakes.loopback import serve_until_interrupted

JSON_TYPE = "application/json; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"
DEFAULT_TOKEN = "fake-test-token-0123456789abcdefABCDEF"  # the fake's own token
# The Date every answer carries unless `date` is set otherwise: outputs that record when facts
# were read stay byte-identical from run to run.
FROZEN_DATE = dt.datetime(2025, 7, 1, 12, 0, 0, tzinfo=dt.UTC)
ANONYMOUS_QUOTA = 60
TOKEN_QUOTA = 5000
GRAPHQL_QUOTA = 5000
MAX_GRAPHQL_REPOSITORIES = 100
DOCS = "https://docs.github.com/rest"
_REPO_DOCS = "https://docs.github.com/rest/repos/repos#get-a-repository"
_RATE_DOCS = ("https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
              "#about-secondary-rate-limits")
_CHUNK = 1 << 16


# ----------------------------------------------------------------------------------------------
# Faults

FAULT_KINDS = (
    "500", "502", "503", "429", "429-bare", "403-secondary", "truncated", "reset", "slow",
    "wrong-type", "huge",
)


@dataclass(frozen=True)
class Fault:
    """One injected fault: a kind and an optional argument (`429:7`, `slow:0.5`, `huge:2e6`).

    The argument is the retry-after seconds for `429` and `403-secondary`, the delay for `slow`,
    the body size in bytes for `huge`; without one the fake's defaults apply.
    """

    kind: str
    arg: float | None = None

    @classmethod
    def parse(cls, spec: str) -> Fault:
        """Read `kind` or `kind:arg`; ValueError for an unknown kind or a bad argument."""
        kind, _, arg = spec.partition(":")
        if kind not in (*FAULT_KINDS, "ok"):
            raise ValueError(f"unknown fault {kind!r}; kinds are {', '.join(FAULT_KINDS)}")
        try:
            return cls(kind, float(arg) if arg else None)
        except ValueError:
            raise ValueError(f"bad argument in fault {spec!r}") from None

    def __str__(self) -> str:
        return self.kind if self.arg is None else f"{self.kind}:{self.arg:g}"


class FaultPlan:
    """Seeded random faults: each API request draws one of `kinds` with probability `rate`."""

    def __init__(self, rate: float, kinds: Sequence[str] = ("503", "429", "reset"),
                 seed: int = 0) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError("rate must lie in [0, 1]")
        if not kinds:
            raise ValueError("a fault plan needs at least one kind")
        self.rate = rate
        self.kinds = tuple(str(Fault.parse(k)) for k in kinds)
        self._rng = random.Random(seed)

    def draw(self) -> str | None:
        """The fault for the next request, or None (two draws per request, whatever happens)."""
        hit, pick = self._rng.random(), self._rng.random()
        return self.kinds[int(pick * len(self.kinds))] if hit < self.rate else None


# ----------------------------------------------------------------------------------------------
# Request log


@dataclass(frozen=True)
class RequestRecord:
    """One request as the fake saw it; `end` is None while it is still in flight."""

    method: str
    path: str
    start: float
    end: float | None
    status: int | None
    fault: str | None
    token_sent: bool
    authenticated: bool
    if_none_match: str | None
    repositories: int  # repository fields in a GraphQL query
    note: str | None


@dataclass
class _Pending:
    method: str
    path: str
    start: float
    fault: Fault | None
    token_sent: bool
    authenticated: bool
    if_none_match: str | None
    token: str | None = field(default=None, repr=False)  # used to answer, never logged
    end: float | None = None
    status: int | None = None
    repositories: int = 0
    note: str | None = None

    def freeze(self) -> RequestRecord:
        return RequestRecord(
            method=self.method, path=self.path, start=self.start, end=self.end,
            status=self.status, fault=str(self.fault) if self.fault else None,
            token_sent=self.token_sent, authenticated=self.authenticated,
            if_none_match=self.if_none_match, repositories=self.repositories, note=self.note,
        )


# ----------------------------------------------------------------------------------------------
# Quotas


@dataclass
class Quota:
    """One identity's budget for one resource, as the x-ratelimit-* headers describe it."""

    limit: int
    remaining: int
    reset: int  # epoch seconds
    used: int = 0

    def headers(self, resource: str) -> dict[str, str]:
        return {"x-ratelimit-limit": str(self.limit), "x-ratelimit-remaining": str(self.remaining),
                "x-ratelimit-reset": str(self.reset), "x-ratelimit-used": str(self.used),
                "x-ratelimit-resource": resource}


@dataclass(frozen=True)
class Answer:
    """What the fake decided to send."""

    status: int
    body: bytes = b""
    content_type: str = JSON_TYPE
    headers: Mapping[str, str] = field(default_factory=dict)


def _json(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Answer:
    return Answer(status, json.dumps(payload, ensure_ascii=False).encode(), JSON_TYPE,
                  dict(headers or {}))


# ----------------------------------------------------------------------------------------------
# GraphQL: just enough of the language to read `alias: repository(owner:, name:) { … }`


class GraphQLSyntaxError(ValueError):
    """A query the fake cannot read; answered like GitHub's parse errors."""


@dataclass(frozen=True)
class RepositoryField:
    """One `alias: repository(owner: …, name: …) { selection }` of a query."""

    alias: str
    owner: str
    name: str
    fields: frozenset[str]
    line: int
    column: int


_REPOSITORY = re.compile(r"(?:([A-Za-z_]\w*)\s*:\s*)?repository\s*\(", re.ASCII)
_ARG = re.compile(r'\s*(\w+)\s*:\s*("(?:[^"\\]|\\.)*")\s*,?', re.ASCII)
_FRAGMENT = re.compile(r"fragment\s+(\w+)\s+on\s+Repository\s*\{", re.ASCII)
_SPREAD = re.compile(r"\.\.\.\s*(\w+)", re.ASCII)
_WORD = re.compile(r"[A-Za-z_]\w*", re.ASCII)


def _block(text: str, open_at: int) -> tuple[str, int]:
    """The text inside the braces opening at `open_at`, and the index after the closing one."""
    depth = 0
    for i in range(open_at, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return text[open_at + 1:i], i + 1
    raise GraphQLSyntaxError("unbalanced braces")


def _top_level(selection: str, fragments: Mapping[str, str], seen: frozenset[str] = frozenset()
               ) -> set[str]:
    """Field names at the top level of a selection, fragment spreads expanded."""
    names: set[str] = set()
    depth, i = 0, 0
    while i < len(selection):
        ch = selection[i]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif depth == 0 and (spread := _SPREAD.match(selection, i)):
            fragment = spread.group(1)
            if fragment not in fragments:
                raise GraphQLSyntaxError(f"Fragment {fragment} was used, but not defined")
            if fragment not in seen:
                names |= _top_level(fragments[fragment], fragments, seen | {fragment})
            i = spread.end()
            continue
        elif depth == 0 and (word := _WORD.match(selection, i)):
            names.add(word.group(0))
            i = word.end()
            continue
        i += 1
    return names


def parse_repository_fields(query: str) -> list[RepositoryField]:
    """The `repository(owner:, name:)` fields of a query, in order."""
    fragments: dict[str, str] = {}
    for match in _FRAGMENT.finditer(query):
        fragments[match.group(1)], _ = _block(query, match.end() - 1)
    found: list[RepositoryField] = []
    for match in _REPOSITORY.finditer(query):
        if query[:match.start()].rstrip().endswith("..."):
            continue
        args: dict[str, str] = {}
        i = match.end()
        while (arg := _ARG.match(query, i)) is not None:
            args[arg.group(1)] = json.loads(arg.group(2))
            i = arg.end()
        close = query.find(")", i)
        if close < 0 or query[i:close].strip():
            raise GraphQLSyntaxError("Expected NAME or ')'")
        if set(args) != {"owner", "name"}:
            raise GraphQLSyntaxError("repository needs exactly the arguments owner and name")
        brace = close + 1
        while brace < len(query) and query[brace].isspace():
            brace += 1
        if brace >= len(query) or query[brace] != "{":
            raise GraphQLSyntaxError("Field must have selections (Repository)")
        selection, _ = _block(query, brace)
        line = query.count("\n", 0, match.start()) + 1
        column = match.start() - (query.rfind("\n", 0, match.start()) + 1) + 1
        alias = match.group(1) or "repository"
        found.append(RepositoryField(alias, args["owner"], args["name"],
                                     frozenset(_top_level(selection, fragments)), line, column))
    if not found:
        raise GraphQLSyntaxError("no repository fields in the query")
    return found


# ----------------------------------------------------------------------------------------------
# HTTP


_HTML_5XX = (b"<!DOCTYPE html><html><head><title>Unicorn! &middot; GitHub</title></head>"
             b"<body><p>No server is currently available to service your request.</p>"
             b"</body></html>\n")
_HTML_PORTAL = (b"<!DOCTYPE html><html><head><title>Sign in to the network</title></head>"
                b"<body><form>Accept the terms to continue</form></body></html>\n")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], fake: FakeGitHub) -> None:
        self.fake = fake
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    """Reads one request, asks the fake what to answer (or which fault to play), writes it."""

    protocol_version = "HTTP/1.1"
    server_version = "FakeGitHub/1.0"
    timeout = 30
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.fake._track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.fake._untrack(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: the fake keeps its own structured log."""

    def do_GET(self) -> None:
        """REST reads."""
        self._handle("GET")

    def do_POST(self) -> None:
        """GraphQL."""
        self._handle("POST")

    def _handle(self, method: str) -> None:
        fake = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = unquote(urlsplit(self.path).path)
        token = _token(self.headers.get("Authorization"))
        pending = fake._begin(method, path, token=token,
                              if_none_match=self.headers.get("If-None-Match"))
        try:
            if pending.fault is not None:
                self._fault(pending, body)
            else:
                self._send(pending, fake._answer(pending, body))
        except OSError:
            pending.note = pending.note or "client disconnected"
            self.close_connection = True
        finally:
            fake._finish(pending)

    def _send(self, pending: _Pending, answer: Answer) -> None:
        head = self._head(answer.status, answer.content_type, len(answer.body), answer.headers)
        # Close the record before the bytes leave, so a test reading the log after its client
        # got the answer never races the server.
        self.server.fake._finish(pending, status=answer.status)
        self.wfile.write(head + answer.body)

    def _head(self, status: int, content_type: str, length: int,
              headers: Mapping[str, str] | None = None) -> bytes:
        reason = self.responses.get(status, ("",))[0]
        if status == 451:
            reason = "Unavailable For Legal Reasons"
        lines = [f"HTTP/1.1 {status} {reason}", f"Server: {self.server_version}",
                 f"Date: {self.server.fake._date_header()}"]
        if status != 304:
            lines += [f"Content-Type: {content_type}", f"Content-Length: {length}"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if self.close_connection:
            lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def _fault(self, pending: _Pending, body: bytes) -> None:
        fake = self.server.fake
        fault = pending.fault
        assert fault is not None
        kind, arg = fault.kind, fault.arg
        wait = str(round(arg if arg is not None else fake.retry_after))
        secondary = {"message": "You have exceeded a secondary rate limit. Please wait a few "
                                "minutes before you try again.", "documentation_url": _RATE_DOCS}
        actions: dict[str, Callable[[], None]] = {
            "500": lambda: self._send(pending, _json(500, {"message": "Server Error"})),
            "502": lambda: self._send(pending, Answer(502, _HTML_5XX, HTML_TYPE)),
            "503": lambda: self._send(pending, Answer(503, _HTML_5XX, HTML_TYPE)),
            "429": lambda: self._send(pending, _json(429, secondary, {"retry-after": wait})),
            "429-bare": lambda: self._send(pending, _json(429, secondary)),
            "403-secondary": lambda: self._send(pending,
                                                _json(403, secondary, {"retry-after": wait})),
            "truncated": lambda: self._truncated(pending, body),
            "reset": lambda: self._reset(pending),
            "slow": lambda: self._slow(pending, body, fake.slow_seconds if arg is None else arg),
            "wrong-type": lambda: self._send(pending, Answer(200, _HTML_PORTAL, HTML_TYPE)),
            "huge": lambda: self._huge(pending, int(fake.huge_bytes if arg is None else arg)),
        }
        actions[kind]()

    def _truncated(self, pending: _Pending, body: bytes) -> None:
        answer = self.server.fake._answer(pending, body)
        # Cut inside the JSON but send an honest Content-Length: the HTTP exchange completes
        # and only the document is broken, as with a proxy that gave up mid-stream.
        self._send(pending, replace(answer, body=answer.body[: max(1, len(answer.body) // 2)]))

    def _reset(self, pending: _Pending) -> None:
        pending.note = "connection reset"
        self.server.fake._finish(pending, status=None)
        self.close_connection = True
        # SO_LINGER 0 makes close() send RST instead of FIN: the client sees a reset, not EOF.
        with suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
        with suppress(OSError):
            self.rfile.close()
            self.connection.close()

    def _slow(self, pending: _Pending, body: bytes, delay: float) -> None:
        if self.server.fake._stopping.wait(delay):
            self._reset(pending)
            return
        self._send(pending, self.server.fake._answer(pending, body))

    def _huge(self, pending: _Pending, size: int) -> None:
        head, tail = b'{"message": "', b'"}'
        padding = max(0, size - len(head) - len(tail))
        self.close_connection = True
        self.server.fake._finish(pending, status=200)
        self.wfile.write(self._head(200, JSON_TYPE, len(head) + padding + len(tail)) + head)
        chunk = b"A" * _CHUNK
        remaining = padding
        while remaining > 0:
            if self.server.fake._stopping.is_set():
                pending.note = "aborted by stop()"
                return
            self.wfile.write(chunk[: min(_CHUNK, remaining)])
            remaining -= _CHUNK
        self.wfile.write(tail)


def _token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    return value.strip() if scheme.lower() in {"bearer", "token"} else authorization


def _etag_matches(header: str | None, etag: str) -> bool:
    """Weak comparison, as GitHub does for If-None-Match (a list of tags, or `*`)."""
    if not header:
        return False
    if header.strip() == "*":
        return True
    opaque = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == opaque for tag in header.split(","))


# ----------------------------------------------------------------------------------------------
# The fake


class FakeGitHub:
    """The loopback GitHub API: start it, point `GITHUB_API_URL` at `.url`, read its log.

    Use as a context manager or call `start()`/`stop()`. Faults come first from the script
    (`enqueue_faults`), then from `fault_plan`; they apply to API requests only (`/repos/…`,
    `/repositories/…`, `/graphql`).
    """

    def __init__(self, corpus: GitHubCorpus | Iterable[FakeRepo] | None = None, *,
                 deleted: Iterable[str] = (), host: str = "127.0.0.1", port: int = 0,
                 tokens: Iterable[str] = (DEFAULT_TOKEN,), anonymous_quota: int = ANONYMOUS_QUOTA,
                 token_quota: int = TOKEN_QUOTA, graphql_quota: int = GRAPHQL_QUOTA,
                 window: float = 3600.0, date: dt.datetime | None = FROZEN_DATE,
                 retry_after: int = 3, slow_seconds: float = 1.0,
                 huge_bytes: int = 8 * 1024 * 1024, fault_plan: FaultPlan | None = None) -> None:
        if corpus is None:
            corpus = load_corpus()
        if isinstance(corpus, GitHubCorpus):
            repos, gone = corpus.repos, (*corpus.deleted, *deleted)
        else:
            repos, gone = tuple(corpus), tuple(deleted)
        check(repos, gone)
        self.host = host
        self.port = port
        self.tokens = set(tokens)
        self.anonymous_quota = anonymous_quota
        self.token_quota = token_quota
        self.graphql_quota = graphql_quota
        self.window = window
        self.date = date
        self.retry_after = retry_after
        self.slow_seconds = slow_seconds
        self.huge_bytes = huge_bytes
        self.fault_plan = fault_plan
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._repos: dict[int, FakeRepo] = {}
        self._names: dict[str, int] = {}
        self._old: dict[str, int] = {}
        for repo in repos:
            self._index(repo)
        self._quotas: dict[tuple[str, str], Quota] = {}
        self._faults: collections.deque[Fault] = collections.deque()
        self._log: list[_Pending] = []
        self._in_flight = 0
        self._connections: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> FakeGitHub:
        """Bind (port 0 picks a free one) and serve in a daemon thread."""
        if self._server is not None:
            raise RuntimeError("FakeGitHub is already running")
        self._stopping.clear()
        server = _Server((self.host, self.port), self)
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"fake-github-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and cut open connections (slow and streaming faults end at once)."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if thread is not None:
            thread.join(timeout=5)
        self.wait_idle(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> FakeGitHub:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The API base URL, `http://127.0.0.1:PORT` (what GITHUB_API_URL is set to)."""
        if self._server is None:
            raise RuntimeError("FakeGitHub is not running; call start() first")
        return f"http://{self.host}:{self.port}"

    # -- corpus ------------------------------------------------------------------------------

    def _index(self, repo: FakeRepo) -> None:
        self._repos[repo.id] = repo
        self._names[repo.full_name.lower()] = repo.id
        for old in repo.renamed_from:
            self._old[old.lower()] = repo.id

    def repo(self, name: str) -> FakeRepo:
        """The repository answering to `name` (current or old), else KeyError."""
        with self._lock:
            key = name.lower()
            ident = self._names.get(key, self._old.get(key))
            if ident is None:
                raise KeyError(name)
            return self._repos[ident]

    def corpus_repo(self, name: str) -> dict[str, Any]:
        """The REST document the fake serves for `name` (current or old), else KeyError."""
        return self.repo(name).rest(self.url)

    @property
    def repos(self) -> tuple[FakeRepo, ...]:
        with self._lock:
            return tuple(self._repos.values())

    def reset_quotas(self) -> None:
        """Every identity starts a fresh window."""
        with self._lock:
            self._quotas.clear()

    def _identity(self, token: str | None) -> str:
        return "anonymous" if token is None else "token:" + token

    def _quota(self, identity: str, resource: str) -> Quota:
        quota = self._quotas.get((identity, resource))
        now = time.time()
        if quota is None or now >= quota.reset:
            if resource == "graphql":
                limit = self.graphql_quota
            else:
                limit = self.anonymous_quota if identity == "anonymous" else self.token_quota
            quota = self._quotas[(identity, resource)] = Quota(limit, limit,
                                                               int(now + self.window))
        return quota

    # -- faults ------------------------------------------------------------------------------

    def enqueue_faults(self, specs: Iterable[str]) -> None:
        """Script the next API requests' faults in order: `"503"`, `"ok"`, `"429:7"`…"""
        parsed = [Fault.parse(s) for s in specs]
        with self._lock:
            self._faults.extend(parsed)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    # -- log ---------------------------------------------------------------------------------

    @property
    def requests(self) -> tuple[RequestRecord, ...]:
        """Every request since start or `reset_log()`, in arrival order."""
        with self._lock:
            return tuple(p.freeze() for p in self._log)

    @property
    def request_count(self) -> int:
        with self._lock:
            return len(self._log)

    def statuses(self) -> dict[int | None, int]:
        """How many requests got each status (None: no answer, e.g. a reset)."""
        with self._lock:
            return dict(collections.Counter(p.status for p in self._log))

    def reset_log(self) -> None:
        """Forget logged requests and the in-flight maximum."""
        with self._lock:
            self._log = [p for p in self._log if p.end is None]

    def wait_idle(self, timeout: float = 5.0) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout=timeout)

    # -- answering ---------------------------------------------------------------------------

    def _date_header(self) -> str:
        when = self.date if self.date is not None else dt.datetime.now(dt.UTC)
        return email.utils.format_datetime(when.astimezone(dt.UTC), usegmt=True)

    def _route(self, method: str, path: str) -> tuple[str, tuple[str, ...]]:
        parts = [p for p in path.split("/") if p]
        if method == "GET" and len(parts) == 3 and parts[0] == "repos":
            return "repo", (parts[1], parts[2])
        if method == "GET" and len(parts) == 2 and parts[0] == "repositories":
            return "id", (parts[1],)
        if method == "POST" and parts == ["graphql"]:
            return "graphql", ()
        return "unknown", ()

    def _begin(self, method: str, path: str, *, token: str | None,
               if_none_match: str | None) -> _Pending:
        kind, _ = self._route(method, path)
        with self._lock:
            fault = None
            if kind in ("repo", "id", "graphql"):
                if self._faults:
                    fault = self._faults.popleft()
                elif self.fault_plan is not None and (drawn := self.fault_plan.draw()):
                    fault = Fault.parse(drawn)
            pending = _Pending(method, path, time.monotonic(),
                               None if fault is None or fault.kind == "ok" else fault,
                               token_sent=token is not None,
                               authenticated=token is not None and token in self.tokens,
                               if_none_match=if_none_match, token=token)
            self._log.append(pending)
            self._in_flight += 1
            return pending

    def _finish(self, pending: _Pending, *, status: int | None = None) -> None:
        with self._lock:
            if pending.end is not None:
                return
            pending.end = time.monotonic()
            pending.status = status if status is not None else pending.status
            self._in_flight -= 1
            self._idle.notify_all()

    def _answer(self, pending: _Pending, body: bytes) -> Answer:
        kind, args = self._route(pending.method, pending.path)
        if pending.token_sent and not pending.authenticated:
            return _json(401, {"message": "Bad credentials", "documentation_url": DOCS,
                               "status": "401"})
        token = pending.token if pending.authenticated else None
        if kind == "graphql":
            return self._graphql(pending, token, body)
        if kind in ("repo", "id"):
            return self._rest(pending, token, kind, args)
        return _json(404, {"message": "Not Found", "documentation_url": DOCS, "status": "404"})

    def _rest(self, pending: _Pending, token: str | None, kind: str,
              args: tuple[str, ...]) -> Answer:
        identity = self._identity(token)
        with self._lock:
            quota = self._quota(identity, "core")
            if quota.remaining <= 0:
                message = ("API rate limit exceeded for 127.0.0.1. (But here's the good news: "
                           "Authenticated requests get a higher rate limit. Check out the "
                           "documentation for more details.)" if token is None else
                           "API rate limit exceeded for user ID 1.")
                return _json(403,
                             {"message": message, "documentation_url": _RATE_DOCS},
                             quota.headers("core"))
            answer = self._rest_answer(pending, identity, kind, args)
            if not (answer.status == 304 and token is not None):
                quota.remaining -= 1
                quota.used += 1
            headers = {**quota.headers("core"), **answer.headers,
                       "x-github-api-version-selected": "2022-11-28",
                       "x-github-request-id": f"FAKE:{len(self._log):06d}"}
            return replace(answer, headers=headers)

    def _rest_answer(self, pending: _Pending, identity: str, kind: str,
                     args: tuple[str, ...]) -> Answer:
        not_found = _json(404, {"message": "Not Found", "documentation_url": _REPO_DOCS,
                                "status": "404"})
        if kind == "id":
            ident = int(args[0]) if args[0].isdigit() else -1
        else:
            key = f"{args[0]}/{args[1]}".lower()
            if key in self._old:
                target = f"{self.url}/repositories/{self._old[key]}"
                return _json(301, {"message": "Moved Permanently", "url": target,
                                   "documentation_url": _REPO_DOCS}, {"Location": target})
            ident = self._names.get(key, -1)
        repo = self._repos.get(ident)
        if repo is None:
            return not_found
        if repo.blocked is not None:
            block = {"reason": repo.blocked, "created_at": "2024-01-15T00:00:00Z",
                     "html_url": "https://github.com/github/dmca/blob/master/2024/01/"
                                 "2024-01-15-example.md"}
            return _json(451 if repo.blocked == "dmca" else 403,
                         {"message": "Repository access blocked", "block": block})
        document = repo.rest(self.url)
        body = json.dumps(document, ensure_ascii=False).encode()
        digest = hashlib.sha256(identity.encode() + b"\n" + body).hexdigest()[:40]
        etag = f'W/"{digest}"'
        cache = "private" if identity != "anonymous" else "public"
        headers = {"ETag": etag, "Cache-Control": f"{cache}, max-age=60, s-maxage=60",
                   "Last-Modified": _http_date(repo.updated_at),
                   "Vary": "Accept, Authorization, Cookie, X-GitHub-OTP",
                   "X-GitHub-Media-Type": "github.v3; format=json"}
        if _etag_matches(pending.if_none_match, etag):
            return Answer(304, b"", JSON_TYPE, headers)
        return Answer(200, body, JSON_TYPE, headers)

    def _graphql(self, pending: _Pending, token: str | None, body: bytes) -> Answer:
        if token is None:
            return _json(401, {
                "message": "This endpoint requires you to be authenticated.",
                "documentation_url": "https://docs.github.com/graphql/guides/"
                                     "forming-calls-with-graphql#authenticating-with-graphql"})
        try:
            payload = json.loads(body)
            query = payload["query"]
            if not isinstance(query, str):
                raise TypeError(query)
        except (ValueError, KeyError, TypeError):
            return _json(400, {"message": "Problems parsing JSON", "documentation_url": DOCS})
        with self._lock:
            quota = self._quota(self._identity(token), "graphql")
            headers = quota.headers("graphql")
            if quota.remaining <= 0:
                return _json(200, {"errors": [{
                    "type": "RATE_LIMITED", "code": "graphql_rate_limit",
                    "message": "API rate limit already exceeded for user ID 1."}]}, headers)
            try:
                fields = parse_repository_fields(query)
            except (GraphQLSyntaxError, ValueError) as exc:
                return _json(200, {"errors": [{"message": f"Parse error: {exc}"}]}, headers)
            pending.repositories = len(fields)
            if len(fields) > MAX_GRAPHQL_REPOSITORIES:
                return _json(200, {"errors": [{
                    "type": "MAX_NODE_LIMIT_EXCEEDED",
                    "message": f"This query requests up to {len(fields)} repositories, "
                               f"exceeding the fake's maximum of {MAX_GRAPHQL_REPOSITORIES}."}]},
                    headers)
            quota.remaining -= 1
            quota.used += 1
            headers = quota.headers("graphql")
            data: dict[str, Any] = {}
            errors: list[dict[str, Any]] = []
            for item in fields:
                key = f"{item.owner}/{item.name}".lower()
                ident = self._names.get(key, self._old.get(key, -1))
                repo = self._repos.get(ident)
                where = {"path": [item.alias],
                         "locations": [{"line": item.line, "column": item.column}]}
                if repo is None:
                    data[item.alias] = None
                    errors.append({"type": "NOT_FOUND", **where, "message":
                                   "Could not resolve to a Repository with the name "
                                   f"'{item.owner}/{item.name}'."})
                elif repo.blocked is not None:
                    data[item.alias] = None
                    errors.append({"type": "FORBIDDEN", **where,
                                   "message": "Repository access blocked"})
                else:
                    data[item.alias] = {k: v for k, v in repo.graphql().items()
                                        if k in item.fields}
        result: dict[str, Any] = {"data": data}
        if errors:
            result["errors"] = errors
        return _json(200, result, headers)

    # -- connections -------------------------------------------------------------------------

    def _track(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.add(conn)

    def _untrack(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.discard(conn)


def _http_date(iso: str) -> str:
    when = dt.datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return email.utils.format_datetime(when.astimezone(dt.UTC), usegmt=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Serve the fake on a fixed port until Ctrl-C."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--corpus", type=Path, default=None, help="corpus JSON (default fixture)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--token", action="append", default=None,
                        help="accepted token (repeatable; default: the fake's test token)")
    parser.add_argument("--anonymous-quota", type=int, default=ANONYMOUS_QUOTA)
    parser.add_argument("--token-quota", type=int, default=TOKEN_QUOTA)
    parser.add_argument("--real-date", action="store_true", help="send the real Date header")
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--fault-kinds", default="503,429,reset")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    plan = None
    if args.fault_rate > 0:
        plan = FaultPlan(args.fault_rate, tuple(args.fault_kinds.split(",")), args.seed)
    fake = FakeGitHub(load_corpus(args.corpus), host=args.host, port=args.port,
                      tokens=args.token or (DEFAULT_TOKEN,),
                      anonymous_quota=args.anonymous_quota, token_quota=args.token_quota,
                      date=None if args.real_date else FROZEN_DATE, fault_plan=plan)
    with fake:
        print(f"fake GitHub API at {fake.url} ({len(fake.repos)} repositories); Ctrl-C stops",
              flush=True)
        serve_until_interrupted()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

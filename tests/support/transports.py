"""`httpx.MockTransport` handlers for the unit tests of the service clients and readers.

The client holds the policy, the transport moves bytes, and a unit test swaps the transport: no
socket, no server thread, no real sleep. A handler is a function from an `httpx.Request` to an
`httpx.Response`; one that raises an `httpx.TransportError` plays a connection that broke.

* `answers(*steps, then=…)` is a script: each request takes the next step (a response, an
  exception to raise, or a handler) and, once they are used up, `then` answers; with no `then` a
  request past the script fails the test. It keeps every exchange (`requests`, `statuses`,
  `params`) and, given a clock, when each request arrived (`times`). `fails_then(step, then=…)`
  and `always(step)` are its common shapes, `in_turn(*steps)` a handler cycling through steps.
* Small answers, named for what they play: `connection_reset`, `timed_out`, `refused`,
  `html_page`, `cut(step)` (the body broken off, with an honest length), `retyped(step, …)`,
  `tampered(step, **fields)` (a JSON document with fields changed), `echo_token`, and the
  services' own error answers (`arxiv_unavailable`, `arxiv_rate_limited`, `unicorn`,
  `secondary_rate_limit`).
* Recorded answers (`tests/fixtures/recorded/`, see its README): `atom(name)` and
  `github_json(name)`.
* Where the outcome depends on what a search finds, `arxiv_search(index)` answers arXiv's query
  API with the fake arXiv's query engine in process (`tests.fakes.arxiv_api.respond`).
* `GitHubRepos(corpus)` answers GitHub's repository endpoints from a corpus of
  `tests.fakes.github_corpus.FakeRepo`s: documents with ETags and 304s, renames (301 to
  `/repositories/<id>`), 404 / 451 / 403, a core quota that runs out, and GraphQL's aliased
  `repository(owner:, name:)` fields.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import email.utils
import hashlib
import itertools
import json
import re
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import parse_qsl

import httpx

from tests.fakes.arxiv_api import Index, respond
from tests.fakes.github_corpus import FakeRepo, GitHubCorpus

Handler = Callable[[httpx.Request], httpx.Response]
Step = httpx.Response | BaseException | Handler

RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "recorded"
ATOM = "application/atom+xml; charset=utf-8"
JSON = "application/json; charset=utf-8"
HTML = "text/html; charset=utf-8"
GITHUB_API = "https://api.github.com"  # the origin the recorded GitHub answers name
GITHUB_TOKEN = "test-token-0123456789abcdefABCDEF"
GITHUB_DATE = dt.datetime(2025, 7, 1, 12, 0, 0, tzinfo=dt.UTC)  # the Date GitHubRepos sends


# ------------------------------------------------------------------------------------------------
# Scripts


@dataclasses.dataclass
class Exchange:
    """One request, its answer (None while pending, or when the handler raised) and its time."""

    request: httpx.Request
    at: float | None
    response: httpx.Response | None = None

    @property
    def status(self) -> int | None:
        return None if self.response is None else self.response.status_code

    @property
    def params(self) -> dict[str, str]:
        return params_of(self.request)


class Script:
    """A handler answering with `steps` in order, then with `then`; see the module docstring.

    A response step is copied for each use, so one can answer many times; a streamed body must
    come from a handler step. Thread-safe: readers asking GitHub from several threads share one.
    """

    def __init__(self, steps: Iterable[Step], then: Step | None = None,
                 clock: Callable[[], float] | None = None) -> None:
        self._steps: deque[Step] = deque(steps)
        self._then = then
        self.clock = clock
        self._lock = threading.Lock()
        self.exchanges: list[Exchange] = []
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            step = self._steps.popleft() if self._steps else self._then
            exchange = Exchange(request, self.clock() if self.clock else None)
            self.exchanges.append(exchange)
            self.requests.append(request)
        if step is None:
            raise AssertionError(f"a request past the script: {request.method} {request.url}")
        exchange.response = play(step, request)
        return exchange.response

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    @property
    def params(self) -> list[dict[str, str]]:
        """Each request's API parameters (query string and form body)."""
        return [e.params for e in self.exchanges]

    @property
    def paths(self) -> list[str]:
        return [e.request.url.path for e in self.exchanges]

    @property
    def times(self) -> list[float]:
        return [e.at for e in self.exchanges if e.at is not None]

    @property
    def shortest_gap(self) -> float:
        """The shortest time between two requests' arrivals (infinite for fewer than two)."""
        return min((b - a for a, b in itertools.pairwise(self.times)), default=float("inf"))

    @property
    def statuses(self) -> Counter[int | None]:
        """How many requests got each status (None: the connection broke)."""
        return Counter(e.status for e in self.exchanges)

    @property
    def unused(self) -> int:
        """Scripted steps no request has taken yet."""
        return len(self._steps)


def answers(*steps: Step, then: Step | None = None,
            clock: Callable[[], float] | None = None) -> Script:
    """Answer the requests with `steps` in order, then with `then` (see `Script`)."""
    return Script(steps, then, clock)


def fails_then(failure: Step, *, then: Step, times: int = 1,
               clock: Callable[[], float] | None = None) -> Script:
    """`failure` for the first `times` requests, then `then` for every later one."""
    return Script([failure] * times, then, clock)


def always(step: Step, *, clock: Callable[[], float] | None = None) -> Script:
    """The same answer to every request."""
    return Script((), step, clock)


def in_turn(*steps: Step) -> Handler:
    """A handler that answers with `steps` in turn, over and over."""
    cycle = itertools.cycle(steps)
    lock = threading.Lock()

    def handler(request: httpx.Request) -> httpx.Response:
        with lock:
            step = next(cycle)
        return play(step, request)

    return handler


def play(step: Step, request: httpx.Request) -> httpx.Response:
    """The answer of one step to `request`."""
    if isinstance(step, BaseException):
        raise step
    if isinstance(step, httpx.Response):
        return httpx.Response(step.status_code, headers=step.headers, content=step.content)
    return step(request)


def params_of(request: httpx.Request) -> dict[str, str]:
    """The parameters of a request: its query string and, for a form POST, its body."""
    params = dict(request.url.params)
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        params.update(parse_qsl(request.content.decode(), keep_blank_values=True))
    return params


# ------------------------------------------------------------------------------------------------
# Broken connections and bent answers


def connection_reset(request: httpx.Request) -> NoReturn:
    raise httpx.ReadError("connection reset by peer", request=request)


def timed_out(request: httpx.Request) -> NoReturn:
    raise httpx.ReadTimeout("timed out", request=request)


def refused(request: httpx.Request) -> NoReturn:
    raise httpx.ConnectError("connection refused", request=request)


def html_page(status: int = 200, title: str = "Sign in to the network") -> httpx.Response:
    """An HTML page where an API answer was expected (a captive portal, a proxy's error)."""
    body = f"<!DOCTYPE html><html><head><title>{title}</title></head><body></body></html>\n"
    return httpx.Response(status, headers={"content-type": HTML}, content=body.encode())


def cut(step: Step) -> Handler:
    """The answer of `step` broken off halfway, with a length that says so (a proxy gave up)."""
    def handler(request: httpx.Request) -> httpx.Response:
        whole = play(step, request)
        return httpx.Response(whole.status_code, headers=_unsized(whole),
                              content=whole.content[: max(1, len(whole.content) // 2)])

    return handler


def retyped(step: Step, content_type: str) -> Handler:
    """The answer of `step` under another Content-Type."""
    def handler(request: httpx.Request) -> httpx.Response:
        whole = play(step, request)
        return httpx.Response(whole.status_code,
                              headers={**_unsized(whole), "content-type": content_type},
                              content=whole.content)

    return handler


def tampered(step: Step, **fields: Any) -> Handler:
    """The JSON document `step` answers with, some fields changed (wrong types, say)."""
    def handler(request: httpx.Request) -> httpx.Response:
        whole = play(step, request)
        return httpx.Response(whole.status_code, headers=_unsized(whole),
                              json={**whole.json(), **fields})

    return handler


def _unsized(response: httpx.Response) -> dict[str, str]:
    """Its headers but the length, which the new body brings."""
    return {k: v for k, v in response.headers.items() if k != "content-length"}


# ------------------------------------------------------------------------------------------------
# Recorded answers


def recorded(name: str) -> bytes:
    """A recorded answer's body, by its path under `tests/fixtures/recorded/`."""
    return (RECORDED / name).read_bytes()


def atom(name: str, status: int = 200) -> httpx.Response:
    """A recorded arXiv feed (`arxiv/<name>`)."""
    return httpx.Response(status, headers={"content-type": ATOM}, content=recorded(f"arxiv/{name}"))


def github_json(name: str, status: int = 200, **headers: str) -> httpx.Response:
    """A recorded GitHub answer (`github/<name>`), with the headers given (`_` for `-`)."""
    return httpx.Response(status, content=recorded(f"github/{name}"),
                          headers={"content-type": JSON, "date": _http_date(GITHUB_DATE),
                                   **{k.replace("_", "-"): v for k, v in headers.items()}})


# ------------------------------------------------------------------------------------------------
# arXiv


def arxiv_search(index: Index) -> Handler:
    """arXiv's query API over `index`, in process: the fake arXiv's answers, without its server."""
    def handler(request: httpx.Request) -> httpx.Response:
        status, body, _ = respond(index, params_of(request))
        return httpx.Response(status, headers={"content-type": ATOM}, content=body)

    return handler


def arxiv_unavailable() -> httpx.Response:
    return httpx.Response(503, headers={"content-type": HTML},
                          content=b"<html><head><title>503 Service Unavailable</title></head>"
                                  b"<body><h1>Service Unavailable</h1></body></html>\n")


def arxiv_rate_limited(retry_after: int | None = None) -> httpx.Response:
    """arXiv's 429, plain text, with `Retry-After` when given."""
    headers = {"content-type": "text/plain; charset=utf-8"}
    if retry_after is not None:
        headers["retry-after"] = str(retry_after)
    return httpx.Response(429, headers=headers, content=b"Rate exceeded.\n")


def empty_feed() -> httpx.Response:
    """arXiv's transient empty answer: a well-formed feed with no entries and no total."""
    return atom("empty.atom")


def error_page() -> httpx.Response:
    """arXiv's HTML error page, sent with status 200."""
    return html_page(200, "arXiv - Internal error")


# ------------------------------------------------------------------------------------------------
# GitHub


def unicorn(status: int = 503) -> httpx.Response:
    """GitHub's HTML 5xx page."""
    return html_page(status, "Unicorn! &middot; GitHub")


def secondary_rate_limit(status: int = 429, retry_after: int | None = None) -> httpx.Response:
    """GitHub's secondary rate limit (429 or 403), with `retry-after` when given."""
    headers = {} if retry_after is None else {"retry_after": str(retry_after)}
    return github_json("secondary-rate-limit.json", status, **headers)


def echo_token(request: httpx.Request) -> httpx.Response:
    """A broken server that puts the request's Authorization header into its error message."""
    return httpx.Response(401, json={
        "message": f"Bad credentials: {request.headers.get('authorization', 'none')}"})


_ALIAS = re.compile(r'(\w+): repository\(owner: ("(?:[^"\\]|\\.)*"), name: ("(?:[^"\\]|\\.)*")\)')


class GitHubRepos:
    """GitHub's repository endpoints over a corpus, as a handler (see the module docstring).

    `remaining` is what is left of the core quota (`x-ratelimit-remaining`, 403 once it is 0;
    a 304 to a token is free), `reset` when it resets (epoch seconds), `points` what is left of
    GraphQL's; `date` is every answer's `Date`. Change them, or `update`/`add` repositories,
    between requests. Documents and nodes are the corpus records' own renderings.
    """

    def __init__(self, corpus: GitHubCorpus | Iterable[FakeRepo], *, api: str = GITHUB_API,
                 token: str = GITHUB_TOKEN, remaining: int = 5000, reset: float = 0.0,
                 points: int = 5000, date: dt.datetime = GITHUB_DATE) -> None:
        repos = corpus.repos if isinstance(corpus, GitHubCorpus) else tuple(corpus)
        self.api = api.rstrip("/")
        self.token = token
        self.remaining = remaining
        self.reset = reset
        self.points = points
        self.date = date
        self._lock = threading.Lock()
        self._repos: dict[int, FakeRepo] = {}
        self._names: dict[str, int] = {}
        for repo in repos:
            self.add(repo)

    def add(self, repo: FakeRepo) -> None:
        """Serve one more repository (under its name and its old names)."""
        self._repos[repo.id] = repo
        for name in (repo.full_name, *repo.renamed_from):
            self._names[name.lower()] = repo.id

    def update(self, name: str, **changes: Any) -> None:
        """Change a repository's facts (its ETag changes with them)."""
        repo = self.find(name)
        self._repos[repo.id] = dataclasses.replace(repo, **changes)

    def find(self, name: str) -> FakeRepo:
        """The repository answering to `name` (today's or an old one); KeyError if none."""
        return self._repos[self._names[name.lower()]]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        auth = request.headers.get("authorization")
        if auth is not None and auth != f"Bearer {self.token}":
            return self._json(401, {"message": "Bad credentials"})
        parts = request.url.path.removeprefix(httpx.URL(self.api).path).strip("/").split("/")
        if request.method == "POST" and parts == ["graphql"]:
            return self._graphql(request, auth is not None)
        if request.method == "GET" and len(parts) == 3 and parts[0] == "repos":
            return self._rest(request, f"{parts[1]}/{parts[2]}", auth is not None)
        if request.method == "GET" and len(parts) == 2 and parts[0] == "repositories":
            return self._rest(request, int(parts[1]), auth is not None)
        return self._json(404, {"message": "Not Found"})

    def _rest(self, request: httpx.Request, key: str | int, token: bool) -> httpx.Response:
        with self._lock:
            if self.remaining <= 0:
                return self._json(403, {"message": "API rate limit exceeded for 127.0.0.1."},
                                  self._quota())
            ident = key if isinstance(key, int) else self._names.get(key.lower())
            repo = self._repos.get(ident) if ident is not None else None
            if repo is not None and isinstance(key, str) and key.lower() != repo.full_name.lower():
                answer = self._json(301, {"message": "Moved Permanently"},
                                    {"location": f"{self.api}/repositories/{repo.id}"})
            elif repo is None:
                answer = self._json(404, {"message": "Not Found"})
            elif repo.blocked is not None:
                answer = self._json(451 if repo.blocked == "dmca" else 403,
                                    {"message": "Repository access blocked"})
            else:
                body = json.dumps(repo.rest(self.api)).encode()
                etag = f'W/"{hashlib.sha256(body).hexdigest()[:40]}"'
                sent = request.headers.get("if-none-match", "")
                fresh = etag.removeprefix("W/") in [t.strip().removeprefix("W/")
                                                    for t in sent.split(",")]
                answer = httpx.Response(304 if fresh else 200, content=b"" if fresh else body,
                                        headers={"content-type": JSON, "etag": etag})
            if not (answer.status_code == 304 and token):
                self.remaining -= 1
            answer.headers.update({"date": _http_date(self.date), **self._quota()})
            return answer

    def _graphql(self, request: httpx.Request, token: bool) -> httpx.Response:
        if not token:
            return self._json(401, {"message": "This endpoint requires you to be authenticated."})
        query = json.loads(request.content)["query"]
        fields = _ALIAS.findall(query)
        selected = set(re.findall(r"\w+", query))
        with self._lock:
            headers = {"x-ratelimit-remaining": str(max(0, self.points - 1)),
                       "x-ratelimit-reset": str(int(self.reset)), "x-ratelimit-resource": "graphql"}
            if self.points <= 0:
                return self._json(200, {"errors": [{"type": "RATE_LIMITED", "message":
                                                    "API rate limit already exceeded."}]},
                                  {**headers, "x-ratelimit-remaining": "0"})
            if len(fields) > 100:
                return self._json(200, {"errors": [{"type": "MAX_NODE_LIMIT_EXCEEDED",
                                                    "message": "too many repositories"}]})
            self.points -= 1
            data: dict[str, Any] = {}
            errors: list[dict[str, Any]] = []
            for alias, owner, name in fields:
                full_name = f"{json.loads(owner)}/{json.loads(name)}"
                ident = self._names.get(full_name.lower())
                repo = self._repos.get(ident) if ident is not None else None
                data[alias] = None
                if repo is None:
                    errors.append({"type": "NOT_FOUND", "path": [alias], "message":
                                   f"Could not resolve to a Repository with the name "
                                   f"'{full_name}'."})
                elif repo.blocked is not None:
                    errors.append({"type": "FORBIDDEN", "path": [alias],
                                   "message": "Repository access blocked"})
                else:  # the fields the query selects, as GitHub answers only those
                    data[alias] = {k: v for k, v in repo.graphql().items() if k in selected}
        return self._json(200, {"data": data, **({"errors": errors} if errors else {})},
                          headers)

    def _quota(self) -> dict[str, str]:
        return {"x-ratelimit-remaining": str(max(0, self.remaining)),
                "x-ratelimit-reset": str(int(self.reset)), "x-ratelimit-resource": "core"}

    def _json(self, status: int, payload: Any,
              headers: Mapping[str, str] | None = None) -> httpx.Response:
        return httpx.Response(status, json=payload,
                              headers={"date": _http_date(self.date), **(headers or {})})


def graphql_names(request: httpx.Request) -> list[str]:
    """The `owner/name`s a GraphQL request asks for, in order."""
    query = json.loads(request.content)["query"]
    return [f"{json.loads(o)}/{json.loads(n)}" for _, o, n in _ALIAS.findall(query)]


def _http_date(when: dt.datetime) -> str:
    return email.utils.format_datetime(when.astimezone(dt.UTC), usegmt=True)

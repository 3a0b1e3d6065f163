"""The GitHub client: headers, answers, renames, retries, rate limits, GraphQL, and the token.

Everything runs on `httpx.MockTransport`: small handler functions, and answers recorded from
GitHub's wire format (`tests/fixtures/recorded/github/`). Sleeps are recorded by a fake clock,
never slept. One test connects for real: to a closed port.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import pickle
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from enrich.errors import BadResponseError, RateLimitedError, RemoteError, ServiceUnavailableError
from enrich.repos.github_client import (
    API_VERSION,
    GRAPHQL_BATCH,
    MAX_REDIRECTS,
    GitHubClient,
    graphql_query,
    split_name,
)
from enrich.settings import Settings
from tests.fakes.github_corpus import load_corpus
from tests.support.clock import Clock
from tests.support.transports import (
    GITHUB_API,
    GITHUB_TOKEN,
    GitHubRepos,
    Script,
    Step,
    answers,
    connection_reset,
    cut,
    echo_token,
    github_json,
    html_page,
    recorded,
    secondary_rate_limit,
    unicorn,
)

API = "https://api.github.test"
TOKEN = "test-secret-TOKEN-value-1234567890abcdefXYZ"
DATE = "Tue, 01 Jul 2025 12:00:00 GMT"
Handler = Callable[[httpx.Request], httpx.Response]


def make_settings(url: str = API, token: str | None = None, **overrides: Any) -> Settings:
    return Settings(github_api_url=url, github_token=SecretStr(token) if token else None,
                    **overrides)


def mock(handler: Handler, *, token: str | None = None, clock: Clock | None = None,
         url: str = API, **overrides: Any) -> GitHubClient:
    clock = clock or Clock()
    return GitHubClient.from_settings(make_settings(url, token, **overrides),
                                      httpx.MockTransport(handler), sleep=clock.sleep,
                                      clock=clock.time)


def repo_doc(full_name: str = "owner/repo", **changes: Any) -> dict[str, Any]:
    doc = {"id": 1, "full_name": full_name, "html_url": f"https://github.com/{full_name}",
           "stargazers_count": 42, "forks_count": 7, "language": "Python",
           "license": {"key": "mit", "name": "MIT License", "spdx_id": "MIT"},
           "pushed_at": "2024-05-06T07:08:09Z", "archived": False, "fork": False,
           "default_branch": "main"}
    doc.update(changes)
    return doc


def ok(doc: dict[str, Any] | None = None, **headers: str) -> httpx.Response:
    return httpx.Response(200, json=doc or repo_doc(),
                          headers={"Date": DATE, "ETag": 'W/"abc"', **headers})


def script(*steps: Step) -> tuple[Script, list[httpx.Request]]:
    """A handler answering with `steps` in order (see `tests.support.transports.answers`), and
    the requests it receives."""
    served = answers(*steps)
    return served, served.requests


# -- the request ------------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, TOKEN], ids=["anonymous", "token"])
def test_requests_carry_github_headers_and_the_token_only_when_configured(
        token: str | None) -> None:
    handler, seen = script(ok())
    with mock(handler, token=token) as client:
        client.get_repo("owner/repo")
    headers = seen[0].headers
    assert seen[0].url == f"{API}/repos/owner/repo"
    assert headers["accept"] == "application/vnd.github+json"
    assert headers["x-github-api-version"] == API_VERSION
    assert headers["user-agent"].startswith("digest-enrich/")
    assert headers.get("authorization") == (f"Bearer {TOKEN}" if token else None)


def test_a_blank_token_counts_as_none() -> None:
    handler, seen = script(ok())
    with mock(handler, token="   ") as client:
        client.get_repo("owner/repo")
        assert not client.has_token
    assert "authorization" not in seen[0].headers


@pytest.mark.parametrize("name", ["owner", "-x/repo", "owner/..", "own er/repo", "o/r/x", ""])
def test_names_github_cannot_hold_are_refused_before_asking(name: str) -> None:
    with pytest.raises(ValueError, match="not a GitHub repository name"):
        split_name(name)


# -- answers ----------------------------------------------------------------------------------


def test_a_200_gives_the_facts_the_etag_and_the_server_date() -> None:
    handler, _ = script(ok())
    with mock(handler) as client:
        answer = client.get_repo("Owner/Repo")
    assert answer.outcome == "ok"
    assert answer.requested == "Owner/Repo"
    assert answer.facts is not None
    assert (answer.facts.full_name, answer.facts.stars, answer.facts.forks,
            answer.facts.license, answer.facts.language, answer.facts.archived) == (
        "owner/repo", 42, 7, "MIT", "Python", False)
    assert answer.facts.pushed_at == dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.UTC)
    assert answer.etag == 'W/"abc"'
    assert answer.date == dt.datetime(2025, 7, 1, 12, tzinfo=dt.UTC)
    assert answer.path == "/repos/owner/repo"


def test_no_license_and_no_language_are_none() -> None:
    handler, _ = script(ok(repo_doc(license=None, language=None, pushed_at=None)))
    with mock(handler) as client:
        facts = client.get_repo("owner/repo").facts
    assert facts is not None
    assert (facts.license, facts.language, facts.pushed_at) == (None, None, None)


def test_a_conditional_request_can_answer_304() -> None:
    handler, seen = script(httpx.Response(304, headers={"Date": DATE, "ETag": 'W/"abc"'}))
    with mock(handler) as client:
        answer = client.get_repo("owner/repo", etag='W/"abc"')
    assert seen[0].headers["if-none-match"] == 'W/"abc"'
    assert (answer.outcome, answer.etag, answer.facts) == ("not_modified", 'W/"abc"', None)


def test_a_known_path_is_asked_directly() -> None:
    handler, seen = script(ok(repo_doc("new/name")))
    with mock(handler) as client:
        client.get_repo("old/name", etag='"e"', path="/repos/new/name")
    assert seen[0].url.path == "/repos/new/name"


@pytest.mark.parametrize("path", ["https://evil.example/repos/a/b", "//evil.example/repos/a/b",
                                  "/repos/a/b/../../user", "/user/repos"])
def test_a_stored_path_that_is_not_a_repository_path_is_ignored(path: str) -> None:
    handler, seen = script(ok())
    with mock(handler, token=TOKEN) as client:
        client.get_repo("owner/repo", etag='"e"', path=path)
    assert str(seen[0].url) == f"{API}/repos/owner/repo"


def test_a_rename_is_followed_and_the_new_name_kept() -> None:
    moved = httpx.Response(301, json={"message": "Moved Permanently"},
                           headers={"Location": f"{API}/repositories/99"})
    handler, seen = script(moved, ok(repo_doc("new-owner/new-name")))
    with mock(handler) as client:
        answer = client.get_repo("old/name", etag='"e"')
    assert [r.url.path for r in seen] == ["/repos/old/name", "/repositories/99"]
    assert seen[1].headers["if-none-match"] == '"e"'
    assert answer.facts is not None
    assert answer.facts.full_name == "new-owner/new-name"
    assert answer.path == "/repos/new-owner/new-name"


@pytest.mark.parametrize("location", ["https://evil.example/repositories/1",
                                      "http://api.github.test/repositories/1",
                                      "https://api.github.test:8443/repositories/1"],
                         ids=["other-host", "other-scheme", "other-port"])
def test_a_redirect_away_from_the_api_is_refused(location: str) -> None:
    handler, seen = script(httpx.Response(301, headers={"Location": location}))
    with mock(handler, token=TOKEN) as client, pytest.raises(BadResponseError,
                                                             match="redirect away"):
        client.get_repo("old/name")
    assert len(seen) == 1  # the token never travelled to the other origin


def test_redirect_loops_end() -> None:
    loop = [httpx.Response(301, headers={"Location": f"{API}/repositories/1"})
            for _ in range(MAX_REDIRECTS + 1)]
    handler, seen = script(*loop)
    with mock(handler) as client, pytest.raises(BadResponseError, match="redirects"):
        client.get_repo("old/name")
    assert len(seen) == MAX_REDIRECTS + 1


@pytest.mark.parametrize(("status", "body", "outcome", "reason"), [
    (404, {"message": "Not Found"}, "missing", "Not Found"),
    (410, {"message": "Repository access blocked"}, "missing", "Repository access blocked"),
    (451, {"message": "Repository access blocked", "block": {"reason": "dmca"}}, "unavailable",
     "Repository access blocked"),
    (403, {"message": "Repository access blocked"}, "unavailable", "Repository access blocked"),
], ids=["404", "410", "451", "403-blocked"])
def test_missing_and_blocked_repositories_are_answers_not_errors(
        status: int, body: dict[str, Any], outcome: str, reason: str) -> None:
    headers = {"Date": DATE, "x-ratelimit-remaining": "5"}
    handler, seen = script(httpx.Response(status, json=body, headers=headers))
    clock = Clock()
    with mock(handler, clock=clock) as client:
        answer = client.get_repo("owner/repo")
    assert (answer.outcome, answer.reason, answer.facts) == (outcome, reason, None)
    assert len(seen) == 1
    assert clock.sleeps == []


def test_an_unexpected_status_is_a_bad_response() -> None:
    handler, _ = script(httpx.Response(418, json={"message": "I'm a teapot"}))
    with mock(handler) as client, pytest.raises(BadResponseError, match="teapot"):
        client.get_repo("owner/repo")


# -- retries ----------------------------------------------------------------------------------

RESET_IN_20 = 1_750_000_020  # Clock() starts at 1_750_000_000
RETRIED: list[tuple[str, httpx.Response | Exception, list[float]]] = [
    ("503", httpx.Response(503, text="<html>Unicorn!</html>"), [1.0]),
    ("502", httpx.Response(502), [1.0]),
    ("500", httpx.Response(500, json={"message": "Server Error"}), [1.0]),
    ("read-timeout", httpx.ReadTimeout("slow"), [1.0]),
    ("connection-reset", httpx.ReadError("reset by peer"), [1.0]),
    ("truncated-json", httpx.Response(200, content=b'{"full_name": "own',
                                      headers={"Content-Type": "application/json"}), [1.0]),
    ("html-instead-of-json", httpx.Response(200, text="<html>portal</html>",
                                            headers={"Content-Type": "text/html"}), [1.0]),
    ("429-retry-after", httpx.Response(429, headers={"retry-after": "7"}), [7.0]),
    ("403-secondary-retry-after", httpx.Response(
        403, json={"message": "You have exceeded a secondary rate limit."},
        headers={"retry-after": "5"}), [5.0]),
    ("429-without-hints", httpx.Response(429, json={"message": "slow down"}), [60.0]),
    ("403-secondary-without-hints", httpx.Response(
        403, json={"message": "You have exceeded a secondary rate limit."}), [60.0]),
    ("403-primary-reset-soon", httpx.Response(
        403, json={"message": "API rate limit exceeded"},
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(RESET_IN_20)}), [21.0]),
]


@pytest.mark.parametrize(("first", "sleeps"), [(f, s) for _, f, s in RETRIED],
                         ids=[name for name, _, _ in RETRIED])
def test_transient_failures_are_retried_with_the_wait_github_asks_for(
        first: httpx.Response | Exception, sleeps: list[float]) -> None:
    handler, seen = script(first, ok())
    clock = Clock()
    with mock(handler, clock=clock, github_max_wait=60) as client:
        answer = client.get_repo("owner/repo")
        assert client.stats.retry.retries == 1
        waited = client.stats.retry.asked_wait + client.stats.retry.backoff_wait
        assert waited == sum(sleeps)
        # Only a wait GitHub asked for (a rate limit) counts as waiting on rate limits.
        asked = first.status_code in (403, 429) if isinstance(first, httpx.Response) else False
        assert client.snapshot() == (2, sum(sleeps) if asked else 0.0)
    assert answer.outcome == "ok"
    assert len(seen) == 2
    assert clock.sleeps == sleeps


def test_5xx_that_persists_ends_after_the_attempts_with_backoff() -> None:
    handler, seen = script(*[httpx.Response(503) for _ in range(4)])
    clock = Clock()
    with mock(handler, clock=clock, github_max_attempts=4) as client, \
            pytest.raises(ServiceUnavailableError) as caught:
        client.get_repo("owner/repo")
    assert len(seen) == 4
    assert clock.sleeps == [1.0, 2.0, 4.0]
    assert caught.value.attempts == 4
    assert caught.value.status == 503
    assert "HTTP 503" in str(caught.value)


def test_the_retry_budget_bounds_total_time() -> None:
    handler, seen = script(*[httpx.Response(503) for _ in range(10)])
    clock = Clock()
    with mock(handler, clock=clock, github_max_attempts=10, github_retry_budget=5) as client, \
            pytest.raises(ServiceUnavailableError):
        client.get_repo("owner/repo")
    assert clock.sleeps == [1.0, 2.0]  # a third wait (4 s) would pass 5 s in all
    assert len(seen) == 3


def test_a_document_with_wrong_types_is_refused_without_retrying() -> None:
    handler, seen = script(ok(repo_doc(stargazers_count="1.2k", archived="no")))
    with mock(handler) as client, pytest.raises(BadResponseError) as caught:
        client.get_repo("owner/repo")
    assert len(seen) == 1
    assert "archived" in str(caught.value) and "stargazers_count" in str(caught.value)


@pytest.mark.parametrize("doc", [repo_doc(stargazers_count=True), repo_doc(forks_count=-1),
                                 repo_doc(full_name="no-slash"), {"message": "hello"}],
                         ids=["bool-stars", "negative-forks", "bad-full-name", "not-a-repo"])
def test_documents_we_cannot_trust_are_bad_responses(doc: dict[str, Any]) -> None:
    handler, _ = script(ok(doc))
    with mock(handler) as client, pytest.raises(BadResponseError):
        client.get_repo("owner/repo")


def test_an_oversized_body_is_refused() -> None:
    handler, seen = script(httpx.Response(200, content=b"x" * (2 << 20),
                                          headers={"Content-Type": "application/json"}))
    with mock(handler) as client, pytest.raises(BadResponseError, match="limit"):
        client.get_repo("owner/repo")
    assert len(seen) == 1


class RecordingGate:
    """A gate that counts passes and knows whether a request holds it."""

    def __init__(self) -> None:
        self.passes = 0
        self.held = False

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        assert not self.held
        self.held = True
        self.passes += 1
        try:
            yield
        finally:
            self.held = False


def test_every_request_passes_the_gate_which_is_free_while_waiting() -> None:
    gate = RecordingGate()
    handler, seen = script(httpx.Response(429, headers={"retry-after": "2"}), ok())
    held_while_sleeping: list[bool] = []

    def sleep(seconds: float) -> None:
        held_while_sleeping.append(gate.held)

    client = GitHubClient.from_settings(make_settings(), httpx.MockTransport(handler),
                                        gate=gate, sleep=sleep, clock=Clock().time)
    with client:
        client.get_repo("owner/repo")
    assert gate.passes == len(seen) == 2
    assert held_while_sleeping == [False]


# -- quota ------------------------------------------------------------------------------------


def exhausted(reset: float, status: int = 403) -> httpx.Response:
    return httpx.Response(status, json={"message": "API rate limit exceeded for 127.0.0.1."},
                          headers={"x-ratelimit-remaining": "0", "x-ratelimit-limit": "60",
                                   "x-ratelimit-reset": str(int(reset))})


@pytest.mark.parametrize("status", [403, 429])
def test_a_quota_that_resets_too_late_raises_at_once_and_stops_asking(status: int) -> None:
    clock = Clock()
    handler, seen = script(exhausted(clock.now + 3000, status))
    with mock(handler, clock=clock, github_max_wait=60) as client:
        with pytest.raises(RateLimitedError) as caught:
            client.get_repo("owner/repo")
        assert caught.value.retry_at == dt.datetime.fromtimestamp(clock.now + 3001, dt.UTC)
        with pytest.raises(RateLimitedError):
            client.get_repo("other/repo")
    assert len(seen) == 1
    assert clock.sleeps == []


def test_a_retry_after_beyond_the_wait_defers_too() -> None:
    clock = Clock()
    handler, seen = script(httpx.Response(429, headers={"retry-after": "600"}))
    with mock(handler, clock=clock, github_max_wait=60) as client, \
            pytest.raises(RateLimitedError):
        client.get_repo("owner/repo")
    assert clock.sleeps == []
    assert len(seen) == 1


def test_the_last_request_of_the_quota_blocks_the_next_one_before_it_is_sent() -> None:
    clock = Clock()
    last = httpx.Response(200, json=repo_doc(), headers={
        "Content-Type": "application/json", "x-ratelimit-remaining": "0",
        "x-ratelimit-reset": str(int(clock.now + 3600))})
    handler, seen = script(last)
    with mock(handler, clock=clock) as client:
        assert client.get_repo("owner/repo").outcome == "ok"
        with pytest.raises(RateLimitedError):
            client.get_repo("other/repo")
    assert len(seen) == 1


def test_a_quota_that_resets_soon_is_waited_for() -> None:
    clock = Clock()
    last = httpx.Response(200, json=repo_doc(), headers={
        "Content-Type": "application/json", "x-ratelimit-remaining": "0",
        "x-ratelimit-reset": str(int(clock.now + 30))})
    handler, seen = script(last, ok())
    with mock(handler, clock=clock, github_max_wait=60) as client:
        client.get_repo("owner/repo")
        assert client.get_repo("other/repo").outcome == "ok"
    assert clock.sleeps == [30.0]
    assert len(seen) == 2


# -- unreachable ------------------------------------------------------------------------------


def test_an_unreachable_api_fails_fast_and_stays_failed() -> None:
    handler, seen = script(*[httpx.ConnectError("refused") for _ in range(3)])
    clock = Clock()
    with mock(handler, clock=clock, github_max_attempts=6) as client:
        with pytest.raises(ServiceUnavailableError, match="unreachable"):
            client.get_repo("owner/repo")
        assert client.down is not None
        with pytest.raises(ServiceUnavailableError, match="unreachable"):
            client.get_repo("other/repo")
    assert len(seen) == 3
    assert clock.sleeps == [1.0, 2.0]


def test_a_real_closed_port_is_unreachable_within_seconds() -> None:
    clock = Clock()
    settings = make_settings("http://127.0.0.1:1", github_timeout=2)
    with GitHubClient.from_settings(settings, sleep=clock.sleep, clock=clock.time) as client, \
            pytest.raises(ServiceUnavailableError) as caught:
        client.get_repo("owner/repo")
    assert "unreachable" in str(caught.value)
    assert caught.value.attempts == 3


def test_credentials_refused_stop_every_later_request() -> None:
    handler, seen = script(httpx.Response(401, json={"message": "Bad credentials"}))
    with mock(handler, token=TOKEN) as client:
        with pytest.raises(ServiceUnavailableError, match="Bad credentials"):
            client.get_repo("owner/repo")
        with pytest.raises(ServiceUnavailableError, match="credentials refused"):
            client.get_repo("other/repo")
    assert len(seen) == 1


# -- the token never leaks --------------------------------------------------------------------


def echo(request: httpx.Request) -> httpx.Response:
    """A hostile or broken server that puts the Authorization header into its messages."""
    auth = request.headers.get("authorization", "")
    if request.url.path == "/graphql":
        return httpx.Response(200, json={"data": None, "errors": [{"message": f"bad {auth}"}]})
    return httpx.Response(401, json={"message": f"Bad credentials {auth} for {TOKEN}"})


def test_the_token_never_appears_in_errors_reprs_or_logs(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    errors: list[RemoteError] = []
    with mock(echo, token=TOKEN) as client:
        for call in (lambda: client.get_repos_graphql(["owner/repo"]),
                     lambda: client.get_repo("owner/repo")):
            with pytest.raises(RemoteError) as caught:
                call()
            errors.append(caught.value)
        texts = [repr(client), str(client.stats), repr(client.down)]
    assert "***" in str(errors[1])
    for error in errors:
        texts += [str(error), repr(error), repr(error.__dict__),
                  str(pickle.loads(pickle.dumps(error)))]
        assert error.__cause__ is None
    texts += [record.getMessage() for record in caplog.records]
    texts += [repr(record.args) for record in caplog.records]
    assert not [text for text in texts if TOKEN in text]


def test_the_settings_repr_hides_the_token() -> None:
    assert TOKEN not in repr(make_settings(token=TOKEN))


# -- GraphQL ----------------------------------------------------------------------------------


def test_the_graphql_query_aliases_each_repository_and_escapes_names() -> None:
    query = graphql_query(["a/b", "c-d/e.f_g"])
    assert 'r0: repository(owner: "a", name: "b") { ...repo }' in query
    assert 'r1: repository(owner: "c-d", name: "e.f_g") { ...repo }' in query
    assert "fragment repo on Repository" in query
    for field in ("nameWithOwner", "stargazerCount", "forkCount", "licenseInfo", "spdxId",
                  "primaryLanguage", "pushedAt", "isArchived", "url"):
        assert field in query


def node(name: str, stars: int = 5) -> dict[str, Any]:
    return {"nameWithOwner": name, "url": f"https://github.com/{name}", "stargazerCount": stars,
            "forkCount": 1, "licenseInfo": {"spdxId": "Apache-2.0"},
            "primaryLanguage": {"name": "Python"}, "pushedAt": "2024-01-02T03:04:05Z",
            "isArchived": True, "isFork": False}


def test_graphql_answers_per_alias() -> None:
    body = {"data": {"r0": node("a/b", 11), "r1": None, "r2": None,
                     "r3": {**node("g/h"), "stargazerCount": "many"}, "r4": node("New/Name")},
            "errors": [{"type": "NOT_FOUND", "path": ["r1"], "message": "Could not resolve"},
                       {"type": "FORBIDDEN", "path": ["r2"], "message": "blocked"}]}
    handler, seen = script(httpx.Response(200, json=body, headers={"Date": DATE}))
    with mock(handler, token=TOKEN) as client:
        answers = client.get_repos_graphql(["a/b", "c/d", "e/f", "g/h", "old/name"])
    assert seen[0].method == "POST" and seen[0].url == f"{API}/graphql"
    assert set(answers) == {"a/b", "c/d", "e/f", "old/name"}  # g/h is left to REST
    assert (answers["e/f"].outcome, answers["e/f"].reason) == ("unavailable", "blocked")
    assert answers["a/b"].facts is not None and answers["a/b"].facts.stars == 11
    assert answers["a/b"].facts.license == "Apache-2.0"
    assert answers["a/b"].facts.archived is True
    assert answers["c/d"].outcome == "missing"
    assert answers["old/name"].facts is not None
    assert answers["old/name"].facts.full_name == "New/Name"
    assert answers["old/name"].date == dt.datetime(2025, 7, 1, 12, tzinfo=dt.UTC)


@pytest.mark.parametrize("response", [
    httpx.Response(200, json={"errors": [{"type": "RATE_LIMITED", "message": "exceeded"}]}),
    httpx.Response(200, json={"data": None}),
    httpx.Response(200, json=[1, 2]),
    httpx.Response(400, json={"message": "Problems parsing JSON"}),
], ids=["rate-limited", "null-data", "not-an-object", "400"])
def test_a_failed_graphql_query_is_a_bad_response(response: httpx.Response) -> None:
    handler, _ = script(response)
    with mock(handler, token=TOKEN) as client, pytest.raises(BadResponseError):
        client.get_repos_graphql(["a/b"])


def test_graphql_needs_a_token_and_at_most_100_names() -> None:
    handler, seen = script()
    with mock(handler) as client, pytest.raises(ValueError, match="token"):
        client.get_repos_graphql(["a/b"])
    with mock(handler, token=TOKEN) as client:
        with pytest.raises(ValueError, match="at most"):
            client.get_repos_graphql([f"o/r{i}" for i in range(GRAPHQL_BATCH + 1)])
        assert client.get_repos_graphql([]) == {}
    assert seen == []


def test_github_enterprise_graphql_lives_beside_the_rest_api() -> None:
    handler, seen = script(httpx.Response(200, json={"data": {"r0": node("a/b")}}),
                           ok(repo_doc("a/b")))
    with mock(handler, token=TOKEN, url="https://ghe.example/api/v3/") as client:
        client.get_repos_graphql(["a/b"])
        client.get_repo("a/b")
    assert [str(r.url) for r in seen] == ["https://ghe.example/api/graphql",
                                          "https://ghe.example/api/v3/repos/a/b"]


# -- recorded answers --------------------------------------------------------------------------


def test_a_renamed_repository_ends_under_its_new_name() -> None:
    handler, seen = script(
        github_json("moved-huggingface-pytorch-pretrained-BERT.json", 301,
                    location=f"{GITHUB_API}/repositories/155220641"),
        github_json("repo-huggingface-transformers.json", etag='W/"t"'))
    with mock(handler, url=GITHUB_API) as client:
        answer = client.get_repo("huggingface/pytorch-pretrained-BERT")
    assert answer.facts is not None
    assert answer.facts.full_name == "huggingface/transformers"
    recorded_doc = json.loads(recorded("github/repo-huggingface-transformers.json"))
    assert answer.facts.stars == recorded_doc["stargazers_count"]
    assert [r.url.path for r in seen] == ["/repos/huggingface/pytorch-pretrained-BERT",
                                          "/repositories/155220641"]


def test_a_conditional_refresh_is_answered_304() -> None:
    served = answers(then=GitHubRepos(load_corpus()))
    with mock(served, token=GITHUB_TOKEN, url=GITHUB_API) as client:
        first = client.get_repo("1202kbs/EBCLR")
        again = client.get_repo("1202kbs/EBCLR", etag=first.etag, path=first.path)
    assert again.outcome == "not_modified"
    assert served.statuses == {200: 1, 304: 1}
    assert served.requests[1].headers["if-none-match"] == first.etag
    assert served.paths == ["/repos/1202kbs/EBCLR"] * 2


def test_retry_after_and_backoff_through_a_row_of_failures() -> None:
    ebclr = github_json("repo-1202kbs-EBCLR.json", etag='W/"e"')
    handler, _ = script(secondary_rate_limit(429, retry_after=3), unicorn(503), cut(ebclr),
                        connection_reset, html_page(), ebclr)
    clock = Clock()
    with mock(handler, clock=clock, url=GITHUB_API, github_max_attempts=6) as client:
        answer = client.get_repo("1202kbs/EBCLR")
        assert client.stats.rate_limit_wait == 3.0  # the 429's Retry-After
        assert client.stats.retry.backoff_wait == 2.0 + 4.0 + 8.0 + 16.0
    assert answer.facts is not None and answer.facts.stars == 28
    assert clock.sleeps == [3.0, 2.0, 4.0, 8.0, 16.0]


def test_an_echoed_token_is_masked(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    handler, _ = script(echo_token)
    with mock(handler, token=TOKEN) as client, pytest.raises(ServiceUnavailableError) as caught:
        client.get_repo("1202kbs/EBCLR")
    assert "Bad credentials" in str(caught.value)
    assert TOKEN not in str(caught.value)
    assert TOKEN not in caplog.text


def test_a_recorded_graphql_answer() -> None:
    names = ["goel-shashank/cyclip", "huggingface/pytorch-transformers",
             "deleted-example/code-release", "takedown-example/leaked-weights"]
    handler, seen = script(github_json("graphql-cyclip-transformers-deleted-takedown.json"))
    with mock(handler, token=TOKEN, url=GITHUB_API) as client:
        answers_ = client.get_repos_graphql(names)
    assert len(seen) == 1
    assert answers_["goel-shashank/cyclip"].facts is not None
    assert answers_["goel-shashank/cyclip"].facts.full_name == "goel-shashank/CyCLIP"
    assert answers_["huggingface/pytorch-transformers"].facts is not None
    assert answers_["huggingface/pytorch-transformers"].facts.full_name == \
        "huggingface/transformers"
    assert answers_["deleted-example/code-release"].outcome == "missing"
    assert answers_["takedown-example/leaked-weights"].outcome == "unavailable"


def test_github_enterprise_renames_stay_under_the_prefix() -> None:
    ghe = "https://ghe.example/api/v3"
    handler, seen = script(
        github_json("moved-huggingface-pytorch-pretrained-BERT.json", 301,
                    location=f"{ghe}/repositories/155220641"),
        github_json("repo-huggingface-transformers.json"))
    with mock(handler, url=ghe) as client:
        answer = client.get_repo("huggingface/pytorch-transformers")
    assert answer.facts is not None
    assert answer.facts.full_name == "huggingface/transformers"
    assert [str(r.url) for r in seen] == [f"{ghe}/repos/huggingface/pytorch-transformers",
                                          f"{ghe}/repositories/155220641"]

"""The loopback GitHub fake: document shapes, renames, blocks, quotas, ETags, GraphQL, faults.

Everything goes over real HTTP on 127.0.0.1 with a bare httpx client, so the fake is held to the
wire behaviour the GitHub client will meet (and a bug in the client cannot hide one in the fake).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.fakes.github_api import (
    ANONYMOUS_QUOTA,
    DEFAULT_TOKEN,
    FAULT_KINDS,
    FROZEN_DATE,
    GRAPHQL_QUOTA,
    FakeGitHub,
    Fault,
    FaultPlan,
    GraphQLSyntaxError,
    parse_repository_fields,
)
from tests.fakes.github_corpus import DEFAULT_CORPUS, load_corpus

REPO = Path(__file__).resolve().parents[1]
AUTH = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeGitHub]:
    with FakeGitHub() as running:
        yield running


@pytest.fixture(autouse=True)
def clean_fake(request: pytest.FixtureRequest) -> None:
    if "fake" in request.fixturenames:
        running: FakeGitHub = request.getfixturevalue("fake")
        running.clear_faults()
        running.fault_plan = None
        running.reset_log()
        running.anonymous_quota, running.graphql_quota = ANONYMOUS_QUOTA, GRAPHQL_QUOTA
        running.window = 3600.0
        running.reset_quotas()
        running.date = FROZEN_DATE


@pytest.fixture
def http(fake: FakeGitHub) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fake.url, timeout=10, trust_env=False) as client:
        yield client


def graphql(http: httpx.Client, query: str, **extra: object) -> httpx.Response:
    return http.post("/graphql", json={"query": query, **extra}, headers=AUTH)


# -- corpus -----------------------------------------------------------------------------------


def test_the_corpus_holds_every_repository_the_seeds_link_to() -> None:
    linked = set()
    for path in sorted((REPO / "seeds").glob("*.txt")):
        linked |= {m.lower() for m in re.findall(r"github\.com/([\w.-]+/[\w-]+(?:\.[\w-]+)*)",
                                                   path.read_text(encoding="utf-8"))}
    assert linked, "the seeds link to GitHub repositories"
    corpus = {r.full_name.lower() for r in load_corpus().repos}
    assert linked <= corpus


def test_the_corpus_has_a_renamed_a_deleted_a_blocked_and_an_archived_repository() -> None:
    corpus = load_corpus()
    assert any(r.renamed_from for r in corpus.repos)
    assert corpus.deleted
    assert any(r.blocked == "dmca" for r in corpus.repos)
    assert any(r.archived for r in corpus.repos)


def test_the_fake_reads_its_corpus_from_the_project_only() -> None:
    assert DEFAULT_CORPUS.is_relative_to(REPO / "tests")
    source = (REPO / "tests" / "fakes" / "github_api.py").read_text(encoding="utf-8")
    assert "shared" not in source


# -- REST -------------------------------------------------------------------------------------


def test_a_repository_document_has_github_s_shape(http: httpx.Client) -> None:
    response = http.get("/repos/goel-shashank/CyCLIP")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    doc = response.json()
    assert doc["full_name"] == "goel-shashank/CyCLIP"
    assert doc["html_url"] == "https://github.com/goel-shashank/CyCLIP"
    assert doc["stargazers_count"] == 81
    assert (doc["license"]["key"], doc["license"]["name"], doc["license"]["spdx_id"]) == (
        "mit", "MIT License", "MIT")
    assert doc["owner"]["login"] == "goel-shashank"
    for key in ("forks_count", "language", "pushed_at", "archived", "fork", "default_branch",
                "topics", "open_issues_count", "created_at", "homepage", "description"):
        assert key in doc


def test_owner_and_name_match_case_insensitively(http: httpx.Client) -> None:
    response = http.get("/repos/WENLVE-ZHOU/bidfc-MASTER")
    assert response.status_code == 200
    assert response.json()["full_name"] == "Wenlve-Zhou/BIDFC-master"


def test_a_renamed_repository_answers_301_to_its_id(http: httpx.Client, fake: FakeGitHub) -> None:
    response = http.get("/repos/huggingface/pytorch-transformers")
    assert response.status_code == 301
    location = response.headers["location"]
    assert location == f"{fake.url}/repositories/155220641"
    assert response.json()["url"] == location
    moved = http.get(location)
    assert moved.status_code == 200
    assert moved.json()["full_name"] == "huggingface/transformers"


@pytest.mark.parametrize(("name", "status", "message"), [
    ("deleted-example/code-release", 404, "Not Found"),
    ("nobody-example/never-existed", 404, "Not Found"),
    ("takedown-example/leaked-weights", 451, "Repository access blocked"),
    ("blocked-example/spam-crawler", 403, "Repository access blocked"),
], ids=["deleted", "unknown", "dmca", "tos"])
def test_missing_and_blocked_repositories(http: httpx.Client, name: str, status: int,
                                          message: str) -> None:
    response = http.get(f"/repos/{name}")
    assert response.status_code == status
    assert response.json()["message"] == message
    assert response.headers["x-ratelimit-remaining"] == "59"


def test_the_date_header_is_frozen_and_settable(http: httpx.Client, fake: FakeGitHub) -> None:
    assert http.get("/repos/1202kbs/EBCLR").headers["date"] == "Tue, 01 Jul 2025 12:00:00 GMT"
    fake.date = dt.datetime(2026, 2, 3, 4, 5, 6, tzinfo=dt.UTC)
    assert http.get("/repos/1202kbs/EBCLR").headers["date"] == "Tue, 03 Feb 2026 04:05:06 GMT"


def test_unknown_paths_answer_404_json(http: httpx.Client) -> None:
    response = http.get("/users/someone")
    assert response.status_code == 404
    assert response.json()["message"] == "Not Found"


# -- rate limits ------------------------------------------------------------------------------


def test_anonymous_and_token_quotas_are_separate(http: httpx.Client) -> None:
    anonymous = http.get("/repos/1202kbs/EBCLR").headers
    authed = http.get("/repos/1202kbs/EBCLR", headers=AUTH).headers
    assert (anonymous["x-ratelimit-limit"], anonymous["x-ratelimit-remaining"]) == ("60", "59")
    assert (authed["x-ratelimit-limit"], authed["x-ratelimit-remaining"]) == ("5000", "4999")
    assert authed["x-ratelimit-used"] == "1"
    assert authed["x-ratelimit-resource"] == "core"
    assert int(authed["x-ratelimit-reset"]) > time.time() + 3000


def test_an_exhausted_quota_answers_403_with_remaining_zero(http: httpx.Client,
                                                            fake: FakeGitHub) -> None:
    fake.anonymous_quota = 1
    assert http.get("/repos/1202kbs/EBCLR").status_code == 200
    response = http.get("/repos/1202kbs/EBCLR")
    assert response.status_code == 403
    assert response.headers["x-ratelimit-remaining"] == "0"
    assert int(response.headers["x-ratelimit-reset"]) >= int(time.time()) + 3590
    assert "rate limit exceeded" in response.json()["message"]
    # The token's quota is untouched.
    assert http.get("/repos/1202kbs/EBCLR", headers=AUTH).status_code == 200


def test_the_quota_refills_after_the_reset(http: httpx.Client, fake: FakeGitHub) -> None:
    fake.anonymous_quota, fake.window = 1, 0.0  # every window is over at once
    assert [http.get("/repos/1202kbs/EBCLR").status_code for _ in range(2)] == [200, 200]


def test_a_wrong_token_gets_bad_credentials(http: httpx.Client, fake: FakeGitHub) -> None:
    response = http.get("/repos/1202kbs/EBCLR", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
    assert response.json()["message"] == "Bad credentials"
    record = fake.requests[-1]
    assert record.token_sent and not record.authenticated
    assert "nope" not in repr(record)


# -- conditional requests ---------------------------------------------------------------------


def test_etags_are_weak_and_a_match_answers_304(http: httpx.Client, fake: FakeGitHub) -> None:
    etag = http.get("/repos/1202kbs/EBCLR").headers["etag"]
    assert etag.startswith('W/"')
    response = http.get("/repos/1202kbs/EBCLR", headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == etag
    # Strong form of the same tag, and a list, match too (weak comparison).
    assert http.get("/repos/1202kbs/EBCLR",
                    headers={"If-None-Match": etag.removeprefix("W/")}).status_code == 304
    assert http.get("/repos/1202kbs/EBCLR",
                    headers={"If-None-Match": f'"x", {etag}'}).status_code == 304
    assert http.get("/repos/1202kbs/EBCLR", headers={"If-None-Match": '"x"'}).status_code == 200
    assert fake.statuses()[304] == 3


def test_a_304_is_free_with_a_token_and_counted_without(http: httpx.Client) -> None:
    etag = http.get("/repos/1202kbs/EBCLR", headers=AUTH).headers["etag"]
    again = http.get("/repos/1202kbs/EBCLR", headers={**AUTH, "If-None-Match": etag})
    assert again.status_code == 304
    assert again.headers["x-ratelimit-remaining"] == "4999"
    anon = http.get("/repos/1202kbs/EBCLR").headers["etag"]
    again = http.get("/repos/1202kbs/EBCLR", headers={"If-None-Match": anon})
    assert again.status_code == 304
    assert again.headers["x-ratelimit-remaining"] == "58"


def test_etags_depend_on_the_identity_and_the_facts(http: httpx.Client, fake: FakeGitHub) -> None:
    anon = http.get("/repos/1202kbs/EBCLR").headers["etag"]
    authed = http.get("/repos/1202kbs/EBCLR", headers=AUTH).headers["etag"]
    assert anon != authed
    repo = fake.repo("1202kbs/EBCLR")
    with FakeGitHub([dataclasses.replace(repo, stars=repo.stars + 1)]) as changed:
        response = httpx.get(f"{changed.url}/repos/1202kbs/EBCLR",
                             headers={"If-None-Match": anon})
    assert response.status_code == 200
    assert response.json()["stargazers_count"] == repo.stars + 1


# -- GraphQL ----------------------------------------------------------------------------------


def test_graphql_needs_a_token(http: httpx.Client) -> None:
    response = http.post("/graphql", json={"query": "{ r: repository(owner: \"a\", name: \"b\")"
                                                    " { url } }"})
    assert response.status_code == 401
    assert "requires you to be authenticated" in response.json()["message"]


def test_graphql_answers_aliases_with_the_selected_fields(http: httpx.Client) -> None:
    query = """query {
      a0: repository(owner: "goel-shashank", name: "cyclip") { nameWithOwner stargazerCount }
      a1: repository(owner: "huggingface", name: "pytorch-transformers") { ...f }
      a2: repository(owner: "deleted-example", name: "code-release") { ...f }
      a3: repository(owner: "takedown-example", name: "leaked-weights") { ...f }
    }
    fragment f on Repository { nameWithOwner isArchived licenseInfo { spdxId } }"""
    response = graphql(http, query)
    assert response.status_code == 200
    assert response.headers["x-ratelimit-resource"] == "graphql"
    body = response.json()
    assert body["data"]["a0"] == {"nameWithOwner": "goel-shashank/CyCLIP", "stargazerCount": 81}
    assert body["data"]["a1"]["nameWithOwner"] == "huggingface/transformers"
    assert set(body["data"]["a1"]) == {"nameWithOwner", "isArchived", "licenseInfo"}
    assert body["data"]["a2"] is None and body["data"]["a3"] is None
    by_path = {e["path"][0]: e for e in body["errors"]}
    assert by_path["a2"]["type"] == "NOT_FOUND"
    assert "deleted-example/code-release" in by_path["a2"]["message"]
    assert by_path["a3"]["type"] == "FORBIDDEN"


def test_graphql_costs_one_point_per_query(http: httpx.Client, fake: FakeGitHub) -> None:
    fields = " ".join(f'r{i}: repository(owner: "x{i}", name: "y") {{ url }}' for i in range(100))
    response = graphql(http, "query { " + fields + " }")
    assert len(response.json()["errors"]) == 100
    assert response.headers["x-ratelimit-used"] == "1"
    assert fake.requests[-1].repositories == 100


def test_graphql_refuses_more_than_100_repositories(http: httpx.Client) -> None:
    fields = " ".join(f'r{i}: repository(owner: "x", name: "y{i}") {{ url }}' for i in range(101))
    body = graphql(http, "query { " + fields + " }").json()
    assert body["errors"][0]["type"] == "MAX_NODE_LIMIT_EXCEEDED"
    assert "data" not in body


def test_graphql_rate_limited_when_points_run_out(http: httpx.Client, fake: FakeGitHub) -> None:
    fake.graphql_quota = 0
    response = graphql(http, 'query { r: repository(owner: "a", name: "b") { url } }')
    assert response.status_code == 200
    assert response.json()["errors"][0]["type"] == "RATE_LIMITED"
    assert response.headers["x-ratelimit-remaining"] == "0"


@pytest.mark.parametrize("query", [
    "query { r: repository(owner: \"a\") { url } }",
    "query { r: repository(owner: \"a\", name: \"b\") }",
    "query { viewer { login } }",
    "query { r: repository(owner: \"a\", name: \"b\") { ...missing } }",
], ids=["no-name", "no-selection", "no-repository", "unknown-fragment"])
def test_graphql_parse_errors(query: str) -> None:
    with pytest.raises(GraphQLSyntaxError):
        parse_repository_fields(query)


def test_graphql_bad_json_is_400(http: httpx.Client) -> None:
    response = http.post("/graphql", content=b"{not json", headers=AUTH)
    assert response.status_code == 400


# -- faults -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("spec", "status"), [
    ("500", 500), ("502", 502), ("503", 503), ("429:7", 429), ("429-bare", 429),
    ("403-secondary:9", 403), ("wrong-type", 200),
], ids=str)
def test_scripted_faults_answer_with_their_status(http: httpx.Client, fake: FakeGitHub,
                                                  spec: str, status: int) -> None:
    fake.enqueue_faults([spec])
    response = http.get("/repos/1202kbs/EBCLR")
    assert response.status_code == status
    if spec.startswith(("429:", "403-")):
        assert response.headers["retry-after"] == spec.split(":")[1]
    if spec == "wrong-type":
        assert response.headers["content-type"].startswith("text/html")
    assert fake.requests[-1].fault == str(Fault.parse(spec))
    assert http.get("/repos/1202kbs/EBCLR").status_code == 200


def test_truncated_json_has_an_honest_length(http: httpx.Client, fake: FakeGitHub) -> None:
    fake.enqueue_faults(["truncated"])
    response = http.get("/repos/1202kbs/EBCLR")
    assert response.status_code == 200
    with pytest.raises(ValueError, match=r"Expecting|Unterminated|delimiter"):
        response.json()


def test_a_reset_cuts_the_connection(http: httpx.Client, fake: FakeGitHub) -> None:
    fake.enqueue_faults(["reset"])
    with pytest.raises(httpx.TransportError):
        http.get("/repos/1202kbs/EBCLR")
    assert fake.requests[-1].note == "connection reset"


def test_slow_answers_take_their_time(http: httpx.Client, fake: FakeGitHub) -> None:
    fake.enqueue_faults(["slow:0.3"])
    started = time.monotonic()
    assert http.get("/repos/1202kbs/EBCLR").status_code == 200
    assert time.monotonic() - started >= 0.3


def test_huge_bodies_stream(http: httpx.Client, fake: FakeGitHub) -> None:
    fake.enqueue_faults(["huge:300000"])
    response = http.get("/repos/1202kbs/EBCLR")
    assert len(response.content) == 300000


def test_faults_skip_non_api_paths(http: httpx.Client, fake: FakeGitHub) -> None:
    fake.enqueue_faults(["503"])
    assert http.get("/users/someone").status_code == 404
    assert http.get("/repos/1202kbs/EBCLR").status_code == 503


def test_a_fault_plan_is_seeded() -> None:
    plan_a, plan_b = (FaultPlan(0.5, ("503", "reset"), seed=3) for _ in range(2))
    drawn = [plan_a.draw() for _ in range(50)]
    assert drawn == [plan_b.draw() for _ in range(50)]
    assert {"503", "reset", None} == set(drawn)
    with pytest.raises(ValueError, match="unknown fault"):
        Fault.parse("teapot")
    assert set(FAULT_KINDS) >= {"503", "429", "truncated", "reset", "slow", "wrong-type",
                                "huge"}


def test_the_log_counts_requests_and_statuses(http: httpx.Client, fake: FakeGitHub) -> None:
    http.get("/repos/1202kbs/EBCLR")
    http.get("/repos/deleted-example/code-release")
    assert fake.request_count == 2
    assert fake.statuses() == {200: 1, 404: 1}
    assert [r.path for r in fake.requests] == ["/repos/1202kbs/EBCLR",
                                                "/repos/deleted-example/code-release"]


# -- as a process -----------------------------------------------------------------------------


def test_main_serves_on_a_fixed_port_and_prints_its_url() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with subprocess.Popen(
            [sys.executable, "-m", "tests.fakes.github_api", "--port", str(port)], cwd=REPO,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            assert f"http://127.0.0.1:{port}" in line
            response = httpx.get(f"http://127.0.0.1:{port}/repos/1202kbs/EBCLR", timeout=10)
            assert response.json()["stargazers_count"] == 28
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=10)

"""The Hugging Face Papers client over `httpx.MockTransport`: answers, limits, failures."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest
from pydantic import SecretStr

from enrich.errors import BadResponseError, RateLimitedError, ServiceUnavailableError
from enrich.net.gate import IntervalGate
from enrich.repos.hf_client import HuggingFaceClient
from enrich.repos.links import hf_links
from enrich.settings import Settings
from tests.support.clock import Clock

TOKEN = "hf_test_S3cretT0kenForHuggingFace"
DATE = "Tue, 01 Jul 2025 12:00:00 GMT"
DOC = {"id": "2408.03230", "title": "A Paper", "authors": [{"_id": "x", "name": "Ann Lee"}],
       "githubRepo": "https://github.com/Org/Repo/tree/main/sub", "githubStars": 4,
       "projectPage": "https://org.github.io/repo/", "upvotes": 2}


def ok(doc: object = DOC, **headers: str) -> httpx.Response:
    return httpx.Response(200, json=doc, headers={"Date": DATE, **headers})


def client(handler: Callable[[httpx.Request], httpx.Response], clock: Clock, *,
           token: str | None = None, max_wait: float = 60.0) -> HuggingFaceClient:
    settings = Settings(hf_api_url="https://hf.test", hf_token=SecretStr(token) if token else None,
                        hf_max_wait=max_wait, hf_max_attempts=4)
    return HuggingFaceClient.from_settings(settings, httpx.MockTransport(handler),
                                           gate=IntervalGate(0), sleep=clock.sleep,
                                           clock=clock.time)


def scripted(*answers: httpx.Response) -> tuple[Callable[[httpx.Request], httpx.Response],
                                                 list[httpx.Request]]:
    seen: list[httpx.Request] = []
    queue = list(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return handler, seen


def test_a_known_paper_gives_its_links_normalised_and_never_hf_stars() -> None:
    handler, seen = scripted(ok())
    record = client(handler, Clock()).get_paper("2408.03230v2")
    assert seen[0].url.path == "/api/papers/2408.03230"
    assert (record.outcome, record.github_repo) == ("found", DOC["githubRepo"])
    assert record.read_at is not None and record.read_at.year == 2025
    assert "githubStars" not in record.model_dump()
    links = hf_links(record)
    assert [(link.kind, link.repo, link.source) for link in links] == [
        ("github", "Org/Repo", "huggingface"), ("github_pages", None, "huggingface")]


def test_404_means_hf_does_not_index_the_paper() -> None:
    handler, _ = scripted(httpx.Response(404, json={"error": "Paper not found"}))
    record = client(handler, Clock()).get_paper("2408.03230")
    assert (record.outcome, record.github_repo) == ("absent", None)


def test_the_token_is_sent_as_bearer_and_never_appears_in_errors() -> None:
    handler, seen = scripted(httpx.Response(401, json={"error": f"bad token {TOKEN}"}))
    hf = client(handler, Clock(), token=TOKEN)
    with pytest.raises(ServiceUnavailableError) as caught:
        hf.get_paper("2408.03230")
    assert seen[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in str(caught.value) and "***" in str(caught.value)
    assert hf.service.down is not None
    with pytest.raises(ServiceUnavailableError):  # every later call fails at once
        hf.get_paper("2408.03231")
    assert len(seen) == 1


@pytest.mark.parametrize(("first", "waited"), [
    (httpx.Response(429, headers={"Retry-After": "7"}, json={"error": "slow down"}), 7.0),
    (httpx.Response(429, headers={"RateLimit": '"api";r=0;t=12',
                                  "RateLimit-Policy": '"fixed window";"api";q=500;w=300'}),
     13.0),
    (httpx.Response(503, text="<html>down</html>"), 1.0),
    (httpx.Response(200, text="<html>portal</html>",
                    headers={"Content-Type": "text/html"}), 1.0),
    (httpx.Response(200, content=b'{"id": "2408.03', headers={"Content-Type": "application/json"}),
     1.0),
], ids=["429-retry-after", "429-ratelimit-header", "503", "html-portal", "truncated-json"])
def test_transient_answers_are_retried_after_the_wait_asked(first: httpx.Response,
                                                            waited: float) -> None:
    clock = Clock()
    handler, seen = scripted(first, ok())
    record = client(handler, clock).get_paper("2408.03230")
    assert record.outcome == "found"
    assert len(seen) == 2
    assert clock.sleeps == [waited]


def test_a_used_up_window_is_waited_out_before_the_next_request() -> None:
    clock = Clock()
    handler, seen = scripted(ok(RateLimit='"api";r=0;t=20'), ok())
    hf = client(handler, clock)
    hf.get_paper("2408.03230")
    hf.get_paper("2408.03230")
    assert len(seen) == 2 and clock.sleeps == [20.0]


def test_a_window_resetting_later_than_we_wait_defers_without_asking_again() -> None:
    clock = Clock()
    handler, seen = scripted(httpx.Response(429, headers={"Retry-After": "280"}))
    hf = client(handler, clock, max_wait=60)
    with pytest.raises(RateLimitedError) as caught:
        hf.get_paper("2408.03230")
    assert caught.value.retry_at is not None
    with pytest.raises(RateLimitedError):
        hf.get_paper("2408.03231")
    assert len(seen) == 1 and clock.sleeps == []


@pytest.mark.parametrize("doc", [
    {**DOC, "id": "2408.99999"},
    {**DOC, "githubRepo": 12},
    {**DOC, "githubRepo": "https://github.com/a/b} @misc{x,"},
    {"title": "no id"},
    ["not", "an", "object"],
], ids=["another-paper", "wrong-type", "hostile-url", "no-id", "not-an-object"])
def test_an_answer_we_cannot_trust_is_refused(doc: object) -> None:
    handler, _ = scripted(ok(doc))
    with pytest.raises(BadResponseError):
        client(handler, Clock()).get_paper("2408.03230")


def test_unreachable_fails_fast_and_stays_down() -> None:
    calls = []

    def refuse(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.ConnectError("refused", request=request)

    clock = Clock()
    hf = client(refuse, clock)
    with pytest.raises(ServiceUnavailableError):
        hf.get_paper("2408.03230")
    with pytest.raises(ServiceUnavailableError):
        hf.get_paper("2408.03231")
    assert len(calls) == 2  # two quick attempts, then down for the rest of the run
    assert sum(clock.sleeps) <= 2.0


def test_the_document_shape_is_what_hf_serves() -> None:
    # A sanity check of the fixture against the fields the client reads.
    assert {"id", "title", "authors", "githubRepo", "projectPage"} <= set(DOC)
    assert json.loads(json.dumps(DOC)) == DOC

"""The Semantic Scholar batch client and the dblp search client over `httpx.MockTransport`."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from enrich.errors import BadResponseError, ServiceUnavailableError
from enrich.net.gate import IntervalGate
from enrich.published.dblp_client import DblpClient, parse_hits
from enrich.published.s2_client import BATCH, SemanticScholarClient
from enrich.settings import Settings
from tests.support.clock import Clock

KEY = "s2-test-Key-0123456789abcdef"
DATE = "Tue, 01 Jul 2025 12:00:00 GMT"
PAPER = {
    "paperId": "a" * 40, "title": "CyCLIP: Cyclic Contrastive Language-Image Pretraining",
    "authors": [{"authorId": "1", "name": "Shashank Goel"}, {"authorId": "2", "name": None}],
    "venue": "Neural Information Processing Systems",
    "publicationVenue": {"id": "x", "name": "Neural Information Processing Systems",
                         "type": "conference", "alternate_names": ["NeurIPS", "NIPS"]},
    "year": 2022, "publicationDate": "2022-05-28", "journal": None,
    "externalIds": {"ArXiv": "2205.14459", "DBLP": "conf/nips/GoelBBRVG22",
                    "DOI": "10.48550/arXiv.2205.14459", "CorpusId": 249152130},
    "citationCount": 120, "publicationTypes": ["Conference"],
}


def s2_client(handler: Callable[[httpx.Request], httpx.Response], clock: Clock,
              key: str | None = None) -> SemanticScholarClient:
    settings = Settings(s2_api_url="https://s2.test/graph/v1",
                        s2_api_key=SecretStr(key) if key else None)
    return SemanticScholarClient.from_settings(settings, httpx.MockTransport(handler),
                                               gate=IntervalGate(0), sleep=clock.sleep,
                                               clock=clock.time)


def test_a_batch_answer_is_aligned_with_the_ids_and_null_is_absent() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=[PAPER, None], headers={"Date": DATE})

    records = s2_client(handler, Clock(), key=KEY).papers(["2205.14459v2", "2408.03230"])
    request = seen[0]
    assert (request.method, request.url.path) == ("POST", "/graph/v1/paper/batch")
    assert "externalIds" in request.url.params["fields"]
    assert json.loads(request.content) == {"ids": ["ARXIV:2205.14459", "ARXIV:2408.03230"]}
    assert request.headers["x-api-key"] == KEY
    found, absent = records
    assert (found.outcome, absent.outcome) == ("found", "absent")
    assert found.paper is not None
    assert found.paper.authors == ("Shashank Goel",)
    assert found.paper.venue_alternates == ("NeurIPS", "NIPS")
    assert (found.paper.dblp_key, found.paper.citation_count) == ("conf/nips/GoelBBRVG22", 120)
    assert str(found.paper.publication_date) == "2022-05-28"


@pytest.mark.parametrize("body", [{"data": []}, [PAPER]], ids=["not-an-array", "wrong-length"])
def test_an_answer_not_aligned_with_the_ids_is_refused(body: Any) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=body)

    with pytest.raises(BadResponseError):
        s2_client(handler, Clock()).papers(["2205.14459", "2408.03230"])


def test_an_unreadable_item_is_an_error_for_that_paper_alone() -> None:
    bad = {**PAPER, "year": "2022", "citationCount": -1}

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=[bad, PAPER])

    first, second = s2_client(handler, Clock()).papers(["2205.14459", "2205.14460"])
    assert first.outcome == "error" and "year" in (first.error or "")
    assert second.outcome == "found"


def test_the_shared_pools_429s_are_retried_with_backoff() -> None:
    answers = [httpx.Response(429, json={"message": "Too Many Requests"}),
               httpx.Response(429, json={"message": "Too Many Requests"}),
               httpx.Response(200, json=[None])]
    clock = Clock()
    records = s2_client(lambda r: answers.pop(0), clock).papers(["2205.14459"])
    assert records[0].outcome == "absent"
    assert len(clock.sleeps) == 2


def test_a_refused_key_stops_asking() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(403, json={"message": "Forbidden"})

    s2 = s2_client(handler, Clock(), key=KEY)
    with pytest.raises(ServiceUnavailableError, match="credentials refused"):
        s2.papers(["2205.14459"])
    with pytest.raises(ServiceUnavailableError):
        s2.papers(["2205.14459"])
    assert len(calls) == 1


def test_more_than_500_ids_is_the_callers_mistake() -> None:
    with pytest.raises(ValueError, match="500"):
        s2_client(lambda r: httpx.Response(200, json=[]), Clock()).papers(
            [f"2205.{i:05d}" for i in range(BATCH + 1)])


# ---------------------------------------------------------------------------------------------
# dblp


def hit(**info: Any) -> dict[str, Any]:
    base = {"authors": {"author": [{"@pid": "1", "text": "Wei Liu 0001"},
                                   {"@pid": "2", "text": "Ann Lee"}]},
            "title": "A Title.", "venue": "CVPR", "year": "2023",
            "type": "Conference and Workshop Papers", "key": "conf/cvpr/LiuL23",
            "doi": "10.1109/CVPR.2023.00001"}
    return {"@score": "1", "info": {**base, **info}}


def answer(*hits: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {"@total": str(len(hits)), "@sent": str(len(hits)), "@first": "0"}
    if hits:
        found["hit"] = list(hits)
    return {"result": {"status": {"@code": "200"}, "hits": found}}


def test_dblp_quirks_are_absorbed() -> None:
    one_author = hit(authors={"author": {"@pid": "3", "text": "Solo Writer 0042"}},
                     venue=["ICLR", "ICLR (Poster)"], key="conf/iclr/W23")
    hits = parse_hits(answer(hit(), one_author, {"info": {"title": "no key"}}))
    assert [h.key for h in hits] == ["conf/cvpr/LiuL23", "conf/iclr/W23"]
    first, second = hits
    assert first.title == "A Title"
    assert first.authors == ("Wei Liu", "Ann Lee")
    assert (first.year, first.doi) == (2023, "10.1109/CVPR.2023.00001")
    assert (second.authors, second.venue) == (("Solo Writer",), "ICLR")


def test_no_hit_key_means_no_hits() -> None:
    assert parse_hits(answer()) == ()
    with pytest.raises(BadResponseError):
        parse_hits({"result": {"status": {"@code": "500"}}})


def test_dblp_search_asks_json_and_waits_as_told_on_429() -> None:
    seen: list[httpx.Request] = []
    answers = [httpx.Response(429, headers={"Retry-After": "3"}, text="Too Many Requests"),
               httpx.Response(200, json=answer(hit()), headers={"Date": DATE})]

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers.pop(0)

    clock = Clock()
    client = DblpClient.from_settings(Settings(dblp_api_url="https://dblp.test"),
                                      httpx.MockTransport(handler), gate=IntervalGate(0),
                                      sleep=clock.sleep, clock=clock.time)
    hits, reply = client.search("cyclic contrastive")
    assert len(hits) == 1 and reply.date is not None
    params = seen[-1].url.params
    assert (params["q"], params["format"], seen[-1].url.path) == (
        "cyclic contrastive", "json", "/search/publ/api")
    assert clock.sleeps == [3.0]

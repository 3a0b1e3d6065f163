"""The pipeline's HF / S2 / dblp steps over real loopback HTTP: what is asked, what is cached,
what a failure leaves behind (retryable statuses, never a lost arXiv or GitHub result)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from enrich import pipeline
from enrich.digest.model import Digest
from enrich.net.gate import reset_process_gates
from enrich.settings import Settings
from enrich.store.db import StateStore
from tests.conftest import SEEDS
from tests.fakes.arxiv_api import FakeArxiv
from tests.fakes.dblp_api import DblpPub, FakeDblp, corr
from tests.fakes.github_api import FakeGitHub
from tests.fakes.hf_api import FakeHuggingFace, HfPaper
from tests.fakes.s2_api import FakeSemanticScholar, S2Doc

CYCLIP = "2205.14459"
EBCLR = "2202.04933"
DATA_JUICER = "2408.03230"
HF = [HfPaper(CYCLIP, "CyCLIP", ("Shashank Goel",),
              github_repo="https://www.github.com/GOEL-SHASHANK/CyCLIP.git", github_stars=3),
      HfPaper(DATA_JUICER, "Data juicer", ("Ann",),
              github_repo="https://github.com/modelscope/data-juicer/tree/main/tools/x",
              github_stars=1)]
S2 = [S2Doc(CYCLIP, "CyCLIP: Cyclic Contrastive Language-Image Pretraining",
            ("Shashank Goel", "Hritik Bansal", "Sumit Bhatia"),
            venue="Neural Information Processing Systems",
            venue_name="Neural Information Processing Systems", venue_type="conference",
            venue_alternates=("NeurIPS",), year=2022, journal=None, citations=120,
            types=("Conference",)),
      S2Doc(EBCLR, "Energy-Based Contrastive Learning of Visual Representations",
            ("Beomsu Kim", "Jong Chul Ye"), year=2022)]
DBLP = [DblpPub("conf/nips/KimY22", "Energy-Based Contrastive Learning of Visual "
                "Representations", ("Beomsu Kim", "Jong Chul Ye 0001"), "NeurIPS", 2022),
        corr(EBCLR, "Energy-Based Contrastive Learning of Visual Representations",
             ("Beomsu Kim", "Jong Chul Ye"), 2022)]


@pytest.fixture(scope="module")
def base() -> Iterator[tuple[FakeArxiv, FakeGitHub]]:
    with FakeArxiv() as arxiv, FakeGitHub() as github:
        yield arxiv, github


class World:
    """The seeds resolved on the fake arXiv, with the three sources' fakes running."""

    def __init__(self, tmp: Path, arxiv: FakeArxiv, github: FakeGitHub, hf: FakeHuggingFace,
                 s2: FakeSemanticScholar, dblp: FakeDblp, **settings: Any) -> None:
        reset_process_gates()
        self.hf, self.s2, self.dblp, self.github = hf, s2, dblp, github
        self.out = tmp / "out"
        self.state = StateStore.for_output(self.out)
        self.settings = Settings(arxiv_api_url=arxiv.url, arxiv_min_interval=0.0,
                                 github_api_url=github.url, hf_api_url=hf.url,
                                 hf_min_interval=0, s2_api_url=s2.url, s2_min_interval=0,
                                 dblp_api_url=dblp.url, dblp_min_interval=0, **settings)
        outcomes = [pipeline.parse_file(p) for p in pipeline.discover([SEEDS])]
        pipeline.remember(self.state, outcomes)
        self.digests: list[Digest] = [o.digest for o in outcomes if o.digest is not None]
        pipeline.resolve(self.digests, settings=self.settings, state=self.state)

    def run(self, now: float | None = None, **options: Any) -> dict[str, Any]:
        clock = (lambda: now) if now is not None else time.time
        stats = {
            "hf": pipeline.read_huggingface(self.digests, settings=self.settings,
                                            state=self.state, now=clock),
            "published": pipeline.find_published(self.digests, settings=self.settings,
                                                  state=self.state, now=clock, **options),
            "github": pipeline.read_github(self.digests, settings=self.settings,
                                           state=self.state, now=clock),
        }
        pipeline.issue_citekeys(self.state)
        pipeline.render(self.out, self.state)
        return stats

    def papers(self) -> dict[str, dict[str, Any]]:
        lines = (self.out / "papers.jsonl").read_text("utf-8").splitlines()
        return {p["arxiv_id"]: p for p in map(json.loads, lines)}

    def lookups(self, arxiv_id: str) -> dict[str, str]:
        return {entry["service"]: entry["status"] for entry in self.papers()[arxiv_id]["lookups"]}


@pytest.fixture
def world(tmp_path: Path, base: tuple[FakeArxiv, FakeGitHub]) -> Iterator[World]:
    with FakeHuggingFace(HF) as hf, FakeSemanticScholar(S2) as s2, FakeDblp(DBLP) as dblp:
        yield World(tmp_path, *base, hf, s2, dblp)


def test_sources_add_code_and_venues_once_then_ask_nothing_within_the_ttl(world: World) -> None:
    stats = world.run()
    assert (stats["hf"].requests, stats["published"][0].requests) == (14, 1)
    _, dblp_stats = stats["published"]
    # dblp only for the papers S2 had nothing for (13 of 14; CyCLIP has its venue from S2).
    assert dblp_stats.asked == world.dblp.request_count == 13
    papers = world.papers()
    # HF's repository written differently is the digest's link, read once under one name.
    assert [(r["full_name"], r["source"]) for r in papers[CYCLIP]["repos"]] == [
        ("goel-shashank/CyCLIP", "digest")]
    # HF-only, from a sub-folder URL: owner/name, source huggingface, stars from GitHub.
    juicer = papers[DATA_JUICER]["repos"]
    assert [(r["full_name"], r["source"]) for r in juicer] == [
        ("modelscope/data-juicer", "huggingface")]
    assert juicer[0]["stars"] == world.github.corpus_repo("modelscope/data-juicer")[
        "stargazers_count"] != 1
    cyclip = papers[CYCLIP]["published_version"]
    assert (cyclip["venue"], cyclip["venue_short"], cyclip["source"]) == (
        "Neural Information Processing Systems", "NeurIPS", "semantic_scholar")
    assert papers[CYCLIP]["citation_count"] == 120
    assert papers[CYCLIP]["citation_count_read_at"] == "2025-07-01T12:00:00Z"
    assert papers[CYCLIP]["published"].startswith("2022-05-28")  # arXiv's v1, unchanged
    ebclr = papers[EBCLR]["published_version"]
    assert (ebclr["venue"], ebclr["dblp_key"], ebclr["source"]) == (
        "NeurIPS", "conf/nips/KimY22", "dblp")
    assert world.lookups(EBCLR) == {"huggingface": "absent", "semantic_scholar": "none",
                                    "dblp": "found"}
    report = json.loads((world.out / "report.json").read_text("utf-8"))
    assert report["published"] == {"total": 2, "dblp": 1, "semantic_scholar": 1}

    for fake in (world.hf, world.s2, world.dblp):
        fake.reset_log()
    again = world.run()
    assert (world.hf.request_count, world.s2.request_count, world.dblp.request_count) == (
        0, 0, 0)
    assert again["hf"].asked == 0


def test_after_the_ttl_every_source_is_asked_again(world: World) -> None:
    now = time.time()
    world.run(now=now)
    for fake in (world.hf, world.s2, world.dblp):
        fake.reset_log()
    world.run(now=now + 800 * 3600)  # past HF's 7 days and the published TTL's 30
    assert (world.hf.request_count, world.s2.request_count, world.dblp.request_count) == (
        14, 1, 13)


def test_failures_are_retryable_and_never_cost_arxiv_or_github_results(
        tmp_path: Path, base: tuple[FakeArxiv, FakeGitHub]) -> None:
    with FakeHuggingFace(HF) as hf, FakeSemanticScholar(S2) as s2, FakeDblp(DBLP) as dblp:
        world = World(tmp_path, *base, hf, s2, dblp)
        # HF cannot be reached, S2 keeps failing (504), dblp is never reached after S2 failed.
        world.settings = world.settings.model_copy(update={
            "hf_api_url": "http://127.0.0.1:9", "s2_max_attempts": 2, "s2_retry_budget": 5.0})
        s2.enqueue_faults(["503", "503"])
        stats = world.run()
        assert stats["hf"].unavailable and stats["published"][0].unavailable
        assert dblp.request_count == 0  # S2's answer is still to come: dblp waits for it
        papers = world.papers()
        assert all(p["match"]["status"] == "matched" for p in papers.values())
        assert [r["status"] for r in papers["2205.14459"]["repos"]] == ["ok"]
        assert world.lookups(CYCLIP) == {"huggingface": "error", "semantic_scholar": "error"}
        report = json.loads((world.out / "report.json").read_text("utf-8"))
        assert set(report["errors"]) >= {"Hugging Face", "Semantic Scholar"}

        # Next run, services back: asked again, and the placeholders give way to answers.
        world.settings = world.settings.model_copy(update={"hf_api_url": hf.url})
        world.run()
        assert hf.request_count == 14 and s2.request_count == 3
        assert world.lookups(CYCLIP) == {"huggingface": "found", "semantic_scholar": "found"}


def test_a_used_up_hf_window_defers_the_rest_without_sleeping(
        tmp_path: Path, base: tuple[FakeArxiv, FakeGitHub]) -> None:
    with FakeHuggingFace(HF, anonymous_quota=3, window=600) as hf, \
            FakeSemanticScholar(S2) as s2, FakeDblp(DBLP) as dblp:
        world = World(tmp_path, *base, hf, s2, dblp, hf_max_wait=5.0)
        started = time.monotonic()
        stats = world.run()
        assert time.monotonic() - started < 30
        assert hf.request_count == 3  # the third answer said r=0: no 429 wasted
        assert stats["hf"].statuses.get("deferred") == 11
        assert "rate limit" in (stats["hf"].unavailable or "")
        deferred = [p for p in world.papers().values()
                    if {"service": "huggingface", "status": "deferred"}.items()
                    <= next((x for x in p["lookups"] if x["service"] == "huggingface"),
                            {}).items()]
        assert len(deferred) == 11


def test_the_weekly_recheck_asks_again_about_old_unpublished_papers_only(world: World) -> None:
    now = time.time()
    world.run(now=now)
    for fake in (world.s2, world.dblp):
        fake.reset_log()
    # A week later, within the 30-day TTL: the daily run asks nothing ...
    world.run(now=now + 7 * 86400)
    assert world.s2.request_count == world.dblp.request_count == 0
    # ... the weekly re-check asks about the 12 seed papers without a venue (all older than
    # four weeks), not about CyCLIP (S2's venue) or EBCLR (dblp's).
    before = world.s2.ids_asked
    s2_stats, dblp_stats = world.run(now=now + 7 * 86400, recheck_after_days=28)["published"]
    assert s2_stats.asked == 12 and dblp_stats.asked == 12
    assert world.s2.ids_asked - before == 12
    # Run again the same day: the re-check does not repeat itself.
    world.run(now=now + 7 * 86400 + 3600, recheck_after_days=28)
    assert world.s2.ids_asked - before == 12


def test_each_source_reports_its_papers_as_they_are_answered(world: World) -> None:
    heard: list[tuple[str, int, int | None]] = []

    def progress(stage: str, done: int, total: int | None = None, note: str = "") -> None:
        heard.append((stage, done, total))

    pipeline.read_huggingface(world.digests, settings=world.settings, state=world.state,
                              progress=progress)
    pipeline.find_published(world.digests, settings=world.settings, state=world.state,
                            progress=progress)
    by_stage: dict[str, list[tuple[int, int | None]]] = {}
    for stage, done, total in heard:
        by_stage.setdefault(stage, []).append((done, total))
    assert set(by_stage) == {"huggingface", "semantic-scholar", "dblp"}
    # HF answers one paper per request: the count moves through every step, never past 14.
    assert [d for d, _ in by_stage["huggingface"]] == [*range(15), 14]
    assert {t for _, t in by_stage["huggingface"]} == {14}
    assert by_stage["semantic-scholar"][0] == (0, 14) and by_stage["semantic-scholar"][-1] == (
        14, 14)
    assert by_stage["dblp"][0] == (0, 13) and by_stage["dblp"][-1] == (13, 13)

    # A second run asks nothing: each stage starts and ends complete.
    heard.clear()
    pipeline.read_huggingface(world.digests, settings=world.settings, state=world.state,
                              progress=progress)
    assert heard and set(heard) == {("huggingface", 14, 14)}

"""The pipeline benchmark at a tiny size, so that `python -m bench` cannot rot unnoticed.

Not a timed test: it checks that the harness runs end to end and that its figures are sane
(few requests, no wrong ID, a re-run that asks nothing), and that the benchmark's indexed search
answers exactly what the fake arXiv's own scan answers.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.corpus import generate
from bench.pipeline_bench import (
    IndexedSearch,
    check,
    github_corpus,
    linked_repos,
    markdown,
    measure_naive,
    measure_ours,
    services,
)
from enrich import pipeline
from enrich.net.gate import reset_process_gates
from enrich.settings import Settings
from enrich.store.db import StateStore
from tests.fakes.arxiv_api import ApiError, Index

ENTRIES = 40


@pytest.fixture(autouse=True)
def _fresh_gates() -> Iterator[None]:
    reset_process_gates()
    yield
    reset_process_gates()


def test_the_pipeline_bench_at_a_tiny_size_gives_sane_figures() -> None:
    ours = measure_ours(ENTRIES, seed=0, interval=0.002)
    naive = measure_naive(ENTRIES, seed=0, interval=0.002)

    assert ours["entries"] == naive["entries"] == ENTRIES
    assert ours["failed_digests"] == 0
    assert 0 < ours["arxiv_requests"] <= 0.5 * ENTRIES
    assert ours["arxiv_requests"] == ours["arxiv_requests_counted"]
    assert (ours["precision"], ours["wrong"], ours["recall"]) == (1.0, 0, 1.0)
    assert ours["rerun"] == {"arxiv_requests": 0, "github_requests": 0, "files_changed": 0,
                             "wall_s": ours["rerun"]["wall_s"]}
    assert ours["gate_violations"] == 0
    assert ours["repos_checked"] > 0 and ours["repos_correct"] == ours["repos_checked"]
    assert 0 < ours["github_requests"] <= 2 * ours["repos"]
    assert ours["token"]["same_statuses"] and ours["token"]["github_requests"] == 1
    assert ours["projected_s"] >= 3 * ours["arxiv_requests"]
    assert ours["parse_mb_per_s"] > 0 and ours["peak_rss_mb"] >= ours["rss_before_mb"] > 0

    # The baseline costs what it is defined to cost, and is no more right than we are.
    assert naive["arxiv_requests"] == ENTRIES
    assert naive["github_links_asked"] >= naive["repos_sampled"] > 0
    assert naive["precision"] <= ours["precision"] and naive["recall"] <= ours["recall"]
    assert not naive["extrapolated"]

    results = [{"entries": ENTRIES, "ours": ours, "naive": naive}]
    assert check(results) == []
    tables = markdown(results)
    assert "| arXiv requests, cold | " in tables
    assert f"| {ENTRIES} | 1 | {ours['arxiv_requests']} (1.0) |" in tables


def test_a_sampled_naive_baseline_says_it_was_extrapolated() -> None:
    naive = measure_naive(ENTRIES, seed=0, interval=0.002, sample=10)
    assert (naive["sample"], naive["arxiv_requests"], naive["extrapolated"]) == (10, 10, True)


def test_the_indexed_search_answers_exactly_what_the_fake_s_scan_answers(
        tmp_path: Path) -> None:
    corpus = generate(120, seed=5)
    with services(corpus, github_corpus(linked_repos(corpus))) as (arxiv, github):
        assert isinstance(arxiv.index, IndexedSearch)
        outcomes = [pipeline.parse_file(p) for p in corpus.write(tmp_path / "digests")]
        state = StateStore.for_output(tmp_path / "out")
        settings = Settings(arxiv_api_url=arxiv.url, arxiv_min_interval=0.002,
                            github_api_url=github.url)
        pipeline.resolve([o.digest for o in outcomes if o.digest], settings=settings,
                         state=state)
        state.close()
        asked = [dict(r.params) for r in arxiv.requests]
    assert len(asked) > 5
    # A few shapes the resolver does not send: wildcards, ANDNOT, categories, IDs, `all:`.
    asked += [{"search_query": q, "max_results": "50"} for q in (
        "ti:robust*", "au:wang ANDNOT ti:learning", "cat:cs.CV AND ti:segmentation",
        "id:2403.0*", "all:diffusion", 'ti:"" OR au:li', "ti:(", "diffusion models")]
    scan = Index(corpus.papers)
    indexed = IndexedSearch(Index(corpus.papers))
    for params in asked:
        try:
            expected = scan.answer(params)
        except ApiError as exc:  # the fake refuses it; so must the indexed search
            with pytest.raises(ApiError, match=re.escape(exc.message)):
                indexed.answer(params)
            continue
        assert indexed.answer(params) == expected, params

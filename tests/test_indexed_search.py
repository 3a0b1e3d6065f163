"""The inverted index in front of the fake arXiv's scan answers exactly what the scan answers.

`python -m bench` serves its corpora through `indexed_fake_arxiv`; its wall times only measure
the pipeline if the index changes nothing but speed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from enrich import pipeline
from enrich.net.gate import reset_process_gates
from enrich.settings import Settings
from enrich.store.db import StateStore
from tests.fakes.arxiv_api import ApiError, Index
from tests.support.corpus import generate
from tests.support.indexed_search import IndexedSearch, indexed_fake_arxiv


@pytest.fixture(autouse=True)
def _fresh_gates() -> Iterator[None]:
    reset_process_gates()
    yield
    reset_process_gates()


def test_the_indexed_search_answers_exactly_what_the_fake_s_scan_answers(
        tmp_path: Path) -> None:
    corpus = generate(120, seed=5)
    with indexed_fake_arxiv(corpus.papers) as arxiv:
        assert isinstance(arxiv.index, IndexedSearch)
        outcomes = [pipeline.parse_file(p) for p in corpus.write(tmp_path / "digests")]
        state = StateStore.for_output(tmp_path / "out")
        settings = Settings(arxiv_api_url=arxiv.url, arxiv_min_interval=0.002,
                            github_api_url="http://127.0.0.1:9")
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

"""The loopback arXiv fake: corpus, query grammar, id_list, paging, Atom shape, faults, log.

Everything goes over real HTTP on 127.0.0.1 (httpx), and feeds are read back with the `arxiv`
package's own parser, so the fake is held to the wire format the client will meet.
"""

from __future__ import annotations

import datetime as dt
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import arxiv
import httpx
import pytest
from arxiv import _feed
from lxml import etree

from enrich.text.identifiers import id_from_entry_url
from enrich.text.normalise import collapse_ws
from tests.fakes import textfold
from tests.fakes.arxiv_api import (
    ARXIV_NS,
    ATOM_NS,
    FAULT_KINDS,
    OPENSEARCH_NS,
    FakeArxiv,
    Fault,
    FaultPlan,
    QuerySyntaxError,
    RequestRecord,
    count_gate_violations,
    parse_query,
)
from tests.fakes.arxiv_corpus import DEFAULT_CORPUS, load_cases, load_corpus

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeArxiv]:
    with FakeArxiv() as running:
        yield running


@pytest.fixture(autouse=True)
def clean_fake(request: pytest.FixtureRequest) -> None:
    # Tests share one server; each starts with no scripted faults and an empty log.
    if "fake" in request.fixturenames:
        running: FakeArxiv = request.getfixturevalue("fake")
        running.clear_faults()
        running.fault_plan = None
        running.reset_log()


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as client:
        yield client


def get(http: httpx.Client, fake: FakeArxiv, **params: str) -> httpx.Response:
    """GET the fake's query endpoint."""
    return http.get(fake.url, params=params)


def found(http: httpx.Client, fake: FakeArxiv, **params: str) -> list[str]:
    """IDs (without version) of the entries the `arxiv` package parses from the answer."""
    params.setdefault("max_results", "100")
    response = get(http, fake, **params)
    assert response.status_code == 200, response.text
    return [id_from_entry_url(r.entry_id)[0] for r in _feed.parse(response.content).results]


def error_summary(response: httpx.Response) -> str:
    """The summary of arXiv's one-entry `Error` feed."""
    root = etree.fromstring(response.content)
    entries = root.findall(f"{{{ATOM_NS}}}entry")
    assert len(entries) == 1
    assert entries[0].findtext(f"{{{ATOM_NS}}}title") == "Error"
    return entries[0].findtext(f"{{{ATOM_NS}}}summary") or ""


# ----------------------------------------------------------------------------------------------
# Corpus


SEED_VERSIONS: dict[str, list[str | None]] = {
    "2205.14459": ["2022-05-28", "2022-10-26"],
    "2210.15075": ["2022-10-26", "2023-03-02"],
    "2202.04933": ["2022-02-10", "2022-10-25"],
    "2106.06965": ["2021-06-13", "2022-01-09", "2022-10-19", "2022-10-27", "2023-04-11"],
    "2408.02245": ["2024-08-05", None],
    "2408.03230": [None],
    "2408.03627": ["2024-08-07"],
    "2408.04145": ["2024-08-08", None, "2024-08-21"],
    "2408.04594": ["2024-08-08", "2024-08-09", "2024-12-19"],
    "2408.05440": ["2024-08-10", None],
    "2408.05711": [None],
    "2408.05953": [None],
    "2408.05956": ["2024-08-12", None],
    "2408.06743": ["2024-08-13"],
}


def test_corpus_holds_the_fourteen_seed_papers_with_their_checked_version_dates() -> None:
    seeds = {p.arxiv_id: p for p in load_corpus() if p.seed is not None}
    assert set(seeds) == set(SEED_VERSIONS)
    for arxiv_id, dates in SEED_VERSIONS.items():
        paper = seeds[arxiv_id]
        assert len(paper.versions) == len(dates), arxiv_id
        for version, date in zip(paper.versions, dates, strict=True):
            if date is not None:  # None: not checked, chosen by the fixture (see fixture_note)
                assert version.date.date().isoformat() == date, (arxiv_id, version.version)
            else:
                assert paper.fixture_note, arxiv_id


def test_corpus_records_what_arxiv_changed_after_the_digests() -> None:
    papers = {p.arxiv_id: p for p in load_corpus()}
    retitled = papers["2408.02245"]
    assert retitled.title == (
        "A Two-Stage Progressive Pre-training using Multi-Modal Contrastive Masked Autoencoders"
    )
    assert "+1.3% mIoU" in retitled.abstract
    v1 = retitled.snapshot(1)
    assert v1.title.startswith("Curriculum learning based pre-training")
    assert "+1.0% mIoU" in v1.abstract
    assert papers["2408.04594"].authors[-1] == "Bolin Ding"
    assert "Bolin Ding" not in papers["2408.04594"].snapshot(1).authors  # v1 inherits v2's list
    assert papers["2408.05956"].authors == ("Tianhang Pan", "Xiuyi Jia")
    assert papers["2408.05956"].snapshot(1).authors[1] == "Zhuoran Zheng"
    assert papers["2210.15075"].abstract.endswith(
        "Code available: https://github.com/hritam-98/IDEAL-ICASSP23"
    )
    assert "github" not in papers["2210.15075"].snapshot(1).abstract
    assert papers["2408.04145"].comment is None  # the digest's bare "update" is not arXiv's
    near_miss = papers["2411.12792"]
    assert near_miss.decoy
    assert near_miss.authors == ("Shipeng Liu", "Liang Zhao", "Dengfeng Chen")


def test_every_decoy_says_why_and_every_seed_has_one() -> None:
    papers = load_corpus()
    decoys = [p for p in papers if p.decoy]
    assert all(p.why for p in decoys)
    for seed in (p for p in papers if p.seed is not None):
        assert any(seed.arxiv_id in (d.why or "") for d in decoys), seed.arxiv_id


def test_matching_cases_point_at_papers_that_existed_on_the_digest_date() -> None:
    papers = {p.arxiv_id: p for p in load_corpus()}
    cases = load_cases()
    assert len({c.name for c in cases}) == len(cases)
    assert {c.expected for c in cases if c.name.startswith("seed-")} == set(SEED_VERSIONS)
    assert any(c.expected is None for c in cases)
    for case in cases:
        if case.expected is not None:
            assert papers[case.expected].published.date() <= case.digest_date, case.name


def test_fixture_is_self_contained() -> None:
    text = DEFAULT_CORPUS.read_text(encoding="utf-8")
    assert "/work/shared" not in text


# ----------------------------------------------------------------------------------------------
# Text folding: the fake's own, so that a folding bug in the code under test shows


FOLDING = [
    ("accents", "Émile Gómez-Núñez, Zoë", ("emile", "gomez", "nunez", "zoe")),
    ("letters-nfkd-keeps", "Straße Ørsted Łukasik Æther", ("strasse", "orsted", "lukasik",
                                                            "aether")),
    ("tex-accents", r'M\"uller G{\"o}del \v{S}imi\'c \c c', ("muller", "godel", "simic", "c")),
    ("tex-accent-keeps-its-space", r"Caf\'e Society", ("cafe", "society")),
    ("hyphens-and-dashes", "Self-Supervised Pre\u2010training \u2013 a Study",
     ("self", "supervised", "pre", "training", "a", "study")),
    ("math", r"$k$-NN for $\ell_1$-Robust $x_1^2$", ("k", "nn", "for", "ell", "1", "robust",
                                                     "x12")),
    ("commands-are-words", r"$\beta$-VAE in $\mathcal{O}(n)$", ("beta", "vae", "in", "mathcal",
                                                                "o", "n")),
    ("control-symbols", r"R\&D at 50\% \\ cost", ("r", "d", "at", "50", "cost")),
    ("other-scripts", "对比学习 (CLIP)", ("对比学习", "clip")),
]


@pytest.mark.parametrize(("text", "expected"), [f[1:] for f in FOLDING],
                         ids=[f[0] for f in FOLDING])
def test_the_index_folds_text_like_arxiv(text: str, expected: tuple[str, ...]) -> None:
    assert textfold.words(text) == expected


def test_unaccent_keeps_case_and_punctuation() -> None:
    assert textfold.unaccent(r"Søren Østergaard, G\"odel-Łukasik") == (
        "Soren Ostergaard, Godel-Lukasik")


@pytest.mark.parametrize(("raw", "expected"), [
    ("2205.14459v2", ("2205.14459", 2)), ("0704.0001", ("0704.0001", None)),
    ("hep-th/9901001", ("hep-th/9901001", None)), ("math.GT/0309136v1", ("math.GT/0309136", 1)),
    ("solv-int/9901001v3", ("solv-int/9901001", 3)),
])
def test_split_id_splits_off_the_version(raw: str, expected: tuple[str, int | None]) -> None:
    assert textfold.split_id(raw) == expected


@pytest.mark.parametrize("bad", ["1234.12345", "2408.0224", "2413.00001", "arXiv:2408.02245",
                                 "2408.02245v", "HEP-TH/9901001", ""])
def test_split_id_refuses_what_arxiv_refuses(bad: str) -> None:
    with pytest.raises(ValueError, match="not an arXiv identifier"):
        textfold.split_id(bad)


# ----------------------------------------------------------------------------------------------
# Query grammar


GRAMMAR = [
    ("ti-phrase", 'ti:"contrastive learning for image complexity representation"',
     ["2408.03230"]),
    ("ti-phrase-is-not-a-prefix-match", 'ti:"image complexity representations"',
     ["2408.90011"]),
    ("ti-current-title-only", 'ti:"curriculum learning based pre training using multi modal"',
     ["2408.90009"]),
    ("au-surname", "au:mohareri", ["2408.02245", "2409.90010"]),
    ("au-underscore-joins-name-parts", "au:del_maestro", ["2404.90110"]),
    ("au-phrase-stays-within-one-author", 'au:"jamal omid"', []),
    ("au-accents-fold", "au:Müller", ["2404.90110"]),
    ("au-ascii-finds-accented", "au:ostergaard", ["2404.90110"]),
    ("abs-current-version", 'abs:"+1.3% mIoU"', ["2408.02245"]),
    ("abs-old-version-not-indexed", 'abs:"+1.0% mIoU"', []),
    ("co-phrase", 'co:"ICME 2024"', ["2408.05711"]),
    ("jr-phrase", 'jr:"findings of acl"', ["2106.06965"]),
    ("cat-exact", "cat:cs.RO", ["2405.90101", "2407.90102", "2407.90109"]),
    ("cat-wildcard", "cat:eess.*", ["2210.90003", "2404.90110", "2408.90012", "2408.90017"]),
    ("id-field", "id:2408.02245", ["2408.02245"]),
    ("id-field-missing-version", "id:2408.02245v3", []),
    ("all-finds-ids", "all:2408.02245", ["2408.02245"]),
    ("and", "ti:contrastive AND au:lindqvist", ["2403.90103", "2406.90104"]),
    ("or", "au:lindqvist OR au:haddad", ["2403.90103", "2406.90104"]),
    ("andnot", "au:lindqvist ANDNOT ti:remote", ["2403.90103"]),
    ("parentheses", "(au:berg OR au:duarte) AND ti:sparse", ["2405.90107", "2406.90108"]),
    ("and-binds-tighter-than-or", "au:berg OR au:duarte AND ti:sparse",
     ["2106.90008", "2405.90107", "2406.90108"]),
    ("bare-space-is-or", "ti:odometry ti:grasping", ["2405.90101", "2407.90102", "2407.90109"]),
    ("field-applies-to-next-term-only", "ti:clic complexity",
     ["2408.03230", "2408.05440", "2408.90011", "2411.12792"]),
    ("field-on-group", "ti:(masked AND remote)", ["2406.90104"]),
    ("unknown-field-searches-all", "foo:lindqvist", ["2403.90103", "2406.90104"]),
    ("hyphenated-term-is-a-phrase", "ti:self-supervised",
     ["2408.05711", "2408.90018", "2408.90019"]),
    ("wildcard-star", "au:lindq*", ["2403.90103", "2406.90104"]),
    ("wildcard-question-mark", "ti:negative?", ["2301.90002", "2404.90105"]),
    ("unquoted-trailing-question-mark-finds-nothing", "ti:Negatives?", []),
    ("quoted-question-mark-is-plain-text",
     'ti:"Does Contrastive Learning Really Need Negatives?"', ["2404.90105"]),
    ("tex-is-analysed", r'ti:"$k$-NN Contrastive Learning for $\ell_1$-Robust Retrieval"',
     ["2402.90106"]),
    ("empty-clause-is-dropped", 'ti:"?" AND au:lindqvist', ["2403.90103", "2406.90104"]),
    ("submitted-range-minutes", "au:wei AND submittedDate:[202408010000 TO 202408162359]",
     ["2408.05711", "2408.90019"]),
    ("submitted-range-days", "au:wei AND submittedDate:[20240801 TO 20240816]",
     ["2408.05711", "2408.90019"]),
    ("submitted-range-inclusive-minute", "submittedDate:[202404222359 TO 202404222359]",
     ["2404.90110"]),
    ("submitted-range-uses-v1-date", "au:muller AND submittedDate:[20240423 TO 20240530]", []),
    ("updated-range-uses-latest-date", "au:muller AND lastUpdatedDate:[20240501 TO 20240531]",
     ["2404.90110"]),
    ("open-range", "au:goel AND submittedDate:[20230101 TO *]", ["2301.90002"]),
]


@pytest.mark.parametrize(("query", "expected"), [g[1:] for g in GRAMMAR],
                         ids=[g[0] for g in GRAMMAR])
def test_query_grammar_selects_the_right_papers(http: httpx.Client, fake: FakeArxiv, query: str,
                                                expected: list[str]) -> None:
    assert sorted(found(http, fake, search_query=query)) == expected


def test_lowercase_and_is_a_search_term_not_an_operator(http: httpx.Client,
                                                        fake: FakeArxiv) -> None:
    as_term = found(http, fake, search_query="au:lindqvist and au:haddad")
    as_operator = found(http, fake, search_query="au:lindqvist AND au:haddad")
    assert as_operator == ["2406.90104"]
    assert len(as_term) > 2  # "and" alone matches every paper with "and" in any field
    assert {"2403.90103", "2406.90104"} <= set(as_term)


SYNTAX_ERRORS = [
    ("unterminated-phrase", 'ti:"contrastive'),
    ("unclosed-parenthesis", "(ti:contrastive"),
    ("stray-parenthesis", "ti:contrastive)"),
    ("leading-operator", "AND ti:contrastive"),
    ("trailing-operator", "ti:contrastive AND"),
    ("double-operator", "ti:a OR OR ti:b"),
    ("empty-group", "ti:a AND ()"),
    ("field-without-term", "ti:"),
    ("range-without-brackets", "submittedDate:2024"),
    ("range-bad-bounds", "submittedDate:[2024 TO 2025]"),
    ("range-without-to", "submittedDate:[202401010000 202402010000]"),
    ("range-not-a-date", "submittedDate:[202413010000 TO 202414010000]"),
    ("range-without-field", "[20240101 TO 20240102]"),
    ("unterminated-range", "submittedDate:[20240101 TO"),
]


@pytest.mark.parametrize("query", [s[1] for s in SYNTAX_ERRORS], ids=[s[0] for s in SYNTAX_ERRORS])
def test_syntax_errors_answer_400_with_an_error_feed(http: httpx.Client, fake: FakeArxiv,
                                                     query: str) -> None:
    with pytest.raises(QuerySyntaxError):
        parse_query(query)
    response = get(http, fake, search_query=query)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"
    assert error_summary(response).startswith("malformed search_query")


def test_relevance_puts_the_exact_title_before_its_extension(http: httpx.Client,
                                                             fake: FakeArxiv) -> None:
    query = 'ti:"masked contrastive pretraining"'
    first = found(http, fake, search_query=query)
    assert first == ["2403.90103", "2406.90104"]
    assert found(http, fake, search_query=query, sortOrder="ascending") == first[::-1]
    assert all(found(http, fake, search_query=query) == first for _ in range(3))


SORTS = [
    ("submitted-descending", "submittedDate", "descending",
     ["2406.90104", "2406.90108", "2405.90107", "2403.90103"]),
    ("submitted-ascending", "submittedDate", "ascending",
     ["2403.90103", "2405.90107", "2406.90108", "2406.90104"]),
    ("updated-descending", "lastUpdatedDate", "descending",
     ["2406.90104", "2406.90108", "2405.90107", "2403.90103"]),
]


@pytest.mark.parametrize(("sort_by", "order", "expected"), [s[1:] for s in SORTS],
                         ids=[s[0] for s in SORTS])
def test_sort_orders(http: httpx.Client, fake: FakeArxiv, sort_by: str, order: str,
                     expected: list[str]) -> None:
    query = "au:lindqvist OR au:duarte OR au:berg ANDNOT au:anna"
    assert found(http, fake, search_query=query, sortBy=sort_by, sortOrder=order) == expected


@pytest.mark.parametrize(("param", "value", "message"), [
    ("sortBy", "stars", "sortBy must be one of"),
    ("sortOrder", "up", "sortOrder must be one of"),
    ("max_results", "2001", "max_results must not exceed 2000"),
    ("max_results", "ten", "max_results must be an integer"),
    ("start", "-1", "start must be non-negative"),
], ids=["sort-by", "sort-order", "max-results-over-2000", "max-results-not-int", "start-negative"])
def test_bad_parameters_answer_400(http: httpx.Client, fake: FakeArxiv, param: str, value: str,
                                   message: str) -> None:
    response = get(http, fake, search_query="au:wei", **{param: value})
    assert response.status_code == 400
    assert error_summary(response).startswith(message)


# ----------------------------------------------------------------------------------------------
# id_list


def test_id_list_keeps_request_order_and_leaves_unknown_ids_out(http: httpx.Client,
                                                                fake: FakeArxiv) -> None:
    ids = "2408.06743,2408.99999,2205.14459v2,cs/0612901,2106.06965"
    assert found(http, fake, id_list=ids) == ["2408.06743", "2205.14459", "cs/0612901",
                                              "2106.06965"]


def test_versioned_id_returns_that_versions_metadata(http: httpx.Client, fake: FakeArxiv) -> None:
    response = get(http, fake, id_list="2408.02245v1,2408.02245")
    old, new = _feed.parse(response.content).results
    assert old.entry_id == "http://arxiv.org/abs/2408.02245v1"
    assert old.title.startswith("Curriculum learning based pre-training")
    assert old.updated.date() == dt.date(2024, 8, 5)
    assert new.entry_id == "http://arxiv.org/abs/2408.02245v2"
    assert new.title.startswith("A Two-Stage Progressive Pre-training")


def test_unknown_version_is_absent(http: httpx.Client, fake: FakeArxiv) -> None:
    assert found(http, fake, id_list="2408.02245v9,2408.03230") == ["2408.03230"]


@pytest.mark.parametrize("bad", ["1234.12345", "2408.0224", "arXiv:2408.02245", "2413.00001",
                                 "not-an-id"])
def test_malformed_id_answers_400_incorrect_id_format(http: httpx.Client, fake: FakeArxiv,
                                                      bad: str) -> None:
    response = get(http, fake, id_list=f"2408.02245,{bad}")
    assert response.status_code == 400
    assert error_summary(response) == f"incorrect id format for {bad}"


def test_long_id_list_by_post_form(http: httpx.Client, fake: FakeArxiv) -> None:
    unknown = [f"2401.{n:05d}" for n in range(300)]
    ids = [*unknown[:150], "2408.05711", *unknown[150:], "2205.14459v1"]
    response = http.post(fake.url, data={"id_list": ",".join(ids), "max_results": "2000"})
    assert response.status_code == 200
    assert [r.entry_id for r in _feed.parse(response.content).results] == [
        "http://arxiv.org/abs/2408.05711v1", "http://arxiv.org/abs/2205.14459v1",
    ]
    record = fake.requests[-1]
    assert record.method == "POST"
    assert record.params["id_list"].count(",") == len(ids) - 1


def test_post_body_must_be_a_form(http: httpx.Client, fake: FakeArxiv) -> None:
    response = http.post(fake.url, content=b'{"id_list": "2408.05711"}',
                         headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert "x-www-form-urlencoded" in error_summary(response)


def test_id_list_results_are_capped_by_max_results(http: httpx.Client, fake: FakeArxiv) -> None:
    ids = "2408.02245,2408.03230,2408.03627,2408.04145"
    response = get(http, fake, id_list=ids, max_results="2")
    feed = _feed.parse(response.content)
    assert [r.get_short_id() for r in feed.results] == ["2408.02245v2", "2408.03230v1"]
    assert feed.header.total_results == 4
    assert found(http, fake, id_list=ids, start="2", max_results="2") == ["2408.03627",
                                                                          "2408.04145"]


def test_query_and_id_list_together_return_the_listed_papers_that_match(
        http: httpx.Client, fake: FakeArxiv) -> None:
    ids = "2408.90019,2408.05711,2408.03230"
    assert found(http, fake, id_list=ids, search_query="au:wei") == ["2408.90019", "2408.05711"]


# ----------------------------------------------------------------------------------------------
# Paging


def test_pages_add_up_to_the_whole_result_set(http: httpx.Client, fake: FakeArxiv) -> None:
    everything = found(http, fake, search_query="cat:cs.CV", max_results="2000")
    pages: list[str] = []
    for start in range(0, 40, 7):
        response = get(http, fake, search_query="cat:cs.CV", start=str(start), max_results="7")
        feed = _feed.parse(response.content)
        assert feed.header.total_results == len(everything) == 36
        assert feed.header.start_index == start
        assert feed.header.items_per_page == 7
        pages += [id_from_entry_url(r.entry_id)[0] for r in feed.results]
    assert pages == everything


def test_default_page_size_is_ten_and_start_past_the_end_is_empty(http: httpx.Client,
                                                                  fake: FakeArxiv) -> None:
    feed = _feed.parse(get(http, fake, search_query="cat:cs.CV").content)
    assert len(feed.results) == 10
    assert feed.header.items_per_page == 10
    past = _feed.parse(get(http, fake, search_query="cat:cs.CV", start="500").content)
    assert past.results == []
    assert past.header.total_results == 36


def test_no_query_and_no_ids_is_an_empty_feed(http: httpx.Client, fake: FakeArxiv) -> None:
    response = get(http, fake, search_query="", id_list="")
    assert response.status_code == 200
    assert _feed.parse(response.content).header.total_results == 0


# ----------------------------------------------------------------------------------------------
# Atom


def test_atom_entry_has_arxivs_shape(http: httpx.Client, fake: FakeArxiv) -> None:
    response = get(http, fake, id_list="2408.02245")
    assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"
    root = etree.fromstring(response.content)
    assert root.nsmap == {None: ATOM_NS, "opensearch": OPENSEARCH_NS, "arxiv": ARXIV_NS}
    for tag in ("link", "title", "id", "updated"):
        assert root.find(f"{{{ATOM_NS}}}{tag}") is not None
    entry = root.find(f"{{{ATOM_NS}}}entry")
    assert entry is not None
    title = entry.findtext(f"{{{ATOM_NS}}}title") or ""
    assert "\n  " in title  # long titles arrive folded, as arXiv sends them
    summary = entry.findtext(f"{{{ATOM_NS}}}summary") or ""
    assert summary.startswith("  ")
    assert "\n" in summary.strip()
    links = {(link.get("rel"), link.get("title")): link.get("href")
             for link in entry.iterfind(f"{{{ATOM_NS}}}link")}
    assert links == {("alternate", None): "http://arxiv.org/abs/2408.02245v2",
                     ("related", "pdf"): "http://arxiv.org/pdf/2408.02245v2"}
    primary = entry.find(f"{{{ARXIV_NS}}}primary_category")
    assert primary is not None
    assert primary.get("scheme") == "http://arxiv.org/schemas/atom"


def test_arxiv_package_parses_a_retitled_seed_paper(http: httpx.Client, fake: FakeArxiv) -> None:
    (result,) = _feed.parse(get(http, fake, id_list="2408.02245").content).results
    paper = next(p for p in load_corpus() if p.arxiv_id == "2408.02245")
    assert result.get_short_id() == "2408.02245v2"
    assert result.title == (
        "A Two-Stage Progressive Pre-training using Multi-Modal Contrastive Masked Autoencoders"
    )
    assert result.published == dt.datetime(2024, 8, 5, 12, tzinfo=dt.UTC)
    assert result.updated == paper.updated
    assert [a.name for a in result.authors] == ["Muhammad Abdullah Jamal", "Omid Mohareri"]
    assert collapse_ws(result.summary) == paper.abstract
    assert result.primary_category == "cs.CV"
    assert result.categories == ["cs.CV"]
    assert result.pdf_url == "http://arxiv.org/pdf/2408.02245v2"
    assert (result.doi, result.journal_ref, result.comment) == (None, None, None)


def test_arxiv_package_reads_comment_journal_ref_doi_and_affiliations(
        http: httpx.Client, fake: FakeArxiv) -> None:
    results = _feed.parse(get(http, fake, id_list="2106.06965,2106.90008,2404.90110").content)
    venue, decoy, accented = results.results
    assert venue.get_short_id() == "2106.06965v5"
    assert venue.journal_ref == "Findings of ACL 2021"
    assert venue.comment is not None
    assert venue.comment.startswith("Appear in Findings of ACL 2021")
    assert venue.categories == ["cs.CV", "cs.CL"]
    assert decoy.doi == "10.5555/fake-arxiv.2106.90008"
    assert any(link.title == "doi" for link in decoy.links)
    assert [(a.name, a.affiliation) for a in accented.authors] == [
        ("Jürgen Müller", ["University of Stuttgart"]),
        ("Lucía del Maestro", ["Universidad de Sevilla"]),
        ("Søren Østergaard", []),
    ]
    assert accented.published == dt.datetime(2024, 4, 22, 23, 59, tzinfo=dt.UTC)


def test_arxiv_client_pointed_at_the_fake_fetches_ids_and_searches(fake: FakeArxiv) -> None:
    client = arxiv.Client(page_size=5, delay_seconds=0, num_retries=0)
    client.query_url_format = fake.url + "?{}"
    by_id = list(client.results(arxiv.Search(id_list=["2205.14459", "2408.06743v1"])))
    assert [r.get_short_id() for r in by_id] == ["2205.14459v2", "2408.06743v1"]
    search = arxiv.Search(query="cat:cs.CV", max_results=12)
    assert len(list(client.results(search))) == 12  # three pages of five, cut at twelve
    assert [r.params["start"] for r in fake.requests[1:]] == ["0", "5", "10"]


# ----------------------------------------------------------------------------------------------
# Faults


def test_fault_specs_parse_and_unknown_kinds_are_refused() -> None:
    assert Fault.parse("429:7") == Fault("429", 7.0)
    assert str(Fault.parse("slow:0.5")) == "slow:0.5"
    assert {str(Fault.parse(k)) for k in FAULT_KINDS} == set(FAULT_KINDS)
    with pytest.raises(ValueError, match="unknown fault"):
        Fault.parse("teapot")
    with pytest.raises(ValueError, match="bad argument"):
        Fault.parse("slow:later")


def _status(response: httpx.Response) -> int:
    return response.status_code


FAULTS = [
    ("503", lambda r: _status(r) == 503),
    ("429", lambda r: _status(r) == 429 and r.headers["retry-after"] == "3"),
    ("429:7", lambda r: _status(r) == 429 and r.headers["retry-after"] == "7"),
    ("429-bare", lambda r: _status(r) == 429 and "retry-after" not in r.headers),
    ("empty", lambda r: _status(r) == 200 and _feed.parse(r.content).results == []
     and _feed.parse(r.content).header.total_results == 0),
    ("malformed", lambda r: _status(r) == 200 and r.headers["content-type"].startswith(
        "text/html") and r.content.startswith(b"<!DOCTYPE html>")),
    ("billion-laughs", lambda r: _status(r) == 200 and b"<!ENTITY lol9" in r.content
     and b"&lol9;" in r.content),
    ("xxe", lambda r: _status(r) == 200 and b'SYSTEM "file:///etc/passwd"' in r.content
     and b"root:" not in r.content),
    ("huge:300000", lambda r: _status(r) == 200 and len(r.content) == 300_000
     and etree.fromstring(r.content, etree.XMLParser(huge_tree=False)) is not None),
    ("wrong-type", lambda r: _status(r) == 200 and r.headers["content-type"].startswith(
        "text/html") and len(_feed.parse(r.content).results) == 2),
]


@pytest.mark.parametrize(("spec", "check"), FAULTS, ids=[f[0] for f in FAULTS])
def test_each_fault_is_observable_and_logged(http: httpx.Client, fake: FakeArxiv, spec: str,
                                             check: Callable[[httpx.Response], bool]) -> None:
    fake.enqueue_faults([spec])
    response = get(http, fake, id_list="2408.02245,2408.03230")
    assert check(response), response.content[:300]
    fake.wait_idle()
    (record,) = fake.requests
    assert record.fault == spec
    assert not record.served
    assert fake.served_count == 0
    # The fault is used up: the next request is answered normally.
    assert found(http, fake, id_list="2408.02245") == ["2408.02245"]


def test_truncated_fault_cuts_the_body_and_sends_a_matching_length(http: httpx.Client,
                                                                   fake: FakeArxiv) -> None:
    whole = get(http, fake, id_list="2408.02245").content
    fake.enqueue_faults(["truncated"])
    response = get(http, fake, id_list="2408.02245")
    assert response.status_code == 200
    assert int(response.headers["content-length"]) == len(response.content) < len(whole)
    assert whole.startswith(response.content)
    with pytest.raises(etree.XMLSyntaxError):
        etree.fromstring(response.content)


def test_reset_fault_closes_the_connection_without_an_answer(fake: FakeArxiv) -> None:
    fake.enqueue_faults(["reset"])
    with httpx.Client(timeout=5) as client, pytest.raises(httpx.TransportError):
        client.get(fake.url, params={"id_list": "2408.02245"})
    fake.wait_idle()
    assert fake.requests[0].status is None
    assert fake.requests[0].note == "connection reset"


def test_slow_fault_delays_but_serves(http: httpx.Client, fake: FakeArxiv) -> None:
    fake.enqueue_faults(["slow:0.3"])
    began = time.monotonic()
    assert found(http, fake, id_list="2408.02245") == ["2408.02245"]
    assert time.monotonic() - began >= 0.3
    (record,) = fake.requests
    assert (record.fault, record.served) == ("slow:0.3", True)


def test_stop_cuts_a_slow_answer_short() -> None:
    errors: list[Exception] = []
    with FakeArxiv(load_corpus()) as own:
        own.enqueue_faults(["slow:30"])

        def fetch() -> None:
            try:
                httpx.get(own.url, params={"id_list": "2408.02245"}, timeout=10)
            except httpx.TransportError as exc:
                errors.append(exc)

        waiting = threading.Thread(target=fetch)
        waiting.start()
        while own.request_count == 0:
            time.sleep(0.01)
        began = time.monotonic()
    waiting.join(timeout=5)
    assert time.monotonic() - began < 3
    assert not waiting.is_alive()
    assert len(errors) == 1
    assert own.requests[0].note == "connection reset"


def test_huge_fault_streams_until_the_client_gives_up(fake: FakeArxiv) -> None:
    fake.enqueue_faults(["huge:67108864"])
    with httpx.Client(timeout=5) as client, client.stream("GET", fake.url) as response:
        assert response.headers["content-length"] == "67108864"
        received = 0
        for chunk in response.iter_bytes():
            received += len(chunk)
            if received > 1 << 20:
                break
    assert fake.wait_idle(timeout=10)
    assert fake.requests[0].note in {"client disconnected", "sent 67108864 bytes"}


def test_scripted_faults_apply_in_order_with_ok_placeholders(http: httpx.Client,
                                                             fake: FakeArxiv) -> None:
    fake.enqueue_faults(["503", "ok", "empty"])
    statuses = [get(http, fake, id_list="2408.02245") for _ in range(4)]
    assert [r.status_code for r in statuses] == [503, 200, 200, 200]
    assert [len(_feed.parse(r.content).results) for r in statuses[1:]] == [1, 0, 1]
    assert [r.fault for r in fake.requests] == ["503", None, "empty", None]
    assert fake.served_count == 2


def test_fault_plan_is_deterministic_for_a_seed() -> None:
    plan_a = FaultPlan(0.3, ("503", "empty"), seed=7)
    plan_b = FaultPlan(0.3, ("503", "empty"), seed=7)
    sequence = [plan_a.draw() for _ in range(200)]
    assert sequence == [plan_b.draw() for _ in range(200)]
    assert sequence != [FaultPlan(0.3, ("503", "empty"), seed=8).draw() for _ in range(200)]
    assert 30 < sum(d is not None for d in sequence) < 90
    assert {d for d in sequence if d} == {"503", "empty"}
    assert all(FaultPlan(0.0, seed=1).draw() is None for _ in range(50))
    assert all(FaultPlan(1.0, ("reset",), seed=1).draw() == "reset" for _ in range(50))
    with pytest.raises(ValueError, match="rate"):
        FaultPlan(1.5)


def test_fault_plan_drives_the_server(http: httpx.Client, fake: FakeArxiv) -> None:
    fake.fault_plan = FaultPlan(rate=0.4, kinds=("503", "429-bare"), seed=3)
    expected_plan = FaultPlan(rate=0.4, kinds=("503", "429-bare"), seed=3)
    expected = [expected_plan.draw() for _ in range(20)]
    statuses = [get(http, fake, id_list="2408.02245").status_code for _ in range(20)]
    assert statuses == [{None: 200, "503": 503, "429-bare": 429}[e] for e in expected]
    assert [r.fault for r in fake.requests] == expected


# ----------------------------------------------------------------------------------------------
# Log and gate


def test_log_records_method_path_params_and_timing(http: httpx.Client, fake: FakeArxiv) -> None:
    get(http, fake, search_query="au:wei", max_results="3")
    http.get(fake.url.replace("/api/query", "/nothing"))
    query, other = fake.requests
    assert (query.method, query.path, query.status) == ("GET", "/api/query", 200)
    assert query.params == {"search_query": "au:wei", "max_results": "3"}
    assert query.end is not None
    assert query.start <= query.end
    assert (other.path, other.status, other.served) == ("/nothing", 404, False)
    assert fake.request_count == 2
    fake.reset_log()
    assert fake.request_count == 0
    assert fake.requests == ()


def test_concurrent_requests_are_gate_violations(fake: FakeArxiv) -> None:
    fake.enqueue_faults(["slow:0.4"])

    def fetch() -> None:
        with httpx.Client(timeout=5) as client:
            client.get(fake.url, params={"id_list": "2408.02245"})

    first = threading.Thread(target=fetch)
    first.start()
    time.sleep(0.1)  # the second request starts while the slow first one is still in flight
    fetch()
    first.join()
    assert fake.max_in_flight == 2
    assert fake.gate_violations(min_interval=0.0) == 1


def test_spaced_requests_pass_the_gate_and_rushed_ones_do_not(http: httpx.Client,
                                                              fake: FakeArxiv) -> None:
    for _ in range(3):
        get(http, fake, id_list="2408.02245")
        time.sleep(0.12)
    assert fake.max_in_flight == 1
    assert fake.gate_violations(min_interval=0.1) == 0
    fake.reset_log()
    for _ in range(3):
        get(http, fake, id_list="2408.02245")
    assert fake.gate_violations(min_interval=1.0) == 2


def _record(start: float, end: float | None) -> RequestRecord:
    return RequestRecord(method="GET", path="/api/query", params={}, start=start, end=end,
                         status=200, fault=None, served=True, results=0, note=None)


GATE = [
    ("spaced", [(0.0, 0.01), (1.0, 1.01), (2.0, 2.01)], 0),
    ("within-tolerance", [(0.0, 0.01), (0.997, 1.0)], 0),
    ("too-soon", [(0.0, 0.01), (0.9, 0.91)], 1),
    ("overlap", [(0.0, 2.0), (1.5, 1.6)], 1),
    ("overlap-counted-once", [(0.0, 0.5), (0.2, 0.3)], 1),
    ("overlap-with-earlier-long-request", [(0.0, 5.0), (1.0, 1.1), (2.5, 2.6)], 2),
    ("still-in-flight", [(0.0, None), (3.0, 3.1)], 1),
]


@pytest.mark.parametrize(("spans", "violations"), [g[1:] for g in GATE], ids=[g[0] for g in GATE])
def test_gate_violation_counting(spans: list[tuple[float, float | None]],
                                 violations: int) -> None:
    records = [_record(s, e) for s, e in spans]
    assert count_gate_violations(reversed(records), min_interval=1.0) == violations


# ----------------------------------------------------------------------------------------------
# Standalone


def test_module_runs_standalone_until_interrupted() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.arxiv_api", "--corpus", str(DEFAULT_CORPUS),
         "--port", "0"],
        cwd=REPO, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+/api/query)", line)
        assert match, line
        response = httpx.get(match.group(1), params={"id_list": "2408.06743"}, timeout=5)
        assert [r.get_short_id() for r in _feed.parse(response.content).results] == [
            "2408.06743v1"
        ]
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
        if process.stdout is not None:
            process.stdout.close()

"""The published-version rules (pure): what is believed, what is refused, and why."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from enrich.published.model import DblpHit, DblpRecord, S2Paper, S2Record
from enrich.published.venues import (
    dblp_query,
    decide,
    from_dblp,
    from_s2,
    publisher_doi,
    short_name,
    wants_dblp,
)
from enrich.resolve.model import ArxivPaper

ARXIV = ArxivPaper(arxiv_id="2205.14459", version=2,
                   title="CyCLIP: Cyclic Contrastive Language-Image Pretraining",
                   authors=("Shashank Goel", "Hritik Bansal", "Sumit Bhatia", "Ryan A. Rossi"),
                   published=dt.datetime(2022, 5, 28, tzinfo=dt.UTC),
                   updated=dt.datetime(2022, 10, 26, tzinfo=dt.UTC))
NEURIPS = {"venue": "Neural Information Processing Systems",
           "venue_name": "Neural Information Processing Systems", "venue_type": "conference",
           "venue_alternates": ("NeurIPS", "Neural Inf Process Syst"), "year": 2022,
           "doi": "10.5555/3600270", "dblp_key": "conf/nips/GoelBBRVG22",
           "citation_count": 120}


def s2(**fields: Any) -> S2Paper:
    base: dict[str, Any] = {"paper_id": "p", "title": ARXIV.title, "authors": ARXIV.authors,
                            "arxiv_id": ARXIV.arxiv_id}
    return S2Paper(**{**base, **fields})


def dblp(**fields: Any) -> DblpHit:
    base: dict[str, Any] = {"key": "conf/nips/GoelBBRVG22", "title": ARXIV.title,
                            "authors": ("Shashank Goel", "Hritik Bansal"), "venue": "NeurIPS",
                            "year": 2022, "type": "Conference and Workshop Papers"}
    return DblpHit(**{**base, **fields})


def test_s2_venue_of_the_same_paper_is_believed() -> None:
    version, why = from_s2(ARXIV, s2(**NEURIPS))
    assert why is None and version is not None
    assert (version.venue, version.venue_short, version.kind, version.year) == (
        "Neural Information Processing Systems", "NeurIPS", "conference", 2022)
    assert (version.doi, version.dblp_key, version.source) == (
        "10.5555/3600270", "conf/nips/GoelBBRVG22", "semantic_scholar")


@pytest.mark.parametrize(("fields", "reason"), [
    ({"title": "Graph Partitioning Revisited", "authors": ("Alan Turing",)}, "rejected: title"),
    ({"authors": ("Zed Quux", "Ann Other")}, "rejected: no author in common"),
    ({"authors": ("Shashank Goel", "A B", "C D", "E F", "G H")}, "rejected: few authors"),
    ({"arxiv_id": "2205.99999"}, "rejected: the record is arXiv:2205.99999"),
    ({"year": 2019}, "rejected: published 2019"),
], ids=["wrong-merge-title", "wrong-merge-authors", "one-author-of-many", "other-arxiv-id",
        "before-the-preprint"])
def test_s2_records_of_another_paper_are_refused(fields: dict[str, Any], reason: str) -> None:
    version, why = from_s2(ARXIV, s2(**{**NEURIPS, **fields}))
    assert version is None and why is not None and why.startswith(reason)


@pytest.mark.parametrize("venue", [
    {"venue": "arXiv.org", "venue_name": "arXiv.org", "journal_name": "ArXiv"},
    {"venue": "", "venue_name": None},
    {"venue": "CoRR"},
], ids=["arxiv-only", "nothing", "corr"])
def test_preprint_servers_are_not_venues(venue: dict[str, Any]) -> None:
    version, why = from_s2(ARXIV, s2(**venue))
    assert version is None and why == "no venue besides arXiv"


def test_a_journal_keeps_volume_and_pages() -> None:
    version, _ = from_s2(ARXIV, s2(venue="IEEE TPAMI", venue_name="IEEE Transactions on "
                                   "Pattern Analysis and Machine Intelligence",
                                   venue_type="journal", journal_name="IEEE TPAMI",
                                   journal_volume="45", journal_pages=" 1-14 ", year=2023,
                                   venue_alternates=("IEEE Trans. PAMI", "TPAMI")))
    assert version is not None
    assert (version.kind, version.venue_short, version.volume, version.pages) == (
        "journal", "TPAMI", "45", "1-14")


def test_dblp_finds_the_venue_past_corr_and_same_title_decoys() -> None:
    hits = [dblp(key="journals/corr/abs-2205-14459", venue="CoRR",
                 type="Informal and Other Publications", doi="10.48550/arXiv.2205.14459"),
            dblp(key="conf/icip/X22", authors=("Xavier Decoy",), venue="ICIP"),
            dblp(doi="10.5555/1")]
    version, seen = from_dblp(ARXIV, hits)
    assert seen == "found" and version is not None
    assert (version.venue, version.kind, version.dblp_key, version.doi, version.source) == (
        "NeurIPS", "conference", "conf/nips/GoelBBRVG22", "10.5555/1", "dblp")


@pytest.mark.parametrize(("hits", "seen"), [
    ([dblp(key="journals/corr/abs-2205-14459", venue="CoRR",
           type="Informal and Other Publications")], "only the CoRR (arXiv) record"),
    ([dblp(authors=("Yuri Other", "Lena Else"), venue="ICASSP")],
     "1 record(s) of the same title by other authors"),
    ([dblp(), dblp(key="journals/pami/X23", venue="IEEE Trans. Pattern Anal. Mach. Intell.",
                   type="Journal Articles", year=2023)], "several venues agree"),
    ([], "no matching record"),
], ids=["corr-only", "decoy-only", "ambiguous", "nothing"])
def test_dblp_without_a_single_venue_gives_none(hits: list[DblpHit], seen: str) -> None:
    version, why = from_dblp(ARXIV, hits)
    assert version is None and why.startswith(seen)


def test_dblp_asked_only_when_s2_has_nothing() -> None:
    published = S2Record(arxiv_id=ARXIV.arxiv_id, outcome="found", paper=s2(**NEURIPS))
    arxiv_only = S2Record(arxiv_id=ARXIV.arxiv_id, outcome="found", paper=s2(venue="arXiv.org"))
    absent = S2Record(arxiv_id=ARXIV.arxiv_id, outcome="absent")
    failed = S2Record(arxiv_id=ARXIV.arxiv_id, outcome="error", error="HTTP 504")
    assert [wants_dblp(ARXIV, r) for r in (published, arxiv_only, absent, failed, None)] == [
        False, True, True, False, False]


def test_decide_takes_s2_first_then_dblp_and_keeps_citations_of_the_paper_only() -> None:
    when = dt.datetime(2025, 7, 1, tzinfo=dt.UTC)
    wrong = S2Record(arxiv_id=ARXIV.arxiv_id, outcome="found", read_at=when,
                     paper=s2(**{**NEURIPS, "authors": ("Zed Quux",), "citation_count": 999}))
    searched = DblpRecord(arxiv_id=ARXIV.arxiv_id, outcome="searched", hits=(dblp(),),
                          read_at=when)
    decision = decide(ARXIV, wrong, searched)
    assert decision.version is not None and decision.version.source == "dblp"
    assert decision.citation_count is None  # the wrong merge's count is not this paper's
    assert [(lookup.service, lookup.status) for lookup in decision.lookups] == [
        ("semantic_scholar", "rejected"), ("dblp", "found")]
    right = S2Record(arxiv_id=ARXIV.arxiv_id, outcome="found", read_at=when,
                     paper=s2(**NEURIPS))
    decision = decide(ARXIV, right, searched)
    assert decision.version is not None and decision.version.source == "semantic_scholar"
    assert (decision.citation_count, decision.citation_read_at) == (120, when)
    assert [lookup.service for lookup in decision.lookups] == ["semantic_scholar"]


@pytest.mark.parametrize(("doi", "kept"), [
    ("10.1109/CVPR52729.2023.00001", "10.1109/CVPR52729.2023.00001"),
    ("10.48550/arXiv.2205.14459", None), ("10.1000/a{b}", None), ("https://doi.org/10.1/x", None),
    (None, None)], ids=["publisher", "arxiv", "braces", "url", "none"])
def test_only_usable_publisher_dois_are_kept(doi: str | None, kept: str | None) -> None:
    assert publisher_doi(doi) == kept


def test_short_names_and_queries() -> None:
    assert short_name("Neural Inf Process Syst", "NeurIPS") == "NeurIPS"
    assert short_name("Medical Image Analysis") is None
    assert dblp_query(ARXIV.title) == "cyclip cyclic contrastive language image pretraining"

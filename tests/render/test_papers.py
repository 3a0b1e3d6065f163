"""Building the output records (enrich.render.papers): papers, digest views and the report."""

from __future__ import annotations

import datetime as dt

import pytest

from enrich.digest.model import Digest, Entry, Problem
from enrich.render.model import DigestRef, Paper
from enrich.render.papers import (
    PENDING,
    Placed,
    build_papers,
    code_links,
    digest_view,
    entry_fingerprint,
    entry_query,
    failed_digest_view,
    paper_key,
    place,
    report,
)
from enrich.repos.model import CodeLink, Repo
from enrich.resolve.matching import fingerprint
from enrich.resolve.model import ArxivMatch, ArxivPaper, Candidate, EntryQuery

DAY1 = dt.date(2022, 10, 31)
DAY2 = dt.date(2022, 11, 1)
CYCLIP = "CyCLIP: Cyclic Contrastive Language-Image Pretraining"


def entry(index: int, title: str, *, authors: tuple[str, ...] = ("Shashank Goel",),
          abstract: str = "", comment: str | None = None, code_urls: tuple[str, ...] = (),
          day: dt.date | None = DAY1, hint: str | None = None) -> Entry:
    return Entry(index=index, line=3 + 8 * index, date=day, title=title, authors=authors,
                 abstract=abstract, comment=comment, code_urls=code_urls, arxiv_id_hint=hint)


def digest(file: str, *entries: Entry, day: dt.date | None = DAY1,
           problems: tuple[Problem, ...] = ()) -> Digest:
    return Digest(file=file, category="对比学习", date=day, form="text", entries=entries,
                  problems=problems)


def arxiv(arxiv_id: str, title: str, *, abstract: str = "", comment: str | None = None,
          version: int = 1) -> ArxivPaper:
    return ArxivPaper(arxiv_id=arxiv_id, version=version, title=title,
                      authors=("Shashank Goel", "Hritik Bansal"), abstract=abstract,
                      published=dt.datetime(2022, 5, 28, 17, 0, tzinfo=dt.UTC),
                      updated=dt.datetime(2022, 10, 26, 3, 0, tzinfo=dt.UTC),
                      primary_category="cs.CV", categories=("cs.CV", "cs.LG"),
                      comment=comment)


def matched(paper: ArxivPaper) -> ArxivMatch:
    return ArxivMatch(status="matched", method="title-batch", score=0.98, paper=paper)


NOT_FOUND = ArxivMatch(status="not_found")


def repo(full_name: str, *, requested: str | None = None, status: str = "ok",
         stars: int | None = 10) -> Repo:
    return Repo(full_name=full_name, requested=requested or full_name,
                url=f"https://github.com/{full_name}", status=status,  # type: ignore[arg-type]
                stars=stars)


# ----------------------------------------------------------------------------------------------
# Entries, fingerprints, keys


def test_an_entry_query_holds_what_the_matcher_needs() -> None:
    item = entry(2, CYCLIP, authors=("Shashank Goel", "Aditya Grover"), abstract="We study.",
                 comment="19 pages", hint="2205.14459")
    assert entry_query(item) == EntryQuery(title=CYCLIP, authors=("Shashank Goel",
                                                                   "Aditya Grover"),
                                           abstract="We study.", date=DAY1,
                                           arxiv_id_hint="2205.14459")
    assert entry_fingerprint(item) == fingerprint(entry_query(item))


def test_two_listings_of_one_paper_share_a_fingerprint() -> None:
    first = entry(0, CYCLIP, abstract="Long abstract.", day=DAY1)
    again = entry(7, "CyCLIP — Cyclic Contrastive Language–Image Pretraining", abstract="",
                  comment="NeurIPS", day=DAY2)
    assert entry_fingerprint(first) == entry_fingerprint(again)


@pytest.mark.parametrize("other", [
    entry(0, "CyCLIP: Cyclic Contrastive Language-Image Pretraining, Again"),
    entry(0, CYCLIP, authors=("Ada Lovelace",)),
    entry(0, CYCLIP, hint="2205.14459"),
], ids=["title", "authors", "hint"])
def test_a_different_title_author_or_hint_is_a_different_fingerprint(other: Entry) -> None:
    assert entry_fingerprint(other) != entry_fingerprint(entry(0, CYCLIP))


@pytest.mark.parametrize(("match", "key"), [
    (matched(arxiv("2205.14459", CYCLIP)), "arxiv:2205.14459"),
    (NOT_FOUND, "title:cyclip cyclic contrastive language image pretraining"),
    (ArxivMatch(status="ambiguous"), "title:cyclip cyclic contrastive language image pretraining"),
    (PENDING, "title:cyclip cyclic contrastive language image pretraining"),
    # a matched verdict without its paper cannot name an arXiv ID
    (ArxivMatch(status="matched"), "title:cyclip cyclic contrastive language image pretraining"),
], ids=["matched", "not-found", "ambiguous", "pending", "matched-without-paper"])
def test_papers_are_keyed_by_arxiv_id_else_by_normalised_title(match: ArxivMatch,
                                                               key: str) -> None:
    assert paper_key(entry(0, CYCLIP), match) == key


# ----------------------------------------------------------------------------------------------
# place


def test_entries_are_placed_digest_by_digest_with_their_verdicts() -> None:
    a0, a1 = entry(0, CYCLIP), entry(1, "Another Paper Entirely")
    b0 = entry(0, "A Third Paper", day=DAY2)
    found = matched(arxiv("2205.14459", CYCLIP))
    placed = place([digest("b.txt", b0, day=DAY2), digest("a.txt", a0, a1)],
                   {entry_fingerprint(a0): found, entry_fingerprint(b0): NOT_FOUND})
    assert [(p.digest.file, p.entry.index, p.match) for p in placed] == [
        ("a.txt", 0, found), ("a.txt", 1, PENDING), ("b.txt", 0, NOT_FOUND)]
    assert placed[0].key == "arxiv:2205.14459"


def test_a_verdict_not_yet_known_is_pending_and_retryable() -> None:
    assert PENDING.status == "error"
    assert PENDING.error == "not looked up yet"
    assert place([digest("a.txt", entry(0, CYCLIP))], {})[0].match is PENDING


# ----------------------------------------------------------------------------------------------
# code_links


def _placed(item: Entry, match: ArxivMatch, file: str = "a.txt") -> Placed:
    return Placed(digest(file, item), item, match)


def test_digest_links_come_first_then_arxiv_links_without_repeats() -> None:
    paper = arxiv("2205.14459", CYCLIP,
                  abstract="Code: https://github.com/goel-shashank/cyclip and "
                           "https://huggingface.co/acme/cyclip-weights.",
                  comment="Project page https://acme.github.io/cyclip/ and "
                          "https://github.com/acme/extra")
    first = entry(0, CYCLIP, code_urls=("https://github.com/Goel-Shashank/CyCLIP",
                                        "https://example.org/not-code"))
    second = entry(3, CYCLIP, code_urls=("https://gitlab.com/acme/cyclip/-/tree/main",
                                         "https://github.com/goel-shashank/CyCLIP.git"))
    links = code_links([_placed(first, matched(paper)), _placed(second, matched(paper), "b.txt")])
    assert [(link.url, link.kind, link.repo, link.source) for link in links] == [
        ("https://github.com/Goel-Shashank/CyCLIP", "github", "Goel-Shashank/CyCLIP", "digest"),
        ("https://gitlab.com/acme/cyclip", "gitlab", None, "digest"),
        ("https://huggingface.co/acme/cyclip-weights", "huggingface", None, "arxiv"),
        ("https://acme.github.io/cyclip", "github_pages", None, "arxiv"),
        ("https://github.com/acme/extra", "github", "acme/extra", "arxiv"),
    ]


def test_an_unresolved_paper_has_its_digest_links_only() -> None:
    item = entry(0, CYCLIP, code_urls=("https://github.com/acme/repo/tree/main",))
    assert code_links([_placed(item, NOT_FOUND)]) == (
        CodeLink(url="https://github.com/acme/repo", kind="github", repo="acme/repo",
                 source="digest"),)


# ----------------------------------------------------------------------------------------------
# build_papers


def test_one_paper_listed_in_two_digests_is_one_record_with_both_places() -> None:
    found = arxiv("2205.14459", CYCLIP, version=3, abstract="arXiv's abstract.",
                  comment="NeurIPS 2022")
    early = entry(4, CYCLIP, abstract="The digest's abstract.", day=DAY1,
                  code_urls=("https://github.com/goel-shashank/CyCLIP",))
    late = entry(0, "CyCLIP — Cyclic Contrastive Language–Image Pretraining", day=DAY2)
    placed = [Placed(digest("000.txt", early), early, matched(found)),
              Placed(digest("001.txt", late, day=DAY2), late, matched(found))]
    repos = {"goel-shashank/cyclip": repo("goel-shashank/CyCLIP")}
    [paper] = build_papers(placed, repos, {"arxiv:2205.14459": "goel2022cyclip"})
    assert paper.key == "arxiv:2205.14459"
    assert (paper.arxiv_id, paper.arxiv_version) == ("2205.14459", 3)
    assert (paper.title, paper.abstract, paper.comment) == (CYCLIP, "arXiv's abstract.",
                                                             "NeurIPS 2022")
    assert paper.authors == ("Shashank Goel", "Hritik Bansal")
    # what the digest printed comes from the earliest listing
    assert paper.digest_title == CYCLIP
    assert paper.digest_authors == ("Shashank Goel",)
    assert paper.digests == (
        DigestRef(file="000.txt", index=4, date=DAY1, category="对比学习"),
        DigestRef(file="001.txt", index=0, date=DAY2, category="对比学习"))
    assert (paper.abs_url, paper.pdf_url) == ("https://arxiv.org/abs/2205.14459",
                                              "https://arxiv.org/pdf/2205.14459v3")
    assert paper.arxiv_doi == "10.48550/arXiv.2205.14459"
    assert paper.citekey == "goel2022cyclip"
    assert [r.full_name for r in paper.repos] == ["goel-shashank/CyCLIP"]
    # the verdict is kept without a second copy of the paper
    assert paper.match == ArxivMatch(status="matched", method="title-batch", score=0.98)


def test_the_digest_text_comes_from_the_first_digest_whatever_the_order_given() -> None:
    found = matched(arxiv("2205.14459", CYCLIP))
    early = entry(2, "CyCLIP (as the first digest wrote it)", authors=("S. Goel",), day=DAY1)
    late = entry(0, "CyCLIP (as the second digest wrote it)", authors=("Goel, S.",), day=DAY2)
    digests = [digest("2022-11-01.txt", late, day=DAY2), digest("2022-10-31.txt", early)]
    by_fp = {entry_fingerprint(early): found, entry_fingerprint(late): found}
    [paper] = build_papers(place(digests, by_fp), {}, {})
    assert paper.digest_title == "CyCLIP (as the first digest wrote it)"
    assert paper.digest_authors == ("S. Goel",)
    assert [(d.file, d.index) for d in paper.digests] == [("2022-10-31.txt", 2),
                                                          ("2022-11-01.txt", 0)]


def test_an_unresolved_paper_keeps_the_digests_text_and_gets_no_citekey() -> None:
    item = entry(1, "A Paper Nobody Posted", authors=("Ada Lovelace",), abstract="Digest text.",
                 comment="9 pages")
    candidates = (Candidate(arxiv_id="2101.00001", title="A Paper Somebody Posted", score=0.4,
                            title_similarity=0.8, shared_authors=0, rejected="no shared author"),)
    verdict = ArxivMatch(status="not_found", candidates=candidates)
    key = "title:a paper nobody posted"
    [paper] = build_papers([_placed(item, verdict)], {}, {key: "lovelace2022paper"})
    assert paper.key == key
    assert paper.arxiv_id is paper.arxiv_version is paper.published is paper.abs_url is None
    assert (paper.title, paper.digest_title) == ("A Paper Nobody Posted",) * 2
    assert (paper.authors, paper.abstract, paper.comment) == (("Ada Lovelace",),
                                                              "Digest text.", "9 pages")
    assert paper.categories == ()
    assert paper.citekey is None
    assert paper.match == verdict


def test_papers_are_sorted_by_key() -> None:
    items = [entry(0, "Zebra Paper"), entry(1, CYCLIP), entry(2, "Apple Paper")]
    placed = [_placed(items[0], NOT_FOUND), _placed(items[1], matched(arxiv("2205.14459",
                                                                           CYCLIP))),
              _placed(items[2], NOT_FOUND)]
    assert [p.key for p in build_papers(placed, {}, {})] == [
        "arxiv:2205.14459", "title:apple paper", "title:zebra paper"]


def test_repositories_are_attached_once_with_the_source_of_their_link() -> None:
    paper = arxiv("2205.14459", CYCLIP, abstract="See https://github.com/acme/old-name and "
                                                 "https://github.com/acme/unknown")
    item = entry(0, CYCLIP, code_urls=("https://github.com/Acme/New-Name",))
    # both links lead to one repository (renamed); the unknown one has no facts yet
    renamed = repo("acme/new-name", requested="acme/old-name")
    repos = {"acme/new-name": repo("acme/new-name"), "acme/old-name": renamed}
    [built] = build_papers([_placed(item, matched(paper))], repos, {})
    assert [(r.full_name, r.source) for r in built.repos] == [("acme/new-name", "digest")]
    assert [link.repo for link in built.links] == ["Acme/New-Name", "acme/old-name",
                                                   "acme/unknown"]


# ----------------------------------------------------------------------------------------------
# Views and report


def _two_digests() -> tuple[list[Digest], list[Placed], dict[str, Paper]]:
    found = arxiv("2205.14459", CYCLIP)
    a0, a1 = entry(0, CYCLIP), entry(1, "A Paper Nobody Posted", authors=("Ada Lovelace",))
    b0 = entry(0, CYCLIP, day=DAY2)
    problem = Problem(kind="duplicate", file="b.txt", line=12, message="listed twice")
    digests = [digest("a.txt", a0, a1), digest("b.txt", b0, day=DAY2, problems=(problem,))]
    matches = {entry_fingerprint(a0): matched(found),
               entry_fingerprint(a1): ArxivMatch(status="not_found")}
    placed = place(digests, matches)
    papers = build_papers(placed, {}, {"arxiv:2205.14459": "goel2022cyclip"})
    return digests, placed, {p.key: p for p in papers}


def test_a_digest_view_lists_its_own_entries_pointing_at_their_papers() -> None:
    digests, placed, papers = _two_digests()
    view = digest_view(digests[0], placed, papers)
    assert (view.file, view.category, view.date, view.form, view.error) == (
        "a.txt", "对比学习", DAY1, "text", None)
    assert [(e.index, e.title, e.paper, e.status, e.arxiv_id, e.citekey)
            for e in view.entries] == [
        (0, CYCLIP, "arxiv:2205.14459", "matched", "2205.14459", "goel2022cyclip"),
        (1, "A Paper Nobody Posted", "title:a paper nobody posted", "not_found", None, None)]
    other = digest_view(digests[1], placed, papers)
    assert [(e.index, e.paper) for e in other.entries] == [(0, "arxiv:2205.14459")]
    assert [p.kind for p in other.problems] == ["duplicate"]


def test_a_digest_that_could_not_be_read_has_a_view_with_its_error() -> None:
    problem = Problem(kind="empty", file="bad.txt", message="the file is empty")
    view = failed_digest_view(problem)
    assert (view.file, view.error, view.entries, view.date, view.form) == (
        "bad.txt", problem, (), None, None)


def test_the_report_counts_what_the_outputs_hold_and_lists_what_is_left() -> None:
    digests, _, by_key = _two_digests()
    papers = list(by_key.values())
    papers[0] = papers[0].model_copy(update={"repos": (repo("a/b"), repo("c/d", status="missing"),
                                                       repo("e/f"))})
    failures = [Problem(kind="no_entries", file="z.txt", message="no papers"),
                Problem(kind="empty", file="c.txt", message="empty")]
    result = report(digests, failures, papers)
    assert result["digests"] == {
        "read": 2,
        "failed": [{"kind": "empty", "file": "c.txt", "line": None, "message": "empty"},
                   {"kind": "no_entries", "file": "z.txt", "line": None,
                    "message": "no papers"}],
        "problems": [{"kind": "duplicate", "file": "b.txt", "line": 12,
                      "message": "listed twice"}],
        "entries": 3,
    }
    assert result["papers"] == {"total": 2, "matched": 1, "ambiguous": 0, "not_found": 1,
                                "error": 0}
    assert result["repos"] == {"missing": 1, "ok": 2}
    assert list(result["repos"]) == ["missing", "ok"]
    assert result["unresolved"] == [
        {"title": "A Paper Nobody Posted", "status": "not_found", "error": None,
         "digests": ["a.txt#1"], "candidates": []}]


def test_the_unresolved_list_names_every_listing_and_the_candidates() -> None:
    candidate = Candidate(arxiv_id="2101.00001", title="Close", score=0.61,
                          title_similarity=0.9, shared_authors=1)
    verdict = ArxivMatch(status="ambiguous", candidates=(candidate,))
    a0, b3 = entry(0, "Close Enough"), entry(3, "Close Enough", day=DAY2)
    placed = [Placed(digest("a.txt", a0), a0, verdict),
              Placed(digest("b.txt", b3, day=DAY2), b3, verdict),
              _placed(entry(1, "Later"), PENDING)]
    papers = build_papers(placed, {}, {})
    result = report([], [], papers)
    assert result["papers"]["ambiguous"] == result["papers"]["error"] == 1
    assert result["unresolved"] == [
        {"title": "Close Enough", "status": "ambiguous", "error": None,
         "digests": ["a.txt#0", "b.txt#3"],
         "candidates": [{"arxiv_id": "2101.00001", "title": "Close", "score": 0.61,
                         "title_similarity": 0.9, "shared_authors": 1, "rejected": None}]},
        {"title": "Later", "status": "error", "error": "not looked up yet",
         "digests": ["a.txt#1"], "candidates": []}]

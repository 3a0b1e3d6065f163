"""references.bib: exact entries for real papers, the round-trip contract, determinism.

The builders at the top (`paper`, `published_as`, `published_forms`, `seed_papers`,
`corpus_papers`, `stress_papers`, `keyed`) make the Paper records every reference test shares;
tests/test_csl.py, tests/test_reference_tools.py and tests/test_consumers.py import them.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import bibtexparser
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from enrich.published.model import PublishedVersion, VenueKind
from enrich.render.bibtex import (
    arxiv_id,
    bare_doi,
    build_library,
    code_note,
    code_urls,
    keywords,
    render_bibtex,
)
from enrich.render.model import DigestRef, Paper
from enrich.repos.model import CodeLink, Repo
from enrich.resolve.model import ArxivMatch
from enrich.store.citekeys import KeyRegistry
from enrich.store.db import StateStore
from enrich.text.latex import ENCODINGS, brace_balanced, latex_char

FIXTURES = Path(__file__).resolve().parent / "fixtures"

# --------------------------------------------------------------------------------------------
# Shared builders


def paper(arxiv: str | None, title: str, authors: Sequence[str], *, published: str | None =
          "2022-05-28", version: int | None = 2, doi: str | None = None,
          journal_ref: str | None = None, comment: str | None = None, abstract: str = "",
          primary_category: str | None = "cs.CV", category: str | None = "无监督/半监督/对比学习",
          citekey: str | None = None, links: Sequence[CodeLink] = (),
          repos: Sequence[Repo] = ()) -> Paper:
    """A Paper as the pipeline builds it for a matched arXiv paper."""
    when = dt.datetime.fromisoformat(published + "T12:00:00+00:00") if published else None
    key = f"arxiv:{arxiv}" if arxiv else f"title:{title.lower()}"
    return Paper(
        key=key, arxiv_id=arxiv, arxiv_version=version if arxiv else None, title=title,
        authors=tuple(authors), abstract=abstract, published=when, updated=when,
        primary_category=primary_category, categories=(primary_category,) if primary_category
        else (), doi=doi, arxiv_doi=f"10.48550/arXiv.{arxiv}" if arxiv else None,
        journal_ref=journal_ref, comment=comment,
        abs_url=f"https://arxiv.org/abs/{arxiv}" if arxiv else None, pdf_url=None,
        digest_title=title, digest_authors=tuple(authors),
        match=ArxivMatch(status="matched" if arxiv else "not_found"), links=tuple(links),
        repos=tuple(repos), citekey=citekey,
        digests=(DigestRef(file="000.txt", index=0, date=dt.date(2022, 10, 31),
                           category=category),) if category else (),
    )


def published_as(base: Paper, kind: VenueKind, venue: str, **fields: Any) -> Paper:
    """`base` with a confirmed published version (as Semantic Scholar or dblp give one)."""
    version = PublishedVersion(venue=venue, kind=kind, source="semantic_scholar", **fields)
    return base.model_copy(update={"published_version": version})


# Venues as Semantic Scholar and dblp name them: long and short names, `&`, `/`, parentheses,
# digits, accents, and kinds that stay preprints.
VENUES: tuple[tuple[VenueKind, str, str | None], ...] = (
    ("conference", "Advances in Neural Information Processing Systems", "NeurIPS"),
    ("journal", "IEEE Transactions on Pattern Analysis & Machine Intelligence", "TPAMI"),
    ("other", "Proceedings of a Book Series on Learning", None),
    ("conference", "IEEE/CVF Conference on Computer Vision and Pattern Recognition (CVPR)",
     "CVPR"),
    ("journal", "Medical Image Analysis", "Med. Image Anal."),
    ("conference", "International Conference on Learning Representations", "ICLR"),
    ("journal", "Journal of Machine Learning Research", "J. Mach. Learn. Res."),
    ("conference", "Findings of the Association for Computational Linguistics: EMNLP 2023",
     None),
    ("journal", "Zeitschrift für Naturforschung A", None),
)


def published_forms(papers: list[Paper]) -> list[Paper]:
    """The papers with a published version each, venues and kinds in turn; some with a date,
    volume and pages, a publisher DOI, or withdrawn on arXiv."""
    out = []
    for i, p in enumerate(papers):
        kind, venue, short = VENUES[i % len(VENUES)]
        year = (p.published.year if p.published else 2024) + i % 2
        version = PublishedVersion(
            venue=venue, venue_short=short, kind=kind, year=year,
            date=dt.date(year, 1 + i % 12, 1 + i % 28) if i % 2 else None,
            doi=f"10.5555/venue.{i}" if i % 5 else None,
            volume=str(30 + i % 7) if kind == "journal" else None,
            pages=f"{100 + i}-{110 + i}" if kind == "journal" and i % 3 else None,
            source="semantic_scholar" if i % 4 else "dblp")
        out.append(p.model_copy(update={"published_version": version,
                                        "withdrawn": p.withdrawn or i % 11 == 0}))
    return out



def github(repo: str, source: str = "arxiv") -> CodeLink:
    return CodeLink(url=f"https://github.com/{repo}", kind="github", repo=repo,
                    source=source)  # type: ignore[arg-type]


def cyclip(**changes: Any) -> Paper:
    """CyCLIP (arXiv 2205.14459), as the seed digest and arXiv give it."""
    fields: dict[str, Any] = {
        "comment": "19 pages, 13 tables, 6 figures, Oral at NeuRIPS 2022",
        "abstract": "Recent advances in contrastive representation learning over paired "
                    "image-text data have led to models such as CLIP.",
        "links": (github("goel-shashank/CyCLIP"),),
        **changes,
    }
    return paper("2205.14459", "CyCLIP: Cyclic Contrastive Language-Image Pretraining",
                 ["Shashank Goel", "Hritik Bansal", "Sumit Bhatia", "Ryan A. Rossi",
                  "Vishwa Vinay", "Aditya Grover"], **fields)


# The seeds' code repositories, copied from the project's reference notes on the seed papers
# (digest links, and the one arXiv added later): the corpus fixture does not carry them.
SEED_CODE: dict[str, tuple[CodeLink, ...]] = {
    "2205.14459": (github("goel-shashank/CyCLIP", "digest"),),
    "2210.15075": (github("hritam-98/IDEAL-ICASSP23"),),
    "2202.04933": (github("1202kbs/EBCLR", "digest"),),
    "2408.03627": (github("Wenlve-Zhou/BIDFC-master", "digest"),),
    "2408.04594": (github("modelscope/data-juicer", "digest"),),
}


@cache
def _corpus() -> dict[str, Any]:
    return dict(json.loads((FIXTURES / "arxiv_corpus.json").read_text(encoding="utf-8")))


def _corpus_paper(item: dict[str, Any]) -> Paper:
    seed = item.get("seed")
    category = _corpus()["digests"][seed["digest"]]["category"] if seed else None
    return paper(
        item["arxiv_id"], item["title"], item["authors"],
        published=item["versions"][0]["date"][:10], version=item["versions"][-1]["version"],
        doi=item.get("doi"), journal_ref=item.get("journal_ref"),
        comment=item.get("comment"), abstract=item.get("abstract", ""),
        primary_category=item.get("primary_category"), category=category,
        links=SEED_CODE.get(item["arxiv_id"], ()),
    )


def seed_papers() -> list[Paper]:
    """The 14 papers of the two seed digests, with their public arXiv metadata."""
    return [_corpus_paper(i) for i in _corpus()["papers"] if i.get("seed")]


def corpus_papers() -> list[Paper]:
    """Every paper of the arXiv fake's corpus: the seeds and their decoys (published papers
    with DOIs and journal references, an old-style identifier, math in a title)."""
    return [_corpus_paper(i) for i in _corpus()["papers"]]


def stress_cases() -> list[dict[str, Any]]:
    return list(json.loads((FIXTURES / "bib_stress.json").read_text(encoding="utf-8"))["cases"])


def stress_paper(case: dict[str, Any]) -> Paper:
    return paper(case["arxiv_id"], case["title"], case["authors"],
                 published=case.get("published", "2024-01-15"), doi=case.get("doi"),
                 journal_ref=case.get("journal_ref"), comment=case.get("comment"),
                 abstract=case.get("abstract", ""),
                 primary_category=case.get("primary_category", "cs.LG"),
                 category=case.get("category", "压力测试/Stress & {Tests}"),
                 links=(github("owner/repo_name.v2"),))


def stress_papers() -> list[Paper]:
    return [stress_paper(c) for c in stress_cases()]


def keyed(papers: Sequence[Paper], state_dir: Path) -> list[Paper]:
    """The papers with the keys a fresh registry issues, as the pipeline hands them over."""
    keys = KeyRegistry(StateStore(state_dir)).assign(list(papers))
    return [p.model_copy(update={"citekey": keys.get(p.key)}) for p in papers]


def parse(text: str) -> Any:
    return bibtexparser.parse_string(text)


# --------------------------------------------------------------------------------------------
# Exact output

CYCLIP_ENTRY = r"""@techreport{goel2022cyclip,
  title        = {{CyCLIP}: Cyclic Contrastive Language-Image Pretraining},
  author       = {Goel, Shashank and Bansal, Hritik and Bhatia, Sumit and Rossi, Ryan A. and Vinay, Vishwa and Grover, Aditya},
  options      = {useprefix=true,eprint=false},
  type         = {Preprint},
  institution  = {arXiv},
  number       = {arXiv:2205.14459},
  year         = {2022},
  month        = may,
  date         = {2022-05-28},
  eprint       = {2205.14459},
  eprinttype   = {arxiv},
  eprintclass  = {cs.CV},
  version      = {2},
  doi          = {10.48550/arXiv.2205.14459},
  url          = {https://arxiv.org/abs/2205.14459},
  note         = {Source code: https://github.com/goel-shashank/CyCLIP},
  annote       = {19 pages, 13 tables, 6 figures, Oral at NeuRIPS 2022},
  keywords     = {无监督/半监督/对比学习},
  abstract     = {Recent advances in contrastive representation learning over paired image-text data have led to models such as CLIP.}
}
"""  # noqa: E501


def test_cyclip_renders_exactly_as_expected() -> None:
    assert render_bibtex([cyclip(citekey="goel2022cyclip")]) == CYCLIP_ENTRY


def test_a_preprint_with_a_journal_reference_stays_a_preprint_with_the_reference_noted() -> None:
    published = paper("2106.90008", "Contrastive Attention for Chest X-ray Reports",
                      ["Xuewei Ma", "Anna Berg"], published="2021-06-13", version=1,
                      doi="https://doi.org/10.5555/fake-arxiv.2106.90008",
                      journal_ref="J. Fake Med. Imaging 3 (2022) 1-10", citekey="ma2021contrastive",
                      category=None)
    assert render_bibtex([published]) == r"""@techreport{ma2021contrastive,
  title        = {Contrastive Attention for Chest {X-ray} Reports},
  author       = {Ma, Xuewei and Berg, Anna},
  options      = {useprefix=true,eprint=false},
  type         = {Preprint},
  institution  = {arXiv},
  number       = {arXiv:2106.90008},
  year         = {2021},
  month        = jun,
  date         = {2021-06-13},
  eprint       = {2106.90008},
  eprinttype   = {arxiv},
  eprintclass  = {cs.CV},
  version      = {1},
  doi          = {10.5555/fake-arxiv.2106.90008},
  url          = {https://arxiv.org/abs/2106.90008},
  note         = {Journal reference: J. Fake Med. Imaging 3 (2022) 1-10}
}
"""


CYCLIP_AT_NEURIPS = r"""@inproceedings{goel2022cyclip,
  title        = {{CyCLIP}: Cyclic Contrastive Language-Image Pretraining},
  author       = {Goel, Shashank and Bansal, Hritik and Bhatia, Sumit and Rossi, Ryan A. and Vinay, Vishwa and Grover, Aditya},
  options      = {useprefix=true,eprint=false},
  booktitle    = {{Advances} in {Neural} {Information} {Processing} {Systems} 35 ({NeurIPS} 2022)},
  year         = {2022},
  eprint       = {2205.14459},
  eprinttype   = {arxiv},
  eprintclass  = {cs.CV},
  doi          = {10.5555/test.cyclip},
  url          = {https://arxiv.org/abs/2205.14459},
  note         = {arXiv:2205.14459. Source code: https://github.com/goel-shashank/CyCLIP},
  annote       = {19 pages, 13 tables, 6 figures, Oral at NeuRIPS 2022},
  keywords     = {无监督/半监督/对比学习},
  abstract     = {Recent advances in contrastive representation learning over paired image-text data have led to models such as CLIP.}
}
"""  # noqa: E501


def test_a_conference_paper_is_inproceedings_with_its_venue_and_the_identifier_noted() -> None:
    # The venue's year, no month (v1's is not the venue's), the publisher DOI; eprint kept;
    # the venue's capitalised words braced one by one (pandoc and Better BibTeX
    # sentence-case a booktitle, and Better BibTeX unbraces a booktitle braced whole).
    entry = published_as(cyclip(citekey="goel2022cyclip"), "conference",
                         "Advances in Neural Information Processing Systems 35 (NeurIPS 2022)",
                         venue_short="NeurIPS", year=2022, doi="10.5555/test.cyclip")
    assert render_bibtex([entry]) == CYCLIP_AT_NEURIPS


def test_a_journal_paper_is_an_article_with_volume_pages_and_the_venues_date() -> None:
    withdrawn = paper("2106.90008", "Contrastive Attention for Chest X-ray Reports",
                      ["Xuewei Ma", "Anna Berg"], published="2021-06-13", version=3,
                      doi="10.5555/fake-arxiv.2106.90008", journal_ref="Med. Image Anal. 75",
                      citekey="ma2021contrastive", category=None)
    withdrawn = published_as(withdrawn.model_copy(update={"withdrawn": True}), "journal",
                             "Medical Image Analysis & Co", venue_short="Med. Image Anal.",
                             year=2022, date=dt.date(2022, 3, 4), volume="75", pages="102-110",
                             doi="https://doi.org/10.1016/j.media.2021.102")
    assert render_bibtex([withdrawn]) == r"""@article{ma2021contrastive,
  title        = {Contrastive Attention for Chest {X-ray} Reports},
  author       = {Ma, Xuewei and Berg, Anna},
  options      = {useprefix=true,eprint=false},
  journal      = {Medical Image Analysis \& Co},
  shortjournal = {Med. Image Anal.},
  volume       = {75},
  pages        = {102--110},
  year         = {2022},
  month        = mar,
  date         = {2022-03-04},
  eprint       = {2106.90008},
  eprinttype   = {arxiv},
  eprintclass  = {cs.CV},
  doi          = {10.1016/j.media.2021.102},
  url          = {https://arxiv.org/abs/2106.90008},
  note         = {Withdrawn (arXiv v3). arXiv:2106.90008}
}
"""


def test_a_venue_of_another_kind_keeps_the_preprint_form_with_its_doi() -> None:
    other = published_as(cyclip(citekey="k"), "other", "Some Book of Essays",
                         year=2023, doi="10.5555/book")
    fields = parse(render_bibtex([other])).entries[0].fields_dict
    assert parse(render_bibtex([other])).entries[0].entry_type == "techreport"
    assert fields["number"].value == "arXiv:2205.14459"
    assert (fields["year"].value, fields["doi"].value) == ("2022", "10.5555/book")


def test_a_venue_without_a_year_gives_v1s_year_and_no_month() -> None:
    undated = published_as(cyclip(citekey="k"), "conference", "CVPR")
    fields = parse(render_bibtex([undated])).entries[0].fields_dict
    assert fields["year"].value == "2022"
    assert "month" not in fields and "date" not in fields


def test_an_entry_without_authors_is_a_misc_with_the_identifier_noted() -> None:
    # Classic styles warn about a report or article without author, never about a misc.
    nobody = paper("2401.90002", "Untitled", ["$$"], citekey="anon2024untitled", category=None)
    for entry, howpublished in ((nobody, "arXiv"),
                                (published_as(nobody, "journal", "Nature", year=2024),
                                 "{Nature}")):
        fields = parse(render_bibtex([entry])).entries[0]
        assert fields.entry_type == "misc"
        assert fields["howpublished"] == howpublished
        assert fields["note"] == "arXiv:2401.90002"
        assert fields["key"] == "anon2024untitled"


def test_hostile_title_renders_as_inert_text() -> None:
    # arXiv's TeX is read as TeX and written as text: braces group, unknown commands go.
    hostile = paper("2401.90001", r"Oops} @misc{x, \write18{rm -rf /} 100% $\input{a}$ {CLIP",
                    ["Mallory O'Brien"], citekey="obrien2024oops", category=None, version=None)
    text = render_bibtex([hostile])
    title = text.splitlines()[1]
    assert title == r"  title        = {Oops @miscx, {18rm} -rf / 100\% a {CLIP}},"
    library = parse(text)
    assert [e.key for e in library.entries] == ["obrien2024oops"]
    assert not library.failed_blocks


@pytest.mark.parametrize(("encoding", "expected"), [
    ("latex", r"M{\"{u}}ller, J{\"{u}}rgen and del Maestro, Luc{\'{i}}a and "
              r"{\O}stergaard, S{\o}ren and Țurcanu, Ștefan and De La Cruz, Anna"),
    ("utf8", "Müller, Jürgen and del Maestro, Lucía and Østergaard, Søren and "
             "Țurcanu, Ștefan and De La Cruz, Anna"),
], ids=["latex", "utf8"])
def test_author_names_are_encoded_as_asked(encoding: str, expected: str) -> None:
    item = paper("2404.90110", "Contrastive Objectives for Low-Resource Speech Enhancement",
                 ["Jürgen Müller", "Lucía del Maestro", "Søren Østergaard", "Ștefan Țurcanu",
                  "Anna De La Cruz"], citekey="k")
    library = build_library([item], encoding=encoding)  # type: ignore[arg-type]
    assert library.entries[0].fields_dict["author"].value == expected


@pytest.mark.parametrize(("title", "expected"), [
    ("CyCLIP: Cyclic Contrastive Language-Image Pretraining",
     "{CyCLIP}: Cyclic Contrastive Language-Image Pretraining"),
    ("Momentum Contrast (MoCo) on ImageNet", "Momentum Contrast ({MoCo}) on {ImageNet}"),
    ("$k$-NN for $\\ell_1$ & 50% of #1_x", "{k-NN} for {ℓ₁} \\& 50\\% of {{\\#1\\_x}}"),
], ids=["acronym", "mixed-case", "math-and-specials"])
def test_titles_brace_case_sensitive_words_one_by_one(title: str, expected: str) -> None:
    library = build_library([paper("2401.90002", title, ["A B"], citekey="k")])
    value = library.entries[0].fields_dict["title"].value
    assert value == expected
    assert not (value.startswith("{") and value.endswith("}") and brace_balanced(value[1:-1])
                and "{" not in value[1:-1]), "the whole title must never be one brace group"


# --------------------------------------------------------------------------------------------
# Which papers, which fields


def test_only_papers_with_an_arxiv_id_are_written_once_each() -> None:
    unresolved = paper(None, "Some Unresolved Paper", ["A B"])
    twice = [cyclip(citekey="goel2022cyclip"), cyclip(citekey="goel2022cyclip"), unresolved]
    library = parse(render_bibtex(twice))
    assert [e.key for e in library.entries] == ["goel2022cyclip"]


def test_no_papers_render_an_empty_file() -> None:
    assert render_bibtex([]) == ""


@pytest.mark.parametrize(("raw", "expected"), [
    ("2205.14459", "2205.14459"),
    ("2205.14459v3", "2205.14459"),
    ("hep-th/9901001", "hep-th/9901001"),
    ("math.AG/0601001v2", "math.AG/0601001"),
    ("2205.14459}", None),
    ("../etc", None),
], ids=["new", "new-versioned", "old", "old-subject-versioned", "brace", "path"])
def test_arxiv_ids_are_written_without_version_or_not_at_all(raw: str,
                                                             expected: str | None) -> None:
    assert arxiv_id(paper(raw, "T", ["A B"])) == expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("10.1000/xyz123", "10.1000/xyz123"),
    ("https://doi.org/10.1000/XYZ", "10.1000/XYZ"),
    ("http://dx.doi.org/10.1000/a(b)c", "10.1000/a(b)c"),
    ("doi:10.1000/a_b", "10.1000/a_b"),
    ("10.1000/with space", None),
    ("10.1000/brace{", None),
    ("10.1000/percent%20", None),
    ("not a doi", None),
    (None, None),
], ids=["bare", "https", "dx", "doi-prefix", "space", "brace", "percent", "junk", "none"])
def test_dois_are_bare_or_refused(raw: str | None, expected: str | None) -> None:
    assert bare_doi(raw) == expected


def test_the_arxiv_doi_stands_in_when_there_is_no_usable_publisher_doi() -> None:
    for doi in (None, "10.1000/brace{"):
        fields = build_library([cyclip(citekey="k", doi=doi)]).entries[0].fields_dict
        assert fields["doi"].value == "10.48550/arXiv.2205.14459"


def test_code_urls_follow_renames_skip_deleted_repos_and_project_pages() -> None:
    now = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    links = (github("Old/Name"), github("gone/repo"),
             CodeLink(url="https://someone.github.io/project", kind="github_pages",
                      source="digest"),
             CodeLink(url="https://gitlab.com/group/tool", kind="gitlab", source="digest"),
             github("old/name"))
    repos = (Repo(full_name="New/Name", requested="Old/Name", url="https://github.com/New/Name",
                  status="ok", fetched_at=now),
             Repo(full_name="gone/repo", requested="gone/repo", url="https://github.com/gone/repo",
                  status="missing", fetched_at=now))
    item = cyclip(links=links, repos=repos)
    assert code_urls(item) == ["https://github.com/New/Name", "https://gitlab.com/group/tool"]


def test_the_code_note_does_not_read_as_a_csl_variable() -> None:
    # "Code: <url>" would be taken by citeproc/pandoc/Zotero as a CSL variable named "code".
    note = code_note(["https://github.com/a/b"])
    assert note == "Source code: https://github.com/a/b"
    assert " " in note.split(":", 1)[0]


def test_keywords_are_the_digest_categories_sorted_without_repeats() -> None:
    item = cyclip().model_copy(update={"digests": tuple(
        DigestRef(file=f"{i}.txt", index=0, date=None, category=c)
        for i, c in enumerate(["b", " a ", "b", None, ""]))})
    assert keywords(item) == ["a", "b"]


def test_the_comment_code_and_keywords_fields_are_omitted_when_empty() -> None:
    bare = cyclip(citekey="k", comment=None, links=(), category=None, abstract="")
    fields = build_library([bare]).entries[0].fields_dict
    assert not {"note", "annote", "keywords", "abstract", "howpublished"} & set(fields)


def test_a_paper_without_a_date_takes_its_year_from_the_identifier() -> None:
    fields = build_library([cyclip(citekey="k", published=None)]).entries[0].fields_dict
    assert fields["year"].value == "2022"
    assert "month" not in fields
    assert "date" not in fields


def test_an_incomplete_author_list_ends_in_and_others_and_a_long_one_is_kept_whole() -> None:
    names = [f"Author{i} Person" for i in range(300)]
    long_list = build_library([paper("2401.90003", "T", names, citekey="k")])
    assert long_list.entries[0].fields_dict["author"].value.count(" and ") == 299
    et_al = build_library([paper("2401.90004", "T", ["Jane Doe", "John Roe et al."],
                                 citekey="k")])
    assert et_al.entries[0].fields_dict["author"].value == "Doe, Jane and Roe, John and others"


def test_an_entry_without_authors_sorts_by_its_key() -> None:
    fields = build_library([paper("2401.90006", "T", ["&&", " "], citekey="anon2024t")]
                           ).entries[0].fields_dict
    assert "author" not in fields
    assert fields["key"].value == "anon2024t"
    assert "key" not in build_library([cyclip(citekey="k")]).entries[0].fields_dict


def test_unknown_encodings_are_refused() -> None:
    with pytest.raises(ValueError, match="encoding"):
        render_bibtex([cyclip()], encoding="latin1")  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Round trip contract: write → parse → the same entries, nothing failed, no duplicate keys


def _all_papers(tmp_path: Path) -> list[Paper]:
    return keyed(corpus_papers() + stress_papers(), tmp_path / "state")


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_written_entries_parse_back_unchanged(tmp_path: Path, encoding: str) -> None:
    papers = _all_papers(tmp_path)
    library = build_library(papers, encoding=encoding)  # type: ignore[arg-type]
    text = render_bibtex(papers, encoding=encoding)  # type: ignore[arg-type]
    parsed = parse(text)
    assert not parsed.failed_blocks
    assert len(parsed.entries) == len(library.entries) == len({p.arxiv_id for p in papers})
    keys = [e.key for e in parsed.entries]
    assert keys == sorted(set(keys))
    for written, read in zip(library.entries, parsed.entries, strict=True):
        assert read.entry_type == "techreport"
        assert read.key == written.key
        assert {f.key: f.value for f in read.fields} == {f.key: f.value for f in written.fields}


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_every_value_is_brace_balanced_for_every_reader(tmp_path: Path, encoding: str) -> None:
    library = build_library(_all_papers(tmp_path), encoding=encoding)  # type: ignore[arg-type]
    for entry in library.entries:
        for field in entry.fields:
            assert brace_balanced(field.value), (entry.key, field.key, field.value)
            assert "\n" not in field.value


_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)


@settings(max_examples=150, deadline=None)
@given(title=_TEXT, author=_TEXT, comment=_TEXT, encoding=st.sampled_from(ENCODINGS))
def test_any_text_gives_one_balanced_entry_that_parses_back(title: str, author: str,
                                                            comment: str, encoding: str) -> None:
    item = paper("2401.90005", title, [author], comment=comment, abstract=title,
                 journal_ref=comment, citekey="k")
    library = build_library([item], encoding=encoding)  # type: ignore[arg-type]
    parsed = parse(render_bibtex([item], encoding=encoding))  # type: ignore[arg-type]
    assert not parsed.failed_blocks
    assert [e.key for e in parsed.entries] == ["k"]
    written = {f.key: f.value for f in library.entries[0].fields}
    assert {f.key: f.value for f in parsed.entries[0].fields} == written
    assert all(brace_balanced(v) and "\n" not in v for v in written.values())


def _greek(ch: str) -> bool:
    return "\u0370" <= ch <= "\u03ff" or "\u1f00" <= ch <= "\u1fff"


def test_latex_encoding_writes_name_letters_as_commands_and_text_as_utf8(
        tmp_path: Path) -> None:
    library = build_library(_all_papers(tmp_path), encoding="latex")
    for entry in library.entries:
        names = entry.fields_dict["author"].value if "author" in entry.fields_dict else ""
        leftovers = {ch for ch in names if not ch.isascii()}
        assert all(latex_char(ch) is None or _greek(ch) for ch in leftovers), (entry.key, names)
        # No reader-specific tricks: citeproc-py and citation-js read neither.
        assert "\\relax" not in names and "vphantom" not in names
    text = render_bibtex(_all_papers(tmp_path), encoding="latex")
    assert "{Αυτόματη} {Μάθηση}" in text  # Greek words in a title stay words, as written
    assert "{α-Synuclein}" in text  # a Greek letter is a letter, its word kept as written
    assert "\\vphantom" not in text and "\\relax" not in text and "\\ensuremath" not in text


def test_entries_are_sorted_by_citation_key(tmp_path: Path) -> None:
    keys = [e.key for e in parse(render_bibtex(_all_papers(tmp_path))).entries]
    assert keys == sorted(keys)


# --------------------------------------------------------------------------------------------
# Determinism


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_the_same_papers_in_any_order_give_the_same_bytes(tmp_path: Path, encoding: str) -> None:
    papers = _all_papers(tmp_path)
    shuffled = list(papers)
    random.Random(7).shuffle(shuffled)
    first = render_bibtex(papers, encoding=encoding)  # type: ignore[arg-type]
    assert render_bibtex(papers, encoding=encoding) == first  # type: ignore[arg-type]
    assert render_bibtex(shuffled, encoding=encoding) == first  # type: ignore[arg-type]
    assert first.endswith("}\n")


def test_a_second_registry_run_gives_the_same_file(tmp_path: Path) -> None:
    papers = seed_papers()
    first = render_bibtex(keyed(papers, tmp_path / "state"))
    second = render_bibtex(keyed(list(reversed(papers)), tmp_path / "state"))
    assert first == second


def test_the_seed_keys_are_readable(tmp_path: Path) -> None:
    keys = sorted(str(p.citekey) for p in keyed(seed_papers(), tmp_path / "state"))
    assert "goel2022cyclip" in keys
    assert "basak2022ideal" in keys
    assert len(keys) == len(set(keys)) == 14

"""references.json: CSL-JSON items, the same papers and keys as references.bib, deterministic."""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path
from typing import Any

from enrich.render.bibtex import build_library
from enrich.render.csl import csl_items, render_csl_json
from tests.test_bibtex import (
    corpus_papers,
    cyclip,
    keyed,
    paper,
    published_as,
    stress_papers,
)

CYCLIP_ITEM: dict[str, Any] = {
    "id": "goel2022cyclip",
    "type": "article",
    "genre": "Preprint",
    "title": "CyCLIP: Cyclic contrastive language-image pretraining",
    "author": [{"family": "Goel", "given": "Shashank"}, {"family": "Bansal", "given": "Hritik"},
               {"family": "Bhatia", "given": "Sumit"}, {"family": "Rossi", "given": "Ryan A."},
               {"family": "Vinay", "given": "Vishwa"}, {"family": "Grover", "given": "Aditya"}],
    "issued": {"date-parts": [[2022, 5, 28]]},
    "publisher": "arXiv",
    "number": "arXiv:2205.14459",
    "version": "2",
    "DOI": "10.48550/arXiv.2205.14459",
    "URL": "https://arxiv.org/abs/2205.14459",
    "note": "Source code: https://github.com/goel-shashank/CyCLIP",
    "annote": "19 pages, 13 tables, 6 figures, Oral at NeuRIPS 2022",
    "keyword": "无监督/半监督/对比学习",
    "abstract": "Recent advances in contrastive representation learning over paired image-text "
                "data have led to models such as CLIP.",
}


def test_cyclip_renders_exactly_as_expected() -> None:
    text = render_csl_json([cyclip(citekey="goel2022cyclip")])
    assert json.loads(text) == [CYCLIP_ITEM]
    assert text == json.dumps([CYCLIP_ITEM], ensure_ascii=False, sort_keys=True, indent=2) + "\n"


def test_a_preprint_with_a_journal_reference_stays_a_preprint() -> None:
    item = csl_items([paper("2106.90008", "Contrastive Attention", ["Xuewei Ma"],
                            doi="https://doi.org/10.5555/fake-arxiv.2106.90008",
                            journal_ref="J. Fake Med. Imaging 3 (2022) 1-10",
                            citekey="ma2022contrastive")])[0]
    assert item["note"] == "Journal reference: J. Fake Med. Imaging 3 (2022) 1-10"
    assert "container-title" not in item
    assert item["DOI"] == "10.5555/fake-arxiv.2106.90008"
    assert item["number"] == "arXiv:2106.90008"
    assert item["URL"] == "https://arxiv.org/abs/2106.90008"


def test_a_conference_paper_is_a_paper_conference_with_the_identifier_in_its_note() -> None:
    item = csl_items([published_as(cyclip(citekey="k", journal_ref="NeurIPS 2022"),
                                   "conference", "Advances in  Neural Information Processing "
                                   "Systems", venue_short="NeurIPS", year=2022,
                                   doi="10.5555/test.cyclip")])[0]
    assert {k: item[k] for k in ("type", "container-title", "container-title-short", "issued",
                                 "DOI", "URL", "note")} == {
        "type": "paper-conference",
        "container-title": "Advances in Neural Information Processing Systems",
        "container-title-short": "NeurIPS", "issued": {"date-parts": [[2022]]},
        "DOI": "10.5555/test.cyclip", "URL": "https://arxiv.org/abs/2205.14459",
        # Zotero keeps the identifier line in Extra; the journal reference is the venue's.
        "note": "arXiv:2205.14459\nSource code: https://github.com/goel-shashank/CyCLIP"}
    # APA prints `number` as an article number and `archive` after the venue: neither is set.
    assert not {"number", "publisher", "genre", "archive", "archive_location"} & set(item)


def test_a_journal_paper_is_an_article_journal_with_volume_pages_and_date() -> None:
    item = csl_items([published_as(cyclip(citekey="k").model_copy(update={"withdrawn": True}),
                                   "journal",
                                   "Medical Image Analysis", year=2022, date=dt.date(2022, 3, 4),
                                   volume="75", pages="102--110")])[0]
    assert (item["type"], item["volume"], item["page"]) == ("article-journal", "75", "102-110")
    assert item["issued"] == {"date-parts": [[2022, 3, 4]]}
    assert item["note"].splitlines()[:2] == ["Withdrawn (arXiv v2)", "arXiv:2205.14459"]
    assert item["DOI"] == "10.48550/arXiv.2205.14459"  # no publisher DOI known: arXiv's


def test_text_is_readable_unicode_in_sentence_case() -> None:
    item = csl_items([paper("2401.90001", "Schr\\\"odinger Bridges on $\\ell_1$ & {Braces} 100%",
                            ["J\\\"urgen M\\\"uller", "Jan van den Berg", "Gemini Team"],
                            comment="5 pages \\& \\textbf{more}", citekey="k")])[0]
    assert item["title"] == "Schrödinger bridges on ℓ₁ & braces 100%"
    assert item["annote"] == "5 pages & more"
    assert "Schrödinger" in item["title"]  # a listed proper noun keeps its capital
    assert item["author"] == [{"family": "Müller", "given": "Jürgen"},
                              {"family": "Berg", "given": "Jan",
                               "non-dropping-particle": "van den"},
                              {"literal": "Gemini Team"}]


def test_empty_optional_fields_are_left_out() -> None:
    item = csl_items([cyclip(citekey="k", comment=None, links=(), category=None, abstract="",
                             published=None, version=None)])[0]
    assert not {"note", "annote", "keyword", "abstract", "version"} & set(item)
    assert item["issued"] == {"date-parts": [[2022]]}  # from the identifier, as in the .bib


def test_no_papers_render_an_empty_array() -> None:
    assert render_csl_json([]) == "[]\n"


def test_the_json_has_the_same_papers_and_keys_as_the_bib(tmp_path: Path) -> None:
    papers = keyed(corpus_papers() + stress_papers(), tmp_path / "state")
    items = csl_items(papers)
    ids = [i["id"] for i in items]
    assert ids == sorted(set(ids))
    assert ids == [e.key for e in build_library(papers).entries]
    assert all(i["URL"].endswith(i["number"].removeprefix("arXiv:")) for i in items)


def test_the_same_papers_in_any_order_give_the_same_bytes(tmp_path: Path) -> None:
    papers = keyed(corpus_papers() + stress_papers(), tmp_path / "state")
    shuffled = list(papers)
    random.Random(11).shuffle(shuffled)
    first = render_csl_json(papers)
    assert render_csl_json(shuffled) == first
    assert first.endswith("]\n")

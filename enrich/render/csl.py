"""Paper records → `references.json`, CSL-JSON as Zotero, pandoc and citeproc import it (pure).

The same papers, keys and choices as `references.bib` (render.bibtex), in CSL's vocabulary:

    id               the citation key
    type             "article" for a preprint: CSL 1.0.2's type for preprints, which Zotero
                     (6+) imports as a Preprint; "paper-conference" / "article-journal" for a
                     paper published at a conference / in a journal (the .bib's
                     @inproceedings / @article)
    genre            (preprints) "Preprint", as the .bib's `type` (pandoc reads that as genre)
    publisher        (preprints) "arXiv", and number "arXiv:<id>": Zotero's Preprint
    number           "Repository" and "Archive ID"
    container-title  (published) the venue, and its short name; a journal's volume and pages
    container-title-short, volume, page
    title            sentence case, as CSL and Zotero store titles, with acronyms and listed
                     proper nouns kept (enrich.text.terms): the title pandoc reads from the .bib
    abstract         text: arXiv's TeX converted (enrich.text.tex)
    author           family/given/suffix/non-dropping-particle, or literal for organisations
                     (the .bib's `useprefix=true` makes pandoc read the same particles)
    issued           date-parts as the .bib: arXiv v1's date for a preprint, the venue's year
                     (and date, when known) for a published paper
    version          the arXiv version read (preprints, as in the .bib)
    DOI, URL         as in the .bib: the publisher DOI else arXiv's; the arXiv abstract page
    note             what the .bib's note says, one line each: withdrawn, the identifier of a
                     published paper ("arXiv:2205.14459": Zotero keeps an Extra line
                     `arXiv: ID`, its place for the identifier of a type without Archive ID),
                     journal reference, "Source code: <url>, …"
    annote           the arXiv comment (BibTeX `annote`, which pandoc maps to CSL `annote`)
    keyword          the digest categories, comma-separated

A published paper has no `number`, `archive` or `archive_location`: APA prints `number` as an
article number ("Medical Image Analysis, 75, arXiv:2106.90008") and `archive` after the venue
(docs/references.md). Semantic Scholar's citation count is not written (see render.bibtex).

Output is deterministic: entries sorted by id, keys sorted, two-space indent, final newline.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from enrich.record import to_json
from enrich.render.bibtex import (
    arxiv_id,
    arxiv_version,
    doi_of,
    issued,
    keywords,
    note_parts,
    page_range,
    published_kind,
    title_text,
)
from enrich.render.citekeys import keyed_papers
from enrich.render.model import Paper
from enrich.render.names import csl_names
from enrich.text.terms import ProtectedTerms, protected_spans, sentence_case
from enrich.text.tex import tex_to_text


def csl_title(paper: Paper, terms: ProtectedTerms | None = None) -> str:
    """The title in sentence case with its protected words kept."""
    title = title_text(paper)
    return sentence_case(title, protected_spans(title, terms))


def csl_item(key: str, paper: Paper, identifier: str,
             terms: ProtectedTerms | None = None) -> dict[str, Any]:
    """One paper as a CSL-JSON item."""
    item: dict[str, Any] = {
        "id": key,
        "title": csl_title(paper, terms),
        "author": csl_names(paper.authors),
        "DOI": doi_of(paper, identifier),
        "URL": f"https://arxiv.org/abs/{identifier}",
    }
    kind = published_kind(paper)
    version = paper.published_version
    if kind is None or version is None:
        item.update({"type": "article", "genre": "Preprint", "publisher": "arXiv",
                     "number": f"arXiv:{identifier}"})
    else:
        item["type"] = "paper-conference" if kind == "conference" else "article-journal"
        item["container-title"] = " ".join(version.venue.split())
        short = (version.venue_short or "").strip()
        if short:
            item["container-title-short"] = short
        if kind == "journal":
            item.update({k: v for k, v in (("volume", (version.volume or "").strip()),
                                           ("page", page_range(version.pages or "", "-")))
                         if v})
    year, date = issued(paper, identifier)
    if date is not None:
        item["issued"] = {"date-parts": [[date.year, date.month, date.day]]}
    elif year is not None:  # the year alone, as the .bib gives it
        item["issued"] = {"date-parts": [[year]]}
    optional = {
        "version": arxiv_version(paper) or "",
        "note": "\n".join(note_parts(paper)),
        "annote": tex_to_text(paper.comment or ""),
        "keyword": ", ".join(keywords(paper)),
        "abstract": tex_to_text(paper.abstract or ""),
    }
    item.update({k: v for k, v in optional.items() if v})
    return item


def csl_items(papers: Sequence[Paper],
              terms: ProtectedTerms | None = None) -> list[dict[str, Any]]:
    """CSL-JSON items for every paper with a well-formed arXiv ID, sorted by citation key."""
    items = []
    for key, paper in keyed_papers(papers):
        identifier = arxiv_id(paper)
        if identifier is not None:
            items.append(csl_item(key, paper, identifier, terms))
    return items


def render_csl_json(papers: Sequence[Paper], terms: ProtectedTerms | None = None) -> str:
    """`references.json`: a CSL-JSON array, deterministic to the byte."""
    return to_json(csl_items(papers, terms))

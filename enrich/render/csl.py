"""Paper records → `references.json`, CSL-JSON as Zotero, pandoc and citeproc import it (pure).

The same papers, keys and choices as `references.bib` (render.bibtex), in CSL's vocabulary:

    id               the citation key
    type             "article": CSL 1.0.2's type for preprints; Zotero (6+) imports it as a
                     Preprint and exports its Preprints as it; pandoc/citeproc read it
    genre            "Preprint", as the .bib's `type` (pandoc reads that as genre)
    title            sentence case, as CSL and Zotero store titles, with acronyms and listed
                     proper nouns kept (enrich.text.terms): the title pandoc reads from the .bib
    abstract         text: arXiv's TeX converted (enrich.text.tex)
    author           family/given/suffix/non-dropping-particle, or literal for organisations
                     (the .bib's `useprefix=true` makes pandoc read the same particles)
    issued           date-parts of v1: [[year, month, day]]
    publisher        "arXiv", and number "arXiv:<id>": Zotero's Preprint "Repository" and
    number           "Archive ID"
    version          the arXiv version read
    DOI, URL         as in the .bib: publisher DOI else arXiv DOI; the arXiv abstract page
    note             as in the .bib: withdrawn, journal reference, "Source code: <url>, …"
    annote           the arXiv comment (BibTeX `annote`, which pandoc maps to CSL `annote`)
    keyword          the digest categories, comma-separated

Output is deterministic: entries sorted by id, keys sorted, two-space indent, final newline.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from enrich.record import to_json
from enrich.render.bibtex import arxiv_id, doi_of, keywords, note, title_text
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
        "type": "article",
        "genre": "Preprint",
        "title": csl_title(paper, terms),
        "author": csl_names(paper.authors),
        "publisher": "arXiv",
        "number": f"arXiv:{identifier}",
        "DOI": doi_of(paper, identifier),
        "URL": f"https://arxiv.org/abs/{identifier}",
    }
    if paper.published is not None:
        published = paper.published
        item["issued"] = {"date-parts": [[published.year, published.month, published.day]]}
    optional = {
        "version": str(paper.arxiv_version) if paper.arxiv_version else "",
        "note": note(paper) or "",
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

"""Paper records → `references.bib`, through a bibtexparser v2 `Library` (pure).

One entry per paper with an arXiv ID, sorted by citation key; the same papers always give the
same bytes. A preprint is a `@techreport` (docs/references.md has the evidence: it is the one
shape in which Zotero, every classic BibTeX style, biblatex and pandoc all find the arXiv
identifier, and pandoc reads the same reference as references.json). The fields, and why:

    title          arXiv's title as text (TeX converted, enrich.text.tex); acronyms, mixed-case
                   words and listed proper nouns braced one by one (enrich.text.terms)
    author         `von Last, Jr., First and …`; organisations braced (render.names); every
                   name, never shortened ("and others" only when the source said "et al.")
    key            the citation key, only when no author is left: BibTeX styles sort and label
                   by it (biber ignores it silently)
    options        `useprefix=true`: "van Dijk" is cited, sorted and read (pandoc: a
                   non-dropping particle) as references.json has it; `eprint=false`: biblatex
                   prints the identifier from `number`, not a second time from `eprint`
    type           `Preprint`   } classic styles print "Preprint arXiv:2205.14459, arXiv";
    institution    `arXiv`      } Zotero: Report with Report Number arXiv:ID, Institution
    number         `arXiv:<id>` } arXiv; pandoc: CSL number, publisher and genre
    year, month    for classic BibTeX; month as the macro (`may`)
    date           ISO date of v1 for biblatex/biber, pandoc and Zotero; after year/month
                   because Zotero's importer keeps the last date field it reads
    eprint         arXiv ID without version   } biblatex's own eprint fields: Zotero writes
    eprinttype     `arxiv`                    } "arXiv: ID" in Extra from them, pandoc and
    eprintclass    primary category           } JabRef link the paper
    version        arXiv version the metadata was read from
    doi            the publisher DOI when arXiv has one, else 10.48550/arXiv.<id>; bare
    url            the arXiv abstract page, always
    note           "Withdrawn (arXiv v3)", "Journal reference: …" (arXiv's journal_ref) and
                   "Source code: <url>, …": printed by every style, kept by every manager
    annote         the arXiv comment ("19 pages, 13 tables"): kept by managers, printed by no
                   standard style
    keywords       the digest categories the paper appeared under
    abstract       the arXiv abstract as text

A published version (venue, publisher DOI) will become another kind of entry: `entry_type` and
`publication_fields` are where it goes.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence

from bibtexparser.entrypoint import write_string
from bibtexparser.library import Library
from bibtexparser.model import Block, Entry, Field
from bibtexparser.writer import BibtexFormat

from enrich.render.citekeys import keyed_papers
from enrich.render.model import Paper
from enrich.render.names import bibtex_names
from enrich.text.identifiers import base_id, year_of
from enrich.text.latex import (
    ENCODINGS,
    Encoding,
    brace_balanced,
    encode_plain,
    title_to_latex,
)
from enrich.text.terms import ProtectedTerms, protected_spans
from enrich.text.tex import tex_to_text

log = logging.getLogger(__name__)

MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_CATEGORY = re.compile(r"^[a-z]+(?:-[a-z]+)*(?:\.[A-Za-z]+(?:-[a-z]+)*)?$")
# A DOI we can write bare and verbatim: nothing a BibTeX, LaTeX or biber reader treats specially.
_DOI = re.compile(r"^10\.\d{4,9}/[\x21-\x7e]+$")
_DOI_UNSAFE = re.compile(r"[{}\\%#\"\s]")
_DOI_PREFIX = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)", re.IGNORECASE)
# Code URLs are written as text; only plain repository URLs qualify.
_SAFE_URL = re.compile(r"^https://[A-Za-z0-9.-]+(?:/[A-Za-z0-9._~-]+)+/?$")
_CODE_KINDS = frozenset({"github", "gitlab", "bitbucket"})
MAX_CODE_URLS = 3


def arxiv_id(paper: Paper) -> str | None:
    """The paper's arXiv ID without version, when it is a well-formed one."""
    return base_id((paper.arxiv_id or "").strip())


def bare_doi(doi: str | None) -> str | None:
    """A DOI without `https://doi.org/` or `doi:`, or None when it is not one we can write."""
    if not doi:
        return None
    value = _DOI_PREFIX.sub("", doi.strip())
    if not _DOI.match(value) or _DOI_UNSAFE.search(value):
        return None
    return value


def doi_of(paper: Paper, identifier: str) -> str:
    """The publisher DOI when arXiv reports a usable one, else the arXiv DOI."""
    return bare_doi(paper.doi) or f"10.48550/arXiv.{identifier}"


def code_urls(paper: Paper) -> list[str]:
    """The paper's code repositories: GitHub repositories as they are named today (a repository
    GitHub answered 404 for is left out), GitLab and Bitbucket links as found."""
    urls: list[str] = []
    gone = {r.requested.lower() for r in paper.repos if r.status == "missing"}
    current = {r.requested.lower(): r.url for r in paper.repos if r.status == "ok"}
    for link in paper.links:
        if link.kind not in _CODE_KINDS:
            continue
        if link.repo:
            if link.repo.lower() in gone:
                continue
            url = current.get(link.repo.lower(), f"https://github.com/{link.repo}")
        else:
            url = link.url
        url = url.rstrip("/")
        if _SAFE_URL.match(url) and url.lower() not in {u.lower() for u in urls}:
            urls.append(url)
    return urls[:MAX_CODE_URLS]


def code_note(urls: Sequence[str]) -> str:
    """The `note` for code links: "Source code: <url>, <url>".

    Not "Code: <url>": CSL readers (citeproc-js, pandoc, Zotero's Extra) take a note line
    starting with one word and a colon as a variable ("code") and drop it from the note.
    """
    return "Source code: " + ", ".join(urls)


def note(paper: Paper) -> str | None:
    """The `note`, as text: that the paper is withdrawn (printed first, where every style
    prints the note), arXiv's journal reference, then its code repositories."""
    parts = []
    if paper.withdrawn:
        version = f" v{paper.arxiv_version}" if paper.arxiv_version else ""
        parts.append(f"Withdrawn (arXiv{version})")
    if journal := tex_to_text(paper.journal_ref or ""):
        parts.append(f"Journal reference: {journal.rstrip('.')}")
    if urls := code_urls(paper):
        parts.append(code_note(urls))
    return ". ".join(parts) or None


def title_text(paper: Paper) -> str:
    """arXiv's title as readable text."""
    return tex_to_text(paper.title)


def keywords(paper: Paper) -> list[str]:
    """The digest categories the paper appeared under, sorted, without repeats."""
    return sorted({d.category.strip() for d in paper.digests if d.category and d.category.strip()})


def _field(key: str, value: str) -> Field:
    if not brace_balanced(value):  # pragma: no cover - the encoders never produce this
        log.error("field %s came out unbalanced; writing it without braces", key)
        value = encode_plain(value.replace("{", "").replace("}", ""))
    return Field(key, value)


PREPRINT_TYPE = "techreport"
ENTRY_OPTIONS = "useprefix=true,eprint=false"


def entry_type(paper: Paper) -> str:
    """The entry type: every paper is an arXiv preprint for now (docs/references.md)."""
    del paper
    return PREPRINT_TYPE


def publication_fields(paper: Paper, identifier: str) -> list[tuple[str, str]]:
    """Where the paper is published, in the fields its entry type prints: for a preprint the
    repository and the identifier, as every classic style, biblatex, pandoc and Zotero read
    them ("Preprint arXiv:2205.14459, arXiv")."""
    del paper
    return [("type", "Preprint"), ("institution", "arXiv"), ("number", f"arXiv:{identifier}")]


def entry_fields(paper: Paper, identifier: str, *, citekey: str = "",
                 encoding: Encoding = "latex",
                 terms: ProtectedTerms | None = None) -> list[Field]:
    """The fields of one paper's entry, in the order they are written."""
    fields: list[Field] = []

    def add(key: str, value: str | None) -> None:
        if value:
            fields.append(_field(key, value))

    title = title_text(paper)
    add("title", title_to_latex(title, protected_spans(title, terms)))
    authors = bibtex_names(paper.authors, encoding=encoding)
    add("author", authors)
    if not authors:  # BibTeX styles sort and label by `key` when there is no author
        add("key", citekey)
    add("options", ENTRY_OPTIONS)
    for key, value in publication_fields(paper, identifier):
        add(key, value)
    if paper.published is not None:
        published = paper.published
        add("year", f"{published.year:04d}")
        fields.append(Field("month", MONTHS[published.month - 1], enclosing="no-enclosing"))
        add("date", published.date().isoformat())
    elif (year := year_of(identifier)) is not None:
        add("year", f"{year:04d}")
    add("eprint", identifier)
    add("eprinttype", "arxiv")
    category = (paper.primary_category or "").strip()
    add("eprintclass", category if _CATEGORY.match(category) else None)
    add("version", str(paper.arxiv_version) if paper.arxiv_version else None)
    add("doi", doi_of(paper, identifier))
    add("url", f"https://arxiv.org/abs/{identifier}")
    add("note", encode_plain(note(paper) or ""))
    add("annote", encode_plain(tex_to_text(paper.comment or "")))
    add("keywords", encode_plain(", ".join(keywords(paper))))
    add("abstract", encode_plain(tex_to_text(paper.abstract or "")))
    return fields


def build_library(papers: Iterable[Paper], *, encoding: Encoding = "latex",
                  terms: ProtectedTerms | None = None) -> Library:
    """A bibtexparser Library with one entry per paper that has an arXiv ID."""
    if encoding not in ENCODINGS:
        raise ValueError(f"unknown encoding {encoding!r}; use one of {ENCODINGS}")
    entries: list[Block] = []
    for key, paper in keyed_papers(list(papers)):
        identifier = arxiv_id(paper)
        if identifier is None:
            log.warning("paper %s has a malformed arXiv ID %r; left out of references.bib",
                        paper.key, paper.arxiv_id)
            continue
        fields = entry_fields(paper, identifier, citekey=key, encoding=encoding, terms=terms)
        entries.append(Entry(entry_type(paper), key, fields))
    return Library(entries)


def _format() -> BibtexFormat:
    fmt = BibtexFormat()  # type: ignore[no-untyped-call]
    fmt.indent = "  "
    fmt.value_column = 14  # `eprintclass = ` is the longest field name we write
    fmt.block_separator = "\n"
    return fmt


def render_bibtex(papers: Sequence[Paper], *, encoding: Encoding = "latex",
                  terms: ProtectedTerms | None = None) -> str:
    """`references.bib`: the papers' entries sorted by citation key, as text.

    `encoding="latex"` (default) writes the letters of names as LaTeX commands wherever one
    every checked reader understands exists, for classic BibTeX's abbreviating styles;
    `"utf8"` writes them as UTF-8. Text fields are UTF-8 in both (text.latex.encode_plain).
    `terms` are the proper nouns to protect in titles (default: the packaged list).
    """
    library = build_library(papers, encoding=encoding, terms=terms)
    if not library.entries:
        return ""
    return str(write_string(library, bibtex_format=_format()))

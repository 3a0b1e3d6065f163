"""Paper records → `references.bib`, through a bibtexparser v2 `Library` (pure).

One `@misc` entry per paper with an arXiv ID, sorted by citation key; the same papers always
give the same bytes. The fields, and why (docs/references.md has the programs and versions
they were checked with):

    title          arXiv title; acronyms, mixed-case words and math braced word by word
    author         `von Last, Jr., First and …`; organisations braced (render.names); every
                   name, never shortened ("and others" only when the source said "et al.")
    key            the citation key, only when no author is left: BibTeX styles sort and label
                   by it (biber ignores it silently)
    year, month    for classic BibTeX; month as the macro (`may`), which BibTeX styles expand
                   and biber reads as a number, where `{5}` would print as "5"
    date           ISO date of v1 for biblatex/biber, pandoc and Zotero (biber takes it over
                   year/month without a warning); written after year/month because Zotero's
                   importer keeps the last date field it reads
    eprint         arXiv ID without version
    archivePrefix  `arXiv` } arXiv's own export fields; biber maps them to eprinttype /
    primaryClass   arXiv cat.} eprintclass. Never both spellings: biber then rejects one
    version        arXiv version the metadata was read from: biblatex's `version` field
                   (pandoc → CSL `version`, Zotero → Version; classic styles ignore it)
    doi            the publisher DOI when arXiv has one, else 10.48550/arXiv.<id>; bare
    url            the arXiv abstract page, always
    howpublished   the journal reference, when arXiv has one: the venue, in the one field every
                   @misc style prints (BibTeX `plain`/`unsrt`/natbib, biblatex), and that
                   biber's data model allows for @misc; the eprint fields stay
    note           "Withdrawn (arXiv v3)" when the latest version withdraws the paper, then
                   "Source code: <url>, …" for the paper's code repositories: printed by every
                   style, kept by every manager (Zotero: a child note; pandoc: CSL `note`)
    annote         the arXiv comment ("19 pages, 13 tables"): kept by Zotero (child note),
                   JabRef, pandoc (CSL `annote`) and biblatex (as `annotation`), printed by no
                   standard style — page counts are not bibliographic data
    keywords       the digest categories the paper appeared under
    abstract       the arXiv abstract, escaped like the title but without case protection
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
    encode_text,
    title_to_latex,
    to_latex,
    to_plain,
)

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
    """The `note`: that the paper is withdrawn (printed first, where every style prints the
    note), then its code repositories."""
    parts = []
    if paper.withdrawn:
        version = f" v{paper.arxiv_version}" if paper.arxiv_version else ""
        parts.append(f"Withdrawn (arXiv{version})")
    if urls := code_urls(paper):
        parts.append(code_note(urls))
    return ". ".join(parts) or None


def keywords(paper: Paper) -> list[str]:
    """The digest categories the paper appeared under, sorted, without repeats."""
    return sorted({d.category.strip() for d in paper.digests if d.category and d.category.strip()})


def _field(key: str, value: str) -> Field:
    if not brace_balanced(value):  # pragma: no cover - the encoders never produce this
        log.error("field %s came out unbalanced; writing it fully escaped", key)
        value = encode_text(to_plain(value))
    return Field(key, value)


def entry_fields(paper: Paper, identifier: str, *, citekey: str = "",
                 encoding: Encoding = "latex") -> list[Field]:
    """The fields of one paper's entry, in the order they are written."""
    fields: list[Field] = []

    def add(key: str, value: str | None) -> None:
        if value:
            fields.append(_field(key, value))

    add("title", title_to_latex(paper.title, encoding=encoding))
    authors = bibtex_names(paper.authors, encoding=encoding)
    add("author", authors)
    if not authors:  # BibTeX styles sort and label by `key` when there is no author
        add("key", citekey)
    if paper.published is not None:
        published = paper.published
        add("year", f"{published.year:04d}")
        fields.append(Field("month", MONTHS[published.month - 1], enclosing="no-enclosing"))
        add("date", published.date().isoformat())
    elif (year := year_of(identifier)) is not None:
        add("year", f"{year:04d}")
    add("eprint", identifier)
    add("archivePrefix", "arXiv")
    category = (paper.primary_category or "").strip()
    add("primaryClass", category if _CATEGORY.match(category) else None)
    add("version", str(paper.arxiv_version) if paper.arxiv_version else None)
    add("doi", doi_of(paper, identifier))
    add("url", f"https://arxiv.org/abs/{identifier}")
    add("howpublished", to_latex(paper.journal_ref or "", encoding=encoding))
    text = note(paper)
    add("note", encode_text(text, encoding=encoding) if text else None)
    add("annote", to_latex(paper.comment or "", encoding=encoding))
    add("keywords", encode_text(", ".join(keywords(paper)), encoding=encoding))
    add("abstract", to_latex(paper.abstract or "", encoding=encoding))
    return fields


def build_library(papers: Iterable[Paper], *, encoding: Encoding = "latex") -> Library:
    """A bibtexparser Library with one `@misc` entry per paper that has an arXiv ID."""
    if encoding not in ENCODINGS:
        raise ValueError(f"unknown encoding {encoding!r}; use one of {ENCODINGS}")
    entries: list[Block] = []
    for key, paper in keyed_papers(list(papers)):
        identifier = arxiv_id(paper)
        if identifier is None:
            log.warning("paper %s has a malformed arXiv ID %r; left out of references.bib",
                        paper.key, paper.arxiv_id)
            continue
        fields = entry_fields(paper, identifier, citekey=key, encoding=encoding)
        entries.append(Entry("misc", key, fields))
    return Library(entries)


def _format() -> BibtexFormat:
    fmt = BibtexFormat()  # type: ignore[no-untyped-call]
    fmt.indent = "  "
    fmt.value_column = 16  # `archivePrefix = ` is the longest field name we write
    fmt.block_separator = "\n"
    return fmt


def render_bibtex(papers: Sequence[Paper], *, encoding: Encoding = "latex") -> str:
    """`references.bib`: the papers' entries sorted by citation key, as text.

    `encoding="latex"` (default) writes non-ASCII as braced LaTeX commands wherever a command
    every checked reader understands exists (text.latex); `"utf8"` writes it as UTF-8.
    """
    library = build_library(papers, encoding=encoding)
    if not library.entries:
        return ""
    return str(write_string(library, bibtex_format=_format()))

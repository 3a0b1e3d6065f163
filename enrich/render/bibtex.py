"""Paper records → `references.bib`, through a bibtexparser v2 `Library` (pure).

One entry per paper with an arXiv ID, sorted by citation key; the same papers always give the
same bytes. docs/references.md has the evidence for every choice below: each was run through
Zotero's importer, the classic BibTeX styles, biblatex, pandoc, citeproc-py, citation-js and
Better BibTeX's parser.

The entry type says where the paper is published (`entry_type`):

    @techreport    a preprint: the one type in which every consumer finds the arXiv identifier
                   (`type` Preprint, `institution` arXiv, `number` arXiv:ID — classic styles
                   print "Preprint arXiv:2205.14459, arXiv"; Zotero: Report Number)
    @inproceedings a paper Semantic Scholar or dblp confirm as published at a conference
                   (`booktitle`) }  the arXiv identifier is printed from `note`
    @article       … in a journal (`journal`, `volume`, `pages`)       }  ("arXiv:2205.14459")
    @misc          an entry with no author left (classic styles warn about an authorless
                   report or article, not about a misc); the identifier in `note` too

The fields, and why:

    title          arXiv's title as text (TeX converted, enrich.text.tex); acronyms, mixed-case
                   words and listed proper nouns braced one by one (enrich.text.terms)
    author         `von Last, Jr., First and …`; organisations braced (render.names); every
                   name, never shortened ("and others" only when the source said "et al.")
    key            the citation key, only when no author is left: BibTeX styles sort and label
                   by it (biber ignores it silently)
    options        `useprefix=true`: "van Dijk" is cited, sorted and read (pandoc: a
                   non-dropping particle) as references.json has it; `eprint=false`: biblatex
                   prints the identifier once, from `number` or `note`, not again from `eprint`
    type, institution, number   (preprints) see above
    booktitle, journal          (published) the venue; a booktitle's capitalised words braced
                                one by one (pandoc and Better BibTeX sentence-case booktitles)
    shortjournal   (journals) the venue's short name, when known
    volume, pages  (journals) when known
    year, month    for classic BibTeX; month as the macro (`may`). A preprint's are arXiv v1's;
    date           a published paper's are the venue's (month and date only when the source
                   gives a date). `date` (ISO) for biblatex/biber, pandoc and Zotero, after
                   year/month because Zotero's importer keeps the last date field it reads
    eprint         arXiv ID without version   } biblatex's own eprint fields: Zotero writes
    eprinttype     `arxiv`                    } "arXiv: ID" in Extra from them, pandoc and
    eprintclass    primary category           } JabRef link the paper
    version        arXiv version the metadata was read from (preprints: biblatex has no
                   `version` for an article or inproceedings, whose version is the venue's)
    doi            the publisher DOI (of the published version, else the one arXiv reports),
                   else 10.48550/arXiv.<id>; bare
    url            the arXiv abstract page, always
    note           "Withdrawn (arXiv v3)", the identifier ("arXiv:2205.14459") where `number`
                   does not hold it, "Journal reference: …" (arXiv's journal_ref, for papers
                   with no confirmed venue) and "Source code: <url>, …": printed by every style
    annote         the arXiv comment ("19 pages, 13 tables"): kept by managers, printed by no
                   standard style
    keywords       the digest categories the paper appeared under
    abstract       the arXiv abstract as text

Semantic Scholar's citation count is not written: it changes from run to run (the reference
files would too), and no BibTeX or CSL field holds it (papers.jsonl has it, with its date).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterable, Sequence
from typing import Literal

from bibtexparser.entrypoint import write_string
from bibtexparser.library import Library
from bibtexparser.model import Block, Entry, Field
from bibtexparser.writer import BibtexFormat

from enrich.render.citekeys import keyed_papers
from enrich.render.model import Paper
from enrich.render.names import bibtex_names, has_names
from enrich.text.identifiers import base_id, year_of
from enrich.text.latex import (
    ENCODINGS,
    Encoding,
    brace_balanced,
    encode_plain,
    title_to_latex,
)
from enrich.text.terms import ProtectedTerms, name_spans, protected_spans
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
    """The publisher DOI: the published version's, else the one arXiv reports, else the arXiv
    DOI (10.48550/arXiv.<id>)."""
    published = paper.published_version.doi if paper.published_version is not None else None
    return bare_doi(published) or bare_doi(paper.doi) or f"10.48550/arXiv.{identifier}"


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


PREPRINT_TYPE = "techreport"
ENTRY_OPTIONS = "useprefix=true,eprint=false"


def published_kind(paper: Paper) -> Literal["conference", "journal"] | None:
    """`conference` or `journal` when a published version with a venue is confirmed: the
    entry then takes the published form. Venues of any other kind keep the preprint form."""
    version = paper.published_version
    if version is None or not version.venue.strip() or version.kind == "other":
        return None
    return version.kind


def entry_type(paper: Paper) -> str:
    """The BibTeX entry type (the module's docstring says why)."""
    if not has_names(paper.authors):
        return "misc"
    return {"conference": "inproceedings", "journal": "article"}.get(
        published_kind(paper) or "", PREPRINT_TYPE)


def note_parts(paper: Paper) -> list[str]:
    """What the `note` says, in order: that the paper is withdrawn (first, where every style
    prints the note), the arXiv identifier when the entry type has no `number` for it, arXiv's
    journal reference when no venue is confirmed, then the code repositories."""
    parts = []
    if paper.withdrawn:
        version = f" v{paper.arxiv_version}" if paper.arxiv_version else ""
        parts.append(f"Withdrawn (arXiv{version})")
    identifier = arxiv_id(paper)
    if identifier and entry_type(paper) != PREPRINT_TYPE:
        parts.append(f"arXiv:{identifier}")
    if published_kind(paper) is None and (journal := tex_to_text(paper.journal_ref or "")):
        parts.append(f"Journal reference: {journal.rstrip('.')}")
    if urls := code_urls(paper):
        parts.append(code_note(urls))
    return parts


def note(paper: Paper) -> str | None:
    """The `note`, as text: `note_parts` as sentences."""
    return ". ".join(note_parts(paper)) or None


def arxiv_version(paper: Paper) -> str | None:
    """The arXiv version read, for a preprint (and a misc); a published paper's version is the
    venue's, and biblatex's data model has no `version` for an article or inproceedings."""
    if not paper.arxiv_version or entry_type(paper) not in (PREPRINT_TYPE, "misc"):
        return None
    return str(paper.arxiv_version)


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


_PAGE_RANGE = re.compile(r"(?<=\d)\s*[-\u2010-\u2015]+\s*(?=\d)")


def page_range(pages: str, dash: str) -> str:
    """Pages with the range written with `dash` (`--` in BibTeX, `-` in CSL)."""
    return _PAGE_RANGE.sub(dash, " ".join(pages.split()))


def publication_fields(paper: Paper, identifier: str) -> list[tuple[str, str]]:
    """Where the paper is published, in the fields its entry type prints: for a preprint the
    repository and the identifier ("Preprint arXiv:2205.14459, arXiv"); for a published paper
    the venue, and a journal's short name, volume and pages."""
    kind = entry_type(paper)
    version = paper.published_version
    if kind == PREPRINT_TYPE:
        return [("type", "Preprint"), ("institution", "arXiv"), ("number", f"arXiv:{identifier}")]
    if published_kind(paper) is None or version is None:
        return [("howpublished", "arXiv")]  # an authorless preprint: @misc
    venue = " ".join(version.venue.split())
    if kind in ("misc", "inproceedings"):  # fields pandoc and Better BibTeX sentence-case
        return [("howpublished" if kind == "misc" else "booktitle",
                 title_to_latex(venue, name_spans(venue)))]
    fields = [("journal", encode_plain(venue))]
    if version.venue_short and version.venue_short.strip():
        fields.append(("shortjournal", encode_plain(version.venue_short.strip())))
    if version.volume and version.volume.strip():
        fields.append(("volume", encode_plain(version.volume.strip())))
    if version.pages and version.pages.strip():
        fields.append(("pages", encode_plain(page_range(version.pages, "--"))))
    return fields


def issued(paper: Paper, identifier: str) -> tuple[int | None, dt.date | None]:
    """(year, full date or None) the reference gives: the published version's when the entry
    takes the published form (its date only when the source gives one: arXiv v1's month is
    not the venue's), else arXiv v1's."""
    version = paper.published_version
    if published_kind(paper) is not None and version is not None:
        year = version.year or (version.date.year if version.date else None)
        if year is not None:
            return year, version.date if version.date and version.date.year == year else None
        if paper.published is not None:  # a venue without a year: v1's year, no month
            return paper.published.year, None
    if paper.published is not None:
        return paper.published.year, paper.published.date()
    return year_of(identifier), None


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
    year, date = issued(paper, identifier)
    if year is not None:
        add("year", f"{year:04d}")
    if date is not None:
        fields.append(Field("month", MONTHS[date.month - 1], enclosing="no-enclosing"))
        add("date", date.isoformat())
    add("eprint", identifier)
    add("eprinttype", "arxiv")
    category = (paper.primary_category or "").strip()
    add("eprintclass", category if _CATEGORY.match(category) else None)
    add("version", arxiv_version(paper))
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
    fmt.value_column = 15  # `shortjournal = ` is the longest field name we write
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

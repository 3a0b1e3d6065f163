"""Deciding a preprint's published version from Semantic Scholar and dblp answers (pure).

A published version is believed only when the record it comes from *is* the arXiv paper, by
the rules every other source of identifiers passes (`enrich.resolve.matching`):

* the titles agree (high similarity, no significant word unexplained either way);
* the authors agree: at least one shared author (same surname, compatible initial), and at
  least half of the shorter author list shared — S2 sometimes merges another paper's record
  under an arXiv ID, and dblp lists the same title by other people;
* the venue is a venue: arXiv, CoRR (dblp's arXiv copies) and other preprint servers are not;
* its year is not before the preprint's (a year of slack for papers posted late).

Semantic Scholar is asked first, for every paper in batches; dblp only for papers S2 gave no
usable venue for (absent, rejected, or preprint-only). When dblp shows several different
venues that all pass, none is chosen: a wrong venue in a bibliography is worse than none.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from enrich.published.model import (
    DblpHit,
    DblpRecord,
    PublishedVersion,
    S2Paper,
    S2Record,
    SourceLookup,
    VenueKind,
)
from enrich.resolve.matching import shared_authors, titles_agree
from enrich.resolve.model import ArxivPaper
from enrich.text.normalise import significant_tokens

# Preprint servers and arXiv's own names: never a published version.
PREPRINT_VENUES = frozenset({
    "arxiv", "arxiv.org", "corr", "computing research repository", "biorxiv", "medrxiv",
    "ssrn", "ssrn electronic journal", "research square", "techrxiv", "openreview.net",
    "preprints", "preprint",
})
AUTHORS_AGREE = 0.5
# Title words in a dblp query (prefix-matched, ANDed): enough to be selective, few enough
# that a word written differently (a hyphen, a plural) rarely hides the paper.
DBLP_QUERY_WORDS = 6
YEAR_SLACK = 1
# A DOI we can pass on: `10.<registrant>/<suffix>`, printable ASCII, no BibTeX specials.
_DOI = re.compile(r"^10\.\d{4,9}/[\x21-\x7e]+$")
_DOI_UNSAFE = re.compile(r"[{}\\%#\"\s]")
_ARXIV_DOI = re.compile(r"^10\.48550/arxiv\.", re.IGNORECASE)
# A short venue name: one token, two capitals at least (CVPR, NeurIPS, TPAMI, ICASSP).
_SHORT = re.compile(r"^[A-Za-z][A-Za-z0-9&'+-]{1,14}$")
_CORR_KEY = re.compile(r"^journals/corr/", re.IGNORECASE)
_DBLP_TYPES: dict[str, VenueKind] = {
    "conference and workshop papers": "conference",
    "journal articles": "journal",
    "parts in books or collections": "other",
}


@dataclass(frozen=True)
class Decision:
    """A paper's published version (or None), its citation count, and each source's say."""

    version: PublishedVersion | None
    citation_count: int | None
    citation_read_at: dt.datetime | None
    lookups: tuple[SourceLookup, ...]


# --------------------------------------------------------------------------------------------
# Small rules


def is_preprint_venue(name: str | None) -> bool:
    """Whether a venue name names arXiv or another preprint server (or nothing)."""
    if not name or not name.strip():
        return True
    return " ".join(name.lower().split()) in PREPRINT_VENUES


def publisher_doi(doi: str | None) -> str | None:
    """A usable publisher DOI (lower-cased prefix kept as given), never arXiv's DataCite DOI."""
    if not doi:
        return None
    doi = doi.strip()
    if not _DOI.match(doi) or _DOI_UNSAFE.search(doi) or _ARXIV_DOI.match(doi):
        return None
    return doi


def short_name(*names: str | None) -> str | None:
    """The first name that looks like a venue's short name (CVPR, NeurIPS), else None."""
    for name in names:
        if name and _SHORT.match(name) and sum(c.isupper() for c in name) >= 2:
            return name
    return None


def same_paper(arxiv: ArxivPaper, title: str, authors: Sequence[str]) -> str | None:
    """Why a record with this title and these authors is not the arXiv paper, or None."""
    if not titles_agree(arxiv.title, title):
        return "title differs"
    shared = shared_authors(arxiv.authors, authors)
    if shared == 0:
        return "no author in common"
    shorter = min(len(arxiv.authors), len(authors)) or 1
    if shared / shorter < AUTHORS_AGREE:
        return "few authors in common"
    return None


def _plausible_year(arxiv: ArxivPaper, year: int | None) -> bool:
    return year is None or year >= arxiv.published.year - YEAR_SLACK


# --------------------------------------------------------------------------------------------
# Semantic Scholar


def _s2_kind(paper: S2Paper) -> VenueKind:
    kind = (paper.venue_type or "").lower()
    if kind in ("conference", "journal"):
        return "conference" if kind == "conference" else "journal"
    types = {t.lower() for t in paper.publication_types}
    if "conference" in types:
        return "conference"
    if "journalarticle" in types or (paper.journal_name
                                     and not is_preprint_venue(paper.journal_name)):
        return "journal"
    return "other"


def from_s2(arxiv: ArxivPaper, paper: S2Paper) -> tuple[PublishedVersion | None, str | None]:
    """(published version, why not) from a Semantic Scholar record of the arXiv paper.

    Why-not starting with "rejected:" means the record is another paper (nothing of it is
    used, not even its citation count); other reasons mean it is the paper, unpublished.
    """
    if paper.arxiv_id is not None and paper.arxiv_id != arxiv.arxiv_id:
        return None, f"rejected: the record is arXiv:{paper.arxiv_id}"
    why = same_paper(arxiv, paper.title, paper.authors)
    if why is not None:
        return None, f"rejected: {why}"
    venue = next((v for v in (paper.venue_name, paper.venue, paper.journal_name)
                  if not is_preprint_venue(v)), None)
    if venue is None:
        return None, "no venue besides arXiv"
    year = paper.year or (paper.publication_date.year if paper.publication_date else None)
    if not _plausible_year(arxiv, year):
        return None, f"rejected: published {year}, before the preprint"
    journal = paper.journal_name if not is_preprint_venue(paper.journal_name) else None
    version = PublishedVersion(
        venue=" ".join(venue.split()),
        venue_short=short_name(*paper.venue_alternates, paper.venue),
        kind=_s2_kind(paper), year=year, date=paper.publication_date,
        doi=publisher_doi(paper.doi),
        dblp_key=paper.dblp_key if paper.dblp_key and not _CORR_KEY.match(paper.dblp_key)
        else None,
        volume=_clean(paper.journal_volume) if journal else None,
        pages=_clean(paper.journal_pages) if journal else None,
        source="semantic_scholar")
    return version, None


def wants_dblp(arxiv: ArxivPaper, record: S2Record | None) -> bool:
    """Whether dblp should be asked: S2 answered, and gave no venue for this paper."""
    if record is None or record.outcome in ("error", "deferred"):
        return False  # S2's answer is still to come: ask it first
    if record.outcome == "absent" or record.paper is None:
        return True
    version, _ = from_s2(arxiv, record.paper)
    return version is None


# --------------------------------------------------------------------------------------------
# dblp


def dblp_query(title: str) -> str:
    """What to ask dblp for a title: its most distinctive words, plain, in title order."""
    return " ".join(significant_tokens(title, DBLP_QUERY_WORDS))


def from_dblp(arxiv: ArxivPaper, hits: Sequence[DblpHit]) -> tuple[PublishedVersion | None, str]:
    """(published version, what was seen) from a dblp search for the arXiv paper."""
    passing: list[DblpHit] = []
    corr = others = 0
    for hit in hits:
        kind = _DBLP_TYPES.get((hit.type or "").lower())
        if kind is None or is_preprint_venue(hit.venue) or _CORR_KEY.match(hit.key):
            corr += titles_agree(arxiv.title, hit.title)
            continue
        if same_paper(arxiv, hit.title, hit.authors) is not None:
            others += titles_agree(arxiv.title, hit.title)
            continue
        if not _plausible_year(arxiv, hit.year):
            continue
        passing.append(hit)
    venues = {(" ".join((h.venue or "").lower().split()), h.year) for h in passing}
    if len(venues) > 1:
        return None, "several venues agree: " + ", ".join(
            sorted(f"{h.venue} {h.year}" for h in passing))
    if not passing:
        seen = []
        if corr:
            seen.append("only the CoRR (arXiv) record")
        if others:
            seen.append(f"{others} record(s) of the same title by other authors")
        return None, "; ".join(seen) or "no matching record"
    hit = passing[0]
    kind = _DBLP_TYPES[(hit.type or "").lower()]
    venue = " ".join((hit.venue or "").split())
    return PublishedVersion(
        venue=venue, venue_short=short_name(venue), kind=kind, year=hit.year,
        doi=publisher_doi(hit.doi), dblp_key=hit.key,
        volume=_clean(hit.volume) if kind == "journal" else None, pages=_clean(hit.pages),
        source="dblp"), "found"


# --------------------------------------------------------------------------------------------
# Together


def decide(arxiv: ArxivPaper, s2: S2Record | None, dblp: DblpRecord | None) -> Decision:
    """The paper's published version from what the state holds (S2 first, then dblp)."""
    lookups: list[SourceLookup] = []
    version: PublishedVersion | None = None
    citations: int | None = None
    read_at: dt.datetime | None = None
    if s2 is not None:
        if s2.outcome in ("error", "deferred"):
            lookups.append(SourceLookup(service="semantic_scholar", status=s2.outcome,
                                        read_at=s2.read_at, note=s2.error))
        elif s2.outcome == "absent" or s2.paper is None:
            lookups.append(SourceLookup(service="semantic_scholar", status="absent",
                                        read_at=s2.read_at))
        else:
            version, why = from_s2(arxiv, s2.paper)
            if why is not None and why.startswith("rejected"):
                lookups.append(SourceLookup(service="semantic_scholar", status="rejected",
                                            read_at=s2.read_at,
                                            note=why.removeprefix("rejected: ")))
            else:
                citations, read_at = s2.paper.citation_count, s2.read_at
                if citations is None:
                    read_at = None
                lookups.append(SourceLookup(service="semantic_scholar",
                                            status="found" if version else "none",
                                            read_at=s2.read_at, note=why))
    if version is None and dblp is not None and wants_dblp(arxiv, s2):
        if dblp.outcome in ("error", "deferred"):
            lookups.append(SourceLookup(service="dblp", status=dblp.outcome,
                                        read_at=dblp.read_at, note=dblp.error))
        else:
            version, seen = from_dblp(arxiv, dblp.hits)
            lookups.append(SourceLookup(service="dblp", status="found" if version else "none",
                                        read_at=dblp.read_at,
                                        note=None if version else seen))
    return Decision(version=version, citation_count=citations, citation_read_at=read_at,
                    lookups=tuple(lookups))


def _clean(value: str | None) -> str | None:
    text = " ".join((value or "").split())
    return text or None

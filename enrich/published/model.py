"""What Semantic Scholar and dblp say about a paper, and the published version we confirm."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field

from enrich.record import Record

# The entry type a published version calls for: `@inproceedings`, `@article`, or neither.
VenueKind = Literal["conference", "journal", "other"]
PublishedSource = Literal["semantic_scholar", "dblp"]
# What one service's answer meant for one paper.
LookupStatus = Literal["found", "none", "rejected", "absent", "error", "deferred"]
Service = Literal["huggingface", "semantic_scholar", "dblp"]


class PublishedVersion(Record):
    """The version of record of a preprint, confirmed by title and authors."""

    venue: str = Field(description="Venue as the source names it (journal or proceedings).")
    venue_short: str | None = Field(default=None, description="Short name, e.g. CVPR.")
    kind: VenueKind = Field(description="conference → @inproceedings, journal → @article.")
    year: int | None = None
    date: dt.date | None = Field(default=None, description="Publication date, when known.")
    doi: str | None = Field(default=None, description="Publisher DOI (never arXiv's).")
    dblp_key: str | None = None
    volume: str | None = None
    pages: str | None = None
    source: PublishedSource


class S2Paper(Record):
    """The fields of a Semantic Scholar paper we use, validated."""

    paper_id: str
    title: str
    authors: tuple[str, ...]
    venue: str | None = None
    venue_name: str | None = Field(default=None, description="publicationVenue.name")
    venue_type: str | None = Field(default=None, description="publicationVenue.type")
    venue_alternates: tuple[str, ...] = ()
    year: int | None = None
    publication_date: dt.date | None = None
    journal_name: str | None = None
    journal_volume: str | None = None
    journal_pages: str | None = None
    publication_types: tuple[str, ...] = ()
    arxiv_id: str | None = None
    doi: str | None = None
    dblp_key: str | None = None
    citation_count: int | None = None


class S2Record(Record):
    """Semantic Scholar's answer about one arXiv paper: its record, or `null` (absent)."""

    arxiv_id: str
    outcome: Literal["found", "absent", "error", "deferred"]
    paper: S2Paper | None = None
    read_at: dt.datetime | None = Field(default=None, description="S2's Date header.")
    error: str | None = None


class DblpHit(Record):
    """One publication of a dblp search answer."""

    key: str
    title: str = Field(description="dblp's title, without its final period.")
    authors: tuple[str, ...] = Field(description="Names without homonym numbers (0001).")
    venue: str | None = None
    year: int | None = None
    type: str | None = None
    doi: str | None = None
    volume: str | None = None
    pages: str | None = None


class DblpRecord(Record):
    """dblp's answer to the search for one arXiv paper."""

    arxiv_id: str
    outcome: Literal["searched", "error", "deferred"]
    query: str = ""
    hits: tuple[DblpHit, ...] = ()
    read_at: dt.datetime | None = None
    error: str | None = None


class SourceLookup(Record):
    """What one service contributed to a paper, and whether to ask again."""

    service: Service
    status: LookupStatus = Field(description="found: used; none: nothing to use; rejected: "
                                             "its record is another paper; absent: unknown to "
                                             "the service; error/deferred: asked again later.")
    read_at: dt.datetime | None = None
    note: str | None = Field(default=None, description="Why rejected, or what failed.")

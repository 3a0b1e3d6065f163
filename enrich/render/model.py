"""The output records: one `Paper` per distinct paper, and each digest's view of its entries."""

from __future__ import annotations

import datetime as dt

from pydantic import Field

from enrich.digest.model import DigestForm, Entry, Problem
from enrich.published.model import PublishedVersion, SourceLookup
from enrich.record import Record
from enrich.repos.model import CodeLink, Repo
from enrich.resolve.model import ArxivMatch, MatchStatus


class DigestRef(Record):
    """Where a paper appeared."""

    file: str
    index: int
    date: dt.date | None
    category: str | None


class Paper(Record):
    """One distinct paper, the unit of papers.jsonl and references.bib."""

    key: str = Field(description="arxiv:<id> when resolved, else title:<normalised title>.")
    arxiv_id: str | None
    arxiv_version: int | None
    title: str
    authors: tuple[str, ...]
    abstract: str
    published: dt.datetime | None
    updated: dt.datetime | None
    primary_category: str | None
    categories: tuple[str, ...]
    doi: str | None = Field(description="Publisher DOI, or null.")
    arxiv_doi: str | None
    journal_ref: str | None
    comment: str | None
    abs_url: str | None
    pdf_url: str | None
    digest_title: str = Field(description="The title as the digest printed it.")
    digest_authors: tuple[str, ...]
    match: ArxivMatch
    links: tuple[CodeLink, ...] = ()
    repos: tuple[Repo, ...] = ()
    citekey: str | None = None
    digests: tuple[DigestRef, ...] = ()
    withdrawn: bool = Field(default=False,
                            description="arXiv's latest version withdraws the paper.")
    published_version: PublishedVersion | None = Field(
        default=None, description="The version of record (venue, year, publisher DOI), when "
                                  "Semantic Scholar or dblp confirm one by title and authors. "
                                  "`published` stays arXiv's v1 date.")
    citation_count: int | None = Field(
        default=None, description="Semantic Scholar's citation count, when its record is "
                                  "this paper.")
    citation_count_read_at: dt.datetime | None = Field(
        default=None, description="When the citation count was read (S2's Date header).")
    lookups: tuple[SourceLookup, ...] = Field(
        default=(), description="What Hugging Face, Semantic Scholar and dblp said; `error` "
                                "and `deferred` are asked again on the next run.")


class DigestViewEntry(Entry):
    """An entry of `digests/<stem>.json`: the digest's text and the paper it points at."""

    paper: str = Field(description="Key of the paper in papers.jsonl.")
    status: MatchStatus
    arxiv_id: str | None = None
    citekey: str | None = None
    notes: tuple[str, ...] = Field(default=(), description="What the lookup found worth saying, "
                                                           "e.g. the digest's link names another "
                                                           "paper.")


class DigestView(Record):
    """`digests/<stem>.json`: one digest's entries in order, or why it could not be read."""

    file: str
    category: str | None = None
    date: dt.date | None = None
    form: DigestForm | None = None
    problems: tuple[Problem, ...] = ()
    error: Problem | None = None
    entries: tuple[DigestViewEntry, ...] = ()

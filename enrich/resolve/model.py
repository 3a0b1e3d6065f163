"""What arXiv resolution asks and answers: the entry's query, arXiv's papers, the verdict."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from pydantic import Field

from enrich.record import Record

MatchStatus = Literal["matched", "ambiguous", "not_found", "error"]
MatchMethod = Literal["id-hint", "title-batch", "title-fallback", "author-window"]


@dataclass(frozen=True)
class EntryQuery:
    """What the digest tells us about one paper."""

    title: str
    authors: tuple[str, ...] = ()
    abstract: str = ""
    date: dt.date | None = None
    arxiv_id_hint: str | None = None


class ArxivPaper(Record):
    """Today's arXiv metadata of one paper (its latest version)."""

    arxiv_id: str = Field(description="Identifier without version, e.g. 2205.14459.")
    version: int
    title: str
    authors: tuple[str, ...]
    abstract: str = ""
    published: dt.datetime = Field(description="When v1 appeared (UTC).")
    updated: dt.datetime = Field(description="When the latest version appeared (UTC).")
    primary_category: str | None = None
    categories: tuple[str, ...] = ()
    doi: str | None = Field(default=None, description="Publisher DOI, when authors gave one.")
    journal_ref: str | None = None
    comment: str | None = None
    withdrawn: bool = Field(default=False,
                            description="The latest version withdraws the paper.")

    @property
    def arxiv_doi(self) -> str:
        return f"10.48550/arXiv.{self.arxiv_id}"

    @property
    def abs_url(self) -> str:
        return f"https://arxiv.org/abs/{self.arxiv_id}"

    @property
    def pdf_url(self) -> str:
        return f"https://arxiv.org/pdf/{self.arxiv_id}v{self.version}"


class Candidate(Record):
    """A paper arXiv returned for an entry, with how well it fits."""

    arxiv_id: str
    title: str
    score: float
    title_similarity: float
    shared_authors: int
    rejected: str | None = Field(default=None, description="Why it cannot be the paper.")


class ArxivMatch(Record):
    """The verdict for one entry: which arXiv paper it is, or why we cannot say."""

    status: MatchStatus
    method: MatchMethod | None = None
    score: float | None = None
    candidates: tuple[Candidate, ...] = ()
    error: str | None = Field(default=None, description="For status `error`: what went wrong.")
    notes: tuple[str, ...] = Field(
        default=(), description="What the user should know, e.g. a digest link naming another "
                                "paper.")
    paper: ArxivPaper | None = None

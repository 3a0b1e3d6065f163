"""Immutable records that flow through the pipeline, and their JSON form.

All records are frozen pydantic models: they validate what comes in from files and services,
serialise deterministically (`to_json`) and give the JSON Schema that `schema/` publishes.
Sequences are tuples, datetimes are UTC.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

MatchStatus = Literal["matched", "ambiguous", "not_found", "error"]
MatchMethod = Literal["id-hint", "title-batch", "title-fallback", "author-window"]
LinkKind = Literal["github", "github_pages", "gitlab", "huggingface", "bitbucket"]
LinkSource = Literal["digest", "arxiv"]
RepoStatus = Literal["ok", "missing", "unavailable", "deferred", "error"]
DigestForm = Literal["text", "markdown"]


class Record(BaseModel):
    """Base of every record: immutable, strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def to_json(value: Any, *, indent: int | None = 2) -> str:
    """Serialise records (or plain data holding records) with sorted keys and a final newline."""
    return json.dumps(to_plain(value), ensure_ascii=False, sort_keys=True, indent=indent) + "\n"


def to_plain(value: Any) -> Any:
    """Turn records and containers of records into JSON-ready Python values."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    return value


# --------------------------------------------------------------------------------------------
# Digests


class Entry(Record):
    """One paper as a digest lists it."""

    index: int = Field(description="Position of the entry in its digest, from 0.")
    line: int = Field(description="1-based line of the entry's title in the source file.")
    date: dt.date | None = Field(default=None, description="The `更新` section the entry sits in.")
    title: str
    authors: tuple[str, ...] = ()
    abstract: str = ""
    comment: str | None = Field(default=None, description="arXiv comment from the PDF line.")
    code_urls: tuple[str, ...] = Field(default=(), description="Code links in abstract/comment.")
    arxiv_id_hint: str | None = Field(default=None, description="arXiv ID the text carries.")


class Problem(Record):
    """A problem with one digest, kept as data beside what could be read."""

    kind: str
    file: str
    line: int | None = None
    message: str


class Digest(Record):
    """A parsed digest file."""

    file: str = Field(description="The digest's file name.")
    category: str | None = None
    date: dt.date | None = Field(default=None, description="Date of the first `更新` section.")
    form: DigestForm = "text"
    entries: tuple[Entry, ...] = ()
    problems: tuple[Problem, ...] = Field(
        default=(), description="Recoverable problems; the entries above are still good."
    )


# --------------------------------------------------------------------------------------------
# arXiv


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
    paper: ArxivPaper | None = None


# --------------------------------------------------------------------------------------------
# Code


class CodeLink(Record):
    """A code link found in a digest or on arXiv."""

    url: str
    kind: LinkKind
    repo: str | None = Field(default=None, description="owner/name for GitHub repositories.")
    source: LinkSource


class Repo(Record):
    """Facts about one GitHub repository, with the time they were read."""

    full_name: str = Field(description="owner/name today (after renames).")
    requested: str = Field(description="owner/name as the link gave it.")
    url: str
    status: RepoStatus
    stars: int | None = None
    forks: int | None = None
    license: str | None = None
    language: str | None = None
    pushed_at: dt.datetime | None = None
    archived: bool | None = None
    fetched_at: dt.datetime | None = Field(
        default=None, description="When the counts were read."
    )
    checked_at: dt.datetime | None = Field(
        default=None, description="When GitHub last confirmed these facts (a 200 or a 304)."
    )
    source: LinkSource = "digest"


# --------------------------------------------------------------------------------------------
# Output records


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


class DigestViewEntry(Entry):
    """An entry of `digests/<stem>.json`: the digest's text and the paper it points at."""

    paper: str = Field(description="Key of the paper in papers.jsonl.")
    status: MatchStatus
    arxiv_id: str | None = None
    citekey: str | None = None


class DigestView(Record):
    """`digests/<stem>.json`: one digest's entries in order, or why it could not be read."""

    file: str
    category: str | None = None
    date: dt.date | None = None
    form: DigestForm | None = None
    problems: tuple[Problem, ...] = ()
    error: Problem | None = None
    entries: tuple[DigestViewEntry, ...] = ()

"""What a digest says: its entries, and the problems found reading it."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field

from enrich.record import Record

DigestForm = Literal["text", "markdown"]


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

    @property
    def where(self) -> str:
        """`file:line`, or the file alone when the line is unknown."""
        return f"{self.file}:{self.line}" if self.line is not None else self.file


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


class ParseOutcome(Record):
    """One digest file: parsed, or the error that stopped it."""

    file: str
    digest: Digest | None = None
    error: Problem | None = None

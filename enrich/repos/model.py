"""Code links and the facts of the repositories they name."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from pydantic import Field

from enrich.record import Record

LinkKind = Literal["github", "github_pages", "gitlab", "huggingface", "bitbucket"]
LinkSource = Literal["digest", "arxiv"]
RepoStatus = Literal["ok", "missing", "unavailable", "deferred", "error"]
# What GitHub answered about one requested repository.
Outcome = Literal["ok", "not_modified", "missing", "unavailable"]


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
    error: str | None = Field(
        default=None, description="Why the repository is not `ok`: GitHub's words for a missing "
                                  "or blocked one, or what stopped the lookup.")


@dataclass(frozen=True)
class RepoFacts:
    """A repository as GitHub describes it today."""

    full_name: str
    html_url: str
    stars: int
    forks: int
    license: str | None
    language: str | None
    pushed_at: dt.datetime | None
    archived: bool
    fork: bool


@dataclass(frozen=True)
class RepoAnswer:
    """GitHub's answer about one requested `owner/name`.

    `etag` and `path` (the API path that answered, e.g. `/repos/new-owner/name` after a rename)
    are what a later conditional refresh needs; `date` is the server's `Date` header.
    """

    requested: str
    outcome: Outcome
    facts: RepoFacts | None = None
    etag: str | None = None
    date: dt.datetime | None = None
    path: str | None = None
    reason: str | None = None

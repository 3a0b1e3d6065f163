"""Code links and the facts of the repositories they name."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from pydantic import Field

from enrich.record import Record

LinkKind = Literal["github", "github_pages", "gitlab", "huggingface", "bitbucket", "website"]
# Where a link was found: the digest's text, arXiv's abstract or comment, or Hugging Face
# Papers (`githubRepo`, `projectPage`). A link found in several places keeps the first.
LinkSource = Literal["digest", "arxiv", "huggingface"]
RepoStatus = Literal["ok", "missing", "unavailable", "deferred", "error"]
# What GitHub answered about one requested repository.
Outcome = Literal["ok", "not_modified", "missing", "unavailable"]


class CodeLink(Record):
    """A code link found in a digest, on arXiv or on Hugging Face Papers.

    Kind `website` is a project page on a host that is no code host (only Hugging Face's
    `projectPage` gives those); it is kept for the record and never read as a repository.
    """

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


# What Hugging Face Papers said about one arXiv paper: `found` (indexed; links when known),
# `absent` (404: HF does not index the paper), or a failure to be retried (`error`,
# `deferred` when HF's rate-limit window was used up).
HfOutcome = Literal["found", "absent", "error", "deferred"]


class HfRecord(Record):
    """Hugging Face Papers' answer about one arXiv paper, as stored and rendered.

    HF's cached `githubStars` is deliberately not kept: stars are read from GitHub.
    """

    arxiv_id: str
    outcome: HfOutcome
    github_repo: str | None = Field(default=None, description="HF's `githubRepo`, as given.")
    project_page: str | None = Field(default=None, description="HF's `projectPage`, as given.")
    read_at: dt.datetime | None = Field(default=None,
                                        description="When HF answered (its Date header).")
    error: str | None = None

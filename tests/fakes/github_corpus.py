"""The GitHub fake's corpus: repositories with their public facts, renames, blocks and deletions.

`tests/fixtures/github_corpus.json` holds the data (see its `about`); this module loads it into
frozen records, checks it (unique ids and names, renames that do not collide) and renders the
two shapes GitHub serves: the REST repository document and the GraphQL `Repository` node.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "github_corpus.json"

# SPDX id → (GitHub's licence key, GitHub's licence name), as the licenses API spells them.
LICENSES: dict[str, tuple[str, str]] = {
    "MIT": ("mit", "MIT License"),
    "Apache-2.0": ("apache-2.0", "Apache License 2.0"),
    "BSD-3-Clause": ("bsd-3-clause", 'BSD 3-Clause "New" or "Revised" License'),
    "BSD-2-Clause": ("bsd-2-clause", 'BSD 2-Clause "Simplified" License'),
    "GPL-3.0": ("gpl-3.0", "GNU General Public License v3.0"),
    "CC-BY-NC-4.0": ("cc-by-nc-4.0",
                     "Creative Commons Attribution Non Commercial 4.0 International"),
    "NOASSERTION": ("other", "Other"),
}
BLOCKS = ("dmca", "tos")


@dataclass(frozen=True)
class FakeRepo:
    """One repository as the fake GitHub knows it (today's facts, under today's name)."""

    id: int
    full_name: str
    stars: int
    forks: int
    language: str | None = None
    license: str | None = None  # SPDX id, or None for no licence file
    description: str | None = None
    topics: tuple[str, ...] = ()
    open_issues: int = 0
    created_at: str = "2022-01-01T00:00:00Z"
    updated_at: str = "2024-01-01T00:00:00Z"
    pushed_at: str | None = "2024-01-01T00:00:00Z"
    archived: bool = False
    fork: bool = False
    default_branch: str = "main"
    homepage: str | None = None
    renamed_from: tuple[str, ...] = ()
    blocked: str | None = None  # "dmca" answers 451, "tos" answers 403
    seed: str | None = None
    note: str | None = None

    @property
    def owner(self) -> str:
        return self.full_name.split("/", 1)[0]

    @property
    def name(self) -> str:
        return self.full_name.split("/", 1)[1]

    def rest(self, api_url: str) -> dict[str, Any]:
        """`GET /repos/{owner}/{repo}` as GitHub shapes it (the fields clients use, and more)."""
        api = f"{api_url}/repos/{self.full_name}"
        owner_id = self.id // 7 + 1000
        licence = None
        if self.license is not None:
            key, name = LICENSES[self.license]
            licence = {"key": key, "name": name, "spdx_id": self.license,
                       "url": None if key == "other" else f"{api_url}/licenses/{key}",
                       "node_id": f"MDc6TGljZW5zZ{len(key)}"}
        return {
            "id": self.id,
            "node_id": f"R_kgDO{self.id:08d}",
            "name": self.name,
            "full_name": self.full_name,
            "private": False,
            "owner": {
                "login": self.owner, "id": owner_id, "node_id": f"U_kgDO{owner_id:08d}",
                "avatar_url": f"https://avatars.githubusercontent.com/u/{owner_id}?v=4",
                "url": f"{api_url}/users/{self.owner}",
                "html_url": f"https://github.com/{self.owner}", "type": "User",
                "site_admin": False,
            },
            "html_url": f"https://github.com/{self.full_name}",
            "description": self.description,
            "fork": self.fork,
            "url": api,
            "forks_url": f"{api}/forks",
            "git_url": f"git://github.com/{self.full_name}.git",
            "ssh_url": f"git@github.com:{self.full_name}.git",
            "clone_url": f"https://github.com/{self.full_name}.git",
            "homepage": self.homepage,
            "size": 1000 + self.id % 50000,
            "stargazers_count": self.stars,
            "watchers_count": self.stars,
            "language": self.language,
            "has_issues": True,
            "has_projects": True,
            "has_downloads": True,
            "has_wiki": True,
            "has_pages": False,
            "has_discussions": False,
            "forks_count": self.forks,
            "mirror_url": None,
            "archived": self.archived,
            "disabled": False,
            "open_issues_count": self.open_issues,
            "license": licence,
            "allow_forking": True,
            "is_template": False,
            "web_commit_signoff_required": False,
            "topics": list(self.topics),
            "visibility": "public",
            "forks": self.forks,
            "open_issues": self.open_issues,
            "watchers": self.stars,
            "default_branch": self.default_branch,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "pushed_at": self.pushed_at,
            "network_count": self.forks,
            "subscribers_count": max(1, self.stars // 20),
        }

    def graphql(self) -> dict[str, Any]:
        """Every `Repository` field the fake can answer (it returns the ones a query selects)."""
        licence = None
        if self.license is not None:
            key, name = LICENSES[self.license]
            licence = {"spdxId": self.license, "key": key, "name": name}
        return {
            "id": f"R_kgDO{self.id:08d}",
            "databaseId": self.id,
            "name": self.name,
            "nameWithOwner": self.full_name,
            "owner": {"login": self.owner},
            "url": f"https://github.com/{self.full_name}",
            "description": self.description,
            "homepageUrl": self.homepage,
            "stargazerCount": self.stars,
            "forkCount": self.forks,
            "licenseInfo": licence,
            "primaryLanguage": {"name": self.language} if self.language else None,
            "pushedAt": self.pushed_at,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "isArchived": self.archived,
            "isFork": self.fork,
            "isPrivate": False,
            "defaultBranchRef": {"name": self.default_branch},
        }


@dataclass(frozen=True)
class GitHubCorpus:
    """The repositories, and the names GitHub answers 404 for (deleted or private)."""

    repos: tuple[FakeRepo, ...]
    deleted: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check(self.repos, self.deleted)


def check(repos: Iterable[FakeRepo], deleted: Iterable[str]) -> None:
    """Raise ValueError for duplicate ids or names (case-insensitive, renames included)."""
    ids: set[int] = set()
    names: set[str] = set()
    for repo in repos:
        if repo.id in ids:
            raise ValueError(f"duplicate repository id {repo.id}")
        ids.add(repo.id)
        if repo.license is not None and repo.license not in LICENSES:
            raise ValueError(f"{repo.full_name}: unknown licence {repo.license!r}")
        if repo.blocked is not None and repo.blocked not in BLOCKS:
            raise ValueError(f"{repo.full_name}: blocked must be one of {BLOCKS}")
        for name in (repo.full_name, *repo.renamed_from):
            if name.count("/") != 1:
                raise ValueError(f"not an owner/name: {name!r}")
            if name.lower() in names:
                raise ValueError(f"name used twice: {name}")
            names.add(name.lower())
    for name in deleted:
        if name.lower() in names:
            raise ValueError(f"deleted name also exists: {name}")


def repo_from_json(raw: Mapping[str, Any]) -> FakeRepo:
    """One repository from its fixture form."""
    return FakeRepo(
        id=int(raw["id"]), full_name=raw["full_name"], stars=int(raw["stargazers_count"]),
        forks=int(raw["forks_count"]), language=raw.get("language"), license=raw.get("license"),
        description=raw.get("description"), topics=tuple(raw.get("topics") or ()),
        open_issues=int(raw.get("open_issues_count", 0)),
        created_at=raw.get("created_at", FakeRepo.created_at),
        updated_at=raw.get("updated_at", FakeRepo.updated_at),
        pushed_at=raw.get("pushed_at", FakeRepo.pushed_at),
        archived=bool(raw.get("archived", False)), fork=bool(raw.get("fork", False)),
        default_branch=raw.get("default_branch", "main"), homepage=raw.get("homepage"),
        renamed_from=tuple(raw.get("renamed_from") or ()), blocked=raw.get("blocked"),
        seed=raw.get("seed"), note=raw.get("note"),
    )


def load_corpus(path: Path | str | None = None) -> GitHubCorpus:
    """The fake's repositories (default: `tests/fixtures/github_corpus.json`)."""
    data = json.loads(Path(path or DEFAULT_CORPUS).read_text(encoding="utf-8"))
    return GitHubCorpus(repos=tuple(repo_from_json(r) for r in data["repos"]),
                        deleted=tuple(d["full_name"] for d in data.get("deleted", ())))


def synthetic_corpus(count: int, *, renamed_every: int = 0, deleted_every: int = 0,
                     blocked_every: int = 0, first_id: int = 800_000_000
                     ) -> tuple[GitHubCorpus, list[str]]:
    """A generated corpus of `count` linked repositories, and the names the links give.

    Every `renamed_every`-th is known under a newer name (its link uses the old one), every
    `deleted_every`-th (offset by one) is gone, every `blocked_every`-th (offset by two) is
    DMCA-blocked. Names and numbers are deterministic.
    """
    repos: list[FakeRepo] = []
    deleted: list[str] = []
    requested: list[str] = []
    for i in range(count):
        name = f"lab{i % 37:02d}-example/model-{i:04d}"
        requested.append(name)
        if deleted_every and i % deleted_every == 1:
            deleted.append(name)
            continue
        renamed = bool(renamed_every) and i % renamed_every == 0
        repos.append(FakeRepo(
            id=first_id + i, full_name=f"{name}-v2" if renamed else name,
            stars=(i * 7919) % 50_000, forks=(i * 31) % 900,
            language=("Python", "C++", "Jupyter Notebook", None)[i % 4],
            license=("MIT", "Apache-2.0", None, "BSD-3-Clause")[i % 4],
            pushed_at=f"2024-{i % 12 + 1:02d}-{i % 28 + 1:02d}T12:00:00Z",
            archived=i % 23 == 0, renamed_from=(name,) if renamed else (),
            blocked="dmca" if blocked_every and i % blocked_every == 2 else None,
        ))
    return GitHubCorpus(tuple(repos), tuple(deleted)), requested

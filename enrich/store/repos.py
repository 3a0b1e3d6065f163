"""GitHub facts of repositories, with what a conditional refresh needs (ETag, API path)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pydantic import ValidationError

from enrich.repos.model import Repo
from enrich.store.db import JSON, StateStore

NAMESPACE = "github"
_FORMAT = 1


@dataclass(frozen=True)
class StoredRepo:
    """A state record: facts (or a placeholder), the ETag, when we last asked, where."""

    repo: Repo
    etag: str | None
    checked: float | None  # our clock (epoch seconds) at the last answer; None: never answered
    path: str | None

    @classmethod
    def load(cls, value: JSON | None) -> StoredRepo | None:
        """The record, or None for a missing, older-format or unreadable one (asked again)."""
        if not value or value.get("format") != _FORMAT:
            return None
        try:
            repo = Repo.model_validate(value["repo"])
        except (KeyError, ValidationError):
            return None
        checked = value.get("checked")
        return cls(repo=repo, etag=_str_or_none(value.get("etag")),
                   checked=float(checked) if isinstance(checked, int | float) else None,
                   path=_str_or_none(value.get("path")))

    def dump(self) -> JSON:
        return {"format": _FORMAT, "repo": self.repo.model_dump(mode="json"), "etag": self.etag,
                "checked": self.checked, "path": self.path}

    @property
    def answered(self) -> bool:
        """Whether GitHub ever answered (placeholders for deferred/error lookups have not)."""
        return self.checked is not None

    def fresh(self, now: float, ttl: float) -> bool:
        return self.checked is not None and 0 <= now - self.checked < ttl


class RepoStore:
    """Repository records by lower-cased requested `owner/name` (namespace `github`)."""

    def __init__(self, db: StateStore) -> None:
        self._db = db

    def get_many(self, keys: Iterable[str]) -> dict[str, StoredRepo]:
        found: dict[str, StoredRepo] = {}
        for key, value in self._db.get_many(NAMESPACE, keys).items():
            stored = StoredRepo.load(value)
            if stored is not None:
                found[key] = stored
        return found

    def facts(self, names: Iterable[str]) -> dict[str, Repo]:
        """Stored facts of these repositories, keyed by lower-cased `owner/name`."""
        return {k: v.repo for k, v in self.get_many(n.lower() for n in names).items()}

    def put(self, key: str, stored: StoredRepo) -> None:
        self._db.put(NAMESPACE, key, stored.dump())

    def forget_all(self) -> None:
        """Drop every record (the next read asks GitHub for everything)."""
        for key, _ in list(self._db.items(NAMESPACE)):
            self._db.delete(NAMESPACE, key)


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None

"""arXiv verdicts of digest entries, by the entry's lookup fingerprint."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from enrich.resolve.model import ArxivMatch
from enrich.store.db import StateStore

NAMESPACE = "arxiv-entry"


@dataclass(frozen=True)
class StoredVerdict:
    """A verdict and when it was reached (epoch seconds)."""

    match: ArxivMatch
    checked_at: float


class VerdictStore:
    """Verdicts in namespace `arxiv-entry`: {"match": …, "checked_at": …, "title": …}."""

    def __init__(self, db: StateStore) -> None:
        self._db = db

    def get_many(self, fingerprints: Iterable[str]) -> dict[str, StoredVerdict]:
        return {fp: StoredVerdict(ArxivMatch.model_validate(value["match"]),
                                  float(value.get("checked_at", 0)))
                for fp, value in self._db.get_many(NAMESPACE, fingerprints).items()}

    def matches(self, fingerprints: Iterable[str]) -> dict[str, ArxivMatch]:
        """The stored verdicts alone."""
        return {fp: stored.match for fp, stored in self.get_many(fingerprints).items()}

    def put_many(self, verdicts: Mapping[str, tuple[ArxivMatch, str]], checked_at: float) -> None:
        """Record verdicts (each with the entry's title, for a human reading the state) in one
        transaction."""
        self._db.put_many(NAMESPACE, {
            fp: {"match": match.model_dump(mode="json"), "checked_at": checked_at, "title": title}
            for fp, (match, title) in verdicts.items()
        })

"""arXiv verdicts of digest entries, by the entry's lookup fingerprint."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from enrich.resolve.model import ArxivMatch, Candidate
from enrich.store.db import StateStore

NAMESPACE = "arxiv-entry"
PROGRESS_NAMESPACE = "arxiv-progress"


@dataclass(frozen=True)
class StoredVerdict:
    """A verdict and when it was reached (epoch seconds)."""

    match: ArxivMatch
    checked_at: float


@dataclass(frozen=True)
class Progress:
    """How far an open entry's lookup got: the phases finished, the candidates they saw."""

    done: tuple[str, ...]
    candidates: tuple[Candidate, ...]
    at: float
    notes: tuple[str, ...] = ()


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

    def progress(self, fingerprints: Iterable[str]) -> dict[str, Progress]:
        """Recorded progress of entries still open (namespace `arxiv-progress`)."""
        found: dict[str, Progress] = {}
        for fp, value in self._db.get_many(PROGRESS_NAMESPACE, fingerprints).items():
            found[fp] = Progress(
                done=tuple(str(d) for d in value.get("done", [])),
                candidates=tuple(Candidate.model_validate(c)
                                 for c in value.get("candidates", [])),
                at=float(value.get("at", 0)),
                notes=tuple(str(n) for n in value.get("notes", [])))
        return found

    def put_progress(self, progress: Mapping[str, Progress]) -> None:
        """Record progress of open entries in one transaction (after every batch)."""
        self._db.put_many(PROGRESS_NAMESPACE, {
            fp: {"done": list(p.done), "at": p.at, "notes": list(p.notes),
                 "candidates": [c.model_dump(mode="json") for c in p.candidates]}
            for fp, p in progress.items()
        })

    def forget_progress(self, fingerprints: Iterable[str]) -> None:
        self._db.delete_many(PROGRESS_NAMESPACE, fingerprints)

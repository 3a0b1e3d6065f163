"""The digests of an output directory: each file's parse outcome, as the run recorded it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from enrich.digest.model import ParseOutcome
from enrich.store.db import StateStore

NAMESPACE = "digest"


class DigestStore:
    """Parse outcomes by digest file name (namespace `digest`)."""

    def __init__(self, db: StateStore) -> None:
        self._db = db

    def record(self, outcomes: Sequence[ParseOutcome]) -> None:
        """Record parsed digests (or their errors) as part of the output, in one transaction."""
        self._db.put_many(NAMESPACE, {o.file: o.model_dump(mode="json") for o in outcomes})

    def outcomes(self, files: Iterable[str] | None = None) -> list[ParseOutcome]:
        """Recorded outcomes, sorted by file: all of them, or the named ones."""
        if files is None:
            rows = list(self._db.items(NAMESPACE))
        else:
            rows = sorted(self._db.get_many(NAMESPACE, files).items())
        return [ParseOutcome.model_validate(value) for _, value in rows]

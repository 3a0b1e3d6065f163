"""What each run recorded about itself (its summary), by run id: how a backfill's parent learns
what its partitions, run by other workers, saw."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from enrich.store.db import StateStore

NAMESPACE = "run"


class RunStore:
    """Run summaries as JSON, by run id (namespace `run`)."""

    def __init__(self, db: StateStore) -> None:
        self._db = db

    def record(self, run_id: str, summary: Mapping[str, Any]) -> None:
        self._db.put(NAMESPACE, run_id, dict(summary))

    def summaries(self, run_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        return self._db.get_many(NAMESPACE, run_ids)

"""Answers of a web service kept with the time they were asked, for reuse within a TTL.

Each namespace holds one validated record per key, as `{"format", "record", "checked"}`:
`checked` is our clock (epoch seconds) when the service answered, or None for a placeholder
left by a failed lookup (asked again on the next run). A failure never overwrites an answer:
the last good record stays until a newer answer replaces it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from pydantic import BaseModel, ValidationError

from enrich.store.db import StateStore

R = TypeVar("R", bound=BaseModel)


@dataclass(frozen=True)
class Stored(Generic[R]):
    """A record and when the service gave it (None: a placeholder, never answered)."""

    record: R
    checked: float | None

    @property
    def answered(self) -> bool:
        return self.checked is not None

    def fresh(self, now: float, ttl: float) -> bool:
        return self.checked is not None and 0 <= now - self.checked < ttl

    def age(self, now: float) -> float | None:
        return None if self.checked is None else now - self.checked


class TimedRecords(Generic[R]):
    """Records of one model in one namespace, by key."""

    format = 1

    def __init__(self, db: StateStore, namespace: str, model: type[R]) -> None:
        self._db = db
        self.namespace = namespace
        self._model = model

    def get_many(self, keys: Iterable[str]) -> dict[str, Stored[R]]:
        """Stored records of these keys; unreadable or older-format ones are left out."""
        found: dict[str, Stored[R]] = {}
        for key, value in self._db.get_many(self.namespace, keys).items():
            if value.get("format") != self.format:
                continue
            try:
                record = self._model.model_validate(value["record"])
            except (KeyError, ValidationError):
                continue
            checked = value.get("checked")
            found[key] = Stored(record, float(checked) if isinstance(checked, int | float)
                                else None)
        return found

    def records(self, keys: Iterable[str]) -> dict[str, R]:
        """The records alone."""
        return {k: v.record for k, v in self.get_many(keys).items()}

    def put_many(self, items: Mapping[str, Stored[R]]) -> None:
        """Record answers in one transaction."""
        self._db.put_many(self.namespace, {
            key: {"format": self.format, "record": stored.record.model_dump(mode="json"),
                  "checked": stored.checked}
            for key, stored in items.items()})

    def put_failures(self, items: Mapping[str, R]) -> None:
        """Record failed lookups as placeholders, except where an answer is stored."""
        answered = {k for k, v in self.get_many(items).items() if v.answered}
        self.put_many({k: Stored(r, None) for k, r in items.items() if k not in answered})

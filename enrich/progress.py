"""Progress of a run as it moves: a callable that steps call at their natural points.

    progress(stage, done, total, note)

`stage` names the step ("parse", "arxiv", "github", "render"; a new source picks its own short
name, e.g. "huggingface"), `done` and `total` count its units (digests, entries, repositories;
`total` is None while unknown), and `note` says what it is doing right now when that is worth
saying, above all a wait ("waiting 3.0 s: one arXiv request every 3 s"); an empty note clears
it. A step reports `done == total` when it finishes.

The core only calls it; `flows/` renders it (a progress bar on a terminal, plain lines
otherwise, the run logger on a worker). It must be cheap and may be called from any thread.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Protocol


class Progress(Protocol):
    """Told how a step is getting on; never raises, returns quickly, thread-safe."""

    def __call__(self, stage: str, done: int, total: int | None = None,
                 note: str = "") -> None: ...


def silent(stage: str, done: int, total: int | None = None, note: str = "") -> None:
    """The progress of a caller that does not want to hear it."""


class Tally:
    """Counts distinct finished items of one stage and reports each change (thread-safe).

    `seen` items count once however often they are reported, so a step may report an item
    again (a verdict recorded twice, a repository re-read after a rename) without the count
    running past the total.
    """

    def __init__(self, progress: Progress, stage: str, total: int | None) -> None:
        self.progress = progress
        self.stage = stage
        self.total = total
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    @property
    def done(self) -> int:
        return len(self._seen)

    def start(self, note: str = "") -> None:
        self.progress(self.stage, self.done, self.total, note)

    def add(self, keys: Iterable[str]) -> None:
        """These items (by key) are finished."""
        with self._lock:
            before = len(self._seen)
            self._seen.update(keys)
            done = len(self._seen) if self.total is None else min(len(self._seen), self.total)
            changed = done != before
        if changed:
            self.progress(self.stage, done, self.total)

    def note(self, text: str) -> None:
        """Say what the step is doing now (a wait), without changing the count."""
        self.progress(self.stage, min(self.done, self.total or self.done), self.total, text)

    def finish(self) -> None:
        """The step is over: everything it had to do is done (or settled as an error)."""
        total = self.total if self.total is not None else self.done
        self.progress(self.stage, total, total)

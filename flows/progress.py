"""Progress for people: `enrich.progress` rendered as a rich display, plain lines, or run logs.

The core reports `progress(stage, done, total, note)`; here it becomes

* `RichProgress` on a terminal: one line per stage with a bar, `done/total`, the current wait
  and the time taken (rich comes with Prefect);
* `LineProgress` when stderr is not a terminal (CI, cron, a pipe): plain lines, a few per
  stage — the first, the last, and one every few seconds in between — and every new kind of
  wait;
* `RunLogProgress` inside a flow run: the same lines in the run's own log, so the server's UI
  and a worker's terminal show them (fewer: every 10 s per stage).

The CLI installs its renderer for the process (`installed`); tasks ask `reporter()`, which
gives them that renderer and their run logger together. Stages the renderers do not know
(new sources) are shown by their own name.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from enrich.progress import Progress

if TYPE_CHECKING:
    from rich.console import Console

# stage → (label, unit)
STAGES: dict[str, tuple[str, str]] = {
    "prefect": ("Prefect", ""),
    "parse": ("parse", "digests"),
    "arxiv": ("arXiv", "entries"),
    "huggingface": ("Hugging Face", "papers"),
    "semantic-scholar": ("Semantic Scholar", "papers"),
    "dblp": ("dblp", "papers"),
    "github": ("GitHub", "repositories"),
    "render": ("write", "files"),
}


def label(stage: str) -> tuple[str, str]:
    return STAGES.get(stage, (stage, ""))


def describe(stage: str, done: int, total: int | None, note: str = "") -> str:
    """`arXiv: 8/14 entries — waiting 2.9 s: …` (the words of one progress report)."""
    name, _ = label(stage)
    return f"{name}: " + " — ".join(p for p in (_count(stage, done, total), note) if p)


def _count(stage: str, done: int, total: int | None) -> str:
    """`8/14 entries`; nothing for a stage without a unit (Prefect starting) or a total."""
    _, unit = label(stage)
    return "" if total is None or (not unit and stage in STAGES) else (
        f"{done}/{total}{' ' + unit if unit else ''}")


def _shape(note: str) -> str:
    """A note with its numbers blanked: two waits of the same kind have the same shape."""
    return re.sub(r"\d+(\.\d+)?", "#", note)


@dataclass
class _Seen:
    done: int = -1
    total: int | None = None
    at: float = float("-inf")
    note_shape: str = ""
    note_at: float = float("-inf")


class LineProgress:
    """Plain lines for a log (stderr that is not a terminal)."""

    def __init__(self, write: Callable[[str], None], *, every: float = 2.0,
                 clock: Callable[[], float] = time.monotonic, prefix: str = "digest-enrich: ",
                 timestamps: bool = True) -> None:
        self._write = write
        self._every = every
        self._clock = clock
        self._began = clock()
        self._prefix = prefix
        self._timestamps = timestamps
        self._seen: dict[str, _Seen] = {}
        self._lock = threading.Lock()

    def __call__(self, stage: str, done: int, total: int | None = None,
                 note: str = "") -> None:
        now = self._clock()
        with self._lock:
            seen = self._seen.setdefault(stage, _Seen())
            lines = []
            # A wait like the last one said (between every two arXiv requests, say) is said
            # again only after a while; a new kind of wait at once.
            if note and (_shape(note) != seen.note_shape
                         or now - seen.note_at >= 5 * self._every):
                seen.note_shape, seen.note_at = _shape(note), now
                lines.append(describe(stage, done, total, note))
            finished = total is not None and done >= total
            moved = (done, total) != (seen.done, seen.total)
            if moved and _count(stage, done, total) and not lines and (
                    seen.done < 0 or finished or now - seen.at >= self._every):
                lines.append(describe(stage, done, total))
            if lines:
                seen.at = now
            seen.done, seen.total = done, total
        for line in lines:
            stamp = f"{now - self._began:5.1f}s " if self._timestamps else ""
            self._write(f"{self._prefix}{stamp}{line}")


class RunLogProgress(LineProgress):
    """Progress lines in a flow run's own log (the UI, a worker's terminal)."""

    def __init__(self, logger: logging.Logger | logging.LoggerAdapter[logging.Logger], *,
                 every: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(logger.info, every=every, clock=clock, prefix="", timestamps=False)


class RichProgress:
    """A live display on a terminal: one bar per stage, its count, its current wait."""

    def __init__(self, console: Console) -> None:
        from rich.progress import (  # noqa: PLC0415 - only on a terminal
            BarColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self.display = Progress(
            SpinnerColumn(finished_text="[green]✓"),
            TextColumn("{task.description:<8}"),
            BarColumn(bar_width=24),
            TextColumn("{task.fields[count]}"),
            TimeElapsedColumn(),
            TextColumn("[dim]{task.fields[note]}"),
            console=console, transient=False, refresh_per_second=8)
        self._tasks: dict[str, int] = {}
        self._lock = threading.Lock()

    def __call__(self, stage: str, done: int, total: int | None = None,
                 note: str = "") -> None:
        name, _ = label(stage)
        count = _count(stage, done, total)
        with self._lock:
            task = self._tasks.get(stage)
            if task is None:
                task = self._tasks[stage] = self.display.add_task(
                    name, total=total, completed=0, count=count, note=note)
            # (rich marks a task finished only in an update that completes it)
            self.display.update(task, total=total, completed=done, count=count, note=note)
            if total is not None and done >= total:
                self.display.stop_task(task)

    def start(self) -> None:
        self.display.start()

    def stop(self) -> None:
        self.display.stop()


# -- the process's renderer, and what tasks use --------------------------------------------

_installed: Progress | None = None


@contextmanager
def installed(progress: Progress) -> Iterator[Progress]:
    """`progress` hears every step of the flows run by this process while the context lasts."""
    global _installed  # noqa: PLW0603 - one renderer per process, like its terminal
    before, _installed = _installed, progress
    try:
        yield progress
    finally:
        _installed = before


def reporter() -> Progress:
    """The progress of the current flow or task run: the process's renderer (if the CLI
    installed one) and the run's own log."""
    from prefect.exceptions import MissingContextError  # noqa: PLC0415
    from prefect.logging import get_run_logger  # noqa: PLC0415

    try:
        logged: Progress | None = RunLogProgress(get_run_logger())
    except MissingContextError:
        logged = None
    parts = [p for p in (_installed, logged) if p is not None]
    if len(parts) == 1:
        return parts[0]

    def both(stage: str, done: int, total: int | None = None, note: str = "") -> None:
        for part in parts:
            part(stage, done, total, note)

    return both


class _Stderr:
    """sys.stderr as it is at each write (rich's live display swaps it for a proxy)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


STDERR: TextIO = _Stderr()  # type: ignore[assignment]


@contextmanager
def for_terminal(stream: TextIO | None = None) -> Iterator[Progress]:
    """The renderer that suits stderr: a live display on a terminal, plain lines otherwise."""
    stream = stream or sys.stderr
    if stream.isatty():
        from rich.console import Console  # noqa: PLC0415 - only on a terminal

        console = Console(file=stream, stderr=True)
        if console.is_terminal and not console.is_dumb_terminal:
            rich = RichProgress(console)
            rich.start()
            try:
                yield rich
            finally:
                rich.stop()
            return

    def write(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    yield LineProgress(write)

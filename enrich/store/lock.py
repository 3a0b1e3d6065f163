"""One writer per output directory: an flock on `<output>/.state/output.lock`."""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from enrich.errors import OutputInUseError

LOCK_NAME = "output.lock"


@contextlib.contextmanager
def output_lock(output_dir: Path, *, wait: float = 0.0,
                on_wait: Callable[[], None] | None = None,
                sleep: Callable[[float], None] = time.sleep) -> Iterator[None]:
    """Hold the output directory's lock (flock on `.state/output.lock`).

    With `wait=0` a second holder is refused at once with a clear `OutputError`; with a wait
    it polls until the lock frees or the wait runs out. The lock dies with its process, so a
    killed run never leaves a stale lock behind.
    """
    lock_dir = output_dir / ".state"
    lock_dir.mkdir(parents=True, exist_ok=True)
    path = lock_dir / LOCK_NAME
    handle = open(path, "a+")  # noqa: SIM115 - held for the duration of the context
    try:
        deadline = time.monotonic() + wait
        told = False
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = _holder(path)
                    raise OutputInUseError(
                        f"another digest-enrich run is using this output directory{holder}; "
                        "wait for it to finish or choose another --output", path=str(output_dir),
                    ) from None
                if on_wait is not None and not told:
                    on_wait()
                    told = True
                sleep(0.2)
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield
    finally:
        handle.close()


def lock_is_free(output_dir: Path) -> bool:
    """Whether no other process holds the output directory's lock right now (a hint: the
    answer may change at once; the holder of `output_lock` is what counts)."""
    path = output_dir / ".state" / LOCK_NAME
    if not path.is_file():
        return True
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    return True


def _holder(path: Path) -> str:
    try:
        pid = path.read_text().strip()
    except OSError:
        return ""
    return f" (pid {pid})" if pid.isdigit() else ""

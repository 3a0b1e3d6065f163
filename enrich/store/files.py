"""Writing into the output directory: atomic files, safe names, one writer at a time."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path

from enrich.errors import OutputError

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
# Temp files are `.<name>.digest-enrich-<random>.tmp`: the sweep recognises ours by this mark.
TEMP_MARK = ".digest-enrich-"
_OUR_TEMP = re.compile(r"\..+" + re.escape(TEMP_MARK) + r"[A-Za-z0-9_]+\.tmp")
_UMASK: int | None = None
_UMASK_LOCK = threading.Lock()


def atomic_write(path: Path, data: str | bytes) -> bool:
    """Write `path` atomically (temp file in the same directory, fsync, rename).

    Readers see the old file or the new one, never a half-written one; a killed run leaves at
    most a stray temp file. Returns False when the content was already identical (the file is
    then left untouched, so its mtime stays meaningful).
    """
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        if path.is_file() and path.stat().st_size == len(payload) and path.read_bytes() == payload:
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}{TEMP_MARK}", suffix=".tmp",
                                   dir=path.parent)
        try:
            # mkstemp creates 0600; an output file is as readable as any file the user makes.
            os.fchmod(fd, 0o666 & ~_umask())
            with os.fdopen(fd, "wb") as handle:
                handle.write(payload)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        _fsync_dir(path.parent)
    except OSError as exc:
        raise OutputError(f"cannot write: {exc.strerror or exc}", path=str(path)) from exc
    return True


def sweep_temp_files(directory: Path) -> int:
    """Delete temp files a killed writer of ours left behind (call only while holding the
    lock). Only our own: a user's `.draft.tmp` beside them is never touched."""
    removed = 0
    for folder in (directory, directory / "digests"):
        if not folder.is_dir():
            continue
        for stray in folder.iterdir():
            if _OUR_TEMP.fullmatch(stray.name) and stray.is_file() and not stray.is_symlink():
                with contextlib.suppress(OSError):
                    stray.unlink()
                    removed += 1
    return removed


def _umask() -> int:
    """The process's umask, read once: from /proc where it can be read without changing it,
    else by setting and restoring it (under a lock, before any file of ours is made)."""
    global _UMASK  # noqa: PLW0603 - a process-wide constant, read lazily once
    with _UMASK_LOCK:
        if _UMASK is None:
            try:
                status = Path("/proc/self/status").read_text(encoding="ascii")
                _UMASK = int(next(line.split()[1] for line in status.splitlines()
                                  if line.startswith("Umask:")), 8)
            except (OSError, StopIteration, ValueError, IndexError):
                _UMASK = os.umask(0o022)
                os.umask(_UMASK)
        return _UMASK


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def safe_stem(name: str) -> str:
    """A file stem that cannot leave its directory, whatever the digest is called.

    Anything but ASCII letters, digits, `.`, `_` and `-` becomes `_`; a leading dot is
    replaced; when the name had to change, a short hash of the original keeps different
    names apart.
    """
    stem = Path(name).stem if "/" not in name and "\\" not in name else name
    cleaned = re.sub(r"_{2,}", "_", re.sub(r"\.{2,}", "_", _SAFE.sub("_", stem)))
    cleaned = cleaned.strip("._-")[:120] or "_"
    if cleaned != stem:
        cleaned += "-" + hashlib.sha256(stem.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return cleaned


def view_stems(names: Iterable[str]) -> dict[str, str]:
    """A distinct safe stem per digest file name, for `digests/<stem>.json`.

    Usually the file's own stem; when two names share one (`x.txt` and `x.md` in one folder),
    the first in sorted order keeps it and the others add their suffix (`x-md`), then a hash if
    that is taken too. Deterministic: the same set of names always gives the same stems.
    """
    stems: dict[str, str] = {}
    taken: set[str] = set()
    for name in sorted(set(names)):
        stem = safe_stem(name)
        if stem.lower() in taken:
            suffix = _SAFE.sub("_", Path(name).suffix.lstrip("."))
            stem = f"{stem}-{suffix}" if suffix else stem
        if stem.lower() in taken:
            stem += "-" + hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
        taken.add(stem.lower())  # case-insensitive file systems
        stems[name] = stem
    return stems


def inside(directory: Path, candidate: Path) -> Path:
    """`candidate` resolved, refusing any path that would land outside `directory`."""
    root = directory.resolve()
    resolved = candidate.resolve()
    if resolved != root and root not in resolved.parents:
        raise OutputError("refusing to write outside the output directory", path=str(candidate))
    return resolved


# What an output directory of ours may hold besides our files: a placeholder or a note.
_OURS = frozenset({".state", "digests", "papers.jsonl", "references.bib", "references.json",
                   "report.json", ".gitkeep", ".gitignore", "README.md"})


def check_output_dir(directory: Path, *, force: bool = False) -> None:
    """Refuse an output directory that cannot be ours, before anything is written to it.

    A file, or a directory that cannot be created or written, is refused always; a directory
    that holds other things and no state of ours (`--output ~`) unless `force`: our temp-file
    sweep and atomic renames must never meet a user's files by mistake.
    """
    if directory.exists() and not directory.is_dir():
        raise OutputError("is a file, not a directory; choose a directory for the outputs",
                          path=str(directory))
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the output directory: {exc.strerror or exc}",
                          path=str(directory)) from None
    if not os.access(directory, os.W_OK | os.X_OK):
        raise OutputError("the output directory is not writable", path=str(directory))
    if force or (directory / ".state").is_dir():
        return
    others = sorted(p.name for p in directory.iterdir() if p.name not in _OURS)
    if others:
        shown = ", ".join(others[:3]) + (", …" if len(others) > 3 else "")
        raise OutputError(f"holds other files ({shown}) and no digest-enrich state; choose a new "
                          "or empty directory, or pass --force to write into it anyway",
                          path=str(directory))

"""Writing into the output directory: atomic files, safe names, one writer at a time."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path

from enrich.errors import OutputError

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


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
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
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
    """Delete temp files a killed writer left behind (call only while holding the lock)."""
    removed = 0
    for folder in (directory, directory / "digests"):
        if not folder.is_dir():
            continue
        for stray in folder.glob(".*.tmp"):
            with contextlib.suppress(OSError):
                stray.unlink()
                removed += 1
    return removed


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

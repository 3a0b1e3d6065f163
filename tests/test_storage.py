"""Output files: atomic writes, safe names, one writer at a time."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from enrich.errors import OutputError
from enrich.store.files import atomic_write, inside, safe_stem
from enrich.store.lock import output_lock


def test_atomic_write_creates_parents_and_reports_changes(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b.json"
    assert atomic_write(target, "one\n") is True
    assert target.read_text() == "one\n"
    assert atomic_write(target, "one\n") is False
    assert atomic_write(target, "two\n") is True
    assert target.read_text() == "two\n"
    assert [p.name for p in target.parent.iterdir()] == ["b.json"], "no temp files left behind"


def test_an_unchanged_file_keeps_its_mtime(tmp_path: Path) -> None:
    target = tmp_path / "x.txt"
    atomic_write(target, "same")
    os.utime(target, (1, 1))
    atomic_write(target, "same")
    assert target.stat().st_mtime == 1


@pytest.mark.parametrize(
    ("name", "expected_prefix"),
    [
        ("000_024a476f5ee58d5f.txt", "000_024a476f5ee58d5f"),
        ("../../etc/passwd", "etc_passwd-"),
        ("..", "_-"),
        (".hidden.md", "hidden-"),
        ("日报 2024.md", "2024-"),
        ("a/b\\c.txt", "a_b_c.txt-"),
        ("CON", "CON"),
    ],
    ids=["seed", "traversal", "dotdot", "hidden", "non-ascii", "separators", "plain"],
)
def test_safe_stem_never_leaves_the_directory(name: str, expected_prefix: str,
                                              tmp_path: Path) -> None:
    stem = safe_stem(name)
    assert stem.startswith(expected_prefix)
    assert "/" not in stem and "\\" not in stem and not stem.startswith(".")
    assert inside(tmp_path, tmp_path / "digests" / f"{stem}.json").parent == (
        tmp_path / "digests").resolve()


def test_distinct_names_stay_distinct() -> None:
    assert safe_stem("a b.txt") != safe_stem("a_b.txt")
    assert safe_stem("x?.md") != safe_stem("x*.md")


def test_inside_refuses_escapes(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="outside"):
        inside(tmp_path / "out", tmp_path / "out" / ".." / "elsewhere.json")


def test_a_second_holder_is_refused_clearly(tmp_path: Path) -> None:
    code = (
        "import sys, time; from pathlib import Path; from enrich.store.lock import output_lock\n"
        "with output_lock(Path(sys.argv[1])):\n"
        "    print('held', flush=True); time.sleep(30)\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(OutputError, match=rf"another digest-enrich run .*pid {holder.pid}"), \
                output_lock(tmp_path):
            pass
        started = time.monotonic()
        waited: list[bool] = []
        with pytest.raises(OutputError), output_lock(tmp_path, wait=0.5,
                                                     on_wait=lambda: waited.append(True)):
            pass
        assert time.monotonic() - started >= 0.5
        assert waited == [True]
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    with output_lock(tmp_path):  # a killed holder leaves no stale lock
        pass

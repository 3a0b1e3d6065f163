"""Output paths never escape the output directory, whatever a digest is called or says.

`enrich.pipeline` writes `output/digests/<safe_stem(file)>.json` through `inside(...)`; the
digest's category is data inside the JSON, never part of a path. These tests attack both
functions with hostile names.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from enrich.digest.parse import parse_digest
from enrich.errors import OutputError
from enrich.store.files import inside, safe_stem, view_stems

HOSTILE_NAMES = [
    "../x.txt",
    "../../../../etc/passwd",
    "/etc/passwd",
    "/absolute/path/digest.md",
    "..",
    ".",
    "...",
    "",
    "a\x00b.txt",
    "\x00",
    "..\\..\\windows\\system32.txt",
    "C:\\Windows\\win.ini",
    "\u2024\u2024/\u2024\u2024/x.txt",  # one-dot leaders look like ".."
    "\uff0e\uff0e\uff0fetc.txt",  # full-width dot and slash
    "x" * 5000 + ".txt",
    "名" * 300 + ".md",
    "CON",
    "NUL.txt",
    "aux.md",
    "COM1",
    ".hidden.txt",
    "-rf.txt",
    "~/x.txt",
    "$HOME.txt",
    "a/./b/../../../c.txt",
    "new\nline.txt",
    " spaced .txt",
    "\u202eevil\u202c.txt",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=[repr(n)[:40] for n in HOSTILE_NAMES])
def test_a_hostile_digest_name_gives_a_stem_inside_the_digests_folder(name: str,
                                                                      tmp_path: Path) -> None:
    stem = safe_stem(name)
    assert stem, "never empty"
    assert set(stem) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
    assert not stem.startswith((".", "-"))
    assert ".." not in stem
    assert len(f"{stem}.json".encode()) <= 255, "fits a file name on every common filesystem"
    target = inside(tmp_path, tmp_path / "digests" / f"{stem}.json")
    assert target.parent == (tmp_path / "digests").resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("{}\n")  # the name is really writable
    assert target.read_text() == "{}\n"


@pytest.mark.parametrize(
    "candidate",
    ["../x.json", "digests/../../x.json", "/etc/passwd", "digests/../../../../tmp/x"],
)
def test_inside_refuses_paths_that_leave_the_directory(candidate: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(OutputError) as info:
        inside(out, out / candidate)
    assert "outside the output directory" in str(info.value)


def test_inside_refuses_a_symlink_that_points_out(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "digests").mkdir(parents=True)
    (out / "digests" / "link.json").symlink_to(tmp_path / "elsewhere.json")
    with pytest.raises(OutputError):
        inside(out, out / "digests" / "link.json")


def test_a_path_like_category_stays_data(tmp_path: Path) -> None:
    """The category `../../etc` is written inside the JSON; only the file name picks the path."""
    digest = parse_digest("../../etc\n\n2024-01-02 更新\n\nT\n\nAuthors:A\n\nabs\nPDF\n",
                          "0.txt")
    assert digest.category == "../../etc"
    stem = safe_stem(digest.file)
    assert stem == "0"
    assert inside(tmp_path, tmp_path / "digests" / f"{stem}.json").is_relative_to(
        tmp_path.resolve())


_ANY_NAME = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=0, max_size=300)
_NAMES = st.one_of(
    _ANY_NAME,
    st.builds("/".join, st.lists(
        st.sampled_from(["..", ".", "", "etc", "\u2024\u2024", "\uff0e", "a b", "\x00"]),
        max_size=6)),
)


@settings(max_examples=300, deadline=None)
@given(_NAMES)
def test_any_name_stays_inside_the_output_directory(name: str) -> None:
    out = Path("/tmp/digest-enrich-output-paths-test")  # resolved only; nothing is written
    stem = safe_stem(name)
    target = inside(out, out / "digests" / f"{stem}.json")
    assert target.parent == out.resolve() / "digests"
    assert target.name == f"{stem}.json"


def _base(name: str) -> str:
    """What names a digest apart from others in one folder once the suffix is dropped."""
    return Path(name).stem if "/" not in name and "\\" not in name else name


# Pairs that differ only in characters the stem rewrites to `_` (or drops): the hard cases.
_TWINS = st.builds(
    lambda stem, x, y, suffix: (f"{stem}{x}{stem}{suffix}", f"{stem}{y}{stem}{suffix}"),
    st.text("ab._-", min_size=0, max_size=4),
    st.sampled_from([" ", "_", "?", "*", "/", "..", "\u00e9", "\x00", "", "__", "-"]),
    st.sampled_from([" ", "_", "?", "*", "/", "..", "\u00e9", "\x00", "", "__", "."]),
    st.sampled_from([".txt", ".md", ""]),
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.tuples(_NAMES, _NAMES), _TWINS))
def test_distinct_names_give_distinct_stems(pair: tuple[str, str]) -> None:
    a, b = pair
    if _base(a) != _base(b):
        assert safe_stem(a) != safe_stem(b)


def test_the_same_digest_name_with_two_suffixes_gives_two_view_files() -> None:
    # x.txt and x.md in one folder must not overwrite each other's digests/<stem>.json.
    stems = view_stems(["2024-08-16.txt", "2024-08-16.md", "2024-08-16.MD", "other.txt"])
    assert stems["2024-08-16.MD"] == "2024-08-16"  # the first in sorted order keeps its stem
    assert stems["2024-08-16.md"] == "2024-08-16-md"
    assert stems["other.txt"] == "other"
    assert len({v.lower() for v in stems.values()}) == 4
    assert view_stems(reversed(list(stems))) == stems  # order of discovery does not matter

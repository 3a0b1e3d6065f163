"""The digest parser reads files in blocks: the blocks change nothing, errors keep their order,
and the memory it needs does not grow with the file.

The parser's behaviour itself is pinned by `test_digest.py`, `test_digest_properties.py` and
`test_hostile_digests.py`; these tests check what streaming could break.
"""

from __future__ import annotations

import codecs
import tracemalloc
from pathlib import Path

import pytest

import enrich.digest.parse
from enrich.digest.parse import decode_digest, parse_digest, read_digest
from enrich.errors import DigestError

REPO = Path(__file__).resolve().parents[1]
SEEDS = sorted((REPO / "seeds").glob("*.txt"))
MARKDOWN = sorted((REPO / "tests" / "fixtures" / "digests").rglob("*.md"))
HEAD = "Cat\n\n\n2024-01-02 更新\n\n"
SHOT = "\n点此查看论文截图\n\n"


def entry(title: str = "A Title", abstract: str = "We study things.") -> str:
    return f"{title}\n\nAuthors:Ann Lee, Bo Chen\n\n{abstract}\nPDF 9 pages\n{SHOT}"


def outcome(path: Path) -> object:
    """What reading gives: the record, or the error's kind, line and message."""
    try:
        return read_digest(path).model_dump()
    except DigestError as exc:
        return (exc.kind, exc.line, exc.message)


def _saved(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


SAMPLES: list[tuple[str, bytes]] = [
    *((p.name, p.read_bytes()) for p in SEEDS + MARKDOWN),
    ("crlf.txt", SEEDS[1].read_bytes().replace(b"\n", b"\r\n")),
    ("old-mac.txt", SEEDS[1].read_bytes().replace(b"\n", b"\r")),
    ("bom.md", codecs.BOM_UTF8 + MARKDOWN[0].read_bytes()),
    ("utf16.txt", SEEDS[0].read_text(encoding="utf-8").encode("utf-16")),
    ("utf16-be.txt", SEEDS[0].read_text(encoding="utf-8").encode("utf-16-be")),
    ("utf16-le.md", MARKDOWN[0].read_text(encoding="utf-8").encode("utf-16-le")),
    ("bad-utf8.txt", (HEAD + entry() + entry("Ünïcödé")).encode() + b"\xff tail\n"),
    ("cut-character.txt", (HEAD + entry("对比学习")).encode()[:-len(SHOT.encode()) + 2]),
    ("bad-utf16.txt", (HEAD + entry()).encode("utf-16-le") + b"\x00\xdc" + "x\n".encode(
        "utf-16-le")),
    ("nul-late.txt", (HEAD + entry() * 3).encode() + b"\x00"),
    ("control-flood.txt", (HEAD + entry()).encode() + bytes(range(1, 9)) * 100),
    ("comments.md", ("# 2024-01-02 更新\n\n<!-- a\nb\n-->\n" + "".join(
        f"## T{n}\n\n**Authors:Ann Lee**\n\nabs\n\n<!--\nnote\n-->\n\n"
        f"[PDF](http://arxiv.org/abs/2205.1445{n}v1)\n\n" for n in range(5))).encode()),
]


@pytest.mark.parametrize("block", [1, 2, 3, 7, 4096])
@pytest.mark.parametrize(("name", "data"), SAMPLES, ids=[name for name, _ in SAMPLES])
def test_the_size_of_the_blocks_read_changes_nothing(name: str, data: bytes, block: int,
                                                     tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    path = _saved(tmp_path, name, data)
    whole = outcome(path)
    monkeypatch.setattr(enrich.digest.parse, "BLOCK_BYTES", block)
    assert outcome(path) == whole


@pytest.mark.parametrize(("name", "data"), SAMPLES, ids=[name for name, _ in SAMPLES])
def test_reading_a_file_is_decoding_then_parsing_its_text(name: str, data: bytes,
                                                          tmp_path: Path) -> None:
    try:
        expected: object = parse_digest(decode_digest(data, name), name).model_dump()
    except DigestError as exc:
        expected = (exc.kind, exc.line, exc.message)
    assert outcome(_saved(tmp_path, name, data)) == expected


# A problem the parser meets early is raised only when the rest of the file holds no graver
# one: what a whole-file reading finds first (empty, binary, undecodable, control characters,
# too many lines, then what the lines say) comes first however far into the file it lies.
ORDER: list[tuple[str, bytes, str, int]] = [
    ("an undecodable byte after an invalid date",
     ("Cat\n\n2024-02-30 更新\n\n" + entry() * 3).encode() + b"\xff\n", "encoding", 32),
    ("a NUL byte after an invalid date",
     ("Cat\n\n2024-02-30 更新\n\n" + entry() * 3).encode() + b"x\x00\n", "binary", 32),
    ("a NUL byte after an undecodable one",
     HEAD.encode() + b"\xff\n" + entry().encode() + b"\x00", "binary", 16),
    ("a flood of control characters after an invalid date",
     ("Cat\n\n2024-02-30 更新\n\n" + entry()).encode() + bytes(range(1, 9)) * 40, "binary", 14),
    ("a flood of control characters after a missing date",
     ("Cat\n\n" + entry()).encode() + bytes(range(1, 9)) * 40, "binary", 12),
]


@pytest.mark.parametrize(("data", "kind", "line"), [c[1:] for c in ORDER],
                         ids=[c[0] for c in ORDER])
def test_the_gravest_error_wins_wherever_it_lies(data: bytes, kind: str, line: int,
                                                 tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(enrich.digest.parse, "BLOCK_BYTES", 16)
    path = _saved(tmp_path, "order.txt", data)
    with pytest.raises(DigestError) as info:
        read_digest(path)
    assert (info.value.kind, info.value.line) == (kind, line)


def test_too_many_lines_outrank_an_invalid_date_before_them(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(enrich.digest.parse, "MAX_DIGEST_LINES", 50)
    with pytest.raises(DigestError) as info:
        parse_digest("Cat\n\n2024-02-30 更新\n\n" + "x\n" * 100, "lines.txt")
    assert (info.value.line, info.value.message) == (51, "more than 50 lines: not a digest")


def test_whitespace_only_is_empty_however_many_lines(monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path) -> None:
    monkeypatch.setattr(enrich.digest.parse, "MAX_DIGEST_LINES", 50)
    with pytest.raises(DigestError) as info:
        read_digest(_saved(tmp_path, "blank.txt", b"\n" * 100))
    assert (info.value.kind, info.value.line) == ("empty", 1)


def _working_set(path: Path) -> tuple[int, int]:
    """Peak memory while parsing beyond the record returned, and the number of entries."""
    tracemalloc.start()
    try:
        digest = read_digest(path)
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - current, len(digest.entries)


def test_the_memory_needed_beyond_the_entries_does_not_grow_with_the_file(
        tmp_path: Path) -> None:
    # Entries of about 15 kB (the largest an entry may be is 20 kB of abstract): few objects,
    # so the bytes are what is measured. The old whole-file parser needed ten times the file.
    abstract = " ".join(["Contrastive learning of visual representations at scale."] * 250)
    one = entry("A Long Paper", abstract)
    sizes = {}
    for megabytes in (2, 8):
        path = tmp_path / f"{megabytes}.txt"
        path.write_text(HEAD + one * (megabytes * 2**20 // len(one.encode()) + 1),
                        encoding="utf-8")
        sizes[megabytes] = (path.stat().st_size, *_working_set(path))
    (_, small_set, small_entries), (big, big_set, big_entries) = sizes[2], sizes[8]
    assert big_entries > 3 * small_entries
    assert big_set < small_set * 1.25 + 2**20, f"{small_set} → {big_set} bytes"
    assert big_set < big / 2, f"{big_set / big:.1f}x the file"


def test_markdown_comments_close_as_far_ahead_as_they_do() -> None:
    # The end of each comment is found by a second reader that only moves forward; comments
    # closing far ahead, on their own line, never, or one after another, all as before.
    body = "".join(f"## T{n}\n\n**Authors:Ann Lee**\n\nabs\n\n"
                   f"[PDF](http://arxiv.org/abs/2205.{14000 + n}v1)\n\n" for n in range(300))
    later = body.replace("## T", "## U")
    text = ("# 2024-01-02 更新\n\n<!-- hidden\n" + body + "-->\n\n<!-- one --> <!-- two\n-->\n"
            + later + "<!-- never closed\n\n## Last\n\n**Authors:Bo Chen**\n\nabs\n\n"
            "[PDF](http://arxiv.org/abs/2205.15000v1)\n")
    digest = parse_digest(text, "far.md")
    assert [e.title for e in digest.entries] == [f"U{n}" for n in range(300)] + ["Last"]
    assert [(p.kind, p.line) for p in digest.problems] == [
        ("malformed_markdown", text[:text.index("<!-- never")].count("\n") + 1)]

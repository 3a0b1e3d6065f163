"""Hostile and broken digests: each gets a typed error naming file and line, or parses sensibly.

The table says which, per file. Every case runs through `enrich.pipeline.parse_file` over one
directory holding all of them plus the two good seeds, as a real run does: one bad digest never
stops the others.
"""

from __future__ import annotations

import codecs
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

import pytest

import enrich.digest.parse
from enrich.digest.parse import decode_digest, parse_digest, read_digest
from enrich.pipeline import discover, parse_file

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
SEED = (SEEDS / "001_7124c519675a2515.txt").read_text(encoding="utf-8")
HEAD = "Cat\n\n\n2024-01-02 更新\n\n"
SHOT = "\n点此查看论文截图\n\n"


def entry(title: str = "A Title", abstract: str = "We study things.",
          authors: str = "Authors:Ann Lee, Bo Chen", pdf: str = "PDF") -> str:
    return f"{title}\n\n{authors}\n\n{abstract}\n{pdf}\n{SHOT}"


@dataclass(frozen=True)
class Case:
    """One hostile file. `error` is the expected error kind (then `line` is its line); without
    it the file parses to `titles`, with the `problems` (kind, line) recorded."""

    name: str
    data: bytes
    error: str | None = None
    line: int | None = None
    titles: tuple[str, ...] = ()
    problems: tuple[tuple[str, int], ...] = ()


def u(text: str) -> bytes:
    return text.encode("utf-8")


CASES = [
    # --- refused, with the line -------------------------------------------------------------
    Case("empty.txt", b"", error="empty", line=1),
    Case("whitespace-only.txt", b"\n \r\n\t\n", error="empty", line=1),
    Case("binary-png.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", error="binary", line=3),
    Case("binary-gzip.txt", b"\x1f\x8b\x08\x00\x00\x00\x00\x00", error="binary", line=1),
    Case("nul-bytes.txt", u(HEAD) + b"A Ti\x00tle\n", error="binary", line=6),
    Case("control-flood.txt", u(HEAD) + bytes(range(1, 9)) * 50, error="binary", line=6),
    Case("gbk.txt", (HEAD + entry("对比学习的标题")).encode("gbk"), error="encoding", line=4),
    Case("latin1.txt", u(HEAD) + "Über café\n".encode("latin-1") + u(entry("")),
         error="encoding", line=6),
    Case("cut-mid-character.txt", u(HEAD + entry())[:-len(SHOT.encode()) + 3],
         error="encoding", line=13),
    Case("missing-date.txt", u("Cat\n\n" + entry()), error="missing_date", line=5),
    Case("date-without-papers.txt", u(HEAD), error="no_entries", line=4),
    Case("only-footer.txt", u("文章作者: 木子已\n版权声明: 本博客所有文章。\n  目录\n"),
         error="missing_date", line=1),
    Case("date-then-only-footer.txt", u(HEAD + "文章作者: 木子已\n  目录\n"),
         error="no_entries", line=4),
    Case("impossible-date.txt", u("Cat\n\n2024-02-30 更新\n\n" + entry()),
         error="digest_error", line=3),
    Case("only-truncated-entry.txt", u(HEAD + "A Title\n\nAuthors:Ann Lee\n\nWe stu"),
         error="truncated_entry", line=6),
    Case("only-an-absurd-entry.txt", u(HEAD + entry("T" * 1_000_000)),
         error="malformed_entry", line=6),
    # --- parsed sensibly --------------------------------------------------------------------
    Case("utf16-bom.txt", (HEAD + entry("UTF-16 Title")).encode("utf-16"),
         titles=("UTF-16 Title",)),
    Case("utf16-le-no-bom.txt", (HEAD + entry("No BOM Title")).encode("utf-16-le"),
         titles=("No BOM Title",)),
    Case("utf8-bom-crlf.txt", codecs.BOM_UTF8 + u((HEAD + entry("Crlf")).replace("\n", "\r\n")),
         titles=("Crlf",)),
    Case("truncated-last-entry.txt", u(HEAD + entry("Whole") + "Cut\n\nAuthors:Ann"),
         titles=("Whole",), problems=(("truncated_entry", 15),)),
    Case("duplicated-entries.txt", u(HEAD + entry("Twice") + entry("Twice")),
         titles=("Twice", "Twice"), problems=(("duplicate_entry", 15),)),
    Case("control-characters.txt", u(HEAD + entry("Bell\x07 and \x1b[31mred\x1b[0m")),
         titles=("Bell and red",), problems=(("control_characters", 6),)),
    Case("html-injection.txt",
         u(HEAD + entry("<script>alert('x')</script> Title", "<img src=x onerror=alert(1)>")),
         titles=("<script>alert('x')</script> Title",)),
    Case("markdown-injection.md",
         u("# 2024-01-02 更新\n\n## [Click](javascript:alert(1)) <script>x</script>\n\n"
           "**Authors:Ann Lee**\n\nabs\n\n[PDF](http://arxiv.org/abs/2205.14459v1)\n"),
         titles=("[Click](javascript:alert(1)) <script>x</script>",)),
    Case("latex-injection.txt",
         u(HEAD + entry("\\write18{rm -rf ~} @misc{x, title={y}} \\input{/etc/passwd}")),
         titles=("\\write18{rm -rf ~} @misc{x, title={y}} \\input{/etc/passwd}",)),
    Case("path-like-category.txt", u("../../etc\n\n2024-01-02 更新\n\n" + entry("Pathy")),
         titles=("Pathy",)),
    Case("rtl-and-zero-width.txt",
         u(HEAD + entry("Safe\u202e txt.exe\u202c Ti\u200btle", authors="Authors:A\u200dnn Lee")),
         titles=("Safe txt.exe Title",)),
    # An entry too large to be a paper is skipped with its line; the others are kept.
    Case("absurdly-long-line.txt", u(HEAD + entry("Long", "word " * 400_000) + entry("Fine")),
         titles=("Fine",), problems=(("entry_too_long", 6),)),
    Case("absurdly-long-title.txt", u(HEAD + entry("T" * 1_000_000) + entry("Fine")),
         titles=("Fine",), problems=(("entry_too_long", 6),)),
    Case("thousands-of-authors.txt",
         u(HEAD + entry("Crowd", authors="Authors:" + ", ".join(["Ann Lee"] * 6000))
           + entry("Fine")), titles=("Fine",), problems=(("entry_too_long", 6),)),
    Case("hostile-markdown-brackets.md",
         u("# 2024-01-02 更新\n\n## Brackets\n\n**Authors:Ann**\n\n" + "[x](" * 1_000
           + "<http://" * 1_000 + "[" * 5_000 + "\n\n[PDF](http://arxiv.org/abs/2205.14459v1)\n"),
         titles=("Brackets",)),
    Case("title-starting-with-pdf.txt", u(HEAD + entry("PDF Parsing at Scale")),
         titles=("PDF Parsing at Scale",)),
    Case("abstract-line-starting-with-pdf.txt",
         u(HEAD + entry("Wrapped", "We read\nPDF files at scale\nquickly.")),
         titles=("Wrapped",)),
    Case("footer-in-the-middle.txt", u(HEAD + entry("One") + "文章作者: x\n\n" + entry("Two")),
         titles=("One", "Two")),
    # The adversarial-testing issue's digests (tests/test_adversarial.py has the runs).
    Case("utf8-bom-then-invalid.txt", codecs.BOM_UTF8 + u(HEAD) + b"\xc0\xaf Title\n",
         error="encoding", line=6),
    Case("dated-in-the-future.txt", u(HEAD.replace("2024-01-02", "2099-01-02") + entry("Soon")),
         titles=("Soon",), problems=(("future_date", 6),)),
    Case("an-absurd-author-name.txt",
         u(HEAD + entry("Named", authors="Authors:" + "Zhang" * 100 + " Wei, Bo Chen")
           + entry("Fine")), titles=("Fine",), problems=(("entry_too_long", 6),)),
    Case("megabyte-title-in-markdown.md",
         u("# 2024-01-02 更新\n\n## " + "Contrastive learning " * 50_000
           + "\n\n**Authors:Ann Lee**\n\nabs\n\n[PDF](http://arxiv.org/abs/2205.14459v1)\n\n"
           "## Fine\n\n**Authors:Bo Chen**\n\nabs\n\n[PDF](http://arxiv.org/abs/2210.15075v1)\n"),
         titles=("Fine",), problems=(("entry_too_long", 3),)),
]
assert len(CASES) >= 30
IDS = [c.name for c in CASES]


@pytest.fixture(scope="module")
def hostile_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hostile")
    for case in CASES:
        (folder / case.name).write_bytes(case.data)
    for seed in SEEDS.glob("*.txt"):
        (folder / seed.name).write_bytes(seed.read_bytes())
    return folder


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_each_hostile_digest_is_refused_clearly_or_parsed_sensibly(case: Case,
                                                                   hostile_dir: Path) -> None:
    outcome = parse_file(hostile_dir / case.name)
    assert outcome.file == case.name
    if case.error is not None:
        assert outcome.digest is None
        assert outcome.error is not None
        assert (outcome.error.kind, outcome.error.file, outcome.error.line) == (
            case.error, case.name, case.line)
        assert outcome.error.message
        return
    assert outcome.error is None
    assert outcome.digest is not None
    assert tuple(e.title for e in outcome.digest.entries) == case.titles
    assert tuple((p.kind, p.line) for p in outcome.digest.problems) == case.problems
    for entry in outcome.digest.entries:
        for text in (entry.title, entry.abstract, *entry.authors):
            assert "\x00" not in text and "\x1b" not in text and "\u202e" not in text


@pytest.mark.parametrize("case", [c for c in CASES if c.error], ids=[c.name for c in CASES
                                                                     if c.error])
def test_errors_name_file_and_line_in_their_message(case: Case, hostile_dir: Path) -> None:
    with pytest.raises(Exception) as info:  # noqa: PT011 - the type is checked below
        read_digest(hostile_dir / case.name)
    assert getattr(info.value, "kind", None) == case.error
    assert str(info.value).startswith(f"{case.name}:{case.line}: ")


def test_one_bad_digest_among_good_ones_stops_nothing(hostile_dir: Path) -> None:
    outcomes = {o.file: o for o in map(parse_file, discover([hostile_dir]))}
    assert set(outcomes) == {c.name for c in CASES} | {
        "000_024a476f5ee58d5f.txt", "001_7124c519675a2515.txt"}
    good = outcomes["000_024a476f5ee58d5f.txt"].digest, outcomes["001_7124c519675a2515.txt"].digest
    assert [len(d.entries) if d else None for d in good] == [4, 10]
    failed = sorted(name for name, o in outcomes.items() if o.error is not None)
    assert failed == sorted(c.name for c in CASES if c.error)


def test_the_markdown_injection_keeps_the_arxiv_id() -> None:
    case = next(c for c in CASES if c.name == "markdown-injection.md")
    digest = parse_digest(decode_digest(case.data, case.name), case.name)
    assert digest.entries[0].arxiv_id_hint == "2205.14459"


def test_a_ten_megabyte_digest_parses_in_bounded_memory(tmp_path: Path) -> None:
    # Long abstracts (about 15 kB each, the most an entry may hold) keep the object count, and
    # with it tracemalloc's bookkeeping time, small; the bytes are what is being measured.
    abstract = " ".join(["Contrastive learning of visual representations at scale."] * 250)
    one = entry("A Long Paper", abstract, pdf="PDF 12 pages")
    copies = 10 * 1024 * 1024 // len(one.encode("utf-8")) + 1
    path = tmp_path / "big.txt"
    path.write_text(HEAD + one * copies, encoding="utf-8")
    size = path.stat().st_size
    assert size >= 10 * 1024 * 1024
    tracemalloc.start()
    try:
        digest = read_digest(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(digest.entries) == copies
    assert digest.entries[-1].abstract == abstract
    assert digest.entries[-1].line == 6 + 9 * (copies - 1)
    # The file's bytes, its text (UCS-2: the Chinese date line widens every character), the
    # lines and the entries: a small multiple of the size, never a blow-up.
    assert peak < 12 * size, f"peak {peak / size:.1f}x the file size"


def test_a_file_over_the_size_limit_is_refused_before_reading(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    monkeypatch.setattr(enrich.digest.parse, "MAX_DIGEST_BYTES", 1000)
    path = tmp_path / "huge.txt"
    path.write_bytes(b"x" * 1001)
    outcome = parse_file(path)
    assert outcome.error is not None
    assert outcome.error.file == "huge.txt" and "too large" in outcome.error.message

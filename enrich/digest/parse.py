"""Digest posts → `Digest` records.

Two forms of the same post are read:

* the rendered text (what a reader copies from the blog): a category line, `YYYY-MM-DD 更新`,
  then per paper a title, `Authors:…`, the abstract, `PDF <comment>` and `点此查看论文截图`,
  and a footer (`文章作者:`, `版权声明:`, `目录`);
* the markdown source: `## title`, `**Authors:…**`, the abstract,
  `[PDF](http://arxiv.org/abs/IDvN) comment`, then optional summary sections and `<details>`
  image blocks.

`decode_digest` and `parse_digest` are pure; `read_digest` is the one function touching disk.
Fatal problems (empty, binary, undecodable, no date line, no entries, more than
`MAX_DIGEST_BYTES` / `MAX_DIGEST_LINES`) raise a `DigestError` naming file and line. Recoverable
ones are kept as `Problem`s on the digest while every good entry is still returned: a truncated
last entry, an `Authors:` line without a title, a paper listed twice, control characters
removed, a markdown comment or front matter never closed, an entry too large to be a paper
(`MAX_TITLE_CHARS`, `MAX_ABSTRACT_CHARS`, `MAX_AUTHORS`, `MAX_AUTHOR_CHARS`: skipped).

Lines are classified by what they start with, then corrected by where they stand: a title that
happens to start like a marker (`PDF Parsing…`, `Authors: who…`, `Next`) sits right before an
`Authors:` line, and an abstract wrapped so that a line starts with `PDF ` is followed by the real
PDF line. Invisible characters (zero-width, bidi overrides, soft hyphens) and terminal escapes
never reach a title. Work is linear in the input, whatever it holds.

The text streams through: bytes are decoded in blocks, lines are cleaned, classified and
corrected in passes that each look at most one paragraph ahead, and every entry is built as
soon as its last line has been read, so the memory in use beyond the entries returned is that
of the largest entry, not of the file. What needs to look further ahead reads the text again
instead of holding it: which form the digest is (its first `_DETECT_LINES` lines), whether
markdown front matter is closed (its first `_FRONT_MATTER_LINES` lines) and where an HTML
comment ends (a second reader that only moves forward). Errors keep the order a whole-file
reading gives them: an empty file, then binary data, then undecodable bytes, then too many
control characters, then too many lines, then what the lines say — a problem found early in
the file is raised only once the rest has been checked for a graver one.
"""

from __future__ import annotations

import codecs
import itertools
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Literal

from enrich.digest.model import Digest, DigestForm, Entry, Problem
from enrich.errors import (
    BinaryDigestError,
    DigestEncodingError,
    DigestError,
    EmptyDigestError,
    MalformedEntryError,
    MissingDateError,
    NoEntriesError,
    TruncatedEntryError,
)
from enrich.repos.links import find_code_urls
from enrich.text.identifiers import bare_old_ids, id_from_url, ids_in_text
from enrich.text.names import split_author_list
from enrich.text.normalise import collapse_ws

# A digest this large is not a daily post; refuse before reading it.
MAX_DIGEST_BYTES = 64 * 1024 * 1024
# A daily post has hundreds of lines, a back-catalogue page tens of thousands. Past this many the
# file is not a digest (64 MB of the blog's entries is ~650,000 lines): refuse instead of
# building entries without bound. Lines themselves are never held.
MAX_DIGEST_LINES = 1_000_000
# Bytes read and decoded at a time: the text in flight is a few times this.
BLOCK_BYTES = 256 * 1024
# How far the passes that need to look ahead read (see the module docstring).
_DETECT_LINES = 5000
_FRONT_MATTER_LINES = 200
_CATEGORY_LINES = 40

_DATE = re.compile(r"^(?:#{1,6}\s*)?(\d{4})-(\d{1,2})-(\d{1,2})\s*更新\s*[:：]?$")
_AUTHORS = re.compile(r"^authors?\s*[:：]", re.IGNORECASE)
_PDF_TEXT = re.compile(r"^PDF(?:\s+(?P<comment>.*))?$")
# The URL may hold one level of balanced parentheses; the comment is the rest of the line.
_PDF_MD = re.compile(r"^\[PDF\]\((?P<url>(?:[^()\s]|\([^()\s]*\))*)\)\s*(?P<comment>.*)$")
# An ATX heading's optional closing sequence (`## Title ##`) is not part of the title.
_MD_TITLE = re.compile(r"^##(?!#)\s*(?P<title>.+?)(?:\s+#+)?$")
_MD_HEADING = re.compile(r"^#{1,6}(\s|$)")
_MD_RULE = re.compile(r"[-*_]{3,}")
# Inline markdown in one left-to-right pass, so an escaped `\[` never opens a link. Every
# alternative stops at the next bracket of its own kind: the scan is linear even on hostile
# runs like `[[[[…` or `<http://<http://…`.
_MD_INLINE = re.compile(
    r"\\(?P<esc>[\\`*_{}\[\]()#+\-.!|<>~])"
    r"|<(?P<auto>https?://[^<>\s]+)>"
    r"|\[(?P<text>(?:\\.|[^\[\]\\])*)\]\((?P<url>[^()\s]*)\)"
)
_SHOT = "点此查看论文截图"
# Blog chrome after the last paper. Chinese markers are safe as line prefixes; English ones only
# as whole lines, because titles start with words like "Next".
_FOOTER_PREFIXES = ("文章作者", "版权声明", "本文链接", "文章链接", "原文链接", "上一篇", "下一篇",
                    "返回顶部", "赞赏", "打赏")
_FOOTER_LINES = frozenset({"目录", "previous", "next", "previous post", "next post", "newer",
                           "older", "back to top"})
# No footer line is longer, and lower-casing never shortens a string: a quick "not a footer".
_FOOTER_LINE_CHARS = max(map(len, _FOOTER_LINES))
# Longest PDF comment we believe; a longer "PDF …" line is prose from an abstract.
_MAX_COMMENT = 1000
# What an entry may be. arXiv's own limits are far below these (titles run to ~300 characters,
# abstracts to 1,920); an entry beyond them is not a paper but bad input, skipped with a
# problem naming its line, so that it can neither crash a lookup nor bloat the outputs.
MAX_TITLE_CHARS = 1_000
MAX_ABSTRACT_CHARS = 20_000
MAX_AUTHORS = 5_000
MAX_AUTHOR_CHARS = 200
# Invisible characters that only hide or reorder text: zero-width joiners and spaces, the soft
# hyphen, and the bidirectional marks, embeddings, overrides and isolates ("Trojan Source").
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u061c\u200b\u200c\u200d\u200e\u200f\u202a\u202b"
                                    "\u202c\u202d\u202e\u2060\u2066\u2067\u2068\u2069\ufeff"),
                           None)
# C0/C1 control characters (Unicode category Cc) except the whitespace ones \t \n \v \f \r.
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")
# The same, as an ASCII line can hold them (terminal escapes start with one, ESC).
_ASCII_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
# Terminal escape sequences (colours, titles) go whole, not just their ESC byte.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?")
# "arXiv admin note: text overlap with arXiv:…" names *another* paper, never this one.
_ADMIN_NOTE = re.compile(r"arXiv\s+admin\s+note\s*:.*", re.IGNORECASE | re.DOTALL)
# `bare_old_ids` looks for "/" and seven digits (`ids_in_text` for "arXiv:" or "arxiv.org/").
_SLASH_ID = re.compile(r"/\d{7}")
_SPACES = dict.fromkeys(map(ord, "\t\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
                                 "\u2008\u2009\u200a\u202f\u205f\u3000"), " ")
# File signatures of binary formats people save by mistake.
_SIGNATURES = (b"%PDF", b"\x89PNG", b"PK\x03\x04", b"\x1f\x8b", b"GIF8")
# The bytes `bytes.strip()` removes.
_ASCII_SPACE = b" \t\n\r\x0b\x0c"

Kind = Literal["blank", "date", "authors", "pdf", "shot", "footer", "title", "heading", "skip",
               "text"]


@dataclass(slots=True)
class _Line:
    no: int
    text: str
    kind: Kind


@dataclass
class _Chunk:
    """Lines between two entry boundaries, before they are split into entries."""

    title_line: _Line | None = None  # markdown `## title`
    lines: list[_Line] = field(default_factory=list)
    ended_by: str = "eof"
    date: date | None = None
    after_footer: bool = False  # blog chrome came before it: only a real paper counts
    in_abstract: bool = False  # past its `Authors:` line, before its PDF line


# --------------------------------------------------------------------------------------------
# Bytes → text


def _utf16_without_bom(data: bytes) -> str | None:
    """Mostly-ASCII UTF-16 has a NUL in every other byte; name that byte order, else None."""
    sample = data[:4096]
    even, odd = sample[0::2], sample[1::2]
    for order, zeros, other in (("utf-16-le", odd, even), ("utf-16-be", even, odd)):
        if zeros.count(0) >= len(zeros) // 4 and other.count(0) <= len(other) // 100:
            return order
    return None


def _utf8_cut(data: bytes) -> int:
    """Where `data` can be cut without splitting a UTF-8 character that the next block ends."""
    size = len(data)
    for back in range(1, min(4, size) + 1):
        byte = data[size - back]
        if byte < 0x80:
            return size
        if byte >= 0xC0:  # a lead byte: is its character complete?
            need = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return size - back if need > back else size
    return size


def _utf16_cut(data: bytes, order: str) -> int:
    """Where `data` can be cut between two UTF-16 characters (never inside a surrogate pair)."""
    cut = len(data) - len(data) % 2
    if cut >= 2:
        unit = int.from_bytes(data[cut - 2:cut], "little" if order.endswith("le") else "big")
        if 0xD800 <= unit <= 0xDBFF:
            cut -= 2
    return cut


@dataclass
class _Utf8:
    """Strict UTF-8 decoding block by block, keeping the file offsets and lines of its bytes.

    Each block is decoded up to the last character it completes; the rest waits for the next
    block. The first undecodable byte stops the decoding (`error`, where it is, its line).
    """

    bom: int
    offset: int = 0  # file offset of `carry`
    newlines: int = 0  # b"\n" before `carry`
    carry: bytes = b""
    error: UnicodeDecodeError | None = None
    error_at: tuple[int, int] = (0, 0)  # file offsets of its start and end
    error_line: int = 0

    @property
    def size(self) -> int:
        return self.offset + len(self.carry)

    def line_at(self, block: bytes, index: int) -> int:
        """The line of `block[index]`, `block` following what was decoded or skipped."""
        return self.newlines + self.carry.count(b"\n") + block.count(b"\n", 0, index) + 1

    def skip(self, block: bytes) -> None:
        self.newlines += self.carry.count(b"\n") + block.count(b"\n")
        self.offset += len(self.carry) + len(block)
        self.carry = b""

    def decode(self, block: bytes, *, final: bool = False) -> str:
        if self.error is not None:
            return ""
        data = self.carry + block
        cut = len(data) if final else _utf8_cut(data)
        piece, self.carry = data[:cut], data[cut:]
        start = self.bom if self.offset == 0 else 0
        try:
            text = piece[start:].decode("utf-8")
        except UnicodeDecodeError as exc:
            self.error = exc
            self.error_at = (self.offset + start + exc.start, self.offset + start + exc.end)
            self.error_line = self.newlines + piece.count(b"\n", 0, start + exc.start) + 1
            text = ""
        self.newlines += piece.count(b"\n")
        self.offset += cut
        return text


class _Text:
    """A digest's text as raw lines, readable more than once.

    `lines()` is the one strict reading (it raises decoding errors, in the order a whole-file
    decoding finds them, and counts the lines it gave); `again()` reads the text afresh for a
    look ahead and never raises; `drain()` finishes the strict reading after the parser
    stopped early; `finish()` checks what only the whole text can say.
    """

    failed: DigestError | None = None  # the error the strict reading raised, if any
    lines_read = 0
    blank = True  # no character but whitespace so far (`str.strip` would leave nothing)

    def lines(self) -> Iterator[str]:
        return _split(self._strict(), self)

    def again(self) -> Iterator[str]:
        return _split(self._lenient())

    def drain(self, lines: Iterator[str]) -> None:
        for _ in lines:
            pass

    def finish(self) -> None:
        """Raise what only the whole text shows (after `lines()` or `drain()` ended)."""

    def _strict(self) -> Iterator[str]:
        raise NotImplementedError

    def _lenient(self) -> Iterator[str]:
        raise NotImplementedError

    def _fail(self, error: DigestError) -> DigestError:
        self.failed = error
        return error


class _InMemory(_Text):
    """Text already decoded (`parse_digest`), handed on in slices."""

    def __init__(self, text: str) -> None:
        self._text = text
        self.blank = not text.strip()

    def _strict(self) -> Iterator[str]:
        return self._lenient()

    def _lenient(self) -> Iterator[str]:
        text = self._text
        return (text[i:i + BLOCK_BYTES] for i in range(0, len(text), BLOCK_BYTES))


class _Decoded(_Text):
    """Bytes, read block by block from `read()` (called once per reading), decoded on the way.

    What a whole-file `decode_digest` refuses is refused here too, with the same message and
    line, even when the reason lies after something the parser would stop at.
    """

    def __init__(self, read: Callable[[], Iterable[bytes]], file: str) -> None:
        self._read = read
        self.file = file
        self.nonspace = False  # a byte `bytes.strip()` keeps
        self.chars = 0
        self.controls = 0
        self.first_control: int | None = None  # its line

    def _blocks(self) -> tuple[bytes, Iterator[bytes], str | None]:
        """The first (at least 4,096) bytes, the blocks after them, and the UTF-16 byte order
        when the text is UTF-16."""
        blocks = iter(self._read())
        head = b""
        for block in blocks:
            head += block
            if len(head) >= 4096:
                break
        encoding = ("utf-16" if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
                    else _utf16_without_bom(head) if b"\x00" in head else None)
        return head, blocks, encoding

    def text(self) -> str:
        """The whole text, decoded strictly (then `finish()` checks it)."""
        return "".join(self._strict())

    def _lenient(self) -> Iterator[str]:
        head, blocks, encoding = self._blocks()
        skip = len(codecs.BOM_UTF8) if encoding is None and head.startswith(codecs.BOM_UTF8) \
            else 2 if encoding == "utf-16" else 0
        decoder = codecs.getincrementaldecoder(_order(head, encoding))(errors="replace")
        for block in itertools.chain([head[skip:]], blocks):
            if text := decoder.decode(block):
                yield text
        if text := decoder.decode(b"", final=True):
            yield text

    def _strict(self) -> Iterator[str]:
        head, blocks, encoding = self._blocks()
        if encoding is not None:
            yield from self._utf16(head, blocks, encoding)
        else:
            yield from self._utf8(head, blocks)

    def _note(self, block: bytes) -> None:
        if not self.nonspace and block.strip(_ASCII_SPACE):
            self.nonspace = True

    def _text(self, text: str, newlines: int) -> str:
        """Account for decoded text (`newlines`: how many "\\n" came before it)."""
        self.chars += len(text)
        if self.blank and not text.isspace():
            self.blank = False
        if (first := _CONTROL.search(text)) is not None:
            if self.first_control is None:
                self.first_control = newlines + text.count("\n", 0, first.start()) + 1
            self.controls += len(_CONTROL.findall(text, first.start()))
        return text

    def _utf16(self, head: bytes, blocks: Iterator[bytes], encoding: str) -> Iterator[str]:
        self.nonspace = True  # a BOM or NUL bytes
        order = _order(head, encoding)
        offset = 2 if encoding == "utf-16" else 0  # file offset of `carry`
        newlines = 0
        carry = head[offset:]
        for block in itertools.chain(blocks, [None]):
            data = carry if block is None else carry + block
            cut = len(data) if block is None else _utf16_cut(data, order)
            piece, carry = data[:cut], data[cut:]
            try:
                text = piece.decode(order)
            except UnicodeDecodeError as exc:
                before = piece[:exc.start].decode(order, errors="replace").count("\n")
                raise self._fail(DigestEncodingError(
                    f"invalid {encoding.upper()} at byte {offset + exc.start}", file=self.file,
                    line=newlines + before + 1)) from exc
            offset += cut
            if text:
                # Nothing else is refused in UTF-16: no control-character count.
                self.chars += len(text)
                self.blank = self.blank and text.isspace()
                newlines += text.count("\n")
                yield text

    def _utf8(self, head: bytes, blocks: Iterator[bytes]) -> Iterator[str]:
        binary = head.startswith(_SIGNATURES)
        state = _Utf8(bom=len(codecs.BOM_UTF8) if head.startswith(codecs.BOM_UTF8) else 0)
        newlines = 0  # "\n" in the text given so far
        for block in itertools.chain([head], blocks):
            self._note(block)
            if (nul := block.find(b"\x00")) >= 0:
                raise self._fail(BinaryDigestError("binary data, not a text digest",
                                                   file=self.file, line=state.line_at(block, nul)))
            if binary or state.error is not None:
                state.skip(block)  # only a NUL can still change the verdict
            elif text := state.decode(block):
                yield self._text(text, newlines)
                newlines += text.count("\n")
        if binary:
            raise self._fail(BinaryDigestError("binary data, not a text digest", file=self.file,
                                               line=1))
        if text := state.decode(b"", final=True):
            yield self._text(text, newlines)
        if (error := state.error) is not None:
            start, end = state.error_at
            cut = " (the file ends inside a character: is it cut off?)" \
                if end == state.size else ""
            raise self._fail(DigestEncodingError(
                f"not UTF-8: byte 0x{error.object[error.start]:02x} at offset {start} cannot be "
                f"decoded{cut}; save the digest as UTF-8", file=self.file, line=state.error_line,
            )) from error

    def finish(self) -> None:
        if not self.nonspace:
            raise EmptyDigestError("the file is empty", file=self.file, line=1)
        if self.controls > max(16, self.chars // 20):
            raise BinaryDigestError(f"{self.controls} control characters: binary data, not a "
                                    "text digest", file=self.file, line=self.first_control or 1)


def _order(head: bytes, encoding: str | None) -> str:
    """The codec to decode with: UTF-8, or UTF-16 in the byte order its BOM names."""
    if encoding is None:
        return "utf-8"
    if encoding == "utf-16":
        return "utf-16-le" if head.startswith(codecs.BOM_UTF16_LE) else "utf-16-be"
    return encoding


def decode_digest(data: bytes, file: str) -> str:
    """Decode a digest's bytes, refusing empty, binary and non-UTF-8 files with the line."""
    decoded = _Decoded(lambda: [data], file)
    text = decoded.text()
    decoded.finish()
    return text


def read_digest(path: Path, name: str | None = None) -> Digest:
    """Read and parse one digest file (`.txt` rendered text or `.md` markdown).

    `name` identifies the digest in records and messages (default: the file name). The file
    is read in blocks, never whole (see the module docstring).
    """
    name = name or path.name

    def blocks() -> Iterator[bytes]:
        with path.open("rb") as handle:
            while block := handle.read(BLOCK_BYTES):
                yield block

    try:
        size = path.stat().st_size
        if size > MAX_DIGEST_BYTES:
            raise DigestError(f"{size} bytes is too large for a digest "
                              f"(limit {MAX_DIGEST_BYTES})", file=name, line=1)
        return _parse(_Decoded(blocks, name), name)
    except OSError as exc:
        raise DigestError(f"cannot read: {exc.strerror or exc}", file=name) from exc


# --------------------------------------------------------------------------------------------
# Text → lines


def _split(pieces: Iterable[str], counter: _Text | None = None) -> Iterator[str]:
    """The lines of text arriving in pieces, split at \\r\\n, \\r or \\n (a leading BOM dropped).

    Like `str.split("\\n")` after normalising line ends: a text ending in a line end has an
    empty last line. `counter.lines_read` counts the lines of each piece as it is split (all
    of them once the lines run out).
    """
    rest = ""
    leading = True
    cr = False  # the last piece ended with \r: it may be the first half of \r\n
    for piece in pieces:
        text = piece
        if leading:
            text = text.lstrip("\ufeff")
            if not text:
                continue
            leading = False
        if cr:
            text = "\r" + text
        cr = text.endswith("\r")
        if cr:
            text = text[:-1]
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        parts = text.split("\n")
        parts[0] = rest + parts[0]
        rest = parts.pop()
        if counter is not None:
            counter.lines_read += len(parts)
        yield from parts
    last = [rest, ""] if cr else [rest]
    if counter is not None:
        counter.lines_read += len(last)
    yield from last


def _too_many_lines(file: str) -> DigestError:
    return DigestError(f"more than {MAX_DIGEST_LINES} lines: not a digest", file=file,
                       line=MAX_DIGEST_LINES + 1)


def _clean(raw: str) -> tuple[str, int]:
    """Normalise one raw line; also return how many control characters were dropped."""
    if raw.isascii():
        if raw.isprintable():  # the common line: nothing to remove or replace
            return raw.strip(), 0
        if _ASCII_CONTROL.search(raw) is None:
            # Nothing invisible, no escape, no control: only tabs become spaces.
            return raw.replace("\t", " ").strip(), 0
    text = raw.translate(_INVISIBLE).translate(_SPACES)
    text, ansi = _ANSI.subn(" ", text)
    text, dropped = _CONTROL.subn(" ", text)
    return text.strip(), dropped + ansi


def _detect_form(lines: Iterable[str]) -> DigestForm:
    for raw in lines:
        if "[PDF](" not in raw and "Authors" not in raw and "##" not in raw:
            continue  # none of the markers below can start it
        text = raw.strip()
        if _PDF_MD.match(text) or text.startswith(("**Authors", "__Authors")):
            return "markdown"
        if _MD_TITLE.match(text) and not _DATE.match(text):
            return "markdown"
    return "text"


def _classify(text: str, form: DigestForm) -> Kind:
    if not text:
        return "blank"
    if "更新" in text and _DATE.match(text):
        return "date"
    kind: Kind = "text"
    if form == "markdown":
        bare = _strip_emphasis(text) if text[0] in "*_" else text
        if bare[:1] in ("a", "A") and _AUTHORS.match(bare):
            return "authors"
        kind = _classify_markdown(text)
    elif text[0] in "aA" and _AUTHORS.match(text):
        return "authors"
    elif (text[0] == "P" and (m := _PDF_TEXT.match(text))
          and len(m.group("comment") or "") <= _MAX_COMMENT):
        return "pdf"
    if kind == "text":
        if text == _SHOT:
            kind = "shot"
        elif text.startswith(_FOOTER_PREFIXES) or (len(text) <= _FOOTER_LINE_CHARS
                                                   and text.lower() in _FOOTER_LINES):
            kind = "footer"
    return kind


def _classify_markdown(text: str) -> Kind:
    first = text[0]
    if first == "[" and _PDF_MD.match(text):
        return "pdf"
    if first == "#":
        if _MD_TITLE.match(text):
            return "title"
        if _MD_HEADING.match(text):
            return "heading"
    if first in "<!>" and text.startswith(("<", "![", ">")):
        return "skip"
    if first in "-*_" and _MD_RULE.fullmatch(text):
        return "skip"
    return "text"


def _strip_emphasis(text: str) -> str:
    for mark in ("**", "__"):
        if text.startswith(mark):
            text = text[len(mark):]
            if text.endswith(mark):
                text = text[: -len(mark)]
    return text.strip()


class _Dropped:
    """Control characters removed from the lines: how many, and the first line with one."""

    def __init__(self) -> None:
        self.total = 0
        self.first = 0

    def add(self, no: int, count: int) -> None:
        self.total += count
        self.first = self.first or no

    def problem(self, file: str) -> Problem | None:
        if not self.total:
            return None
        return Problem(kind="control_characters", file=file, line=self.first,
                       message=f"removed {self.total} control character(s)")


def _cleaned(raws: Iterable[str], form: DigestForm, file: str, dropped: _Dropped | None = None,
             *, limit: bool = True) -> Iterator[_Line]:
    """Clean and classify every line (a run of blank lines is kept as its first one)."""
    most = MAX_DIGEST_LINES
    blank = False
    for no, raw in enumerate(raws, start=1):
        if limit and no > most:
            raise _too_many_lines(file)
        text, count = _clean(raw) if raw else ("", 0)
        if count and dropped is not None:
            dropped.add(no, count)
        if not text:
            if not blank:
                blank = True
                yield _Line(no, "", "blank")
            continue
        blank = False
        yield _Line(no, text, _classify(text, form))


def _unblocked(lines: Iterator[_Line], source: _Text, file: str,
               problems: list[Problem]) -> Iterator[_Line]:
    """Markdown: mark front matter, HTML comments and `<details>` blocks as lines to skip.

    A block that is never closed must not swallow the papers after it: unclosed front matter
    or comments hide only their opening line (and are reported), an unclosed `<details>` ends
    at the next paper title or date line.
    """
    first = next(lines, None)
    if first is None:
        return
    rest: Iterator[_Line] = itertools.chain([first], lines)
    if first.no == 1 and first.text == "---":
        end = _front_matter_end(source, file)
        if end is None:
            problems.append(Problem(kind="malformed_markdown", file=file, line=1,
                                    message="front matter opened with '---' is never closed"))
        first.kind = "skip"
        yield first
        for line in itertools.islice(lines, end or 0):
            line.kind = "skip"
            yield line
        rest = lines
    yield from _unblocked_body(rest, _Closer(source), file, problems)


def _unblocked_body(lines: Iterator[_Line], closer: _Closer, file: str,
                    problems: list[Problem]) -> Iterator[_Line]:
    in_details = False
    for line in lines:
        if in_details:
            if line.kind not in ("title", "date"):
                line.kind = "skip"
                in_details = "</details>" not in line.text.lower()
                yield line
                continue
            in_details = False  # an unclosed block ends where the next paper starts
        text = line.text
        if text.startswith("<!--"):
            line.kind = "skip"
            end = line.no if "-->" in text[4:] else closer.after(line.no)
            if end is None:
                problems.append(Problem(kind="malformed_markdown", file=file, line=line.no,
                                        message="an HTML comment '<!--' is never closed"))
            yield line
            if end is not None and end > line.no:
                for hidden in lines:
                    hidden.kind = "skip"
                    yield hidden
                    if hidden.no >= end:
                        break
            continue
        if text.startswith("<") and (lower := text.lower()).startswith("<details"):
            # The screenshot block closes the entry like the rendered `点此查看论文截图`.
            line.kind = "shot"
            in_details = "</details>" not in lower
        yield line


def _front_matter_end(source: _Text, file: str) -> int | None:
    """Index (among the cleaned lines) of the `---` that closes front matter opened on line 1."""
    lines = _cleaned(source.again(), "markdown", file, limit=False)
    for index, line in enumerate(itertools.islice(lines, _FRONT_MATTER_LINES)):
        if index and line.text == "---":
            return index
    return None


class _Closer:
    """Where the next line holding `-->` is, found by a second reader that only moves forward
    (comments are asked about in the order of their lines)."""

    def __init__(self, source: _Text) -> None:
        self._source = source
        self._lines: Iterator[str] | None = None
        self._no = 0
        self._found: int | None = None
        self._done = False

    def after(self, no: int) -> int | None:
        """The first line after line `no` whose cleaned text holds `-->`, or None."""
        if self._found is not None and self._found > no:
            return self._found
        if self._done:
            return None
        if self._lines is None:
            self._lines = self._source.again()
        for raw in self._lines:
            self._no += 1
            if self._no > no and ">" in raw and "-->" in _clean(raw)[0]:
                self._found = self._no
                return self._no
        self._done = True
        return None


def _retitled(lines: Iterable[_Line]) -> Iterator[_Line]:
    """Rendered text: fix lines whose first word fooled `_classify`, using their position.

    * A title that starts like a marker (`PDF Parsing…`, `Authors: a study…`, `Next`) sits
      between an entry boundary and the entry's `Authors:` line: it is text.
    * An abstract wrapped so that a line starts with `PDF ` is followed, in the same paragraph
      and before any `Authors:` line, by the real PDF line: only the last one is the PDF line.
    """
    return _last_pdf_only(_titles_before_authors(lines))


def _titles_before_authors(lines: Iterable[_Line]) -> Iterator[_Line]:
    """The first rule: a line is held until the next non-blank line shows what it is."""
    last: _Line | None = None  # the last non-blank line, its kind not final yet
    blanks: list[_Line] = []  # blank lines after it
    before: Kind = "date"  # the final kind of the non-blank line before `last`
    for line in lines:
        if line.kind == "blank":
            if last is None:
                yield line
            else:
                blanks.append(line)
            continue
        if last is not None:
            if (line.kind == "authors" and last.kind in ("pdf", "footer", "authors")
                    and before in ("date", "shot", "pdf", "footer")):
                last.kind = "text"
            before = last.kind
            yield last
            if blanks:
                yield from blanks
                blanks = []
        last = line
    if last is not None:
        yield last
    yield from blanks


def _last_pdf_only(lines: Iterable[_Line]) -> Iterator[_Line]:
    """The second rule: a PDF line is held until its paragraph shows no later one."""
    held: list[_Line] = []  # the pending PDF line and the lines after it
    for line in lines:
        kind = line.kind
        if kind == "pdf":
            if held:
                held[0].kind = "text"
                yield from held
            held = [line]
        elif held and kind in ("blank", "authors", "date", "shot", "footer"):
            yield from held
            held = []
            yield line
        elif held:
            held.append(line)
        else:
            yield line
    yield from held


# --------------------------------------------------------------------------------------------
# Lines → entries


_End = Literal["pdf", "shot", "next", "section", "footer", "eof"]


def _parse_date(line: _Line, file: str) -> date:
    m = _DATE.match(line.text)
    assert m is not None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError as exc:
        raise DigestError(f"invalid date {line.text!r}", file=file, line=line.no) from exc


def _paragraphs(lines: list[_Line]) -> list[list[_Line]]:
    """Group lines into items: runs of text lines, and single authors / pdf lines."""
    items: list[list[_Line]] = []
    run: list[_Line] = []
    for line in lines:
        if line.kind in ("text", "heading"):
            run.append(line)
            continue
        if run:
            items.append(run)
            run = []
        if line.kind in ("authors", "pdf"):
            items.append([line])
    if run:
        items.append(run)
    return items


def _join(lines: list[_Line]) -> str:
    return collapse_ws(" ".join(line.text for line in lines))


def _md_inline(text: str) -> str:
    """Markdown inline syntax to plain text: links to their text (or URL), escapes undone."""
    return _MD_INLINE.sub(_md_token, text)


def _md_token(m: re.Match[str]) -> str:
    if m.group("esc") is not None:
        return m.group("esc")
    if m.group("auto") is not None:
        return m.group("auto")
    label, url = _md_inline(m.group("text")), m.group("url")
    return url if label in ("", url) else f"{label} ({url})"


def _authors_text(text: str) -> str:
    """The names part of an `Authors:` line, also in `**Authors:** a, b` style."""
    return _AUTHORS.sub("", _strip_emphasis(text)).strip().strip("*_").strip()


@dataclass
class _Draft:
    line: int
    title: str
    authors: tuple[str, ...] | None = None
    abstract: list[str] = field(default_factory=list)
    pdf: _Line | None = None
    date: date | None = None


def _markdown_draft(title_line: _Line, items: list[list[_Line]], day: date | None) -> _Draft:
    """A markdown entry: `## title`, then Authors, abstract and the `[PDF](…)` line."""
    m = _MD_TITLE.match(title_line.text)
    draft = _Draft(title_line.no, m.group("title") if m else title_line.text, date=day)
    in_summary = False
    for item in items:
        kind = item[0].kind
        if kind == "authors" and draft.authors is None:
            draft.authors = split_author_list(_authors_text(item[0].text))
        elif kind == "pdf":
            draft.pdf = item[0]
            break
        elif in_summary or any(ln.kind == "heading" for ln in item):
            in_summary = True  # a summary section started: the abstract is over
        elif kind == "text":
            draft.abstract.append(_join(item))
    return draft


def _drafts(chunk: _Chunk, form: DigestForm, file: str,
            problems: list[Problem]) -> list[_Draft]:
    """One chunk → one or more entries (several when separators between them are missing)."""
    items = _paragraphs(chunk.lines)
    author_at = [i for i, item in enumerate(items) if item[0].kind == "authors"]
    pdf_item = next((item[0] for item in items if item[0].kind == "pdf"), None)

    def text_of(item: list[_Line]) -> str:
        return _join(item)

    if chunk.title_line is not None:
        return [_markdown_draft(chunk.title_line, items, chunk.date)]

    drafts: list[_Draft] = []
    text_items = [i for i, item in enumerate(items) if item[0].kind == "text"]
    if not author_at:
        if not text_items:
            return []
        first = text_items[0]
        draft = _Draft(items[first][0].no, text_of(items[first]), date=chunk.date, pdf=pdf_item)
        draft.abstract = [text_of(items[i]) for i in text_items[1:]]
        return [draft]

    # The title of the first entry is everything before its Authors line (a wrapped title may
    # be double-spaced); later entries in the same chunk take the one paragraph before theirs.
    bounds: list[tuple[int, int]] = []  # (title start, authors index)
    for n, a in enumerate(author_at):
        start = 0 if n == 0 else a - 1
        if n > 0 and (start <= author_at[n - 1] or items[start][0].kind != "text"):
            problems.append(Problem(kind=MalformedEntryError.kind, file=file,
                                    line=items[a][0].no,
                                    message="an Authors: line without a title before it"))
            continue
        bounds.append((start, a))
    for n, (start, a) in enumerate(bounds):
        title_items = [items[i] for i in range(start, a) if items[i][0].kind == "text"]
        if not title_items:
            problems.append(Problem(kind=MalformedEntryError.kind, file=file,
                                    line=items[a][0].no,
                                    message="an Authors: line without a title before it"))
            continue
        end = bounds[n + 1][0] if n + 1 < len(bounds) else len(items)
        draft = _Draft(title_items[0][0].no, _join([ln for it in title_items for ln in it]),
                       date=chunk.date)
        draft.authors = split_author_list(_authors_text(items[a][0].text))
        for i in range(a + 1, end):
            if items[i][0].kind == "text":
                draft.abstract.append(text_of(items[i]))
            elif items[i][0].kind == "pdf":
                draft.pdf = items[i][0]
        drafts.append(draft)
    return drafts


def _entry(draft: _Draft, index: int, form: DigestForm) -> Entry:
    comment: str | None = None
    hint: str | None = None
    if draft.pdf is not None:
        if form == "markdown" and (m := _PDF_MD.match(draft.pdf.text)):
            comment = m.group("comment")
            hint = id_from_url(m.group("url"))
        elif m := _PDF_TEXT.match(draft.pdf.text):
            comment = m.group("comment")
    authors = draft.authors or ()
    if form == "markdown":
        title = collapse_ws(_md_inline(draft.title))
        abstract = collapse_ws(_md_inline(" ".join(draft.abstract)))
        comment = collapse_ws(_md_inline(comment)) if comment else None
        authors = tuple(_md_inline(a) for a in authors)
    else:
        # Paragraphs come whitespace-collapsed and never empty (`_join`): so are their joins.
        title = draft.title
        abstract = " ".join(draft.abstract)
        comment = collapse_ws(comment) if comment else None
    text = f"{abstract}\n{comment or ''}"
    if hint is None and _may_name_id(text):
        named = _named_ids(_ADMIN_NOTE.sub("", text))
        hint = named[0] if len(named) == 1 else None
    return Entry(
        index=index, line=draft.line, date=draft.date, title=title, authors=authors,
        abstract=abstract, comment=comment or None, code_urls=find_code_urls(text),
        arxiv_id_hint=hint,
    )


def _oversized(draft: _Draft) -> str | None:
    """Why a draft entry is too large to be a paper, or None."""
    title = len(draft.title)
    if title > MAX_TITLE_CHARS:
        return f"a title of {title} characters (at most {MAX_TITLE_CHARS})"
    abstract = sum(len(part) + 1 for part in draft.abstract)
    if abstract > MAX_ABSTRACT_CHARS:
        return f"an abstract of {abstract} characters (at most {MAX_ABSTRACT_CHARS})"
    authors = draft.authors or ()
    if len(authors) > MAX_AUTHORS:
        return f"{len(authors)} authors (at most {MAX_AUTHORS})"
    longest = max((len(a) for a in authors), default=0)
    if longest > MAX_AUTHOR_CHARS:
        return f"an author name of {longest} characters (at most {MAX_AUTHOR_CHARS})"
    return None


def _may_name_id(text: str) -> bool:
    """False when `_named_ids` finds nothing in `text` (most entries): a quick look first.

    Its identifiers follow "arXiv" or "arxiv.org" in any case (no letter of "arx" has another
    case-insensitive match), or are old-style ones: a "/" and seven digits.
    """
    return "arx" in text.lower() or ("/" in text and _SLASH_ID.search(text) is not None)


def _named_ids(text: str) -> tuple[str, ...]:
    """arXiv IDs the text names: `arXiv:ID`, arxiv.org URLs and bare old-style IDs, once each."""
    return tuple(dict.fromkeys((*ids_in_text(text), *bare_old_ids(text))))


_FRONT_MATTER_KEY = re.compile(r"^(?:title|categories)\s*:\s*(.+)$")


class _Builder:
    """Lines (their kinds final) → chunks → drafts → entries, each as soon as it is complete.

    Besides the entries it keeps only what the digest's record and its errors need: the chunk
    being read, the first lines of a few kinds, the problems, and a key per entry to find a
    paper listed twice.
    """

    def __init__(self, form: DigestForm, file: str) -> None:
        self.form = form
        self.file = file
        self.current: _Chunk | None = None
        self.section_date: date | None = None
        self.seen_date = False
        self.after_footer = False
        # Problems, by the step of a whole-file parse that finds them (that is their order).
        self.markdown: list[Problem] = []
        self.stray: Problem | None = None
        self.chunk_problems: list[Problem] = []
        self.too_long: list[Problem] = []
        self.duplicates: list[Problem] = []
        self.truncated: Problem | None = None
        self.drafts = 0
        self.entries: list[Entry] = []
        self.seen: dict[tuple[str, tuple[str, ...]], int] = {}
        # For the category and for errors naming a line.
        self.noting = True
        self.count = 0
        self.category_line: _Line | None = None
        self.front_matter_category: str | None = None
        self.first_date_line: int | None = None
        self.first_marker: int | None = None
        self.first_solid: int | None = None

    def push(self, line: _Line) -> None:
        kind = line.kind
        if self.noting:
            self._note(line)
        if kind == "date":
            self.close("section")
            self.section_date = _parse_date(line, self.file)
            self.seen_date, self.after_footer = True, False
        elif kind == "skip":
            return
        elif not self.seen_date:
            self._header(line)
        elif kind == "footer" and not self._wrapped_word(line):
            # Blog chrome ends the papers, but does not hide a paper that still follows it.
            self.close("footer")
            self.after_footer = True
        elif kind == "title":
            self.close("next")
            self.current = _Chunk(title_line=line, date=self.section_date,
                                  after_footer=self.after_footer)
        elif kind == "shot":
            self.close("shot")
        elif self.current is None and (kind == "blank" or self.form == "markdown"):
            return  # markdown text outside a `## title` block (summaries, notes) is no paper's
        else:
            self._append(line)

    def _wrapped_word(self, line: _Line) -> bool:
        """Is this footer line ("Next", "Older", …) a wrapped abstract's word? It is, alone
        on a line between an entry's authors and its PDF line: blog chrome comes after a paper,
        not inside one. It then becomes text."""
        if (self.current is None or not self.current.in_abstract
                or line.text.startswith(_FOOTER_PREFIXES)):
            return False
        line.kind = "text"
        return True

    def _append(self, line: _Line) -> None:
        if self.current is None:
            self.current = _Chunk(date=self.section_date, after_footer=self.after_footer)
        self.current.lines.append(line)
        if line.kind == "authors":
            self.current.in_abstract = True
        elif line.kind == "pdf":
            self.current.in_abstract = False
            if self.form == "text":
                self.close("pdf")

    def _note(self, line: _Line) -> None:
        """Remember what the category and the errors may need from the first lines."""
        kind = line.kind
        if self.count < _CATEGORY_LINES:
            self.count += 1
            if (kind == "skip" and self.front_matter_category is None
                    and (m := _FRONT_MATTER_KEY.match(line.text))):
                self.front_matter_category = m.group(1).strip().strip("\"'") or ""
        elif self.seen_date:
            self.noting = False  # the first lines and the first date line are behind
        if kind == "blank":
            return
        if self.first_solid is None:
            self.first_solid = line.no
        if self.first_marker is None and kind in ("authors", "pdf", "title"):
            self.first_marker = line.no
        if self.first_date_line is None and kind == "date":
            self.first_date_line = line.no

    def _header(self, line: _Line) -> None:
        """A line before the first date line."""
        if (self.category_line is None and line.kind in ("text", "heading")
                and line.text):
            self.category_line = line
        if self.stray is None and line.kind in ("authors", "pdf", "title"):
            self.stray = Problem(kind=MissingDateError.kind, file=self.file, line=line.no,
                                 message="paper text before the first date line was ignored")

    def close(self, reason: _End) -> None:
        chunk, self.current = self.current, None
        if chunk is None or not (chunk.lines or chunk.title_line):
            return
        chunk.ended_by = reason
        has_pdf = any(ln.kind == "pdf" for ln in chunk.lines)
        has_marker = has_pdf or any(ln.kind == "authors" for ln in chunk.lines)
        if chunk.after_footer and not has_marker:
            return  # navigation, table of contents or copyright text after the footer
        if reason == "eof" and not has_pdf:  # the last chunk: is the file cut off?
            first = chunk.title_line or next(ln for ln in chunk.lines if ln.kind != "blank")
            self.truncated = Problem(
                kind=TruncatedEntryError.kind, file=self.file, line=first.no,
                message="text after the last complete paper stops before a PDF line "
                        "(is the file cut off?)")
            self.chunk_problems.append(self.truncated)
            # Entries before the cut in the same chunk (missing separators) are still whole.
            drafts = _drafts(chunk, self.form, self.file, self.chunk_problems)[:-1]
        elif has_marker or reason == "shot" or (
                self.form == "text"
                and len([it for it in _paragraphs(chunk.lines) if it[0].kind == "text"]) >= 2):
            drafts = _drafts(chunk, self.form, self.file, self.chunk_problems)
        else:
            return  # navigation or blog chrome between papers, not a paper
        for draft in drafts:
            self._add(draft)

    def _add(self, draft: _Draft) -> None:
        """A draft that can be a paper becomes an entry; an oversized one a problem."""
        self.drafts += 1
        if (why := _oversized(draft)) is not None:
            self.too_long.append(Problem(kind="entry_too_long", file=self.file,
                                         line=draft.line, message=f"entry skipped: {why}"))
            return
        entry = _entry(draft, len(self.entries), self.form)
        self.entries.append(entry)
        # The same paper listed twice in one digest is kept twice, but said.
        key = (entry.title.casefold(), tuple(a.casefold() for a in entry.authors))
        if key in self.seen:
            self.duplicates.append(Problem(
                kind="duplicate_entry", file=self.file, line=entry.line,
                message=f"the paper at line {self.seen[key]} is listed again"))
        else:
            self.seen[key] = entry.line

    def finish(self, dropped: Problem | None) -> Digest:
        self.close("eof")
        if not self.seen_date:
            raise MissingDateError("no 'YYYY-MM-DD 更新' date line before the papers",
                                   file=self.file,
                                   line=self.first_marker or self.first_solid or 1)
        if not self.drafts:
            if self.truncated is not None:
                raise TruncatedEntryError(self.truncated.message, file=self.file,
                                          line=self.truncated.line)
            raise NoEntriesError("a date line but no papers under it", file=self.file,
                                 line=self.first_date_line)
        if not self.entries:
            last = self.too_long[-1]
            raise MalformedEntryError("no entry is a paper: " + last.message, file=self.file,
                                      line=last.line)
        problems = [*([dropped] if dropped else []), *self.markdown,
                    *([self.stray] if self.stray else []), *self.chunk_problems,
                    *self.too_long, *self.duplicates]
        first_date = next((e.date for e in self.entries if e.date), None)
        return Digest(file=self.file, category=self._category(), date=first_date,
                      form=self.form, entries=tuple(self.entries), problems=tuple(problems))

    def _category(self) -> str | None:
        line = self.category_line
        if line is not None:
            if m := _FRONT_MATTER_KEY.match(line.text):  # front matter left open
                return m.group(1).strip().strip("\"'") or None
            return collapse_ws(line.text.lstrip("#"))
        # Markdown front matter `title:` as a fallback.
        return self.front_matter_category or None


def _parse_lines(source: _Text, raws: Iterator[str], file: str) -> Digest:
    """The lines of one digest → its record (see the module docstring)."""
    with_lookahead = source.again()
    try:
        form = _detect_form(itertools.islice(with_lookahead, _DETECT_LINES))
    finally:
        close = getattr(with_lookahead, "close", None)
        if close is not None:
            close()
    builder = _Builder(form, file)
    dropped = _Dropped()
    lines = _cleaned(raws, form, file, dropped)
    stream = (_unblocked(lines, source, file, builder.markdown) if form == "markdown"
              else _retitled(lines))
    for line in stream:
        builder.push(line)
    return builder.finish(dropped.problem(file))


def _parse(source: _Text, file: str) -> Digest:
    """Parse a digest's text, raising errors in the order a whole-file reading finds them."""
    raws = source.lines()
    try:
        digest = _parse_lines(source, raws, file)
    except DigestError as error:
        if error is source.failed:
            raise
        # The parser stopped early: what the rest of the input holds may be graver.
        source.drain(raws)
        source.finish()
        if source.blank:
            raise EmptyDigestError("the file is empty", file=file, line=1) from None
        if source.lines_read > MAX_DIGEST_LINES:
            raise _too_many_lines(file) from None
        raise
    source.finish()
    return digest


def parse_digest(text: str, file: str) -> Digest:
    """Parse a digest's text (either form). `file` names it in errors and records."""
    if not text.strip():
        raise EmptyDigestError("the file is empty", file=file, line=1)
    return _parse(_InMemory(text), file)

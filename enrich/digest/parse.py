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
never reach a title. Work and memory are linear in the input, whatever it holds.
"""

from __future__ import annotations

import codecs
import itertools
import re
from collections.abc import Iterable, Iterator, Sequence
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

# A digest this large is not a daily post; refuse before reading it into memory.
MAX_DIGEST_BYTES = 64 * 1024 * 1024
# A daily post has hundreds of lines, a back-catalogue page tens of thousands. Past this many the
# file is not a digest, and every line costs an object: refuse instead of growing without bound.
MAX_DIGEST_LINES = 250_000

_DATE = re.compile(r"^(?:#{1,6}\s*)?(\d{4})-(\d{1,2})-(\d{1,2})\s*更新\s*[:：]?$")
_AUTHORS = re.compile(r"^authors?\s*[:：]", re.IGNORECASE)
_PDF_TEXT = re.compile(r"^PDF(?:\s+(?P<comment>.*))?$")
# The URL may hold one level of balanced parentheses; the comment is the rest of the line.
_PDF_MD = re.compile(r"^\[PDF\]\((?P<url>(?:[^()\s]|\([^()\s]*\))*)\)\s*(?P<comment>.*)$")
# An ATX heading's optional closing sequence (`## Title ##`) is not part of the title.
_MD_TITLE = re.compile(r"^##(?!#)\s*(?P<title>.+?)(?:\s+#+)?$")
_MD_HEADING = re.compile(r"^#{1,6}(\s|$)")
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
# Terminal escape sequences (colours, titles) go whole, not just their ESC byte.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?")
# "arXiv admin note: text overlap with arXiv:…" names *another* paper, never this one.
_ADMIN_NOTE = re.compile(r"arXiv\s+admin\s+note\s*:.*", re.IGNORECASE | re.DOTALL)
_SPACES = dict.fromkeys(map(ord, "\t\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
                                 "\u2008\u2009\u200a\u202f\u205f\u3000"), " ")

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


# --------------------------------------------------------------------------------------------
# Bytes → text


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _utf16_without_bom(data: bytes) -> str | None:
    """Mostly-ASCII UTF-16 has a NUL in every other byte; name that byte order, else None."""
    sample = data[:4096]
    even, odd = sample[0::2], sample[1::2]
    for order, zeros, other in (("utf-16-le", odd, even), ("utf-16-be", even, odd)):
        if zeros.count(0) >= len(zeros) // 4 and other.count(0) <= len(other) // 100:
            return order
    return None


def decode_digest(data: bytes, file: str) -> str:
    """Decode a digest's bytes, refusing empty, binary and non-UTF-8 files with the line."""
    if not data.strip():
        raise EmptyDigestError("the file is empty", file=file, line=1)
    encoding = ("utf-16" if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
                else _utf16_without_bom(data) if b"\x00" in data else None)
    if encoding is not None:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError as exc:
            line = data[: exc.start].decode(encoding, errors="replace").count("\n") + 1
            raise DigestEncodingError(f"invalid {encoding.upper()} at byte {exc.start}",
                                      file=file, line=line) from exc
    nul = data.find(b"\x00")
    if nul >= 0 or data.startswith((b"%PDF", b"\x89PNG", b"PK\x03\x04", b"\x1f\x8b", b"GIF8")):
        raise BinaryDigestError("binary data, not a text digest", file=file,
                                line=_line_of(data, max(nul, 0)))
    bom = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        text = data[bom:].decode("utf-8")
    except UnicodeDecodeError as exc:
        start, end = exc.start + bom, exc.end + bom  # offsets in the file, BOM included
        cut = " (the file ends inside a character: is it cut off?)" if end == len(data) else ""
        raise DigestEncodingError(
            f"not UTF-8: byte 0x{data[start]:02x} at offset {start} cannot be decoded"
            f"{cut}; save the digest as UTF-8",
            file=file, line=_line_of(data, start),
        ) from exc
    controls = len(text) - len(_CONTROL.sub("", text))
    if controls > max(16, len(text) // 20):
        first = _CONTROL.search(text)
        line = text.count("\n", 0, first.start()) + 1 if first else 1
        raise BinaryDigestError(f"{controls} control characters: binary data, not a text digest",
                                file=file, line=line)
    return text


def read_digest(path: Path, name: str | None = None) -> Digest:
    """Read and parse one digest file (`.txt` rendered text or `.md` markdown).

    `name` identifies the digest in records and messages (default: the file name).
    """
    name = name or path.name
    try:
        size = path.stat().st_size
        if size > MAX_DIGEST_BYTES:
            raise DigestError(f"{size} bytes is too large for a digest "
                              f"(limit {MAX_DIGEST_BYTES})", file=name, line=1)
        data = path.read_bytes()
    except OSError as exc:
        raise DigestError(f"cannot read: {exc.strerror or exc}", file=name) from exc
    return parse_digest(decode_digest(data, name), name)


# --------------------------------------------------------------------------------------------
# Text → lines


def _raw_lines(text: str, file: str) -> Iterator[str]:
    """The lines of `text` split at \\r\\n, \\r or \\n, lazily, refusing absurdly many."""
    start, count = 0, 0
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    while start <= len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        count += 1
        if count > MAX_DIGEST_LINES:
            raise DigestError(f"more than {MAX_DIGEST_LINES} lines: not a digest", file=file,
                              line=count)
        yield text[start:end]
        start = end + 1


def _clean(raw: str) -> tuple[str, int]:
    """Normalise one raw line; also return how many control characters were dropped."""
    text = raw.translate(_INVISIBLE).translate(_SPACES)
    text, ansi = _ANSI.subn(" ", text)
    text, dropped = _CONTROL.subn(" ", text)
    return text.strip(), dropped + ansi


def _detect_form(lines: Iterable[str]) -> DigestForm:
    for raw in lines:
        text = raw.strip()
        if _PDF_MD.match(text) or text.startswith(("**Authors", "__Authors")):
            return "markdown"
        if _MD_TITLE.match(text) and not _DATE.match(text):
            return "markdown"
    return "text"


def _classify(text: str, form: DigestForm) -> Kind:
    kind: Kind = "text"
    if not text:
        kind = "blank"
    elif _DATE.match(text):
        kind = "date"
    elif _AUTHORS.match(_strip_emphasis(text) if form == "markdown" else text):
        kind = "authors"
    elif form == "markdown":
        kind = _classify_markdown(text)
    elif (m := _PDF_TEXT.match(text)) and len(m.group("comment") or "") <= _MAX_COMMENT:
        kind = "pdf"
    if kind == "text":
        if text == _SHOT:
            kind = "shot"
        elif text.startswith(_FOOTER_PREFIXES) or text.lower() in _FOOTER_LINES:
            kind = "footer"
    return kind


def _classify_markdown(text: str) -> Kind:
    if _PDF_MD.match(text):
        return "pdf"
    if _MD_TITLE.match(text):
        return "title"
    if _MD_HEADING.match(text):
        return "heading"
    if text.startswith(("<", "![", ">")) or re.fullmatch(r"[-*_]{3,}", text):
        return "skip"
    return "text"


def _strip_emphasis(text: str) -> str:
    for mark in ("**", "__"):
        if text.startswith(mark):
            text = text[len(mark):]
            if text.endswith(mark):
                text = text[: -len(mark)]
    return text.strip()


def _lines(text: str, form: DigestForm, file: str) -> tuple[list[_Line], list[Problem]]:
    """Clean and classify every line (a run of blank lines is kept as its first one)."""
    out: list[_Line] = []
    problems: list[Problem] = []
    dropped_total, first_dropped = 0, 0
    for no, raw in enumerate(_raw_lines(text, file), start=1):
        line, dropped = _clean(raw)
        if dropped:
            dropped_total += dropped
            first_dropped = first_dropped or no
        if not line and out and out[-1].kind == "blank":
            continue
        out.append(_Line(no, line, _classify(line, form)))
    if dropped_total:
        problems.append(Problem(kind="control_characters", file=file, line=first_dropped,
                                message=f"removed {dropped_total} control character(s)"))
    if form == "markdown":
        _skip_markdown_blocks(out, file, problems)
    else:
        _retitle(out)
    return out, problems


def _skip_markdown_blocks(lines: list[_Line], file: str, problems: list[Problem]) -> None:
    """Mark front matter, HTML comments and `<details>` blocks as lines to skip.

    A block that is never closed must not swallow the papers after it: unclosed front matter
    or comments hide only their opening line (and are reported), an unclosed `<details>` ends
    at the next paper title or date line.
    """
    closes_at = [-1] * len(lines)  # index of the next line holding `-->`, from each line on
    nxt = -1
    for i in range(len(lines) - 1, -1, -1):
        if "-->" in lines[i].text:
            nxt = i
        closes_at[i] = nxt
    i = 0
    if lines and lines[0].no == 1 and lines[0].text == "---":
        end = next((j for j in range(1, min(len(lines), 200)) if lines[j].text == "---"), None)
        if end is None:
            problems.append(Problem(kind="malformed_markdown", file=file, line=1,
                                    message="front matter opened with '---' is never closed"))
        for j in range(end + 1 if end is not None else 1):
            lines[j].kind = "skip"
        i = end + 1 if end is not None else 1
    in_details = False
    while i < len(lines):
        line = lines[i]
        lower = line.text.lower()
        if in_details:
            if line.kind in ("title", "date"):
                in_details = False  # an unclosed block ends where the next paper starts
                continue
            line.kind = "skip"
            in_details = "</details>" not in lower
        elif line.text.startswith("<!--"):
            end = i if "-->" in line.text[4:] else closes_at[i + 1] if i + 1 < len(lines) else -1
            if end < 0:
                problems.append(Problem(kind="malformed_markdown", file=file, line=line.no,
                                        message="an HTML comment '<!--' is never closed"))
                end = i
            for j in range(i, end + 1):
                lines[j].kind = "skip"
            i = end
        elif lower.startswith("<details"):
            # The screenshot block closes the entry like the rendered `点此查看论文截图`.
            line.kind = "shot"
            in_details = "</details>" not in lower
        i += 1


def _retitle(lines: list[_Line]) -> None:
    """Rendered text: fix lines whose first word fooled `_classify`, using their position.

    * A title that starts like a marker (`PDF Parsing…`, `Authors: a study…`, `Next`) sits
      between an entry boundary and the entry's `Authors:` line: it is text.
    * An abstract wrapped so that a line starts with `PDF ` is followed, in the same paragraph
      and before any `Authors:` line, by the real PDF line: only the last one is the PDF line.
    """
    solid = [n for n, line in enumerate(lines) if line.kind != "blank"]
    for k, n in enumerate(solid):
        if lines[n].kind != "authors" or k == 0:
            continue
        prev = lines[solid[k - 1]]
        before = lines[solid[k - 2]].kind if k >= 2 else "date"
        if prev.kind in ("pdf", "footer", "authors") and before in ("date", "shot", "pdf",
                                                                    "footer"):
            prev.kind = "text"
    pending: _Line | None = None  # the last PDF line of the current paragraph
    for line in lines:
        if line.kind in ("blank", "authors", "date", "shot", "footer"):
            pending = None
        elif line.kind == "pdf":
            if pending is not None:
                pending.kind = "text"
            pending = line


# --------------------------------------------------------------------------------------------
# Lines → entries


_End = Literal["pdf", "shot", "next", "section", "footer", "eof"]


def _chunks(lines: list[_Line], form: DigestForm,
            file: str) -> tuple[list[_Line], list[_Chunk], bool]:
    """Split lines into the header (before the first date line) and entry chunks."""
    header: list[_Line] = []
    chunks: list[_Chunk] = []
    current: _Chunk | None = None
    section_date: date | None = None
    seen_date = after_footer = False

    def close(reason: _End) -> None:
        nonlocal current
        if current is not None and (current.lines or current.title_line):
            current.ended_by = reason
            chunks.append(current)
        current = None

    for line in lines:
        if line.kind == "date":
            close("section")
            section_date = _parse_date(line, file)
            seen_date, after_footer = True, False
        elif line.kind == "skip":
            continue
        elif not seen_date:
            header.append(line)
        elif line.kind == "footer":
            # Blog chrome ends the papers, but does not hide a paper that still follows it.
            close("footer")
            after_footer = True
        elif line.kind == "title":
            close("next")
            current = _Chunk(title_line=line, date=section_date, after_footer=after_footer)
        elif line.kind == "shot":
            close("shot")
        elif current is None and (line.kind == "blank" or form == "markdown"):
            # Markdown text outside a `## title` block (summaries, notes) is no paper's.
            continue
        else:
            if current is None:
                current = _Chunk(date=section_date, after_footer=after_footer)
            current.lines.append(line)
            if line.kind == "pdf" and form == "text":
                close("pdf")
    close("eof")
    return header, chunks, seen_date


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
    clean = _md_inline if form == "markdown" else (lambda s: s)
    title = collapse_ws(clean(draft.title))
    abstract = collapse_ws(clean(" ".join(draft.abstract)))
    comment = collapse_ws(clean(comment)) if comment else None
    text = f"{abstract}\n{comment or ''}"
    if hint is None:
        named = _named_ids(_ADMIN_NOTE.sub("", text))
        hint = named[0] if len(named) == 1 else None
    return Entry(
        index=index, line=draft.line, date=draft.date, title=title,
        authors=tuple(clean(a) for a in draft.authors or ()), abstract=abstract,
        comment=comment or None, code_urls=find_code_urls(text), arxiv_id_hint=hint,
    )


def _bounded(drafts: list[_Draft], file: str, problems: list[Problem]) -> list[_Draft]:
    """The drafts that can be papers; each oversized one is a problem naming its line."""
    kept = []
    for draft in drafts:
        if (why := _oversized(draft)) is None:
            kept.append(draft)
        else:
            problems.append(Problem(kind="entry_too_long", file=file, line=draft.line,
                                    message=f"entry skipped: {why}"))
    if not kept:
        raise MalformedEntryError("no entry is a paper: " + problems[-1].message, file=file,
                                  line=problems[-1].line)
    return kept


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


def _named_ids(text: str) -> tuple[str, ...]:
    """arXiv IDs the text names: `arXiv:ID`, arxiv.org URLs and bare old-style IDs, once each."""
    return tuple(dict.fromkeys((*ids_in_text(text), *bare_old_ids(text))))


_FRONT_MATTER_KEY = re.compile(r"^(?:title|categories)\s*:\s*(.+)$")


def _category(header: list[_Line], lines: list[_Line]) -> str | None:
    for line in header:
        if line.kind in ("text", "heading") and line.text:
            if m := _FRONT_MATTER_KEY.match(line.text):  # front matter left open
                return m.group(1).strip().strip("\"'") or None
            return collapse_ws(line.text.lstrip("#"))
    # Markdown front matter `title:` as a fallback.
    for line in lines[:40]:
        m = _FRONT_MATTER_KEY.match(line.text)
        if m and line.kind == "skip":
            return m.group(1).strip().strip("\"'") or None
    return None


def parse_digest(text: str, file: str) -> Digest:
    """Parse a digest's text (either form). `file` names it in errors and records."""
    if not text.strip():
        raise EmptyDigestError("the file is empty", file=file, line=1)
    text = text.lstrip("\ufeff")
    form = _detect_form(itertools.islice(_raw_lines(text, file), 5000))
    lines, problems = _lines(text, form, file)
    header, chunks, seen_date = _chunks(lines, form, file)
    if not seen_date:
        where = next((ln.no for ln in lines if ln.kind in ("authors", "pdf", "title")),
                     next((ln.no for ln in lines if ln.kind != "blank"), 1))
        raise MissingDateError("no 'YYYY-MM-DD 更新' date line before the papers", file=file,
                               line=where)
    stray = next((ln for ln in header if ln.kind in ("authors", "pdf", "title")), None)
    if stray is not None:
        problems.append(Problem(kind=MissingDateError.kind, file=file, line=stray.no,
                                message="paper text before the first date line was ignored"))

    drafts: list[_Draft] = []
    for n, chunk in enumerate(chunks):
        has_pdf = any(ln.kind == "pdf" for ln in chunk.lines)
        has_marker = has_pdf or any(ln.kind == "authors" for ln in chunk.lines)
        if chunk.after_footer and not has_marker:
            continue  # navigation, table of contents or copyright text after the footer
        if n == len(chunks) - 1 and chunk.ended_by == "eof" and not has_pdf:
            first = chunk.title_line or next(ln for ln in chunk.lines if ln.kind != "blank")
            problems.append(Problem(
                kind=TruncatedEntryError.kind, file=file, line=first.no,
                message="text after the last complete paper stops before a PDF line "
                        "(is the file cut off?)"))
            # Entries before the cut in the same chunk (missing separators) are still whole.
            drafts.extend(_drafts(chunk, form, file, problems)[:-1])
        elif has_marker or chunk.ended_by == "shot":
            drafts.extend(_drafts(chunk, form, file, problems))
        elif form == "text" and len([it for it in _paragraphs(chunk.lines)
                                     if it[0].kind == "text"]) >= 2:
            drafts.extend(_drafts(chunk, form, file, problems))  # no Authors and no PDF line
        # else: navigation or blog chrome between papers, not a paper

    if not drafts:
        truncated = next((p for p in problems if p.kind == TruncatedEntryError.kind), None)
        if truncated is not None:
            raise TruncatedEntryError(truncated.message, file=file, line=truncated.line)
        date_line = next((ln.no for ln in lines if ln.kind == "date"), None)
        raise NoEntriesError("a date line but no papers under it", file=file, line=date_line)

    entries = tuple(_entry(d, i, form) for i, d in enumerate(_bounded(drafts, file, problems)))
    problems.extend(_duplicates(entries, file))
    first_date = next((e.date for e in entries if e.date), None)
    return Digest(file=file, category=_category(header, lines), date=first_date, form=form,
                  entries=entries, problems=tuple(problems))


def _duplicates(entries: Sequence[Entry], file: str) -> list[Problem]:
    """The same paper listed twice in one digest is kept twice, but said."""
    seen: dict[tuple[str, tuple[str, ...]], int] = {}
    found: list[Problem] = []
    for entry in entries:
        key = (entry.title.casefold(), tuple(a.casefold() for a in entry.authors))
        if key in seen:
            found.append(Problem(kind="duplicate_entry", file=file, line=entry.line,
                                 message=f"the paper at line {seen[key]} is listed again"))
        else:
            seen[key] = entry.line
    return found

"""Digest posts → `Digest` records.

Two forms of the same post are read:

* the rendered text (what a reader copies from the blog): a category line, `YYYY-MM-DD 更新`,
  then per paper a title, `Authors:…`, the abstract, `PDF <comment>` and `点此查看论文截图`,
  and a footer (`文章作者:`, `版权声明:`, `目录`);
* the markdown source: `## title`, `**Authors:…**`, the abstract,
  `[PDF](http://arxiv.org/abs/IDvN) comment`, then optional summary sections and `<details>`
  image blocks.

`decode_digest` and `parse_digest` are pure; `read_digest` is the one function touching disk.
Fatal problems (empty, binary, undecodable, no date line, no entries) raise a `DigestError`
naming file and line; recoverable ones (a truncated last entry, an entry without title) are
kept as `Problem`s on the digest while every good entry is still returned.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Literal

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
from enrich.identifiers import id_from_url, ids_in_text
from enrich.links import find_code_urls
from enrich.models import Digest, DigestForm, Entry, Problem
from enrich.textnorm import collapse_ws

# A digest this large is not a daily post; refuse before reading it into memory.
MAX_DIGEST_BYTES = 64 * 1024 * 1024

_DATE = re.compile(r"^(?:#{1,6}\s*)?(\d{4})-(\d{1,2})-(\d{1,2})\s*更新\s*[:：]?$")
_AUTHORS = re.compile(r"^authors?\s*[:：]", re.IGNORECASE)
_PDF_TEXT = re.compile(r"^PDF(?:\s+(?P<comment>.*))?$")
_PDF_MD = re.compile(r"^\[PDF\]\((?P<url>[^)\s]*)\)\s*(?P<comment>.*)$")
_MD_TITLE = re.compile(r"^##(?!#)\s*(?P<title>.+)$")
_MD_HEADING = re.compile(r"^#{1,6}(\s|$)")
_MD_LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]*)\)")
_MD_AUTOLINK = re.compile(r"<(https?://[^>\s]+)>")
_MD_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~])")
_SHOT = "点此查看论文截图"
# Blog chrome after the last paper. Chinese markers are safe as line prefixes; English ones only
# as whole lines, because titles start with words like "Next".
_FOOTER_PREFIXES = ("文章作者", "版权声明", "本文链接", "文章链接", "原文链接", "上一篇", "下一篇",
                    "返回顶部", "赞赏", "打赏")
_FOOTER_LINES = frozenset({"目录", "previous", "next", "previous post", "next post", "newer",
                           "older", "back to top"})
# Longest PDF comment we believe; a longer "PDF …" line is prose from an abstract.
_MAX_COMMENT = 1000
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"), None)
_SPACES = dict.fromkeys(map(ord, "\t\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
                                 "\u2008\u2009\u200a\u202f\u205f\u3000"), " ")

Kind = Literal["blank", "date", "authors", "pdf", "shot", "footer", "title", "heading", "skip",
               "text"]


@dataclass
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


# --------------------------------------------------------------------------------------------
# Bytes → text


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def decode_digest(data: bytes, file: str) -> str:
    """Decode a digest's bytes, refusing empty, binary and non-UTF-8 files with the line."""
    if not data.strip():
        raise EmptyDigestError("the file is empty", file=file, line=1 if data else None)
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise DigestEncodingError(f"invalid UTF-16 at byte {exc.start}", file=file,
                                      line=_line_of(data, exc.start)) from exc
    nul = data.find(b"\x00")
    if nul >= 0 or data.startswith((b"%PDF", b"\x89PNG", b"PK\x03\x04", b"\x1f\x8b", b"GIF8")):
        raise BinaryDigestError("binary data, not a text digest", file=file,
                                line=_line_of(data, max(nul, 0)))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DigestEncodingError(
            f"not UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start} cannot be decoded; "
            "save the digest as UTF-8",
            file=file, line=_line_of(data, exc.start),
        ) from exc
    controls = sum(1 for ch in text if _is_control(ch))
    if controls > max(16, len(text) // 20):
        raise BinaryDigestError(f"{controls} control characters: binary data, not a text digest",
                                file=file, line=1)
    return text


def _is_control(ch: str) -> bool:
    return ch not in "\t\n\r\f\v" and unicodedata.category(ch) == "Cc"


def read_digest(path: Path) -> Digest:
    """Read and parse one digest file (`.txt` rendered text or `.md` markdown)."""
    name = path.name
    try:
        size = path.stat().st_size
        if size > MAX_DIGEST_BYTES:
            raise DigestError(f"{size} bytes is too large for a digest "
                              f"(limit {MAX_DIGEST_BYTES})", file=name)
        data = path.read_bytes()
    except OSError as exc:
        raise DigestError(f"cannot read: {exc.strerror or exc}", file=name) from exc
    return parse_digest(decode_digest(data, name), name)


# --------------------------------------------------------------------------------------------
# Text → lines


def _clean(raw: str) -> tuple[str, int]:
    """Normalise one raw line; also return how many control characters were dropped."""
    text = raw.translate(_ZERO_WIDTH).translate(_SPACES)
    dropped = sum(1 for ch in text if _is_control(ch))
    if dropped:
        text = "".join(" " if _is_control(ch) else ch for ch in text)
    return text.strip(), dropped


def _detect_form(lines: list[str]) -> DigestForm:
    for text in lines:
        if _PDF_MD.match(text) or text.startswith(("**Authors", "__Authors")):
            return "markdown"
        if _MD_TITLE.match(text) and not _DATE.match(text):
            return "markdown"
    return "text"


def _classify(text: str, form: DigestForm) -> Kind:
    if not text:
        return "blank"
    if _DATE.match(text):
        return "date"
    bare = _strip_emphasis(text) if form == "markdown" else text
    if _AUTHORS.match(bare):
        return "authors"
    if form == "markdown":
        if _PDF_MD.match(text):
            return "pdf"
        if _MD_TITLE.match(text):
            return "title"
        if _MD_HEADING.match(text):
            return "heading"
        if text.startswith(("<", "![", ">")) or re.fullmatch(r"[-*_]{3,}", text):
            return "skip"
    elif (m := _PDF_TEXT.match(text)) and len(m.group("comment") or "") <= _MAX_COMMENT:
        return "pdf"
    if text == _SHOT:
        return "shot"
    if text.startswith(_FOOTER_PREFIXES) or text.lower() in _FOOTER_LINES:
        return "footer"
    return "text"


def _strip_emphasis(text: str) -> str:
    for mark in ("**", "__"):
        if text.startswith(mark):
            text = text[len(mark):]
            if text.endswith(mark):
                text = text[: -len(mark)]
    return text.strip()


def _lines(text: str, form: DigestForm) -> tuple[list[_Line], int, int | None]:
    """Classify every line; markdown front matter, `<details>` blocks and comments are skipped."""
    out: list[_Line] = []
    dropped_total, first_dropped = 0, None
    in_front = in_details = in_comment = False
    for no, raw in enumerate(re.split(r"\r\n|\r|\n", text), start=1):
        line, dropped = _clean(raw)
        if dropped:
            dropped_total += dropped
            first_dropped = first_dropped or no
        kind: Kind = _classify(line, form)
        if form == "markdown":
            if no == 1 and line == "---":
                in_front, kind = True, "skip"
            elif in_front:
                in_front, kind = line != "---", "skip"
            elif in_comment or line.startswith("<!--"):
                in_comment, kind = "-->" not in line, "skip"
            elif in_details or line.lower().startswith("<details"):
                # The screenshot block closes the entry like the rendered `点此查看论文截图`.
                kind = "skip" if in_details else "shot"
                in_details = "</details>" not in line.lower()
        out.append(_Line(no, line, kind))
    return out, dropped_total, first_dropped


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
    seen_date = in_footer = False

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
            seen_date, in_footer = True, False
        elif in_footer or line.kind == "skip":
            continue
        elif not seen_date:
            header.append(line)
        elif line.kind == "footer":
            close("footer")
            in_footer = True
        elif line.kind == "title":
            close("next")
            current = _Chunk(title_line=line, date=section_date)
        elif line.kind == "shot":
            close("shot")
        elif current is None and (line.kind == "blank" or form == "markdown"):
            # Markdown text outside a `## title` block (summaries, notes) is no paper's.
            continue
        else:
            if current is None:
                current = _Chunk(date=section_date)
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
    text = _MD_AUTOLINK.sub(r"\1", text)
    text = _MD_LINK.sub(lambda m: m.group(2) if m.group(1) in ("", m.group(2)) else
                        f"{m.group(1)} ({m.group(2)})", text)
    return _MD_ESCAPE.sub(r"\1", text)


def _split_authors(text: str) -> tuple[str, ...]:
    names: list[str] = []
    for piece in re.split(r"[,，;；]|\s+and\s+", text):
        name = collapse_ws(piece)
        if not name:
            continue
        # "Martin Luther King, Jr." — a lone suffix belongs to the name before it.
        if names and name.rstrip(".").lower() in {"jr", "sr", "ii", "iii", "iv"}:
            names[-1] = f"{names[-1]}, {name}"
        else:
            names.append(name)
    return tuple(names)


@dataclass
class _Draft:
    line: int
    title: str
    authors: tuple[str, ...] | None = None
    abstract: list[str] = field(default_factory=list)
    pdf: _Line | None = None
    date: date | None = None


def _drafts(chunk: _Chunk, form: DigestForm, file: str,
            problems: list[Problem]) -> list[_Draft]:
    """One chunk → one or more entries (several when separators between them are missing)."""
    items = _paragraphs(chunk.lines)
    author_at = [i for i, item in enumerate(items) if item[0].kind == "authors"]
    pdf_item = next((item[0] for item in items if item[0].kind == "pdf"), None)

    def text_of(item: list[_Line]) -> str:
        return _join(item)

    drafts: list[_Draft] = []
    if chunk.title_line is not None:
        m = _MD_TITLE.match(chunk.title_line.text)
        title = m.group("title") if m else chunk.title_line.text
        draft = _Draft(chunk.title_line.no, title, date=chunk.date)
        for item in items:
            kind = item[0].kind
            if kind == "authors" and draft.authors is None:
                draft.authors = _split_authors(_AUTHORS.sub("", _strip_emphasis(item[0].text)))
            elif kind == "pdf":
                draft.pdf = item[0]
                break
            elif any(ln.kind == "heading" for ln in item):
                break  # a summary section starts; the abstract is over
            else:
                draft.abstract.append(text_of(item))
        return [draft]

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
        draft.authors = _split_authors(_AUTHORS.sub("", items[a][0].text))
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
        named = ids_in_text(text)
        hint = named[0] if len(named) == 1 else None
    return Entry(
        index=index, line=draft.line, date=draft.date, title=title,
        authors=tuple(clean(a) for a in draft.authors or ()), abstract=abstract,
        comment=comment or None, code_urls=find_code_urls(text), arxiv_id_hint=hint,
    )


def _category(header: list[_Line], lines: list[_Line]) -> str | None:
    for line in header:
        if line.kind in ("text", "heading") and line.text:
            return collapse_ws(line.text.lstrip("#"))
    # Markdown front matter `title:` as a fallback.
    for line in lines[:40]:
        if m := re.match(r"^(?:title|categories)\s*:\s*(.+)$", line.text):
            return m.group(1).strip().strip("\"'") or None
    return None


def parse_digest(text: str, file: str) -> Digest:
    """Parse a digest's text (either form). `file` names it in errors and records."""
    if not text.strip():
        raise EmptyDigestError("the file is empty", file=file, line=1)
    form = _detect_form([ln.strip() for ln in text.splitlines()[:5000]])
    lines, dropped, first_dropped = _lines(text.lstrip("\ufeff"), form)
    problems: list[Problem] = []
    if dropped:
        problems.append(Problem(kind="control_characters", file=file, line=first_dropped,
                                message=f"removed {dropped} control character(s)"))
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

    entries = tuple(_entry(d, i, form) for i, d in enumerate(drafts))
    first_date = next((e.date for e in entries if e.date), None)
    return Digest(file=file, category=_category(header, lines), date=first_date, form=form,
                  entries=entries, problems=tuple(problems))

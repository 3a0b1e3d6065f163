"""Render `Entry` lists back into the two forms of a digest post.

The renderer is the parser's inverse for round-trip tests: it writes exactly the layout of the
seed digests (rendered text) and of the blog's markdown source, and reports on which line it
put each title, so a test can check the parser's line numbers without trusting the parser.

It never imports `enrich.digest`: an oracle built from the code under test proves nothing.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from enrich.digest.model import Entry

CATEGORY = "无监督/半监督/对比学习"
DEFAULT_DATE = dt.date(2024, 8, 16)
SHOT = "点此查看论文截图"
FOOTER = (
    "文章作者: 木子已",
    "版权声明: 本博客所有文章除特別声明外,均采用 CC BY 4.0 许可协议。转载请注明来源 木子已 !",
    "\u00a0\u00a0目录",
)


@dataclass(frozen=True)
class Rendered:
    """A rendered digest and the 1-based line of each entry's title, in entry order."""

    text: str
    title_lines: tuple[int, ...]


class _Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, *lines: str) -> int:
        """Append lines; return the 1-based number of the first one."""
        first = len(self.lines) + 1
        self.lines.extend(lines)
        return first

    def text(self, newline: str) -> str:
        return newline.join(self.lines) + newline


def _sections(entries: Sequence[Entry]) -> list[tuple[dt.date, list[Entry]]]:
    """Consecutive entries sharing a date form one `更新` section."""
    sections: list[tuple[dt.date, list[Entry]]] = []
    for entry in entries:
        day = entry.date or DEFAULT_DATE
        if sections and sections[-1][0] == day:
            sections[-1][1].append(entry)
        else:
            sections.append((day, [entry]))
    return sections


def _wrapped(text: str, width: int | None) -> list[str]:
    """The text as one line, or wrapped at spaces (never inside a word or URL) to `width`."""
    if width is None:
        return [text]
    return textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False)


def render_text(entries: Sequence[Entry], *, category: str = CATEGORY, newline: str = "\n",
                footer: bool = True, screenshots: bool = True,
                wrap: int | None = None) -> Rendered:
    """The rendered-text form, laid out like `seeds/*.txt`.

    `screenshots=False` leaves out the `点此查看论文截图` lines (the PDF line then ends an
    entry); `wrap` breaks abstracts over several lines, as a narrow copy-paste does.
    """
    out = _Writer()
    out.add(category, "", "")
    titles: list[int] = []
    for day, section in _sections(entries):
        out.add(f"{day.isoformat()} 更新", "")
        for entry in section:
            titles.append(out.add(entry.title, ""))
            if entry.authors:
                out.add("Authors:" + ", ".join(entry.authors), "")
            if entry.abstract:
                out.add(*_wrapped(entry.abstract, wrap))
            out.add(f"PDF {entry.comment}" if entry.comment else "PDF", "")
            if screenshots:
                out.add(SHOT, "")
    if footer:
        out.add(*FOOTER)
    return Rendered(out.text(newline), tuple(titles))


def md_escape(text: str) -> str:
    """Escape what markdown would read as a link or an escape: `\\`, `[` and `]`."""
    return text.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")


def pdf_url(entry: Entry, version: int = 1) -> str:
    """The abs URL the markdown source links as `[PDF]`, from the entry's arXiv ID hint."""
    if entry.arxiv_id_hint is None:
        return "https://example.org/no-arxiv-id.pdf"
    return f"http://arxiv.org/abs/{entry.arxiv_id_hint}v{version}"


def render_markdown(entries: Sequence[Entry], *, category: str = CATEGORY,
                    versions: Sequence[int] | None = None, summaries: bool = True,
                    newline: str = "\n", wrap: int | None = None) -> Rendered:
    """The markdown source form: front matter, `## title`, `**Authors:…**`, `[PDF](…)`.

    With `summaries`, every other entry gets a summary section and every entry a `<details>`
    screenshot block, as the blog's source has them; the parser must ignore both. `wrap`
    breaks abstracts over several lines.
    """
    out = _Writer()
    first_day = (entries[0].date if entries else None) or DEFAULT_DATE
    out.add("---", f"title: {category}", f"date: {first_day.isoformat()} 10:00:00",
            f"categories: {category}", "---", "")
    titles: list[int] = []
    n = 0
    for day, section in _sections(entries):
        out.add(f"# {day.isoformat()} 更新", "")
        for entry in section:
            titles.append(out.add(f"## {md_escape(entry.title)}", ""))
            if entry.authors:
                out.add(f"**Authors:{md_escape(', '.join(entry.authors))}**", "")
            if entry.abstract:
                out.add(*_wrapped(md_escape(entry.abstract), wrap), "")
            version = versions[n] if versions is not None else 1
            comment = f" {md_escape(entry.comment)}" if entry.comment else ""
            out.add(f"[PDF]({pdf_url(entry, version)}){comment}", "")
            if summaries and n % 2 == 0:
                out.add("### **Summary**", "", "- A short summary of the paper.",
                        "- It is no part of the abstract.", "")
            if summaries:
                out.add("<details>", f"  <summary>{SHOT}</summary>",
                        f'<img src="https://picx.example.org/{n}.jpg" align="middle">',
                        "</details>", "")
            n += 1
    return Rendered(out.text(newline), tuple(titles))

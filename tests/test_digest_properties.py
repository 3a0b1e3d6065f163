"""Round-trip contract of the digest parser: entries → rendered digest → parse → same entries.

Entries are generated, rendered in either form by `tests.support.render` (which never uses the
parser) and parsed back. Everything the parser reports must come back: title, authors, abstract,
comment, date section, code URL, arXiv ID (markdown links carry it), and the title's line.
"""

from __future__ import annotations

import datetime as dt
import re

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from enrich.digest.model import Entry
from enrich.digest.parse import parse_digest
from enrich.errors import DigestError
from tests.support.render import render_markdown, render_text

# Words a title, abstract or comment may hold: letters of several scripts, digits and the
# punctuation real titles use (`:` `?` `$…$` quotes, dashes, parentheses, braces, `@`).
_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZéüñøßçÅ对比学习αβ"
_WORD = st.text(alphabet=_LETTERS + "0123456789", min_size=1, max_size=10)
_PUNCT_WORD = st.builds(
    lambda pre, word, post: pre + word + post,
    st.sampled_from(["", "", "", "(", "“", '"', "'", "$", "{", "\\", "@", "["]),
    _WORD,
    st.sampled_from(["", "", "", ":", "?", ",", ")", "”", '"', "'", "$", "}", "!", "-", "]"]),
)
# The first word starts a line, so it must not look like a marker (`PDF`, `Authors:`, `##`).
_FIRST = st.from_regex(r"\A[A-Z][a-z]{1,9}\Z").filter(
    lambda w: w.lower() not in {"author", "authors", "next", "older", "newer", "previous"})
_TAIL = st.lists(st.one_of(_WORD, _PUNCT_WORD), max_size=12)
_TEXT = st.builds(lambda first, rest: " ".join([first, *rest]), _FIRST, _TAIL)
_NAME_PART = st.from_regex(r"\A[A-Z][a-zéüñ'-]{0,8}[a-z]\Z")
# A lone "Jr"/"II" after a comma is the previous name's suffix, by design: no such author names.
_NAME = st.builds(" ".join,
                  st.lists(_NAME_PART, min_size=1, max_size=3)).filter(
    lambda n: n.lower() not in {"jr", "sr", "ii", "iii", "iv"})
_REPO = st.from_regex(r"\A[a-z0-9]{1,10}/[A-Za-z0-9_-]{0,10}[A-Za-z0-9]\Z")
_NEW_ID = st.builds(lambda yy, mm, n: f"{yy:02d}{mm:02d}.{n:05d}",
                    st.integers(15, 25), st.integers(1, 12), st.integers(0, 99999))
_OLD_ID = st.builds(lambda a, n: f"{a}/{n:07d}", st.sampled_from(["hep-th", "math", "cond-mat"]),
                    st.integers(9101001, 9912999))
_DAY = st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2026, 12, 31))


@st.composite
def entries(draw: st.DrawFn, *, with_ids: bool) -> list[Entry]:
    days = sorted(draw(st.sets(_DAY, min_size=1, max_size=3)))
    out: list[Entry] = []
    for day in days:
        for _ in range(draw(st.integers(1, 3))):
            abstract = draw(_TEXT)
            code: tuple[str, ...] = ()
            if draw(st.booleans()):
                url = f"https://github.com/{draw(_REPO)}"
                abstract += f" Code is at {url}."
                code = (url,)
            out.append(Entry(
                index=len(out), line=0, date=day, title=draw(_TEXT),
                authors=tuple(draw(st.lists(_NAME, min_size=0, max_size=4))),
                abstract=abstract,
                comment=draw(st.one_of(st.none(), st.just("update"), _TEXT)),
                code_urls=code,
                arxiv_id_hint=draw(st.one_of(_NEW_ID, _OLD_ID)) if with_ids else None,
            ))
    # The parser reports a repeated paper as a problem; keep generated papers distinct.
    titles = [e.title.casefold() for e in out]
    assume(len(set(titles)) == len(titles))
    return out


@settings(max_examples=100, deadline=None)
@given(entries(with_ids=False), st.sampled_from(["\n", "\r\n"]))
def test_rendered_text_parses_back_to_the_same_entries(generated: list[Entry],
                                                       newline: str) -> None:
    rendered = render_text(generated, newline=newline)
    digest = parse_digest(rendered.text, "prop.txt")
    expected = [e.model_copy(update={"line": line})
                for e, line in zip(generated, rendered.title_lines, strict=True)]
    assert list(digest.entries) == expected
    assert digest.problems == ()
    assert digest.form == "text"


@settings(max_examples=100, deadline=None)
@given(entries(with_ids=True), st.booleans())
def test_rendered_markdown_parses_back_to_the_same_entries(generated: list[Entry],
                                                           summaries: bool) -> None:
    rendered = render_markdown(generated, summaries=summaries,
                               versions=[1 + n % 3 for n in range(len(generated))])
    digest = parse_digest(rendered.text, "prop.md")
    expected = [e.model_copy(update={"line": line})
                for e, line in zip(generated, rendered.title_lines, strict=True)]
    assert list(digest.entries) == expected
    assert digest.problems == ()
    assert digest.form == "markdown"


@settings(max_examples=30, deadline=None)
@given(entries(with_ids=False), st.integers(1, 60))
def test_a_cut_off_digest_never_invents_entries(generated: list[Entry], keep: int) -> None:
    """Whatever prefix of a digest survives, every entry parsed is one that was written."""
    text = render_text(generated, footer=False).text
    cut = text[: max(1, len(text) * keep // 60)]
    try:
        digest = parse_digest(cut, "cut.txt")
    except DigestError as exc:  # anything else propagates and fails the test
        error: DigestError | None = exc
    else:
        error = None
    if error is not None:
        assert error.file == "cut.txt" and error.line is not None
        return
    titles = {e.title for e in generated}
    assert all(e.title in titles for e in digest.entries)
    complete = [e for e in digest.entries if e.comment is not None or e.abstract]
    assert len(complete) <= len(generated)


# An abstract wrapped at any width may put any of its words first on a line; only an
# `Authors:` label there is genuinely ambiguous in the format, so such abstracts are left out.
# The word `PDF` is not: the real PDF line follows the abstract, so the abstracts get it often.
_LABEL = re.compile(r"(?i)authors?\s*[:：]")


def _with_pdf_words(entry: Entry, at: list[int]) -> Entry:
    words = entry.abstract.split(" ")
    for n in sorted({i % len(words) for i in at}, reverse=True):
        if n:  # the first word stays first: a line starting with `PDF` after the Authors
            words.insert(n, "PDF")  # line is the PDF line by definition
    return entry.model_copy(update={"abstract": " ".join(words)})


@settings(max_examples=60, deadline=None)
@given(entries(with_ids=True), st.sampled_from(["text", "markdown"]), st.integers(12, 60),
       st.booleans(), st.lists(st.integers(0, 40), min_size=1, max_size=6))
def test_wrapped_abstracts_parse_back_to_the_same_entries(generated: list[Entry], form: str,
                                                          width: int, blocks: bool,
                                                          pdf_at: list[int]) -> None:
    assume(not any(_LABEL.match(word) for e in generated for word in e.abstract.split()))
    generated = [_with_pdf_words(e, pdf_at) for e in generated]
    if form == "text":
        # The rendered text carries no arXiv link; without screenshot lines the PDF line alone
        # ends an entry.
        generated = [e.model_copy(update={"arxiv_id_hint": None}) for e in generated]
        rendered = render_text(generated, wrap=width, screenshots=blocks)
        flat = render_text(generated, screenshots=blocks)
    else:
        rendered = render_markdown(generated, wrap=width, summaries=blocks)
        flat = render_markdown(generated, summaries=blocks)
    if any(len(e.abstract) > width for e in generated):
        assert rendered.text.count("\n") > flat.text.count("\n"), "the abstracts were wrapped"
    digest = parse_digest(rendered.text, f"wrapped.{'md' if form == 'markdown' else 'txt'}")
    expected = [e.model_copy(update={"line": line})
                for e, line in zip(generated, rendered.title_lines, strict=True)]
    assert list(digest.entries) == expected
    assert digest.problems == ()

"""Title case: which words keep their capitals, and the sentence case CSL stores (pure).

Two kinds of words keep their case in a title whatever a style does to it:

- by rule: acronyms and words with a capital after their first letter or letters mixed with
  digits (`CLIP`, `ImageNet`, `iPhone`, `GPT-4V`, `ℓ₁`), see `latex.needs_protection`, and
  words with a Greek letter or a math symbol;
- by list: proper nouns that look like ordinary capitalised words (Gaussian, Markov, Earth,
  X-ray, English, Monte Carlo), the maintained list `enrich/data/protected_terms.txt`, which
  users extend with their own file (JabRef's protected-terms format: one term a line).

`protected_spans` finds both in a plain-text title; `references.bib` braces them and
`references.json` keeps them in `sentence_case`, which lower-cases every other capitalised word
the way citeproc's sentence case does (pandoc applies it to BibTeX titles), so the two files
give the same title.

The packaged list is read once, through importlib.resources (`default_terms`); any other list
is read at the edge and handed in as text (`ProtectedTerms.parse`).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources

from enrich.text.latex import needs_protection

_SUFFIX = r"(?:'s|\u2019s|s|es)?"


@dataclass(frozen=True)
class ProtectedTerms:
    """A list of proper nouns, matched case-sensitively as whole words."""

    terms: tuple[str, ...]

    @classmethod
    def parse(cls, *texts: str) -> ProtectedTerms:
        """Terms from one or more lists: one term a line, `#` starts a comment line."""
        terms: dict[str, None] = {}
        for text in texts:
            for line in text.splitlines():
                term = " ".join(line.split())
                if term and not term.startswith("#"):
                    terms[unicodedata.normalize("NFC", term)] = None
        return cls(tuple(terms))

    def extended(self, text: str) -> ProtectedTerms:
        """These terms and those of another list."""
        return ProtectedTerms(tuple(dict.fromkeys(self.terms + ProtectedTerms.parse(text).terms)))

    @functools.cached_property
    def pattern(self) -> re.Pattern[str] | None:
        if not self.terms:
            return None
        words = sorted(self.terms, key=len, reverse=True)
        alternatives = "|".join(r"\s+".join(map(re.escape, t.split())) for t in words)
        return re.compile(rf"(?<![\w\-'\u2019])(?:{alternatives}){_SUFFIX}(?![\w'\u2019])")

    def spans(self, text: str) -> list[tuple[int, int]]:
        """(start, end) of every term in `text`."""
        if self.pattern is None:
            return []
        return [(m.start(), m.end()) for m in self.pattern.finditer(text)]


@functools.cache
def default_terms() -> ProtectedTerms:
    """The packaged list, `enrich/data/protected_terms.txt`."""
    data = resources.files("enrich.data").joinpath("protected_terms.txt")
    return ProtectedTerms.parse(data.read_text(encoding="utf-8"))


# --------------------------------------------------------------------------------------------
# Which spans of a title keep their case

_WORD = re.compile(r"[^\s\"“”‘’()\[\]{},;:!?]+")


def _mathy(word: str) -> bool:
    """A word with a Greek letter or a math symbol: a formula, not an English word."""
    return any(not ch.isascii() and ("\u0370" <= ch <= "\u03ff"
                                     or unicodedata.category(ch) == "Sm"
                                     or "\u2100" <= ch <= "\u214f" or ch >= "\U0001d400")
               for ch in word)


def protected_spans(title: str, terms: ProtectedTerms | None = None) -> list[tuple[int, int]]:
    """The spans of a plain-text title that keep their case, sorted and not overlapping."""
    spans = []
    for match in _WORD.finditer(title):
        word = match.group(0).strip(".'\u2019")
        if word and (needs_protection(word) or _mathy(word)):
            start = match.start() + match.group(0).find(word)
            spans.append((start, start + len(word)))
    spans += (terms if terms is not None else default_terms()).spans(title)
    return _merged(spans)


def name_spans(name: str) -> list[tuple[int, int]]:
    """The words of a name (a venue: "Advances in Neural Information Processing Systems")
    that keep their case: every word with a capital, a digit or a math symbol, one by one.

    Braced word by word because Better BibTeX's parser takes a field braced as a whole for
    over-protection and sentence-cases it anyway ("Advances in neural information …"), as
    pandoc does with an unbraced `booktitle`.
    """
    spans = []
    for match in _WORD.finditer(name):
        word = match.group(0).strip(".'\u2019")
        if word and (any(ch.isupper() for ch in word) or needs_protection(word)
                     or _mathy(word)):
            start = match.start() + match.group(0).find(word)
            spans.append((start, start + len(word)))
    return _merged(spans)


def _merged(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(end, out[-1][1]))
        else:
            out.append((start, end))
    return out


# --------------------------------------------------------------------------------------------
# Sentence case, as citeproc computes it

_START, _START_SENTENCE, _AFTER_WORD_END, _AFTER_WORD_CHAR = range(4)
_AFTER_SENTENCE_END, _AFTER_OTHER, _BEFORE_LAST_WORD = range(4, 7)
_WORD_BREAKS = frozenset("-/\u2013\u2014")
_TRANSPARENT = frozenset("\u201c\u201d")  # pandoc reads quotes as Quoted, not as text


def _next_state(state: int, chunk: str) -> int:
    if not chunk:
        return state
    last = chunk[-1]
    if last in ".?!:":
        return _AFTER_SENTENCE_END
    if last.isalnum():
        return _AFTER_WORD_CHAR
    if last.isspace() and state == _AFTER_SENTENCE_END:
        return _START_SENTENCE
    if last.isspace() or last in _WORD_BREAKS:
        return _AFTER_WORD_END
    return _AFTER_OTHER


def _capitalised(chunk: str) -> bool:
    return chunk[:1].isupper() and all(ch.islower() for ch in chunk[1:])


def _transform(state: int, chunk: str) -> str:
    at_start = state in (_START, _START_SENTENCE)
    if _capitalised(chunk) and not at_start:
        return chunk.lower()
    if at_start and (_capitalised(chunk) or chunk.islower()):
        lowered = chunk.lower()
        return lowered[:1].upper() + lowered[1:]
    return chunk


def _kind(ch: str) -> int:
    if ch.isalnum():
        return 1 if ch.isascii() else 2
    return 3 if ch.isspace() else 0


def _chunks(text: str) -> list[str]:
    """citeproc's `splitUp`: runs of ASCII letters/digits, of other letters/digits, of spaces;
    every other character alone."""
    chunks: list[str] = []
    for ch in text:
        if chunks and _kind(ch) and _kind(ch) == _kind(chunks[-1][-1]):
            chunks[-1] += ch
        else:
            chunks.append(ch)
    return chunks


def sentence_case(title: str, spans: Sequence[tuple[int, int]]) -> str:
    """The title in sentence case, the spans kept as they are: the first word and the first
    word after `.`, `?`, `!` or `:` capitalised, every other capitalised word lower-cased.

    This is citeproc's sentence-case transformation (what pandoc applies to the titles of a
    BibTeX file), run over the same protected words the .bib braces, so that the title of
    references.json is the one pandoc reads from references.bib.
    """
    pieces: list[tuple[str, bool]] = []
    pos = 0
    for start, end in spans:
        if start > pos:
            pieces.append((title[pos:start], False))
        pieces.append((title[start:end], True))
        pos = end
    if pos < len(title):
        pieces.append((title[pos:], False))
    last_word = _last_word_index(pieces)
    state = _START
    out: list[str] = []
    for index, (text, protected) in enumerate(pieces):
        if protected:
            out.append(text)
            state = _next_state(state, text)
            continue
        chunks = _chunks(text)
        for number, chunk in enumerate(chunks):
            if chunk in _TRANSPARENT:
                out.append(chunk)
                continue
            if (index, number) == last_word and state in (_AFTER_WORD_END, _START_SENTENCE,
                                                          _START):
                state = _BEFORE_LAST_WORD
            new_state = _next_state(state, chunk)
            out.append(_transform(state, chunk) if all(c.isalnum() for c in chunk) else chunk)
            state = new_state
    return "".join(out)


def _last_word_index(pieces: Sequence[tuple[str, bool]]) -> tuple[int, int] | None:
    """Where the title's last word starts when citeproc treats it as "the last word": the
    title ends in plain text whose last space-separated token has no word break."""
    if len(pieces) == 0 or pieces[-1][1]:
        return None
    text = pieces[-1][0]
    token = text.rsplit(" ", 1)[-1]
    if not token or any(ch in _WORD_BREAKS for ch in token) or (" " not in text
                                                                 and len(pieces) == 1):
        return None
    if token.startswith(tuple(_TRANSPARENT)):
        return None
    chunks = _chunks(text)
    offset = len(text) - len(token)
    seen = 0
    for number, chunk in enumerate(chunks):
        if seen == offset:
            return (len(pieces) - 1, number)
        seen += len(chunk)
    return None

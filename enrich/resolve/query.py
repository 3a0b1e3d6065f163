"""What to ask arXiv: safe query strings and batches (pure).

arXiv's query grammar treats `: - ? * " ( )` and the capitalised words AND/OR/ANDNOT specially,
and `?`/`*` are wildcards — a title ending in `?` must not become one. Every title and name is
reduced to lower-case letters and digits before it is quoted, which leaves nothing for the
grammar to misread.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator, Sequence
from typing import TypeVar

from enrich.text.names import family_word, given_word
from enrich.text.normalise import (
    fold,
    normalise_title,
    significant_tokens,
    strip_tex,
    tex_free_runs,
    words_only,
)

T = TypeVar("T")

TITLES_PER_QUERY = 20
MAX_PHRASE_WORDS = 32
RESULTS_PER_TITLE = 8
FALLBACKS_PER_QUERY = 10
RESULTS_PER_FALLBACK = 15
WINDOWS_PER_QUERY = 5
RESULTS_PER_WINDOW = 60
IDS_PER_QUERY = 200
MAX_RESULTS = 2000  # arXiv's cap per call
# How far before the digest date the author-window fallback looks. Digests list revised papers
# too (CyCLIP's v1 was five months older than the digest that listed its v2).
WINDOW_BEFORE = dt.timedelta(days=400)


def query_words(text: str) -> str:
    """Text reduced to what is safe inside quotes: folded, lower-case words separated by spaces."""
    return normalise_title(text)


def _term(word: str) -> str:
    return words_only(fold(word).lower()).replace(" ", "_")


def author_term(name: str) -> str:
    """The `au:` term for a person's family name, safe outside quotes ('' when none).

    arXiv indexes "Smith-Jones" as the two words "smith jones" and documents `_` as the joiner
    of name parts (`au:del_maestro`), so a hyphenated surname is asked as `au:smith_jones`;
    `au:smithjones` would find nothing and `au:smith-jones` puts a grammar character in the
    query. Particles are left out (`del Maestro` → `maestro`): the last word of the family
    name alone still matches the indexed name.
    """
    return _term(family_word(name))


def title_phrases(title: str) -> list[list[str]]:
    """The phrases a title is asked by, as word lists: the whole title, or, when it holds math
    or TeX commands (which arXiv's index may split otherwise than we do: `$\\mathcal{O}(n)$` is
    "mathcal o n" there), each plain run between them. At most `MAX_PHRASE_WORDS` words in
    all: a phrase matches every title containing it, so the first words of a very long title
    still find it, and no title makes a query unbounded."""
    runs = tex_free_runs(title) if "\\" in title or "$" in title else []
    phrases = [r.split() for r in runs] if runs else [query_words(title).split()]
    kept: list[list[str]] = []
    left = MAX_PHRASE_WORDS
    for words in phrases:
        if words and left > 0:
            kept.append(words[:left])
            left -= len(kept[-1])
    return kept


def title_phrase(title: str) -> str | None:
    """`ti:"…"` for a title (the phrases of `title_phrases` ANDed), or None when nothing
    searchable is left."""
    phrases = [f'ti:"{" ".join(words)}"' for words in title_phrases(title)]
    if len(phrases) > 1:
        return "(" + " AND ".join(phrases) + ")"
    return phrases[0] if phrases else None


def title_clause(title: str, authors: Sequence[str]) -> str | None:
    """The clause a title contributes to a batch.

    Titles with at most two distinctive words ("Deep Learning") match thousands of papers and
    would crowd the batch, so they carry the first author's surname as well.
    """
    phrase = title_phrase(title)
    if phrase is None:
        return None
    first = author_term(authors[0]) if authors else ""
    if len(significant_tokens(title, 3)) <= 2 and first:
        return f"({phrase} AND au:{first})"
    return phrase


def fallback_clause(title: str, authors: Sequence[str]) -> str | None:
    """A narrower search: distinctive title words AND the first author's surname."""
    words = significant_tokens(title, 3)
    first = author_term(authors[0]) if authors else ""
    if not words or not first:
        return None
    terms = " AND ".join(f"ti:{_term(w)}" for w in words)
    return f"({terms} AND au:{first})"


def given_term(name: str) -> str:
    """The `au:` term for a person's first given name, '' when it is only an initial."""
    given = given_word(name)
    if len(words_only(fold(given).lower()).replace(" ", "")) < 2:
        return ""
    return _term(given)


def window_clause(authors: Sequence[str], digest_date: dt.date | None) -> str | None:
    """Papers by the first two authors submitted in the window before the digest date.

    "Two authors" means two different surnames (Olivia Wang and Xin Wang are one `au:wang`,
    which matches hundreds of papers): later authors are used until there are two, and a lone
    surname is narrowed by the first author's given name.
    """
    names = _window_names(tuple(authors))
    if not names or digest_date is None:
        return None
    start = (digest_date - WINDOW_BEFORE).strftime("%Y%m%d0000")
    end = (digest_date + dt.timedelta(days=1)).strftime("%Y%m%d2359")
    people = " AND ".join(f"au:{n}" for n in names)
    return f"({people} AND submittedDate:[{start} TO {end}])"


@functools.lru_cache(maxsize=1024)
def _window_names(authors: tuple[str, ...]) -> tuple[str, ...]:
    """The `au:` terms of `window_clause` (remembered: every candidate is checked with them)."""
    names: list[str] = []
    for author in authors[:4]:
        term = author_term(author)
        if term and term not in names:
            names.append(term)
        if len(names) == 2:
            break
    if len(names) == 1 and (given := given_term(authors[0])) and given != names[0]:
        names.append(given)
    return tuple(names)


def sentinel_clause(title: str, published: dt.datetime) -> str | None:
    """A clause that matches a known paper and hardly anything else: its title phrase within
    the days around its first version (a title phrase alone may match hundreds)."""
    phrase = title_phrase(title)
    if phrase is None:
        return None
    start = (published - dt.timedelta(days=1)).strftime("%Y%m%d0000")
    end = (published + dt.timedelta(days=1)).strftime("%Y%m%d2359")
    return f"({phrase} AND submittedDate:[{start} TO {end}])"


# --------------------------------------------------------------------------------------------
# What a clause matches


def _contains(words: Sequence[str], part: Sequence[str]) -> bool:
    """Whether `part` occurs in `words` as consecutive words."""
    n = len(part)
    return n > 0 and any(list(words[i:i + n]) == list(part) for i in range(len(words) - n + 1))


def _author_words(paper_authors: Sequence[str]) -> tuple[tuple[str, ...], ...]:
    return _author_words_of(tuple(paper_authors))


@functools.lru_cache(maxsize=4096)
def _author_words_of(paper_authors: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    """The indexed words of each author (remembered: a paper is checked for every entry of the
    batch that brought it)."""
    return tuple(tuple(words_only(fold(strip_tex(a)).lower()).split()) for a in paper_authors)


def _has_author(term: str, authors: Sequence[Sequence[str]]) -> bool:
    """Whether an `au:` term matches one of the authors, as arXiv's index does (any word of a
    name; `_` joins the words of a multi-word surname)."""
    part = term.split("_")
    return any(_contains(words, part) for words in authors)


def title_admits(title: str, authors: Sequence[str], paper_title: str,
                 paper_authors: Sequence[str]) -> bool:
    """Whether `title_clause(title, authors)` matches a paper with this title and authors."""
    theirs = query_words(paper_title).split()
    phrases = title_phrases(title)
    if not phrases or not all(_contains(theirs, phrase) for phrase in phrases):
        return False
    first = author_term(authors[0]) if authors else ""
    if len(significant_tokens(title, 3)) <= 2 and first:
        return _has_author(first, _author_words(paper_authors))
    return True


def fallback_admits(title: str, authors: Sequence[str], paper_title: str,
                    paper_authors: Sequence[str]) -> bool:
    """Whether `fallback_clause(title, authors)` matches a paper with this title and authors."""
    words = set(query_words(paper_title).split())
    first = author_term(authors[0]) if authors else ""
    return (all(w in words for w in significant_tokens(title, 3))
            and bool(first) and _has_author(first, _author_words(paper_authors)))


def window_admits(authors: Sequence[str], digest_date: dt.date | None,
                  paper_authors: Sequence[str], submitted: dt.datetime) -> bool:
    """Whether `window_clause(authors, digest_date)` matches a paper by these authors
    submitted (v1) then."""
    names = _window_names(tuple(authors))
    if not names or digest_date is None:
        return False
    theirs = _author_words(paper_authors)
    start = dt.datetime.combine(digest_date - WINDOW_BEFORE, dt.time(), dt.UTC)
    end = dt.datetime.combine(digest_date + dt.timedelta(days=1), dt.time(23, 59, 59), dt.UTC)
    return all(_has_author(n, theirs) for n in names) and start <= submitted <= end


def any_of(clauses: Sequence[str]) -> str:
    """One query matching any of the clauses."""
    return " OR ".join(clauses)


def chunked(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """Consecutive slices of at most `size` items."""
    for start in range(0, len(items), size):
        yield items[start:start + size]

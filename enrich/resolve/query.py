"""What to ask arXiv: safe query strings and batches (pure).

arXiv's query grammar treats `: - ? * " ( )` and the capitalised words AND/OR/ANDNOT specially,
and `?`/`*` are wildcards — a title ending in `?` must not become one. Every title and name is
reduced to lower-case letters and digits before it is quoted, which leaves nothing for the
grammar to misread.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import TypeVar

from enrich.text.names import family_word, given_word
from enrich.text.normalise import (
    fold,
    normalise_title,
    significant_tokens,
    words_only,
)

T = TypeVar("T")

TITLES_PER_QUERY = 20
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


def title_phrase(title: str) -> str | None:
    """`ti:"…"` for a title, or None when nothing searchable is left."""
    words = query_words(title)
    return f'ti:"{words}"' if words else None


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
    names: list[str] = []
    for author in authors[:4]:
        term = author_term(author)
        if term and term not in names:
            names.append(term)
        if len(names) == 2:
            break
    if len(names) == 1 and (given := given_term(authors[0])) and given != names[0]:
        names.append(given)
    if not names or digest_date is None:
        return None
    start = (digest_date - WINDOW_BEFORE).strftime("%Y%m%d0000")
    end = (digest_date + dt.timedelta(days=1)).strftime("%Y%m%d2359")
    people = " AND ".join(f"au:{n}" for n in names)
    return f"({people} AND submittedDate:[{start} TO {end}])"


def any_of(clauses: Sequence[str]) -> str:
    """One query matching any of the clauses."""
    return " OR ".join(clauses)


def chunked(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """Consecutive slices of at most `size` items."""
    for start in range(0, len(items), size):
        yield items[start:start + size]

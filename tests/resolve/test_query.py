"""What to ask arXiv (enrich.resolve.query): exact clauses for hostile titles and names.

`tests/test_resolver.py` checks `author_term` and the people of `window_clause`, and that no
generated query carries grammar characters; here the exact strings of each clause.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pytest

from enrich.resolve.query import (
    any_of,
    chunked,
    fallback_clause,
    given_term,
    query_words,
    title_clause,
    title_phrase,
    window_clause,
)

# ----------------------------------------------------------------------------------------------
# Titles


@pytest.mark.parametrize(("title", "phrase"), [
    ("Attention Is All You Need", 'ti:"attention is all you need"'),
    # the grammar's characters: field colon, quotes, wildcards, parentheses, hyphens
    ('CyCLIP: "Cyclic" Contrastive Pretraining', 'ti:"cyclip cyclic contrastive pretraining"'),
    ("Does Contrastive Learning Really Need Negatives?",
     'ti:"does contrastive learning really need negatives"'),
    ("What*s Next (for k-NN)?", 'ti:"what s next for k nn"'),
    # operators are words once lower-cased inside quotes
    ("Cats AND Dogs OR Birds ANDNOT Fish", 'ti:"cats and dogs or birds andnot fish"'),
    # math and commands split the title into phrases ANDed (an index may tokenise them
    # otherwise); accents and typographic quotes folded
    ("$k$-NN for $\\ell_1$-Robust Retrieval", '(ti:"nn for" AND ti:"robust retrieval")'),
    ("Schr\\\"odinger Bridges — “Naïve” Über-Sampling",
     'ti:"schrodinger bridges naive uber sampling"'),
    ("深度学习 for Graphs", 'ti:"深度学习 for graphs"'),
], ids=lambda v: v)
def test_a_title_becomes_one_quoted_phrase_of_plain_words(title: str, phrase: str) -> None:
    assert title_phrase(title) == phrase


@pytest.mark.parametrize("title", ["", "   ", "???", "*", '""', "$$", "— : —"], ids=repr)
def test_a_title_with_nothing_searchable_gives_no_phrase(title: str) -> None:
    assert title_phrase(title) is None
    assert title_clause(title, ["Ada Lovelace"]) is None
    assert query_words(title) == ""


@pytest.mark.parametrize(("title", "authors", "clause"), [
    # three or more distinctive words: the phrase alone
    ("Cyclic Contrastive Language-Image Pretraining", ["Shashank Goel", "Ada Lovelace"],
     'ti:"cyclic contrastive language image pretraining"'),
    # at most two: the first author's surname narrows it
    ("Deep Learning", ["Yann LeCun", "Yoshua Bengio"], '(ti:"deep learning" AND au:lecun)'),
    ("Deep Learning?", ["Anna Smith-Jones"], '(ti:"deep learning" AND au:smith_jones)'),
    ("On the Deep Nets", ["Lucía del Maestro"], '(ti:"on the deep nets" AND au:maestro)'),
    ("What*s up?", ["Ada Lovelace"], '(ti:"what s up" AND au:lovelace)'),
    # no author to narrow with: the phrase alone, however short
    ("Deep Learning", [], 'ti:"deep learning"'),
    ("Deep Learning", [""], 'ti:"deep learning"'),
], ids=["long", "short", "short-hyphenated-author", "short-with-stopwords", "wildcards",
        "no-authors", "empty-author"])
def test_short_titles_carry_the_first_authors_surname(title: str, authors: Sequence[str],
                                                      clause: str) -> None:
    assert title_clause(title, authors) == clause


@pytest.mark.parametrize(("title", "authors", "clause"), [
    ("Does Contrastive Learning Really Need Negatives?", ["Ada Lovelace", "Alan Turing"],
     "(ti:contrastive AND ti:learning AND ti:negatives AND au:lovelace)"),
    ("Deep Learning: A Survey", ["Søren Østergaard"],
     "(ti:deep AND ti:learning AND ti:survey AND au:ostergaard)"),
    # capital operators in a title are words, not operators
    ("Cats AND Dogs OR Birds ANDNOT Fish", ["Ada Lovelace"],
     "(ti:cats AND ti:birds AND ti:andnot AND au:lovelace)"),
    ("$\\ell_1$-Robust (k-NN) Retrieval", ["Conan O'Brien"],
     "(ti:ell AND ti:robust AND ti:retrieval AND au:o_brien)"),
    ("Über Straße", ["King, Jr., Martin Luther"], "(ti:uber AND ti:strasse AND au:king)"),
], ids=["question", "colon", "operators", "tex", "accents"])
def test_the_fallback_asks_distinctive_words_and_the_first_surname(
        title: str, authors: Sequence[str], clause: str) -> None:
    assert fallback_clause(title, authors) == clause


@pytest.mark.parametrize(("title", "authors"), [
    ("Does Contrastive Learning Really Need Negatives?", []),
    ("Does Contrastive Learning Really Need Negatives?", [""]),
    ("On the of and", ["Ada Lovelace"]),  # stopwords only
    ("AI in 3D", ["Ada Lovelace"]),  # nothing longer than two letters
    ("", ["Ada Lovelace"]),
], ids=["no-authors", "empty-author", "stopwords", "short-words", "empty-title"])
def test_no_fallback_without_distinctive_words_and_a_surname(title: str,
                                                             authors: Sequence[str]) -> None:
    assert fallback_clause(title, authors) is None


# ----------------------------------------------------------------------------------------------
# The author window


@pytest.mark.parametrize(("day", "start", "end"), [
    (dt.date(2024, 6, 9), "202305060000", "202406102359"),
    (dt.date(2024, 12, 31), "202311270000", "202501012359"),  # the day after is next year
    (dt.date(2024, 2, 29), "202301250000", "202403012359"),  # leap day
    (dt.date(2023, 2, 28), "202201240000", "202303012359"),
], ids=str)
def test_the_window_runs_from_400_days_before_to_the_day_after(day: dt.date, start: str,
                                                               end: str) -> None:
    clause = window_clause(["Ada Lovelace", "Alan Turing"], day)
    assert clause == f"(au:lovelace AND au:turing AND submittedDate:[{start} TO {end}])"


def test_no_window_without_a_date_or_a_surname() -> None:
    assert window_clause(["Ada Lovelace"], None) is None
    assert window_clause([], dt.date(2024, 6, 9)) is None
    assert window_clause(["", "  "], dt.date(2024, 6, 9)) is None


def test_only_the_first_four_authors_are_looked_at() -> None:
    authors = ["Ada Wang", "B. Wang", "C. Wang", "D. Wang", "Eve Li"]
    assert window_clause(authors, dt.date(2024, 6, 9)) == (
        "(au:wang AND au:ada AND submittedDate:[202305060000 TO 202406102359])")


def test_a_lone_surname_without_a_given_name_stays_alone() -> None:
    assert window_clause(["Prabhat"], dt.date(2024, 6, 9)) == (
        "(au:prabhat AND submittedDate:[202305060000 TO 202406102359])")


def test_a_given_name_equal_to_the_surname_is_not_asked_twice() -> None:
    assert window_clause(["Ada Ada"], dt.date(2024, 6, 9)) == (
        "(au:ada AND submittedDate:[202305060000 TO 202406102359])")


# ----------------------------------------------------------------------------------------------
# Given names


@pytest.mark.parametrize(("name", "term"), [
    ("Ada Lovelace", "ada"),
    ("Lovelace, Ada", "ada"),
    ("Xi Li", "xi"),  # two letters are a name
    ("Émile Zola", "emile"),
    ("Jean-Pierre Dupont", "jean_pierre"),
    ('J\\"urgen M\\"uller', "jurgen"),
    ("Martin Luther King Jr.", "martin"),
    ("A. Lovelace", ""),  # an initial matches too much
    ("J.R.R. Tolkien", ""),
    ("Ō. Ōta", ""),
    ("Prabhat", ""),
    ("The ATLAS Collaboration", ""),
    ("", ""),
], ids=lambda v: v)
def test_given_terms_are_whole_given_names_only(name: str, term: str) -> None:
    assert given_term(name) == term


# ----------------------------------------------------------------------------------------------
# Batches


@pytest.mark.parametrize(("clauses", "query"), [
    ([], ""),
    (['ti:"a b"'], 'ti:"a b"'),
    (['ti:"a b"', "(ti:c AND au:d)", 'ti:"e"'], 'ti:"a b" OR (ti:c AND au:d) OR ti:"e"'),
], ids=["none", "one", "three"])
def test_clauses_are_joined_with_or(clauses: list[str], query: str) -> None:
    assert any_of(clauses) == query


@pytest.mark.parametrize(("items", "size", "chunks"), [
    ([1, 2, 3, 4, 5], 2, [[1, 2], [3, 4], [5]]),
    ([1, 2, 3, 4], 2, [[1, 2], [3, 4]]),
    ([1, 2, 3], 20, [[1, 2, 3]]),
    ([1, 2, 3], 1, [[1], [2], [3]]),
    ([], 3, []),
], ids=["ragged", "even", "one-chunk", "singletons", "empty"])
def test_batches_are_consecutive_slices_of_at_most_size(items: list[int], size: int,
                                                        chunks: list[list[int]]) -> None:
    assert [list(c) for c in chunked(items, size)] == chunks

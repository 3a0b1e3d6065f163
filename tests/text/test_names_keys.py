"""The comparable forms of author names (enrich.text.names): lists, keys and query words.

How names split into parts is `tests/test_names.py`'s; here: what matching, lookup fingerprints
and arXiv `au:` queries see of a name.
"""

from __future__ import annotations

import pytest

from enrich.text.names import family_key, family_word, given_word, person_key, split_author_list

# ----------------------------------------------------------------------------------------------
# split_author_list


@pytest.mark.parametrize(("text", "names"), [
    ("Shashank Goel, Hritik Bansal, Sumit Bhatia",
     ("Shashank Goel", "Hritik Bansal", "Sumit Bhatia")),
    ("A B, C D and E F", ("A B", "C D", "E F")),
    ("Ada Lovelace and Alan Turing", ("Ada Lovelace", "Alan Turing")),
    ("Ada Lovelace; Alan Turing", ("Ada Lovelace", "Alan Turing")),
    ("张三，李四；王五", ("张三", "李四", "王五")),  # full-width comma and semicolon
    ("Martin Luther King, Jr., Ada Lovelace", ("Martin Luther King, Jr.", "Ada Lovelace")),
    ("Henry Ford, III and Edsel Ford", ("Henry Ford, III", "Edsel Ford")),
    ("Sammy Davis, Jr", ("Sammy Davis, Jr",)),
    # "and" inside a name is no separator
    ("Sandy Band, Roland Anderson", ("Sandy Band", "Roland Anderson")),
    ("  Ada   Lovelace ,, ,  Alan\tTuring ", ("Ada Lovelace", "Alan Turing")),
    ("", ()),
    (" , ; ", ()),
], ids=lambda v: v if isinstance(v, str) else "")
def test_author_lists_split_into_names(text: str, names: tuple[str, ...]) -> None:
    assert split_author_list(text) == names


def test_a_suffix_with_no_name_before_it_stands_alone() -> None:
    assert split_author_list("Jr., Ada Lovelace") == ("Jr.", "Ada Lovelace")


# ----------------------------------------------------------------------------------------------
# person_key / family_key


@pytest.mark.parametrize(("name", "key"), [
    ("Shashank Goel", ("goel", "s")),
    ("Ryan A. Rossi", ("rossi", "r")),
    # lower-case particles are left out, the last word of the family name counts
    ("Jan van den Berg", ("berg", "j")),
    ("van der Waals, Johannes Diderik", ("waals", "j")),
    ("Lucía del Maestro", ("maestro", "l")),
    ("Gerard 't Hooft", ("hooft", "g")),
    ("de Broglie, Louis", ("broglie", "l")),
    # capitalised particles belong to the family name, whose last word counts all the same
    ("Anna De La Cruz", ("cruz", "a")),
    ("Leonardo Da Vinci", ("vinci", "l")),
    ("Thanh Van Nguyen", ("nguyen", "t")),
    # suffixes, in every position
    ("Martin Luther King Jr.", ("king", "m")),
    ("Martin Luther King, Jr.", ("king", "m")),
    ("King, Jr., Martin Luther", ("king", "m")),
    ("Henry Ford III", ("ford", "h")),
    # hyphens join, apostrophes split
    ("Anna Smith-Jones", ("smithjones", "a")),
    ("Smith-Jones, Anna", ("smithjones", "a")),
    ("Anna Smith\u2010Jones", ("smithjones", "a")),
    ("Jean-Pierre Dupont", ("dupont", "j")),
    ("Conan O'Brien", ("brien", "c")),
    ("Conan O\u2019Brien", ("brien", "c")),
    # accents fold, TeX accents decode first
    ("Søren Østergaard", ("ostergaard", "s")),
    ("Émile Zola", ("zola", "e")),
    ('J\\"urgen M\\"uller', ("muller", "j")),
    ("J{\\\"u}rgen M{\\\"u}ller", ("muller", "j")),
    ("Jürgen Müller", ("muller", "j")),
    # names without given names, in scripts without spaces, and organisations
    ("Prabhat", ("prabhat", "")),
    ("山田太郎", ("山田太郎", "")),
    ("The ATLAS Collaboration", ("collaboration", "")),
    ("Gemini Team", ("team", "")),
    ("", ("", "")),
    ("J.R.R. Tolkien", ("tolkien", "j")),
    ("Wang, Amara", ("wang", "a")),
], ids=lambda v: v if isinstance(v, str) else "")
def test_person_keys_are_folded_family_and_first_initial(name: str,
                                                         key: tuple[str, str]) -> None:
    assert person_key(name) == key
    assert family_key(name) == key[0]


@pytest.mark.parametrize("spellings", [
    ("Jan van den Berg", "Berg, Jan van den", "JAN VAN DEN BERG", "J. van den Berg"),
    ("Jürgen Müller", "Jurgen Muller", 'J\\"urgen M\\"uller', "Müller, Jürgen"),
    ("Martin Luther King Jr.", "King, Jr., Martin Luther", "M. L. King"),
    ("Anna Smith-Jones", "Smith-Jones, A."),
], ids=lambda v: v[0])
def test_every_spelling_of_one_person_has_one_key(spellings: tuple[str, ...]) -> None:
    assert len({person_key(s) for s in spellings}) == 1


def test_people_sharing_a_surname_differ_by_initial() -> None:
    assert person_key("Olivia Wang") != person_key("Xin Wang")
    assert family_key("Olivia Wang") == family_key("Xin Wang") == "wang"


# ----------------------------------------------------------------------------------------------
# family_word / given_word


@pytest.mark.parametrize(("name", "family", "given"), [
    ("Shashank Goel", "Goel", "Shashank"),
    ("Jan van den Berg", "Berg", "Jan"),
    ("Anna De La Cruz", "Cruz", "Anna"),
    ("Lucía del Maestro", "Maestro", "Lucía"),
    ("Martin Luther King Jr.", "King", "Martin"),
    ("King, Jr., Martin Luther", "King", "Martin"),
    ("Smith-Jones, Anna", "Smith-Jones", "Anna"),
    ("Jean-Pierre Dupont", "Dupont", "Jean-Pierre"),
    ("Conan O'Brien", "O'Brien", "Conan"),
    ('J\\"urgen M\\"uller', "Müller", "Jürgen"),  # TeX decoded, accents kept as written
    ("Søren Østergaard", "Østergaard", "Søren"),
    ("J.R.R. Tolkien", "Tolkien", "J."),
    ("Thanh Van Nguyen", "Nguyen", "Thanh"),
    ("Prabhat", "Prabhat", ""),
    ("山田太郎", "山田太郎", ""),
    ("The ATLAS Collaboration", "Collaboration", ""),
    ("", "", ""),
], ids=lambda v: v)
def test_query_words_are_written_as_the_name_writes_them(name: str, family: str,
                                                         given: str) -> None:
    assert family_word(name) == family
    assert given_word(name) == given

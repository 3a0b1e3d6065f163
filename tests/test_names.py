"""Author names: split into parts (enrich.text.names), written for BibTeX and CSL (render.names)."""

from __future__ import annotations

import pytest

from enrich.render.names import bibtex_name, bibtex_names, csl_name, csl_names
from enrich.text.names import PersonName, is_collaboration, parse_name, truncated

P = PersonName


@pytest.mark.parametrize(("raw", "parts"), [
    ("Shashank Goel", P(given="Shashank", family="Goel")),
    ("Ryan A. Rossi", P(given="Ryan A.", family="Rossi")),
    ("Jan van den Berg", P(given="Jan", particle="van den", family="Berg")),
    ("Maria de la Cruz", P(given="Maria", particle="de la", family="Cruz")),
    ("Anna De La Cruz", P(given="Anna", family="De La Cruz")),
    ("Leonardo Da Vinci", P(given="Leonardo", family="Da Vinci")),
    ("John Van Dyke", P(given="John", family="Van Dyke")),
    ("Thanh Van Nguyen", P(given="Thanh Van", family="Nguyen")),
    ("van der Waals, Johannes Diderik",
     P(given="Johannes Diderik", particle="van der", family="Waals")),
    ("Martin Luther King Jr.", P(given="Martin Luther", family="King", suffix="Jr.")),
    ("Sammy Davis, Jr.", P(given="Sammy", family="Davis", suffix="Jr.")),
    ("King, Jr., Martin Luther", P(given="Martin Luther", family="King", suffix="Jr.")),
    ("Henry Ford III", P(given="Henry", family="Ford", suffix="III")),
    ("Jean-Pierre Dupont", P(given="Jean-Pierre", family="Dupont")),
    ("José Ortega-y-Gasset", P(given="José", family="Ortega-y-Gasset")),
    ("J.R.R. Tolkien", P(given="J. R. R.", family="Tolkien")),
    ("Prabhat", P(family="Prabhat")),
    ("山田太郎", P(family="山田太郎")),
    ("Иван Петров", P(given="Иван", family="Петров")),
    ('J\\"urgen M\\"uller', P(given="Jürgen", family="Müller")),
    ("The ATLAS Collaboration", P(literal="The ATLAS Collaboration")),
    ("Gemini Team", P(literal="Gemini Team")),
    ("a, b, c, d", P(literal="a, b, c, d")),
    ("  ", P()),
], ids=lambda v: v if isinstance(v, str) else "")
def test_names_split_into_their_parts(raw: str, parts: PersonName) -> None:
    assert parse_name(raw) == parts


@pytest.mark.parametrize(("raw", "latex", "utf8"), [
    ("Shashank Goel", "Goel, Shashank", "Goel, Shashank"),
    ("Jan van den Berg", "van den Berg, Jan", "van den Berg, Jan"),
    ("Anna De La Cruz", "De La Cruz, Anna", "De La Cruz, Anna"),
    ("Martin Luther King Jr.", "King, Jr., Martin Luther", "King, Jr., Martin Luther"),
    ("danah boyd", "{b}oyd, danah", "{b}oyd, danah"),
    ("ana özil", '{{\\"{o}}}zil, ana', "{ö}zil, ana"),
    ("Jean le Rond d'Alembert", "le Rond {d}'Alembert, Jean", "le Rond {d}'Alembert, Jean"),
    ("The ATLAS Collaboration", "{The ATLAS Collaboration}", "{The ATLAS Collaboration}"),
    ("Ferrari and Sons Ltd", "{Ferrari and Sons Ltd}", "{Ferrari and Sons Ltd}"),
    ("École & Fils Team", "{École {\\&} Fils Team}", "{École {\\&} Fils Team}"),
    ("King, Jr.,", "{King Jr.}", "{King Jr.}"),
    ("Jean-… Pierre-Dupont", "Pierre-Dupont, Jean", "Pierre-Dupont, Jean"),
    ("Jürgen Müller", 'M{\\"{u}}ller, J{\\"{u}}rgen', "Müller, Jürgen"),
    ("Ștefan Țurcanu", "Țurcanu, Ștefan", "Țurcanu, Ștefan"),
    ("Иван Петров", "Петров, Иван", "Петров, Иван"),
    ("Bobby & Tables", "Tables, Bobby", "Tables, Bobby"),
    ("Ben&Jerry 100% Smith", "Smith, Ben{\\&}Jerry 100{\\%}", "Smith, Ben{\\&}Jerry 100{\\%}"),
    ("Gerard 't Hooft", "'t Hooft, Gerard", "'t Hooft, Gerard"),
    ("Mallory {Evil} O'Brien", "O'Brien, Mallory Evil", "O'Brien, Mallory Evil"),
    ("J.~Smith | \\x <y>", "{y}, J. Smith x", "{y}, J. Smith x"),
    ("Percy And Sure", "Sure, Percy {And}", "Sure, Percy {And}"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_names_are_written_as_bibtex_reads_them(raw: str, latex: str, utf8: str) -> None:
    name = parse_name(raw)
    assert bibtex_name(name) == latex
    assert bibtex_name(name, encoding="utf8") == utf8


def test_author_lists_are_joined_with_and_and_keep_et_al_as_others() -> None:
    assert bibtex_names(["Jane Doe", "", "John Roe et al."]) == "Doe, Jane and Roe, John and others"
    assert truncated(["A B", "C D and others"]) == (["A B", "C D"], True)
    assert truncated(["A B"]) == (["A B"], False)


@pytest.mark.parametrize(("raw", "csl"), [
    ("Shashank Goel", {"family": "Goel", "given": "Shashank"}),
    ("Jan van den Berg", {"family": "Berg", "given": "Jan", "non-dropping-particle": "van den"}),
    ("Martin Luther King Jr.", {"family": "King", "given": "Martin Luther", "suffix": "Jr."}),
    ("The ATLAS Collaboration", {"literal": "The ATLAS Collaboration"}),
    ("Prabhat", {"family": "Prabhat"}),
], ids=lambda v: v if isinstance(v, str) else "")
def test_names_are_written_as_csl_reads_them(raw: str, csl: dict[str, str]) -> None:
    assert csl_name(parse_name(raw)) == csl


def test_csl_author_lists_skip_empty_names_and_et_al() -> None:
    assert csl_names(["A B", " ", "C D et al."]) == [
        {"family": "B", "given": "A"}, {"family": "D", "given": "C"}]


@pytest.mark.parametrize(("name", "organisation"), [
    ("LIGO Scientific Collaboration", True), ("Gemini Team", True), ("Team", False),
    ("Jane Group", True), ("Jane Doe", False),
], ids=str)
def test_organisations_are_recognised_by_their_words(name: str, organisation: bool) -> None:
    assert is_collaboration(name) is organisation

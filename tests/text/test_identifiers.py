"""arXiv identifiers (enrich.text.identifiers): one grammar for IDs, versions, years and URLs."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from enrich.text.identifiers import (
    bare_old_ids,
    base_id,
    id_from_entry_url,
    id_from_url,
    ids_in_text,
    split_version,
    year_of,
)

# ----------------------------------------------------------------------------------------------
# split_version / base_id


@pytest.mark.parametrize(("text", "expected"), [
    ("2205.14459v2", ("2205.14459", 2)),
    ("2205.14459", ("2205.14459", None)),
    ("2205.14459v12", ("2205.14459", 12)),
    ("0704.0001v1", ("0704.0001", 1)),
    ("1412.9999", ("1412.9999", None)),
    ("1501.00001", ("1501.00001", None)),
    ("hep-th/9901001v3", ("hep-th/9901001", 3)),
    ("hep-th/9901001", ("hep-th/9901001", None)),
    ("solv-int/9901001v2", ("solv-int/9901001", 2)),
    ("solv-int/9901001", ("solv-int/9901001", None)),
    ("math.GT/0309136v1", ("math.GT/0309136", 1)),
    ("cs/0112017", ("cs/0112017", None)),
    ("  2205.14459v2\n", ("2205.14459", 2)),
], ids=lambda v: v if isinstance(v, str) else "")
def test_a_version_suffix_is_split_off(text: str, expected: tuple[str, int | None]) -> None:
    assert split_version(text) == expected


@pytest.mark.parametrize("text", [
    "2213.00001",  # month 13
    "2200.00001",  # month 0
    "1412.00001",  # five digits before January 2015
    "1501.0001",  # four digits from January 2015 on
    "2205.144591",  # six digits
    "2205.1445",  # four digits in 2022
    "22051.4459",
    "2205.14459v",  # a `v` with no number
    "2205.14459v2v3",
    "hep-th/990100",  # six digits
    "hep-th/99010011",  # eight digits
    "HEP-TH/9901001",  # archives are lower case
    "hep-th9901001",
    "arXiv:2205.14459",  # a prefix is text, not part of the identifier
    "https://arxiv.org/abs/2205.14459",
    "",
    "v2",
], ids=repr)
def test_anything_else_is_not_an_identifier(text: str) -> None:
    with pytest.raises(ValueError, match="not an arXiv identifier"):
        split_version(text)
    assert base_id(text) is None


def test_an_archive_holding_a_v_is_not_cut_at_its_v() -> None:
    # `str.split("v")` would give ("sol", "-int/9901001"): the archive is part of the ID.
    assert base_id("solv-int/9901001v2") == "solv-int/9901001"
    assert split_version("solv-int/9901001") == ("solv-int/9901001", None)


@pytest.mark.parametrize(("text", "expected"), [
    ("2205.14459v2", "2205.14459"),
    (" hep-th/9901001v1 ", "hep-th/9901001"),
    (None, None),
    ("", None),
    ("not an id", None),
], ids=repr)
def test_base_id_is_the_identifier_without_version_or_none(text: str | None,
                                                            expected: str | None) -> None:
    assert base_id(text) == expected


# ----------------------------------------------------------------------------------------------
# year_of


@pytest.mark.parametrize(("arxiv_id", "year"), [
    ("0704.0001", 2007),
    ("1412.9999", 2014),
    ("1501.00001", 2015),
    ("2205.14459v2", 2022),
    ("9012.00001", 2090),  # the last year below the 91 cut-off is this century
    ("hep-th/9108001", 1991),  # old-style numbering began in August 1991
    ("hep-th/9912001", 1999),
    ("hep-th/0001001", 2000),
    ("math.GT/0309136", 2003),
    ("solv-int/9901001v2", 1999),
    ("cond-mat/0703999", 2007),
], ids=lambda v: v if isinstance(v, str) else "")
def test_the_year_is_read_off_the_identifier(arxiv_id: str, year: int) -> None:
    assert year_of(arxiv_id) == year


@pytest.mark.parametrize("text", ["", "2213.00001", "hep-th", "arXiv:2205.14459"], ids=repr)
def test_no_year_is_read_off_what_is_not_an_identifier(text: str) -> None:
    assert year_of(text) is None


def test_a_new_style_identifier_is_never_from_the_last_century() -> None:
    assert year_of("9101.00001") == 2091


# ----------------------------------------------------------------------------------------------
# id_from_url


@pytest.mark.parametrize(("url", "arxiv_id"), [
    ("https://arxiv.org/abs/2205.14459", "2205.14459"),
    ("https://arxiv.org/abs/2205.14459v2", "2205.14459"),
    ("http://arxiv.org/abs/2205.14459v2", "2205.14459"),
    ("https://arxiv.org/pdf/2205.14459v2", "2205.14459"),
    ("https://arxiv.org/pdf/2205.14459v2.pdf", "2205.14459"),
    ("https://arxiv.org/html/2205.14459v1/", "2205.14459"),
    ("https://export.arxiv.org/abs/2205.14459", "2205.14459"),
    ("https://www.arxiv.org/abs/2205.14459", "2205.14459"),
    ("https://arxiv.org/abs/2205.14459?context=cs", "2205.14459"),
    ("https://arxiv.org/abs/2205.14459#section", "2205.14459"),
    ("HTTPS://ARXIV.ORG/ABS/2205.14459", "2205.14459"),
    ("  https://arxiv.org/abs/2205.14459  ", "2205.14459"),
    ("https://arxiv.org/abs/hep-th/9901001v1", "hep-th/9901001"),
    ("https://arxiv.org/abs/solv-int/9901001v2", "solv-int/9901001"),
    ("https://arxiv.org/abs/math.GT/0309136", "math.GT/0309136"),
], ids=lambda v: v)
def test_arxiv_urls_give_the_identifier_without_version(url: str, arxiv_id: str) -> None:
    assert id_from_url(url) == arxiv_id


@pytest.mark.parametrize("url", [
    "https://notarxiv.org/abs/2205.14459",
    "https://arxiv.org.evil.example/abs/2205.14459",
    "https://arxiv.org/list/2205.14459",
    "https://arxiv.org/abs/2205.14459extra",
    "https://arxiv.org/abs/2213.00001",  # month 13
    "https://arxiv.org/abs/1501.0001",  # four digits after 1501
    "ftp://arxiv.org/abs/2205.14459",
    "arxiv.org/abs/2205.14459",  # no scheme
    "https://example.org/?u=https://arxiv.org/abs/2205.14459",
    "https://github.com/owner/repo",
], ids=lambda v: v)
def test_other_urls_give_no_identifier(url: str) -> None:
    assert id_from_url(url) is None


# ----------------------------------------------------------------------------------------------
# ids_in_text / bare_old_ids


@pytest.mark.parametrize(("text", "ids"), [
    ("see arXiv:2205.14459v2 for details", ("2205.14459",)),
    ("arXiv: 2205.14459 and ARXIV : 2101.00001", ("2205.14459", "2101.00001")),
    ("https://arxiv.org/abs/hep-th/9901001 then arXiv:2205.14459", ("hep-th/9901001",
                                                                      "2205.14459")),
    ("arxiv.org/pdf/2205.14459v2.pdf", ("2205.14459",)),
    ("arXiv:2205.14459, arXiv:2205.14459v3 again", ("2205.14459",)),
    ("arXiv:solv-int/9901001v2", ("solv-int/9901001",)),
    ("arXiv:HEP-TH/9901001", ("hep-th/9901001",)),
    ("arXiv:2205.144591", ()),  # six digits: no prefix of it is taken instead
    ("arXiv:2213.00001", ()),
    ("arXiv:1501.0001", ()),
    ("2205.14459 written bare", ()),
    ("hep-th/9901001 written bare", ()),
    ("", ()),
], ids=lambda v: v if isinstance(v, str) else "")
def test_ids_named_in_text_are_found_once_in_order(text: str, ids: tuple[str, ...]) -> None:
    assert ids_in_text(text) == ids


def test_an_admin_note_is_text_like_any_other_here() -> None:
    # The digest parser drops "arXiv admin note: …" before asking; this module does not know it.
    assert ids_in_text("arXiv admin note: text overlap with arXiv:2101.00001") == ("2101.00001",)


@pytest.mark.parametrize("found", [
    lambda: ids_in_text("arXiv:math.gt/0309136")[0],
    lambda: id_from_url("https://arxiv.org/abs/math.gt/0309136"),
], ids=["ids_in_text", "id_from_url"])
def test_every_identifier_found_is_one_the_grammar_accepts(
        found: Callable[[], str | None]) -> None:
    arxiv_id = found()
    assert arxiv_id == "math.GT/0309136"
    assert base_id(arxiv_id) == arxiv_id


@pytest.mark.parametrize(("text", "ids"), [
    ("see hep-th/9901001 and cond-mat/0101001v2", ("hep-th/9901001", "cond-mat/0101001")),
    ("(solv-int/9901001v2).", ("solv-int/9901001",)),
    ("math.GT/0309136 is a subject class", ("math.GT/0309136",)),
    ("hep-th/9901001, again hep-th/9901001v2", ("hep-th/9901001",)),
    ("arXiv:hep-th/9901001", ()),  # prefixed: ids_in_text's
    ("https://example.org/hep-th/9901001", ()),  # part of a URL
    ("papers/hep-th/9901001", ()),  # part of a path
    ("hep-th/99010012", ()),  # eight digits
    ("abc-th/9901001", ()),  # not an archive
    ("xhep-th/9901001", ()),
    ("2205.14459", ()),  # new style is never bare
], ids=lambda v: v if isinstance(v, str) else "")
def test_bare_old_style_ids_are_found_outside_urls_and_paths(text: str,
                                                             ids: tuple[str, ...]) -> None:
    assert bare_old_ids(text) == ids


# ----------------------------------------------------------------------------------------------
# id_from_entry_url


@pytest.mark.parametrize(("entry_id", "expected"), [
    ("http://arxiv.org/abs/2205.14459v2", ("2205.14459", 2)),
    ("https://arxiv.org/abs/2205.14459v11", ("2205.14459", 11)),
    ("http://arxiv.org/abs/2205.14459", ("2205.14459", 1)),  # no version: the first
    ("http://arxiv.org/abs/solv-int/9901001v3", ("solv-int/9901001", 3)),
    ("http://arxiv.org/abs/math.GT/0309136v1", ("math.GT/0309136", 1)),
    ("2205.14459v4", ("2205.14459", 4)),  # a bare identifier is its own tail
], ids=lambda v: v if isinstance(v, str) else "")
def test_an_atom_entry_id_gives_identifier_and_version(entry_id: str,
                                                       expected: tuple[str, int]) -> None:
    assert id_from_entry_url(entry_id) == expected


@pytest.mark.parametrize("entry_id", ["http://arxiv.org/abs/nonsense",
                                      "http://arxiv.org/abs/2213.00001v1", ""], ids=repr)
def test_an_unreadable_atom_entry_id_is_refused(entry_id: str) -> None:
    with pytest.raises(ValueError, match="not an arXiv identifier"):
        id_from_entry_url(entry_id)

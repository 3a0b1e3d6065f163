"""enrich.text.latex: TeX decoding, math, escaping, title protection, balance for every reader."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from enrich.text.latex import (
    Segment,
    brace_balanced,
    clean,
    decode_tex,
    encode_plain,
    encode_text,
    latex_char,
    math_body,
    needs_protection,
    split_math,
    title_to_latex,
)
from enrich.text.terms import protected_spans
from enrich.text.tex import tex_to_text


def bib_title(tex: str) -> str:
    """An arXiv title as references.bib writes it."""
    text = tex_to_text(tex)
    return title_to_latex(text, protected_spans(text))


@pytest.mark.parametrize(("tex", "text"), [
    ('Schr\\"odinger', "Schrödinger"),
    ("M\\\"{u}ller", "Müller"),
    ("{\\'e}cole", "école"),
    ("Fran\\c{c}ois", "François"),
    ("\\c c", "ç"),
    ("{\\L}\\'od\\'z", "Łódź"),
    ("Stra\\ss e", "Straße"),
    ("\\'\\i", "í"),
    ("50\\% \\& \\$5 \\#1 a\\_b \\{x\\}", "50% & $5 #1 a_b {x}"),
    ("\\emph{x} \\write18{rm}", "\\emph{x} \\write18{rm}"),
    ("\\def\\x", "\\def\\x"),
], ids=["umlaut", "braced-arg", "braced-accent", "cedilla", "letter-accent-space",
        "special-letters", "sharp-s", "dotless-i", "escaped-specials", "other-commands-stay",
        "no-accent-inside-a-word"])
def test_tex_accents_and_escaped_specials_decode_to_unicode(tex: str, text: str) -> None:
    assert decode_tex(tex) == text


def test_clean_folds_whitespace_and_drops_invisible_characters() -> None:
    assert clean("  a\nb\t\r\nc\u200bd\u00ad \u0007 ") == "a b cd"


@pytest.mark.parametrize(("text", "segments"), [
    ("$k$-NN", [Segment("k", math=True), Segment("-NN")]),
    ("Costs $5 and $10 Per Hour", [Segment("Costs $5 and $10 Per Hour")]),
    ("$ x$ and $y$", [Segment("$ x$ and "), Segment("y", math=True)]),
    ("$a$5 and $b$", [Segment("$a$5 and "), Segment("b", math=True)]),
    ("$$x$$", [Segment("$$x$$")]),
    ("\\$5 and $x$", [Segment("\\$5 and "), Segment("x", math=True)]),
    ("$\\def\\x{1}$ text", [Segment("$\\def\\x{1}$ text")]),
    ("$^^5c$", [Segment("$^^5c$")]),
    ("one $ alone", [Segment("one $ alone")]),
], ids=["math", "currency", "space-after-opening", "digit-after-closing", "display",
        "escaped-dollar", "forbidden-command", "caret-trick", "lone-dollar"])
def test_math_is_kept_only_where_pandoc_and_tex_read_math(text: str,
                                                           segments: list[Segment]) -> None:
    assert split_math(text) == segments


@pytest.mark.parametrize(("body", "kept"), [
    ("\\ell_1", "\\ell_1"),
    ("\\mathcal{O}(n^{2})", "\\mathcal{O}(n^{2})"),
    ("σ ≤ 3", "\\sigma  \\leq  3"),
    ("50%", "50\\%"),
    ("[0,1\\}", "[0,1\\rbrace "),
    ("\\input{x}", None),
    ("x^^41", None),
    ("a\\\\b", None),
    ("{x", None),
    ("中", None),
], ids=["subscript", "mathcal", "unicode-symbols", "percent-escaped", "unpaired-escaped-brace",
        "input", "caret-trick", "line-break", "unbalanced", "cjk"])
def test_math_bodies_are_checked_against_an_allow_list(body: str, kept: str | None) -> None:
    assert math_body(body) == kept


@pytest.mark.parametrize(("word", "protect"), [
    ("CLIP", True), ("CyCLIP", True), ("ImageNet", True), ("iPhone", True), ("GPT-4V", True),
    ("2D/3D", True), ("v2", True), ("Cyclic", False), ("Language-Image", False),
    ("Pre–Training", False), ("learning", False), ("A", False), ("1999", False),
], ids=str)
def test_which_title_words_keep_their_case(word: str, protect: bool) -> None:
    assert needs_protection(word) is protect


@pytest.mark.parametrize(("title", "latex"), [
    ("CyCLIP: Cyclic Contrastive Language-Image Pretraining",
     "{CyCLIP}: Cyclic Contrastive Language-Image Pretraining"),
    ("Momentum Contrast (MoCo) on ImageNet", "Momentum Contrast ({MoCo}) on {ImageNet}"),
    ("$\\ell_1$-Robust $k$-NN", "{ℓ₁-Robust} {k-NN}"),
    ("Cost & Benefit: 50% of $5, #1 snake_case", "Cost \\& Benefit: 50\\% of \\$5, \\#1 "
                                                  "snake\\_case"),
    ("~5x ^ \\{a\\} < > | #1Team", "{{\\textasciitilde 5x}} \\textasciicircum~\\{a\\} < > | "
                                       "{{\\#1Team}}"),
    ('"Why Should I Trust You?"', "“Why Should {I} Trust You?”"),
    ("Pre--Training --- Wisdom\\dots", "Pre–Training — Wisdom…"),
    ("$\\alpha$-Synuclein", "{α-Synuclein}"),
    ("\\\"Uber \\AE r\\o", "Über Ærø"),
    ("Unbalanced } Brace {", "Unbalanced Brace"),
    ("UV Gaussians and Gaussian Textures of the Earth's X-ray Image",
     "{UV} {Gaussians} and {Gaussian} Textures of the {Earth's} {X-ray} Image"),
    ("ALL CAPS", "{ALL} {CAPS}"),
], ids=["acronym", "mixed-case", "math", "specials", "more-specials", "straight-quotes",
        "dashes", "greek-letter", "accents", "unbalanced-braces", "proper-nouns",
        "all-caps-word-by-word"])
def test_titles_are_text_protected_word_by_word(title: str, latex: str) -> None:
    assert bib_title(title) == latex


def test_text_fields_keep_every_letter_and_escape_only_what_bibtex_misreads() -> None:
    assert encode_plain("Țară & Łódź 50% ℓ₁ “q”") == "Țară \\& Łódź 50\\% ℓ₁ “q”"


@pytest.mark.parametrize(("ch", "command"), [
    ("é", "{\\'{e}}"), ("ß", "{\\ss}"), ("ł", "{\\l}"), ("ğ", "{\\u{g}}"), ("ı", "{\\i}"),
    ("–", "--"), ("\u00a0", "~"), ("∞", "{\\ensuremath{\\infty}}"),
    ("ệ", None), ("ș", None), ("中", None), ("Ж", None), ("😀", None), ("ð", None),
], ids=repr)
def test_characters_get_a_latex_command_only_where_every_reader_has_one(
        ch: str, command: str | None) -> None:
    assert latex_char(ch) == command


def test_a_letter_with_a_combining_accent_becomes_the_accent_command() -> None:
    assert encode_text("X\u0303avier") == "{\\~{X}}avier"  # no precomposed X-tilde exists
    assert encode_text("X\u0303", encoding="utf8") == "X\u0303"


def test_a_lone_greek_letter_is_math_unless_asked_otherwise() -> None:
    assert encode_text("α-test") == "{\\ensuremath{\\alpha}}-test"
    assert encode_text("α-test", greek_as_math=False) == "α-test"


@pytest.mark.parametrize(("tex", "text", "bib"), [
    ("$\\{0,1\\}^n$ codes", "{0,1}ⁿ codes", "\\{0,1\\}ⁿ codes"),
    ("sets \\{x_i\\} and \\{y\\}", "sets {x_i} and {y}", "sets \\{x\\_i\\} and \\{y\\}"),
    ("$\\left\\{ x \\right.$ cases", "x cases", "x cases"),
    ("a \\} b \\{ c", "a b c", "a b c"),
], ids=["set", "two-sets", "lone-open", "reversed"])
def test_literal_braces_that_pair_up_are_escaped_and_lone_ones_left_out(
        tex: str, text: str, bib: str) -> None:
    # `\{` is the one spelling of a brace that BibTeX, biber, pandoc, citation-js, Better
    # BibTeX and Zotero all read as a brace; classic BibTeX counts it, so it must pair up.
    assert tex_to_text(tex) == text
    assert encode_plain(text) == bib
    assert brace_balanced(encode_plain(text))


def test_braces_in_a_title_pair_up_across_its_protected_words() -> None:
    assert bib_title("The $\\{$ImageNet$\\}$ set \\{") == "The \\{{ImageNet}\\} set"


def test_balance_is_checked_the_way_each_reader_counts() -> None:
    assert brace_balanced("{a} $\\lbrace$")
    assert not brace_balanced("\\{")  # classic BibTeX counts it, biber does not
    assert not brace_balanced("}{")


_ANY_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=80)


@settings(max_examples=300, deadline=None)
@given(text=_ANY_TEXT)
def test_any_text_encodes_to_a_balanced_single_line(text: str) -> None:
    for value in (bib_title(text), encode_plain(tex_to_text(text))):
        assert brace_balanced(value), value
        assert "\n" not in value
        # A bare % would start a comment and swallow the rest of the entry.
        assert "%" not in value.replace("\\%", "")

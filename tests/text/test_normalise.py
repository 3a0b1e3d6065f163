"""Text normalisation (enrich.text.normalise): the comparable forms of titles and words."""

from __future__ import annotations

import pytest

from enrich.text.normalise import (
    STOPWORDS,
    collapse_ws,
    fold,
    normalise_title,
    significant_tokens,
    strip_tex,
    title_tokens,
    words_only,
)


@pytest.mark.parametrize(("text", "expected"), [
    ("  a\t\n b   c  ", "a b c"),
    ("a\u00a0b\u3000c", "a b c"),  # no-break and ideographic spaces are whitespace too
    ("\r\n", ""),
    ("", ""),
    ("one", "one"),
], ids=repr)
def test_whitespace_runs_collapse_to_one_space(text: str, expected: str) -> None:
    assert collapse_ws(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("Émile Ørsted", "Emile Orsted"),
    ("Straße", "Strasse"),
    ("Łódź", "Lodz"),
    ("Æsir œuvre", "AEsir oeuvre"),
    ("Þórður", "Thordur"),
    ("ﬁne", "fine"),  # compatibility ligature
    ("Ｆｕｌｌ", "Full"),  # full-width letters
    ("x\u00b2", "x2"),
    ("“quoted” ‘single’", "\"quoted\" 'single'"),
    ("a\u2013b\u2014c\u2010d", "a-b-c-d"),
    ("naïve café", "naive cafe"),
    ("深度学习", "深度学习"),  # no accents to fold
    ("Мир", "Мир"),
], ids=repr)
def test_folding_leaves_base_letters(text: str, expected: str) -> None:
    assert fold(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ('Schr\\"odinger', "Schrodinger"),
    ("\\'{e}t\\'e", "ete"),
    ("\\c{c}a", "ca"),
    ("\\v{S}ediv\\'y", "Sedivy"),
    ("{\\\"o}", "o"),
    ("$\\mathcal{O}(n^2)$", "O(n2)"),
    ("x^{2}_{i}", "x2i"),
    ("\\emph{it}", "it"),
    ("$\\ell_1$-norm", " ell 1-norm"),
    ("50\\% off", "50  off"),
    ("plain words", "plain words"),
], ids=repr)
def test_tex_markup_goes_and_its_letters_stay(text: str, expected: str) -> None:
    assert strip_tex(text) == expected


@pytest.mark.parametrize(("title", "expected"), [
    ("$\\beta$-VAE", "beta vae"),
    ("$\\rho$-mixing", "rho mixing"),
    ("$\\tau$-leaping", "tau leaping"),
    ("$\\theta$ estimates", "theta estimates"),
    ("$\\kappa$-means", "kappa means"),
    ("$\\delta$-hyperbolic", "delta hyperbolic"),
    ("\\textbf{Deep} Nets", "deep nets"),
    ("\\text{Attention}", "attention"),
], ids=["beta", "rho", "tau", "theta", "kappa", "delta", "textbf", "text"])
def test_greek_letters_and_wrappers_keep_their_letters(title: str, expected: str) -> None:
    assert normalise_title(title) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("Hello, world!", "Hello world"),
    ("深度学习—Мир_test 3.5", "深度学习 Мир test 3 5"),
    ("k-NN (kNN)", "k NN kNN"),
    ("?!*", ""),
], ids=repr)
def test_only_letters_and_digits_of_any_script_are_kept(text: str, expected: str) -> None:
    assert words_only(text) == expected


@pytest.mark.parametrize(("title", "expected"), [
    ("Does Contrastive Learning Really Need Negatives?",
     "does contrastive learning really need negatives"),
    ("Café—Crème: “Naïve” Bayes’ 2.0", "cafe creme naive bayes 2 0"),
    ("$k$-NN Contrastive Learning for $\\ell_1$-Robust Retrieval",
     "k nn contrastive learning for ell 1 robust retrieval"),
    ("  Deep\n  Learning  ", "deep learning"),
    ("IDEAL: Improved DEnse locAL", "ideal improved dense local"),
    ("?", ""),
], ids=repr)
def test_titles_normalise_to_lower_case_words(title: str, expected: str) -> None:
    assert normalise_title(title) == expected


def test_titles_differing_only_in_markup_case_and_accents_compare_equal() -> None:
    assert (normalise_title("Schr\\\"odinger's Cat: A Study")
            == normalise_title("SCHRÖDINGER’S CAT — a study")
            == "schrodinger s cat a study")


def test_title_tokens_are_the_normalised_words_in_order() -> None:
    assert title_tokens("CyCLIP: Cyclic Contrastive Language-Image Pretraining") == [
        "cyclip", "cyclic", "contrastive", "language", "image", "pretraining"]
    assert title_tokens("") == []


@pytest.mark.parametrize(("title", "limit", "expected"), [
    # the longest words win, and come back in title order
    ("Does Contrastive Learning Really Need Negatives?", 3,
     ["contrastive", "learning", "negatives"]),
    ("Does Contrastive Learning Really Need Negatives?", 1, ["contrastive"]),
    # equal lengths: the earlier word wins
    ("Aaaa Bbbb Cccc Dddd", 2, ["aaaa", "bbbb"]),
    # stopwords and words of one or two letters are never distinctive
    ("A Study of the Deep Learning", 5, ["study", "deep", "learning"]),
    ("AI in 3D", 3, []),
    # each word once, whatever its case
    ("Graph graph GRAPH nets", 5, ["graph", "nets"]),
    ("Deep Learning", 0, []),
    ("", 3, []),
], ids=lambda v: v if isinstance(v, str) else "")
def test_significant_tokens_are_the_longest_distinct_words(title: str, limit: int,
                                                           expected: list[str]) -> None:
    assert significant_tokens(title, limit) == expected


def test_stopwords_are_lower_case_words() -> None:
    assert {"the", "of", "and", "for", "with", "towards"} <= STOPWORDS
    assert all(w == w.lower() and w.isalpha() for w in STOPWORDS)

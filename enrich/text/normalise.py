"""Text normalisation shared by matching, query building and citation keys (pure).

Names have their own parser (`enrich.text.names`), which uses these functions.
"""

from __future__ import annotations

import functools
import re
import unicodedata

# Letters NFKD does not decompose into ASCII base + combining mark.
_SPECIAL_LETTERS = str.maketrans(
    {
        "ß": "ss", "ẞ": "SS", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ø": "o", "Ø": "O",
        "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ð": "d", "Ð": "D", "þ": "th", "Þ": "Th",
        "ı": "i", "ħ": "h", "Ħ": "H", "ŋ": "n", "Ŋ": "N",
        "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
        "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-",
    }
)
# TeX accent commands (\"o, \'{e}, \c{c}) reduce to their letter.
# The letter accents (\u \v \H \c \k \b \d \r \t) need a space or a brace before their letter:
# `\beta` is beta, not \b on "eta".
# The space after an unbraced letter is the next word's ("Caf\'e Society" is two words).
_TEX_ACCENT = re.compile(
    r"\\(?:[`'^\"~=.]\s*|[uvHckbdrt](?:\s+|(?=\{)))(?:\{\s*([A-Za-z])\s*\}|([A-Za-z]))")
_TEX_COMMAND = re.compile(r"\\[A-Za-z]+\*?|\\.")
# Font and wrapper commands carry no words of their own: \mathcal{X} is just X.
_TEX_WRAPPERS = frozenset(
    """mathcal mathbf mathrm mathbb mathit mathsf mathtt mathfrak mathscr boldsymbol bm
    operatorname text textbf textit textrm textsc textsf texttt emph rm bf it sf tt cal
    left right big Big bigg Bigg""".split()
)
# A run of letters and digits of any script (`\w` is `str.isalnum()` plus `_`).
_WORD = re.compile(r"[^\W_]+")

STOPWORDS = frozenset(
    """a an and are as at be based by can do for from in into is it its of on or our over so
    than that the their this to toward towards under using via vs we what when where which
    while who why with without""".split()
)


def collapse_ws(text: str) -> str:
    """Collapse every run of whitespace to one space and strip the ends."""
    if text.isascii() and text.isprintable() and "  " not in text:
        return text.strip(" ")  # its only whitespace is single spaces
    return " ".join(text.split())  # str.split's whitespace is exactly re's `\s`


def fold(text: str) -> str:
    """Fold accents and compatibility forms to base letters: 'Émile Ørsted' → 'Emile Orsted'."""
    if text.isascii():
        return text  # nothing to fold, decompose or combine
    text = text.translate(_SPECIAL_LETTERS)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def strip_tex(text: str) -> str:
    """Remove TeX markup but keep its letters: '$\\ell_1$-norm' → 'ell1-norm'."""
    text = _TEX_ACCENT.sub(_accented, text)
    text = _TEX_COMMAND.sub(_tex_command, text)
    return text.replace("$", "").replace("{", "").replace("}", "").replace("^", "").replace("_", "")


def _accented(match: re.Match[str]) -> str:
    return match.group(1) or match.group(2)


# Math and commands (accents decoded first): where a search index's words of a title may
# differ from ours (`$\mathcal{O}(n)$` is "mathcal o n" to an index of the TeX source).
_TEX_BREAK = re.compile(r"\$[^$]*\$|\\[A-Za-z]+\*?|\\.|\$")
_VANISHING = "{}_^"


def tex_free_runs(title: str) -> list[str]:
    """The normalised words of a title between its math and TeX commands, one string per run
    (empty runs left out): words any index of the title holds in this order. A word glued to
    math or a command (`a$x_1$`, `$k$NN`) is left out too: an index may join it to the math."""
    text = _TEX_ACCENT.sub(_accented, title)
    pieces = _TEX_BREAK.split(text)
    runs = []
    for i, piece in enumerate(pieces):
        words = normalise_title(piece).split()
        # Braces and scripts vanish and join what they separate: `{a` is glued like `a`.
        if words and i > 0 and piece.lstrip(_VANISHING)[:1].isalnum():
            words = words[1:]
        if words and i < len(pieces) - 1 and piece.rstrip(_VANISHING)[-1:].isalnum():
            words = words[:-1]
        if words:
            runs.append(" ".join(words))
    return runs


def words_only(text: str) -> str:
    """Keep letters and digits of any script; everything else becomes single spaces."""
    return " ".join(_WORD.findall(text))


def _tex_command(match: re.Match[str]) -> str:
    name = match.group(0)[1:].rstrip("*")
    # Control words are ASCII letters; `\ß` is a control symbol, like `\&`.
    if name.isascii() and name.isalpha():
        return "" if name in _TEX_WRAPPERS else f" {name} "
    return " "


@functools.lru_cache(maxsize=4096)
def normalise_title(title: str) -> str:
    """Comparable form of a title: TeX stripped, accents folded, lower case, words only.

    Matching compares every candidate with every entry of its batch, each title many times:
    the last few thousand are remembered.
    """
    return words_only(fold(strip_tex(title)).lower())


def title_tokens(title: str) -> list[str]:
    """Words of the normalised title, in order."""
    return normalise_title(title).split()


def significant_tokens(title: str, limit: int) -> list[str]:
    """Up to `limit` distinctive words of a title: no stopwords, longest first, stable order."""
    words = [w for w in dict.fromkeys(title_tokens(title)) if w not in STOPWORDS and len(w) > 2]
    ranked = sorted(words, key=lambda w: (-len(w), words.index(w)))[:limit]
    return [w for w in words if w in ranked]

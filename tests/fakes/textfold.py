"""The fakes' own text folding and arXiv identifiers, written apart from the code under test.

`words` is what arXiv's search index keeps of a text, the way a Lucene-style analyser does it:

* a TeX accent is its letter (`M\\"uller`, `G{\\"o}del`, `\\v{S}imi\\'c`); any other command is
  a word of its own (`$\\beta$` → beta, `$\\mathcal{O}$` → mathcal o), since the index sees
  the title's TeX source;
* TeX's math and grouping marks `$ { } _ ^` vanish (`$x_1$` → x1);
* accents fold (é → e, and ß → ss, ø → o, ł → l, which Unicode does not decompose);
* lower case, and every character that is not a letter or digit separates words.
"""

from __future__ import annotations

import re
import unicodedata

# `\'e`, `\"{o}`, `{\"o}`; accents named by a letter (`\c{c}`, `\v s`) only before a brace or
# a space, so that `\beta` and `\cdot` stay commands. The space after the letter is kept.
_ACCENT = re.compile(r"\{?\\(?:[`'^\"~=.]\s*|[uvHtcdbkr](?:\s+|(?=\{)))\{?([A-Za-z])\}?\}?")
# A command's name is a word of its own; a control symbol (`\&`, `\\`, `\$`) is none.
_COMMAND = re.compile(r"\\(?:([A-Za-z]+)|.?)")
_PLAIN = str.maketrans({"ß": "ss", "ẞ": "SS", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE",
                        "ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ð": "d",
                        "Ð": "D", "þ": "th", "Þ": "Th", "ı": "i"})
_NEW_ID = re.compile(r"(\d\d)(\d\d)\.(\d{4,5})")
_OLD_ID = re.compile(r"[a-z]+(?:-[a-z]+)?(?:\.[A-Z]{2})?/\d{7}")


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).translate(_PLAIN)


def unaccent(text: str) -> str:
    """Accents, TeX's too, dropped; case and the rest kept: 'Ørsted, G\\"odel' → 'Orsted, Godel'."""
    return _fold(_ACCENT.sub(r"\1", text))


def words(text: str, keep: str = "") -> tuple[str, ...]:
    """The indexed words of `text`; characters in `keep` (wildcards) count as letters."""
    text = _COMMAND.sub(lambda m: f" {m[1] or ''} ", _ACCENT.sub(r"\1", text))
    for mark in "${}_^":
        text = text.replace(mark, "")
    folded = _fold(text).lower()
    return tuple("".join(c if c.isalnum() or c in keep else " " for c in folded).split())


def split_id(arxiv_id: str) -> tuple[str, int | None]:
    """`2205.14459v2` → ('2205.14459', 2); ValueError for anything arXiv would not accept."""
    match = re.fullmatch(r"(.+?)(?:v(\d+))?", arxiv_id.strip())
    base, version = match.groups() if match else ("", None)
    new = _NEW_ID.fullmatch(base)
    valid = bool(_OLD_ID.fullmatch(base)) or bool(
        new and 1 <= int(new[2]) <= 12  # five-digit numbers from January 2015 on
        and (len(new[3]) == 5) == (new[1] + new[2] >= "1501"))
    if not valid:
        raise ValueError(f"not an arXiv identifier: {arxiv_id!r}")
    return base, int(version) if version else None

"""Citation keys: readable, ASCII, deterministic (pure).

A key's base is the first author's family name, the year and the first significant word of the
title, folded to lower-case ASCII: `goel2022cyclip`. When a base is taken, the first free
suffix is added (`goel2022cyclipa`, `…b`, …, `…z`, `…aa`). Keys are issued once and kept for ever
by `enrich.store.citekeys.KeyRegistry` (before rendering); `keyed_papers` is what the renderers
write, and only reads the keys the papers carry.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from itertools import count, product
from string import ascii_lowercase

from enrich.render.model import Paper
from enrich.text.identifiers import year_of
from enrich.text.latex import clean, decode_tex, split_math
from enrich.text.names import parse_name, truncated
from enrich.text.normalise import STOPWORDS, fold, normalise_title

log = logging.getLogger(__name__)

_MAX_PART = 24

# Greek and Cyrillic letters have a conventional Latin spelling; CJK and other scripts do not
# (that would need a dictionary), so a name written only in them becomes "anon".
_TRANSLIT = str.maketrans({
    **dict(zip("αβγδεζηθικλμνξοπρσςτυφχψω",
               "a b g d e z e th i k l m n x o p r s s t y ph ch ps o".split(), strict=True)),
    **dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюяієїґ",
               ["a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "i", "k", "l", "m", "n",
                "o", "p", "r", "s", "t", "u", "f", "kh", "ts", "ch", "sh", "shch", "", "y", "",
                "e", "yu", "ya", "i", "e", "yi", "g"], strict=True)),
})


def ascii_word(text: str) -> str:
    """Lower-case ASCII letters and digits of `text`: accents folded, Greek and Cyrillic
    transliterated, everything else dropped ('Müller' → 'muller', 'Петров' → 'petrov')."""
    folded = fold(text.lower()).translate(_TRANSLIT)
    return "".join(ch for ch in folded if ch.isascii() and ch.isalnum())


def _surname_part(paper: Paper) -> str:
    names, _ = truncated(paper.authors)
    if not names:
        return "anon"
    first = parse_name(names[0])
    if first.literal:
        # An organisation: its first significant word ("The ATLAS Collaboration" → atlas).
        words = [ascii_word(w) for w in first.literal.split()]
        word = next((w for w in words if w and w not in STOPWORDS), "")
    else:
        word = ascii_word(first.family) or ascii_word(first.given)
    return (word or "anon")[:_MAX_PART]


def _year_part(paper: Paper) -> str:
    if paper.published is not None:
        return f"{paper.published.year:04d}"
    year = year_of(paper.arxiv_id or "")
    return f"{year:04d}" if year is not None else "nd"


def _title_part(title: str) -> str:
    # Math is not a word a reader would look a paper up by: "$k$-NN …" → "nn".
    text = " ".join(seg.text for seg in split_math(clean(title)) if not seg.math)
    for token in normalise_title(decode_tex(text)).split():
        word = ascii_word(token)
        if len(word) >= 2 and word not in STOPWORDS:
            return word[:_MAX_PART]
    return ""


def key_base(paper: Paper) -> str:
    """The key a paper gets when nobody holds it yet: surname + year + first title word."""
    return _surname_part(paper) + _year_part(paper) + _title_part(paper.title)


def suffixes() -> Iterator[str]:
    """"", "a" … "z", "aa" … "az", "ba" …: the suffixes tried after a base, in order."""
    yield ""
    for n in count(1):
        for letters in product(ascii_lowercase, repeat=n):
            yield "".join(letters)


def arrival(paper: Paper) -> tuple[str, str, str, str]:
    published = paper.published.isoformat() if paper.published else ""
    return (key_base(paper), published, paper.arxiv_id or "", paper.key)


def keyed_papers(papers: Sequence[Paper]) -> list[tuple[str, Paper]]:
    """(citekey, paper) for every paper with an arXiv ID, one per paper, sorted by key.

    This is what both renderers write. The pipeline gives every such paper its registry key;
    should one arrive without (or two with the same), a file-local key is made up so the file
    stays valid — logged, since it is not stable across runs.
    """
    by_paper: dict[str, Paper] = {}
    for paper in sorted(papers, key=lambda p: (p.arxiv_id or "", p.key)):
        if paper.arxiv_id and paper.arxiv_id not in by_paper:
            by_paper[paper.arxiv_id] = paper
    taken: set[str] = set()
    out: list[tuple[str, Paper]] = []
    pending: list[Paper] = []
    for paper in sorted(by_paper.values(), key=lambda p: (p.citekey or "", p.key)):
        if paper.citekey and paper.citekey not in taken:
            taken.add(paper.citekey)
            out.append((paper.citekey, paper))
        else:
            pending.append(paper)
    for paper in sorted(pending, key=arrival):
        base = paper.citekey or key_base(paper)
        key = next(base + s for s in suffixes() if base + s not in taken)
        log.warning("paper %s has no unique registry key; writing it as %s", paper.key, key)
        taken.add(key)
        out.append((key, paper))
    return sorted(out, key=lambda item: item[0])

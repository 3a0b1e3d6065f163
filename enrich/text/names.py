"""Author names: the one parser of author lists and names, and their comparable forms (pure).

arXiv gives names in natural order ("Jan van den Berg", "Martin Luther King Jr."); digests
sometimes give `Last, First`. `parse_name` splits either form into given / particle / family /
suffix:

- lower-case particles (van, von, de la, van den, di, da, dos, ter, …) are the particle, exactly
  BibTeX's own "von" rule;
- capitalised particles right before the last word ("Anna De La Cruz", "Leonardo Da Vinci",
  "Jan Van Der Berg") belong to the family name, as their bearers write it (BibTeX's rule
  would make them given names). A lone "Van" before a Vietnamese family name ("Thanh Van
  Nguyen") is a middle name and stays given;
- suffixes: Jr./Sr./II/III/IV;
- collaborations and teams ("The ATLAS Collaboration", "Gemini Team"): one literal name;
- initials run together ("J.R.R.") are spaced ("J. R. R.");
- hyphenated names are one token; names in scripts without spaces (CJK: "山田太郎") cannot be
  split without a dictionary and are whole as the family name.

Everything else that looks at names goes through `parse_name`: `split_author_list` (a digest's
`Authors:` line), `truncated` (a list ending in "et al."), the comparable forms `person_key` /
`family_key` (matching and lookup fingerprints), `two_names` (family name first or last),
`family_word` / `given_word` (arXiv `au:` queries), and the writers in `enrich.render.names`
(BibTeX, CSL-JSON).
"""


from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

from enrich.text.latex import clean, decode_tex
from enrich.text.normalise import collapse_ws, fold, words_only

PARTICLES = frozenset("""
    van von der den de del della delle dei degli di da das dos do du la le les lo ter ten te
    zu zum zur vom af av op bin ibn al el ben bint 't
""".split())
# Capitalised particles that start a family name when they stand just before the last word.
CAPITALISED_PARTICLES = frozenset("""
    De Del Della Dei Degli Di Da Das Dos Du La Le Von Vom Van Der Den Ter Ten
""".split())
# Vietnamese family names: before one of them a capitalised "Van" is a middle name (Văn).
_VIETNAMESE_FAMILY = frozenset("""
    nguyen tran le pham hoang huynh phan vu vo dang bui do ho ngo duong ly dinh trinh truong
    lam mai cao luong ha doan ta quach
""".split())
_SUFFIX = re.compile(r"^(?:jr|sr|jnr|snr|ii|iii|iv)\.?$", re.IGNORECASE)
_SUFFIX_CHARS = 4  # the longest `_SUFFIX`: "iii."
_ORG_WORDS = frozenset("""
    collaboration collaborations consortium team group project initiative organization
    organisation committee society association alliance network laboratory laboratories lab labs
    inc ltd llc corporation institute university foundation collab
""".split())
# Characters no one's name holds, which BibTeX's abbreviation, biber's initials or LaTeX cannot
# all carry (biber makes "}" the initial of `{\\textbackslash{}}`): left out of names. A `~` is
# TeX's tie, a space. Each word must also start with a letter or digit (or an apostrophe, as in
# "'t Hooft"): biber's initials of a word starting `{\\%}` or "`{" are broken TeX.
_NOT_IN_NAMES = str.maketrans({"~": " ", **dict.fromkeys("\\{}|^<>$\"`")})
_LEADING_JUNK = re.compile(r"^[^\w'\u2019]+|^_+")
_DASHES = re.compile(r"[-\u2010-\u2015\u2212]+")
_INITIALS = re.compile(r"(?<=\w\.)(?=\w)")
_LIST_SEPARATOR = re.compile(r"[,，;；]|\s+and\s+")
_ET_AL = re.compile(r"(?:^|\s+)(?:et\.?\s*al\.?|(?:and\s+)?others)$", re.IGNORECASE)


@dataclass(frozen=True)
class PersonName:
    """One author's name in parts. `literal` is set (and the parts empty) for organisations."""

    given: str = ""
    particle: str = ""
    family: str = ""
    suffix: str = ""
    literal: str = ""

    @property
    def display(self) -> str:
        """The name in natural order, for messages and tests."""
        if self.literal:
            return self.literal
        return " ".join(p for p in (self.given, self.particle, self.family, self.suffix) if p)


def is_collaboration(name: str) -> bool:
    """Whether a name is an organisation rather than a person ("The ATLAS Collaboration")."""
    words = [w.strip(".,()").lower() for w in name.split()]
    return len(words) >= 2 and any(w in _ORG_WORDS for w in words)


@functools.lru_cache(maxsize=16384)
def parse_name(raw: str) -> PersonName:
    """Split one author name (natural order or `Last, First`) into its parts.

    Matching asks for the same names again and again (every candidate of every entry): the
    last several thousand are remembered (`PersonName` is immutable).
    """
    name = clean(decode_tex(raw).translate(_NOT_IN_NAMES)).strip(" ,;")
    if is_collaboration(name):
        return PersonName(literal=name)
    name = _sanitised(name).strip(" ,;")
    if not name:
        return PersonName()
    return _from_commas(name, [p.strip() for p in name.split(",")])


def _sanitised(name: str) -> str:
    """The name with every word starting at its first letter, digit or apostrophe, and words
    without a letter or digit left out (commas, which place the parts, are kept)."""
    parts = []
    for part in name.split(","):
        words = []
        for word in part.split():
            # biber takes an initial after every hyphen too: "Jean-…" must not give "…".
            pieces = [_LEADING_JUNK.sub("", piece) for piece in _DASHES.split(word)]
            words.append("-".join(p for p in pieces if any(ch.isalnum() for ch in p)))
        parts.append(" ".join(w for w in words if w))
    return ", ".join(parts)


def _from_commas(name: str, parts: list[str]) -> PersonName:
    if len(parts) == 1:
        return _natural_order(name)
    if len(parts) == 2:
        if _SUFFIX.match(parts[1]):  # "Martin Luther King, Jr."
            return _with_suffix(_natural_order(parts[0]), parts[1])
        return _inverted(parts[0], parts[1], "")
    if len(parts) == 3 and _SUFFIX.match(parts[1]):  # "King, Jr., Martin Luther"
        return _inverted(parts[0], parts[2], parts[1])
    return PersonName(literal=name)  # a name with commas we cannot place: keep it whole


def _spaced_initials(given: str) -> str:
    return _INITIALS.sub(" ", given)


def _with_suffix(name: PersonName, suffix: str) -> PersonName:
    return PersonName(given=name.given, particle=name.particle, family=name.family,
                      suffix=suffix, literal=name.literal)


def _is_particle(word: str) -> bool:
    return word in PARTICLES


def _natural_order(name: str) -> PersonName:
    words = name.split()
    suffix = ""
    if len(words) > 2 and _SUFFIX.match(words[-1]):
        suffix = words.pop()
    if len(words) == 1:
        return PersonName(family=words[0], suffix=suffix)
    start = next((i for i in range(1, len(words) - 1) if _is_particle(words[i])), None)
    if start is None:
        family_start = _capitalised_family_start(words)
        return PersonName(given=_spaced_initials(" ".join(words[:family_start])),
                          family=" ".join(words[family_start:]), suffix=suffix)
    end = start
    while end < len(words) - 1 and _is_particle(words[end]):
        end += 1
    return PersonName(given=_spaced_initials(" ".join(words[:start])),
                      particle=" ".join(words[start:end]), family=" ".join(words[end:]),
                      suffix=suffix)


def _capitalised_family_start(words: list[str]) -> int:
    """Where the family name starts: before the last word, or before a run of capitalised
    particles that precedes it ("Anna De La Cruz" → "De La Cruz")."""
    start = len(words) - 1
    while start > 1 and words[start - 1] in CAPITALISED_PARTICLES:
        start -= 1
    run = words[start:-1]
    if run == ["Van"] and fold(words[-1]).lower() in _VIETNAMESE_FAMILY:
        return len(words) - 1
    return start


def _inverted(last: str, first: str, suffix: str) -> PersonName:
    words = last.split()
    end = 0
    while end < len(words) - 1 and _is_particle(words[end]):
        end += 1
    return PersonName(given=_spaced_initials(first), particle=" ".join(words[:end]),
                      family=" ".join(words[end:]), suffix=suffix)


def truncated(authors: Iterable[str]) -> tuple[list[str], bool]:
    """The names of an author list without "et al." / "others", and whether one was there."""
    names: list[str] = []
    more = False
    for author in authors:
        stripped = _ET_AL.sub("", clean(author))
        more = more or stripped != clean(author)
        if stripped:
            names.append(stripped)
    return names, more


def split_author_list(text: str) -> tuple[str, ...]:
    """The names of an author list as a digest writes it: "A, B and C" (also `，` and `;`).

    A lone suffix belongs to the name before it ("Martin Luther King, Jr.").
    """
    names: list[str] = []
    for piece in _LIST_SEPARATOR.split(text):
        name = collapse_ws(piece)
        if not name:
            continue
        if names and len(name) <= _SUFFIX_CHARS and _SUFFIX.match(name):
            names[-1] = f"{names[-1]}, {name}"
        else:
            names.append(name)
    return tuple(names)


# --------------------------------------------------------------------------------------------
# Comparable forms


def _folded_words(text: str) -> list[str]:
    return words_only(fold(text).lower().replace("-", "")).split()


@functools.lru_cache(maxsize=65536)
def person_key(name: str) -> tuple[str, str]:
    """(family, first initial) of a name, folded to lower-case ASCII-like words.

    The family is the last word of the family name ("Jan van den Berg" → berg, "Anna De La
    Cruz" → cruz, "Smith-Jones" → smithjones); the initial is the first letter of the given
    names, '' when there are none. An organisation's family is its last word.
    """
    parsed = parse_name(name)
    family = _folded_words(parsed.literal or parsed.family)
    given = _folded_words(parsed.given)
    return (family[-1] if family else "", given[0][0] if given else "")


@functools.lru_cache(maxsize=65536)
def two_names(name: str) -> frozenset[str] | None:
    """The two words of a name written as exactly two full words ("Wei Zhang", "Zhang Wei"),
    folded; None for any other name (initials, particles, suffixes, one word, three words).

    Chinese, Korean, Vietnamese and Hungarian names are often written family name first in one
    place and last in the other: two such names are the same person when their two words are
    the same, in either order — never by an initial alone.
    """
    parsed = parse_name(name)
    if parsed.literal or parsed.particle or parsed.suffix:
        return None
    words = _folded_words(f"{parsed.given} {parsed.family}")
    if len(words) != 2 or min(len(w) for w in words) < 2 or words[0] == words[1]:
        return None
    return frozenset(words)


def family_key(name: str) -> str:
    """The comparable family name: `person_key(name)[0]`."""
    return person_key(name)[0]


def family_word(name: str) -> str:
    """The last word of the family name as written (decoded TeX), '' when there is none."""
    parsed = parse_name(name)
    words = (parsed.literal or parsed.family).split()
    return words[-1] if words else ""


def given_word(name: str) -> str:
    """The first given name as written, '' when there is none."""
    words = parse_name(name).given.split()
    return words[0] if words else ""

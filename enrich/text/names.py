"""Author names → their parts, and the parts → BibTeX `Last, First` and CSL-JSON names (pure).

arXiv gives names in natural order ("Jan van den Berg", "Martin Luther King Jr."); digests
sometimes give `Last, First`. `parse_name` splits either form into given / particle / family /
suffix, and writes the result in the unambiguous `von Last, Jr., First` form so that BibTeX,
biber, pandoc and Zotero all read the same parts:

- lower-case particles (van, von, de la, van den, di, da, dos, ter, …) are the particle, exactly
  BibTeX's own "von" rule;
- capitalised particles right before the last word ("Anna De La Cruz", "Leonardo Da Vinci",
  "Jan Van Der Berg") belong to the family name, as their bearers write it (BibTeX's rule
  would make them given names). A lone "Van" before a Vietnamese family name ("Thanh Van
  Nguyen") is a middle name and stays given;
- suffixes: Jr./Sr./II/III/IV, written in BibTeX's three-part form `King, Jr., Martin Luther`;
- collaborations and teams ("The ATLAS Collaboration", "Gemini Team"): one literal name,
  braced so that no reader splits it into first and last name;
- initials run together ("J.R.R.") are spaced ("J. R. R.") so abbreviating styles keep them;
- hyphenated names are one token; names in scripts without spaces (CJK: "山田太郎") cannot be
  split without a dictionary and are written whole as the family name.

`bibtex_name` then braces whatever BibTeX would misread: the first letter of a family-name word
in lower case (`{b}oyd`, `le Rond {d}'Alembert`), a part holding a comma, the word "and". Braces,
backslashes and `| ^ < > $` are not part of anyone's name and are left out. In the `latex`
encoding it also makes every letter left in UTF-8 one BibTeX character (`latex.atomic_letters`).

Author lists are never shortened: styles truncate long lists themselves (biblatex `maxnames`,
natbib's "et al."). `and others` is written only when the source list itself ended in "et al.".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from enrich.text.latex import Encoding, atomic_letters, clean, decode_tex, encode_text
from enrich.text.normalise import fold

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


def parse_name(raw: str) -> PersonName:
    """Split one author name (natural order or `Last, First`) into its parts."""
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


# --------------------------------------------------------------------------------------------
# BibTeX


_ESCAPE_COMMAND = re.compile(r"\\(?:[&%$#_]|[A-Za-z]+\{\})")


def _encode_name_text(text: str, encoding: Encoding) -> str:
    """Name text for BibTeX. Every command is a brace group that starts with the command
    (`{\\&}`, `{\\dots{}}`), which BibTeX treats as one character: a style that abbreviates
    "\\& Tables" then writes "{\\&}." instead of a lone, broken backslash."""
    # Greek letters as letters (atomic below), never as math: biber cannot take the initial
    # of `{\\ensuremath{\\alpha}}`.
    value = encode_text(text, encoding=encoding, greek_as_math=False)
    value = _ESCAPE_COMMAND.sub(lambda m: "{" + m.group(0) + "}", value)
    return atomic_letters(value) if encoding == "latex" else value


def _encode_words(text: str, encoding: Encoding) -> list[str]:
    out = []
    for word in text.split():
        value = _encode_name_text(word, encoding)
        # " and " separates names in any case; a bare "and" inside a name must be braced.
        out.append("{" + value + "}" if word.lower() == "and" else value)
    return out


def _family(name: PersonName, encoding: Encoding) -> str:
    raw = name.family.split()
    words = [_case_protected(e) if w[:1].islower() else e
             for w, e in zip(raw, _encode_words(name.family, encoding), strict=True)]
    # Several words with no given name after the comma would be split into first and last.
    if len(words) > 1 and not name.given:
        return _one_group(name.family, encoding)
    return " ".join(words)


def _one_group(text: str, encoding: Encoding) -> str:
    """A name BibTeX must never split (an organisation, a family name with no given name):
    `{The ATLAS Collaboration}`.

    When it holds a command or a non-ASCII letter, in the `latex` encoding, it is written as
    one BibTeX special character, `{\\relax{}École Polytechnique}`, letters in UTF-8: a plain
    brace group is cut inside by BibTeX's label functions (alpha takes its first characters,
    splitting `{\\'{E}}`), a special character never is; pandoc reads it as a literal name.
    """
    if encoding == "utf8":
        return "{" + _encode_name_text(text, encoding) + "}"
    value = encode_text(text, encoding="utf8", greek_as_math=False)
    if value.isascii() and "\\" not in value:
        return "{" + value + "}"
    return "{\\relax{}" + value + "}"


def _case_protected(word: str) -> str:
    """A family-name word that starts in lower case, with its first letter braced: `{b}oyd`,
    `{d}'Alembert`, `{{\\"{o}}}zil`.

    BibTeX then reads the word as part of the last name, not the "von" part, without a brace
    around the whole name (which its label functions would cut inside, alpha's commands
    too); biber 2.18 loops forever on two bare lower-case family names with
    `uniquename=init` (checked); pandoc reads the letter as it is.
    """
    if word.startswith("{\\relax{}"):
        return word  # already one protected character
    if word.startswith("{"):
        depth = 0
        for i, ch in enumerate(word):
            depth += {"{": 1, "}": -1}.get(ch, 0)
            if depth == 0:
                return "{" + word[:i + 1] + "}" + word[i + 1:]
        return word  # pragma: no cover - encoded words are balanced
    return "{" + word[0] + "}" + word[1:]


def _part(text: str, encoding: Encoding) -> str:
    value = " ".join(_encode_words(text, encoding))
    return "{" + value + "}" if "," in text else value


def bibtex_name(name: PersonName, *, encoding: Encoding = "latex") -> str:
    """One name as BibTeX reads it: `von Last, Jr., First`, `Last, First`, or `{Literal}`."""
    if name.literal:
        return _one_group(name.literal, encoding)
    if name.suffix and not name.given:  # "Last, Jr.," with nothing after: one group instead
        return _one_group(name.display, encoding)
    last = _family(name, encoding)
    if name.particle:
        last = _part(name.particle, encoding) + " " + last
    pieces = [last]
    if name.suffix:
        pieces.append(_part(name.suffix, encoding))
        pieces.append(_part(name.given, encoding))
    elif name.given:
        pieces.append(_part(name.given, encoding))
    return ", ".join(pieces)


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


def bibtex_names(authors: Iterable[str], *, encoding: Encoding = "latex") -> str:
    """An `author` field value: every parseable name joined by " and ", ending in
    " and others" (BibTeX's "et al.") when the list said it was incomplete."""
    kept, more = truncated(authors)
    names = [bibtex_name(n, encoding=encoding) for n in map(parse_name, kept)
             if n.literal or n.family]
    if more:
        names.append("others")
    return " and ".join(names)


# --------------------------------------------------------------------------------------------
# CSL-JSON


def csl_name(name: PersonName) -> dict[str, str]:
    """A CSL-JSON name. Lower-case particles are `non-dropping-particle` (kept in front of the
    family name, as citeproc-js and Zotero parse "van Gogh"); organisations are `literal`."""
    if name.literal:
        return {"literal": name.literal}
    out = {"family": name.family}
    if name.given:
        out["given"] = name.given
    if name.particle:
        out["non-dropping-particle"] = name.particle
    if name.suffix:
        out["suffix"] = name.suffix
    return out


def csl_names(authors: Iterable[str]) -> list[dict[str, str]]:
    """CSL-JSON names of an author list, in order, skipping empty names."""
    names = [parse_name(a) for a in truncated(authors)[0]]
    return [csl_name(n) for n in names if n.literal or n.family]

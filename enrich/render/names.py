"""Author names written for BibTeX (`von Last, Jr., First`) and CSL-JSON (pure).

Names are split by `enrich.text.names.parse_name`; here the parts are written in the
unambiguous `von Last, Jr., First` form so that BibTeX, biber, pandoc and Zotero all read the
same parts. Collaborations are one literal name, braced so that no reader splits them.

`bibtex_name` braces whatever BibTeX would misread: the first letter of a family-name word
in lower case (`{b}oyd`, `le Rond {d}'Alembert`), a part holding a comma, the word "and". Braces,
backslashes and `| ^ < > $` are not part of anyone's name and are left out (by the parser).
Letters without a LaTeX command every reader understands (Ș, Cyrillic, CJK) stay UTF-8 in both
encodings: the `{\\relax Ș}` that would keep 8-bit BibTeX's abbreviating styles from cutting
them in half is refused by citeproc-py (the whole file) and shown as TeX by citation-js and
Zotero; `bibtexu` abbreviates them whole (docs/references.md, *Encoding*).

Author lists are never shortened: styles truncate long lists themselves (biblatex `maxnames`,
natbib's "et al."). `and others` is written only when the source list itself ended in "et al.".
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from enrich.text.latex import Encoding, encode_text
from enrich.text.names import PersonName, parse_name, truncated

_ESCAPE_COMMAND = re.compile(r"\\(?:[&%$#_]|[A-Za-z]+\{\})")


def _encode_name_text(text: str, encoding: Encoding) -> str:
    """Name text for BibTeX. Every command is a brace group that starts with the command
    (`{\\&}`, `{\\dots{}}`), which BibTeX treats as one character: a style that abbreviates
    "\\& Tables" then writes "{\\&}." instead of a lone, broken backslash."""
    # Greek letters as letters (atomic below), never as math: biber cannot take the initial
    # of `{\\ensuremath{\\alpha}}`.
    value = encode_text(text, encoding=encoding, greek_as_math=False)
    return _ESCAPE_COMMAND.sub(lambda m: "{" + m.group(0) + "}", value)


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

    Its letters are UTF-8 in both encodings: BibTeX's label functions (alpha takes the first
    characters) would cut an accent command inside the group, and pandoc, Zotero, citation-js
    and citeproc-py all read the letters as a literal name.
    """
    return "{" + _encode_name_text(text, "utf8") + "}"


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


def bibtex_names(authors: Iterable[str], *, encoding: Encoding = "latex") -> str:
    """An `author` field value: every parseable name joined by " and ", ending in
    " and others" (BibTeX's "et al.") when the list said it was incomplete."""
    kept, more = truncated(authors)
    names = [bibtex_name(n, encoding=encoding) for n in map(parse_name, kept)
             if n.literal or n.family]
    if more:
        names.append("others")
    return " and ".join(names)


def has_names(authors: Iterable[str]) -> bool:
    """Whether any name of the list survives parsing (else the entry has no author)."""
    kept, more = truncated(authors)
    return more or any(n.literal or n.family for n in map(parse_name, kept))


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

"""arXiv identifiers, the one grammar: recognise them in text and URLs, split off versions,
validate, and read the year off them (pure).

    new style (April 2007 on)  YYMM.NNNN until 1412, YYMM.NNNNN from 1501     2205.14459v2
    old style                  archive(.SUBJECT-CLASS)/YYMMNNN                 hep-th/9901001

Splitting on `v` breaks old-style IDs whose archive holds a `v` (`solv-int/…`); every
function here works on the whole grammar instead.
"""

from __future__ import annotations

import re

# New style (April 2007 on): YYMM.NNNN until 2014, YYMM.NNNNN from 1501.
_NEW = r"(?P<new>(?P<yy>\d{2})(?P<mm>\d{2})\.(?P<num>\d{4,5}))"
# Old style: archive(.SUBJECT-CLASS)/YYMMNNN, e.g. hep-th/9901001, math.GT/0309136.
_OLD = r"(?P<old>[a-z]+(?:-[a-z]+)?(?:\.[A-Z]{2})?/\d{7})"
_VERSION = r"(?:v(?P<version>\d+))?"

_BARE_ID = re.compile(rf"^(?:{_NEW}|{_OLD}){_VERSION}$")
# Where an ID may appear in running text: after `arXiv:` or inside an arxiv.org URL.
_IN_TEXT = re.compile(
    rf"(?:\barXiv\s*:\s*|\barxiv\.org/(?:abs|pdf|html)/)(?:{_NEW}|{_OLD}){_VERSION}(?![\d])",
    re.IGNORECASE,
)
# The archives of old-style identifiers (1991–2007).
OLD_ARCHIVES = (
    "acc-phys|adap-org|alg-geom|ao-sci|astro-ph|atom-ph|bayes-an|chao-dyn|chem-ph|cmp-lg|"
    "comp-gas|cond-mat|cs|dg-ga|funct-an|gr-qc|hep-ex|hep-lat|hep-ph|hep-th|math|math-ph|"
    "mtrl-th|nlin|nucl-ex|nucl-th|patt-sol|physics|plasm-ph|q-alg|q-bio|quant-ph|solv-int|"
    "supr-con"
)
_BARE_OLD_ID = re.compile(
    rf"(?<![\w./:-])(?:{OLD_ARCHIVES})(?:\.[A-Z]{{2}})?/\d{{7}}(?:v\d+)?(?![\w/])")
_ARXIV_URL = re.compile(
    rf"^https?://(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html)/(?:{_NEW}|{_OLD}){_VERSION}"
    r"(?:\.pdf)?/?(?:[?#].*)?$",
    re.IGNORECASE,
)


def _valid(match: re.Match[str]) -> str | None:
    if match.group("new"):
        month = int(match.group("mm"))
        digits = len(match.group("num"))
        year = int(match.group("yy"))
        if not 1 <= month <= 12:
            return None
        # Five-digit numbers started in January 2015; before that there were four.
        if (digits == 5) != (year * 100 + month >= 1501):
            return None
        return match.group("new")
    archive, _, rest = match.group("old").partition(".")
    # Archives are lower case (hep-th); subject classes upper case (math.GT).
    if rest:
        subject_class, _, number = rest.partition("/")
        return f"{archive.lower()}.{subject_class.upper()}/{number}"
    return archive.lower()


def split_version(arxiv_id: str) -> tuple[str, int | None]:
    """Split `2205.14459v2` into ('2205.14459', 2); old-style IDs keep their hyphens intact."""
    match = _BARE_ID.match(arxiv_id.strip())
    if not match or (base := _valid(match)) is None:
        raise ValueError(f"not an arXiv identifier: {arxiv_id!r}")
    version = match.group("version")
    return base, int(version) if version else None


def base_id(text: str | None) -> str | None:
    """The identifier without version when `text` is a well-formed one, else None."""
    if not text:
        return None
    try:
        return split_version(text)[0]
    except ValueError:
        return None


def year_of(arxiv_id: str) -> int | None:
    """The year an identifier was issued in (`2205.14459` → 2022, `hep-th/9901001` → 1999).

    New-style numbers began in 2007: their two-digit year is this century's. Old-style ones ran
    from 1991 to 2007, so theirs is the 1900s from 91 on.
    """
    base = base_id(arxiv_id)
    if base is None:
        return None
    if "/" not in base:
        return 2000 + int(base[:2])
    yy = int(base.split("/", 1)[1][:2])
    return (2000 if yy < 91 else 1900) + yy


def id_from_url(url: str) -> str | None:
    """The identifier (without version) of an arxiv.org abs/pdf URL, else None."""
    match = _ARXIV_URL.match(url.strip())
    return _valid(match) if match else None


def ids_in_text(text: str) -> tuple[str, ...]:
    """Identifiers (without version) named in text as `arXiv:ID` or an arxiv.org URL, in order."""
    found: list[str] = []
    for match in _IN_TEXT.finditer(text):
        base = _valid(match)
        if base and base not in found:
            found.append(base)
    return tuple(found)


def bare_old_ids(text: str) -> tuple[str, ...]:
    """Old-style identifiers written without `arXiv:` (`hep-th/9901001`), without version.

    These archive names followed by seven digits occur nowhere else; inside a URL or a path
    the same characters are part of something else (arxiv.org URLs are `ids_in_text`'s).
    """
    found: list[str] = []
    for match in _BARE_OLD_ID.finditer(text):
        base = base_id(match.group(0))
        if base and base not in found:
            found.append(base)
    return tuple(found)


def id_from_entry_url(entry_id: str) -> tuple[str, int]:
    """Split an Atom entry id (`http://arxiv.org/abs/2205.14459v2`) into id and version."""
    tail = entry_id.split("arxiv.org/abs/", 1)[-1]
    base, version = split_version(tail)
    return base, version or 1

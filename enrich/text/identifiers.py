"""arXiv identifiers: recognise them in text and URLs, split off versions, validate."""

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
    archive, _, subject_class = match.group("old").partition(".")
    # Archives are lower case (hep-th); subject classes upper case (math.GT).
    return archive.lower() + ("." + subject_class if subject_class else "")


def split_version(arxiv_id: str) -> tuple[str, int | None]:
    """Split `2205.14459v2` into ('2205.14459', 2); old-style IDs keep their hyphens intact."""
    match = _BARE_ID.match(arxiv_id.strip())
    if not match or (base := _valid(match)) is None:
        raise ValueError(f"not an arXiv identifier: {arxiv_id!r}")
    version = match.group("version")
    return base, int(version) if version else None


def is_arxiv_id(text: str) -> bool:
    """True for a bare arXiv identifier, with or without version."""
    try:
        split_version(text)
    except ValueError:
        return False
    return True


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


def id_from_entry_url(entry_id: str) -> tuple[str, int]:
    """Split an Atom entry id (`http://arxiv.org/abs/2205.14459v2`) into id and version."""
    tail = entry_id.split("arxiv.org/abs/", 1)[-1]
    base, version = split_version(tail)
    return base, version or 1

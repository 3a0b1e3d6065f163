"""Code links in free text: find them, clean them, classify them (pure)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from enrich.models import CodeLink, LinkKind, LinkSource

# A URL in running text ends at whitespace, quotes or angle brackets.
_URL = re.compile(r"(?:https?://|(?<![\w./@-])(?=(?:www\.)?(?:github|gitlab)\.com/))[^\s<>\"'`]+",
                  re.IGNORECASE)
_TRAILING = ".,;:!?'\"*"
_CODE_HOSTS: dict[str, LinkKind] = {
    "github.com": "github",
    "gitlab.com": "gitlab",
    "huggingface.co": "huggingface",
    "bitbucket.org": "bitbucket",
}


def _trim(url: str) -> str:
    """Drop sentence punctuation and unbalanced closing brackets glued to a URL."""
    while url:
        last = url[-1]
        if last in _TRAILING:
            url = url[:-1]
        elif last in ")]}" and url.count(last) > url.count({")": "(", "]": "[", "}": "{"}[last]):
            url = url[:-1]
        else:
            break
    return url


def _kind(url: str) -> LinkKind | None:
    host = (urlsplit(url if "://" in url else "https://" + url).hostname or "").lower()
    host = host.removeprefix("www.")
    if host.endswith(".github.io"):
        return "github_pages"
    return _CODE_HOSTS.get(host)


def find_code_urls(text: str) -> tuple[str, ...]:
    """Code-host URLs in text, cleaned of trailing punctuation, in order, without repeats."""
    found: list[str] = []
    for match in _URL.finditer(text):
        url = _trim(match.group(0))
        if "://" not in url:
            url = "https://" + url
        if _kind(url) is not None and url not in found:
            found.append(url)
    return tuple(found)


def classify(url: str, source: LinkSource) -> CodeLink | None:
    """A CodeLink for a code-host URL (GitHub repositories get `owner/name`), else None."""
    kind = _kind(url)
    if kind is None:
        return None
    repo = github_repo(url) if kind == "github" else None
    return CodeLink(url=url, kind=kind, repo=repo, source=source)


# Top-level GitHub paths that are not user or organisation names.
_RESERVED = frozenset(
    """about apps blog collections contact customer-stories enterprise events explore features
    issues login marketplace new notifications orgs organizations pricing pulls search security
    settings site sponsors stars topics trending users join sessions codespaces""".split()
)
_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")
_REPO = re.compile(r"^[A-Za-z0-9._-]{1,100}$")


def github_repo(url: str) -> str | None:
    """`owner/name` of a github.com repository URL; None for owner pages and reserved paths."""
    parts = urlsplit(url if "://" in url else "https://" + url)
    if (parts.hostname or "").lower().removeprefix("www.") != "github.com":
        return None
    segments = [s for s in parts.path.split("/") if s]
    if len(segments) < 2:
        return None
    owner, name = segments[0], segments[1]
    name = _trim(name)
    if name.lower().endswith(".git"):
        name = name[:-4]
    if owner.lower() in _RESERVED or not _NAME.match(owner) or not _REPO.match(name):
        return None
    if name in {".", ".."}:
        return None
    return f"{owner}/{name}"

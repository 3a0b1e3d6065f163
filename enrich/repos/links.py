"""Code links in free text: find them, repair them, normalise and classify them (pure).

Links in abstracts arrive damaged: sentence punctuation glued on (`…/BIDFC-master.`), paths into
branches and files (`…/data-juicer/tree/ImgDiff`), `.git`, query strings and fragments, LaTeX and
Markdown wrappers, and spaces the digest's rendering put inside them (`https://github.com/ owner/
repo`, `github. com/…`). This module turns such text into `CodeLink`s:

* GitHub repositories become `https://github.com/<owner>/<name>` with `repo="<owner>/<name>"`
  (case kept as written; compare with `.lower()`). Owner pages, reserved paths (`/orgs/`,
  `/topics/`, …) and anything that cannot be a repository are not links at all.
* `*.github.io` project pages, GitLab, Hugging Face and Bitbucket are kept as links of their kind
  (never looked up on GitHub), cleaned the same way.

Only what the text says is used; nothing here guesses a repository from a title.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from enrich.repos.model import CodeLink, HfRecord, LinkKind, LinkSource

# Characters a code-host URL can hold in running text. Brackets, quotes, commas, semicolons,
# `*`, `!` and everything non-ASCII end it: no owner/name on these hosts contains them, and in
# prose they are Markdown/LaTeX wrappers or punctuation (including full-width `。`, `，`).
_URL_CHARS = r"[A-Za-z0-9\-._~:/?#@%=&+]"
_HOSTS = r"(?:www\.)?(?:github\.com|gitlab\.com|huggingface\.co|bitbucket\.org)/"
_URL = re.compile(
    r"(?:(?:https?|git)://|(?<![\w.@/-])(?=" + _HOSTS + r"|[A-Za-z0-9-]+\.github\.io\b))"
    + _URL_CHARS + "+",
    re.IGNORECASE,
)
# `git@github.com:owner/name.git`, the form `git clone` prints.
_SSH = re.compile(r"(?<![\w.-])git@github\.com:([A-Za-z0-9-]+/[A-Za-z0-9._-]+)", re.IGNORECASE)
# A glued second URL (`…/a/b.https://…`) starts a new link.
_GLUED = re.compile(r"(?<=.)(?=(?:https?|git)://)", re.IGNORECASE)
_TRAILING = ".,;:!?/#&=+@%"

# Repairs for text the digest's rendering split, applied only where the joined form is the one
# reading that makes sense: a scheme whose `//` drifted away, a host name broken at its dot before
# a slash, and space around a host's slash when `owner/name` follows (`github.com/` alone names
# nothing). LaTeX escapes (`my\_repo`) are undone: no code URL holds a backslash.
_SPLIT_SCHEME = re.compile(r"\b(https?)\s*:\s*/\s*/\s*(?=\S)", re.IGNORECASE)
_SPLIT_HOST = re.compile(
    r"\b(github|gitlab|bitbucket|huggingface)\s*\.\s*(com|org|co|io)\b(?=\s*/)", re.IGNORECASE
)
_SPLIT_SLASH = re.compile(
    r"\b(github\.com|gitlab\.com|huggingface\.co|bitbucket\.org)\s*/\s*"
    r"(?=[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]*[A-Za-z0-9_])",
    re.IGNORECASE,
)
_TEX_ESCAPE = re.compile(r"\\([_~#%&])")
# A URL given as a field (HF's githubRepo/projectPage): http(s), a host, an optional path of
# URL characters; nothing that could break out of a record or a .bib field.
_PLAIN_URL = re.compile(r"^https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:/[A-Za-z0-9\-._~%/+=@]*)?"
                        r"(?:[?#][A-Za-z0-9\-._~%/+=&?#]*)?$")

_CODE_HOSTS: dict[str, LinkKind] = {
    "github.com": "github",
    "gitlab.com": "gitlab",
    "huggingface.co": "huggingface",
    "bitbucket.org": "bitbucket",
}
# Other GitHub hosts whose paths name a repository: (host, path segments before owner/name).
_GITHUB_ALIASES = {
    "raw.githubusercontent.com": 0,
    "codeload.github.com": 0,
    "api.github.com": 1,  # /repos/<owner>/<name>
}

# Top-level GitHub paths that are not user or organisation names.
RESERVED_OWNERS = frozenset(
    """about account apps blog careers codespaces collections contact copilot customer-stories
    dashboard discussions downloads education enterprise events explore features git-guides home
    issues join login logout marketplace mobile new nonprofit notifications open-source orgs
    organizations password_reset personal premium-support pricing pulls readme resources search
    security sessions settings showcases signup site sitemap solutions sponsors stars team topics
    trending users watching""".split()
)
_OWNER = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")
_NAME = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
# Hugging Face: these lead a path to a repository of another type, or are site pages.
_HF_TYPES = frozenset({"datasets", "spaces"})
_HF_RESERVED = frozenset(
    """api blog chat collections docs join learn login models organizations papers posts pricing
    settings tasks""".split()
)
_GITLAB_RESERVED = frozenset({"explore", "users", "groups", "dashboard", "help", "search", "-"})
_BITBUCKET_RESERVED = frozenset({"account", "dashboard", "product", "repo", "workspace", "site"})


# ------------------------------------------------------------------------------------------------
# Finding


def repair_split_urls(text: str) -> str:
    """Text with URLs the digest's rendering broke apart joined again (see module docstring)."""
    text = _TEX_ESCAPE.sub(r"\1", text)
    text = _SPLIT_SCHEME.sub(lambda m: m.group(1) + "://", text)
    text = _SPLIT_HOST.sub(lambda m: f"{m.group(1)}.{m.group(2)}", text)
    return _SPLIT_SLASH.sub(lambda m: m.group(1) + "/", text)


def _trim(url: str) -> str:
    """Drop sentence punctuation glued to the end of a URL (`…/BIDFC-master.`, `…/repo/),`)."""
    return url.rstrip(_TRAILING)


def _candidates(text: str) -> list[str]:
    text = repair_split_urls(text)
    found: list[tuple[int, str]] = []
    for match in _URL.finditer(text):
        start = match.start()
        for piece in _GLUED.split(match.group(0)):
            url = _trim(piece)
            if url:
                found.append((start, url))
            start += len(piece)
    for match in _SSH.finditer(text):
        found.append((match.start(), "https://github.com/" + match.group(1)))
    return [url for _, url in sorted(found, key=lambda pair: pair[0])]


def _parts(url: str) -> tuple[str, list[str]]:
    """Lower-case host without `www.`, and the non-empty path segments."""
    split = urlsplit(url if "://" in url else "https://" + url)
    host = (split.hostname or "").lower().removeprefix("www.")
    return host, [s for s in split.path.split("/") if s]


def _kind(host: str) -> LinkKind | None:
    if host.endswith(".github.io") and host != ".github.io":
        return "github_pages"
    if host in _GITHUB_ALIASES:
        return "github"
    return _CODE_HOSTS.get(host)


def find_code_urls(text: str) -> tuple[str, ...]:
    """Code-host URLs as written in text (repaired, trailing punctuation cut), in order, once.

    This is what a digest entry shows as `code_urls`; `extract_links` normalises further.
    """
    found: list[str] = []
    for candidate in _candidates(text):
        url = candidate if "://" in candidate else "https://" + candidate
        if _kind(_parts(url)[0]) is not None and url not in found:
            found.append(url)
    return tuple(found)


def extract_links(text: str, source: LinkSource) -> tuple[CodeLink, ...]:
    """Code links in `text`, normalised, in order of appearance, without repeats.

    GitHub links that name no repository (owner pages, `/orgs/…`, `/topics/…`) are dropped.
    """
    links = (classify(url, source) for url in _candidates(text))
    return merge_links(tuple(link for link in links if link is not None))


def merge_links(*groups: tuple[CodeLink, ...]) -> tuple[CodeLink, ...]:
    """The union of link groups, keeping each link's first occurrence (pass digest links first).

    GitHub repositories are the same link whatever their case or the URL that named them; other
    links are the same when their normalised URLs are equal ignoring case.
    """
    seen: set[str] = set()
    merged: list[CodeLink] = []
    for group in groups:
        for link in group:
            key = link_key(link)
            if key not in seen:
                seen.add(key)
                merged.append(link)
    return tuple(merged)


def link_key(link: CodeLink) -> str:
    """What makes two links the same link."""
    if link.repo is not None:
        return "repo:" + link.repo.lower()
    return "url:" + link.url.lower()


def hf_links(record: HfRecord) -> tuple[CodeLink, ...]:
    """The code links Hugging Face Papers gives a paper (`githubRepo`, then `projectPage`).

    Both are fields, not prose, so they are classified as whole URLs like any other link
    (sub-folders cut to owner/name, `.git`/`www.`/case variants the same repository, org
    pages and other hosts never GitHub repositories). A project page on a host that is no
    code host is kept as a `website` link when it is a plain https URL.
    """
    found: list[CodeLink] = []
    for url in (record.github_repo, record.project_page):
        if not url:
            continue
        text = url.strip()
        link = classify(text, "huggingface") if _PLAIN_URL.match(text) else None
        if link is None and url == record.project_page and _PLAIN_URL.match(text) \
                and _kind(_parts(text)[0]) is None:
            link = CodeLink(url=text.rstrip("/"), kind="website", source="huggingface")
        if link is not None:
            found.append(link)
    return merge_links(tuple(found))


# ------------------------------------------------------------------------------------------------
# Normalising


def classify(url: str, source: LinkSource) -> CodeLink | None:
    """A normalised CodeLink for a code-host URL, else None (not a code host, or names nothing)."""
    host, segments = _parts(url)
    kind = _kind(host)
    if kind is None:
        return None
    if kind == "github":
        repo = github_repo(url)
        if repo is None:
            return None
        return CodeLink(url=f"https://github.com/{repo}", kind=kind, repo=repo, source=source)
    path = _project_path(kind, segments)
    if path is None:
        return None
    base = f"https://{host}"
    return CodeLink(url=f"{base}/{path}" if path else base, kind=kind, source=source)


def github_repo(url: str) -> str | None:
    """`owner/name` of a GitHub repository URL; None for owner pages and reserved paths.

    Accepts github.com and the hosts whose paths also start with a repository
    (raw.githubusercontent.com, codeload.github.com, api.github.com/repos/).
    """
    host, segments = _parts(url)
    skip = _GITHUB_ALIASES.get(host, 0 if host == "github.com" else None)
    if skip is None:
        return None
    if host == "api.github.com" and (not segments or segments[0] != "repos"):
        return None
    segments = segments[skip:]
    if len(segments) < 2:
        return None
    # `name@ref` is how pip and go pin a revision; no repository name holds an `@`.
    owner, name = segments[0], _strip_git(_trim(segments[1].split("@")[0]))
    if owner.lower() in RESERVED_OWNERS or not _OWNER.match(owner):
        return None
    if not _NAME.match(name) or name in {".", ".."}:
        return None
    return f"{owner}/{name}"


def _strip_git(name: str) -> str:
    while name.lower().endswith(".git"):
        name = _trim(name[:-4])
    return name


def _project_path(kind: LinkKind, segments: list[str]) -> str | None:
    """The path that names the project on its host ('' for a site root), else None."""
    if kind == "github_pages":
        # A project page: the whole path names it (minus an index file).
        if segments and segments[-1].lower() in {"index.html", "index.htm"}:
            segments = segments[:-1]
        return "/".join(segments)
    return {"gitlab": _gitlab_path, "huggingface": _huggingface_path,
            "bitbucket": _bitbucket_path}[kind](segments)


def _gitlab_path(segments: list[str]) -> str | None:
    # Groups nest (`group/sub/project`); `/-/` starts the part inside the project.
    if "-" in segments:
        segments = segments[: segments.index("-")]
    segments = _cut_at(segments, {"tree", "blob", "raw", "commits", "issues", "wikis"})
    if len(segments) < 2 or segments[0].lower() in _GITLAB_RESERVED:
        return None
    segments[-1] = _strip_git(segments[-1])
    return "/".join(segments) if segments[-1] else None


def _huggingface_path(segments: list[str]) -> str | None:
    # Models live at `owner/name`; datasets and spaces under a type prefix.
    lead = segments[:1] if segments[:1] and segments[0].lower() in _HF_TYPES else []
    rest = segments[len(lead):]
    if len(rest) < 2 or rest[0].lower() in _HF_RESERVED:
        return None
    return "/".join([*lead, *rest[:2]])


def _bitbucket_path(segments: list[str]) -> str | None:
    if len(segments) < 2 or segments[0].lower() in _BITBUCKET_RESERVED:
        return None
    name = _strip_git(segments[1])
    return f"{segments[0]}/{name}" if name else None


def _cut_at(segments: list[str], markers: set[str]) -> list[str]:
    """Segments before the first marker (old GitLab paths have no `/-/`): `a/b/tree/x` → a/b."""
    for i, segment in enumerate(segments[2:], start=2):
        if segment.lower() in markers:
            return segments[:i]
    return list(segments)

"""Code links in digest and arXiv text: real-world shapes, normalisation, merging, properties."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from enrich.repos.links import (
    RESERVED_OWNERS,
    classify,
    extract_links,
    find_code_urls,
    github_repo,
    merge_links,
    repair_split_urls,
)
from enrich.repos.model import CodeLink

# (text as it appears, the links it must give as (kind, url, repo)).
GH = "github"
SHAPES: list[tuple[str, str, list[tuple[str, str, str | None]]]] = [
    ("seed: sentence full stop glued on",
     "Code is available at https://github.com/Wenlve-Zhou/BIDFC-master.",
     [(GH, "https://github.com/Wenlve-Zhou/BIDFC-master", "Wenlve-Zhou/BIDFC-master")]),
    ("seed: branch path and full stop",
     "Img-Diff is at https://github.com/modelscope/data-juicer/tree/ImgDiff.",
     [(GH, "https://github.com/modelscope/data-juicer", "modelscope/data-juicer")]),
    ("seed: plain",
     "Code: https://github.com/goel-shashank/CyCLIP.",
     [(GH, "https://github.com/goel-shashank/CyCLIP", "goel-shashank/CyCLIP")]),
    ("seed: digit-led owner", "available at https://github.com/1202kbs/EBCLR",
     [(GH, "https://github.com/1202kbs/EBCLR", "1202kbs/EBCLR")]),
    ("arXiv: 'Code available:' prefix",
     "Code available: https://github.com/hritam-98/IDEAL-ICASSP23",
     [(GH, "https://github.com/hritam-98/IDEAL-ICASSP23", "hritam-98/IDEAL-ICASSP23")]),
    ("trailing slash", "see https://github.com/a-b/c_d/",
     [(GH, "https://github.com/a-b/c_d", "a-b/c_d")]),
    (".git suffix", "git clone https://github.com/owner/repo.git",
     [(GH, "https://github.com/owner/repo", "owner/repo")]),
    (".git and a full stop", "Clone https://github.com/owner/repo.git.",
     [(GH, "https://github.com/owner/repo", "owner/repo")]),
    ("blob path to a file", "https://github.com/owner/repo/blob/main/src/model.py#L10",
     [(GH, "https://github.com/owner/repo", "owner/repo")]),
    ("query string", "https://github.com/owner/repo?tab=readme-ov-file",
     [(GH, "https://github.com/owner/repo", "owner/repo")]),
    ("fragment", "https://github.com/owner/repo#installation",
     [(GH, "https://github.com/owner/repo", "owner/repo")]),
    ("closing parenthesis", "(code: https://github.com/owner/repo)",
     [(GH, "https://github.com/owner/repo", "owner/repo")]),
    ("parenthesis then comma", "(https://github.com/owner/repo), and more",
     [(GH, "https://github.com/owner/repo", "owner/repo")]),
    ("semicolon", "https://github.com/owner/repo; data at ...",
     [(GH, "https://github.com/owner/repo", "owner/repo")]),
    ("double quotes", 'code "https://github.com/owner/repo"',
     [(GH, "https://github.com/owner/repo", "owner/repo")]),
    ("single quotes", "code 'https://github.com/owner/repo'",
     [(GH, "https://github.com/owner/repo", "owner/repo")]),
    ("Markdown link", "[code](https://github.com/owner/repo)",
     [(GH, "https://github.com/owner/repo", "owner/repo")]),
    ("Markdown link whose text is the URL",
     "[github.com/owner/repo](https://github.com/owner/repo)",
     [(GH, "https://github.com/owner/repo", "owner/repo")]),
    ("angle brackets", "<https://github.com/owner/repo>",
     [(GH, "https://github.com/owner/repo", "owner/repo")]),
    ("LaTeX url", r"\url{https://github.com/owner/repo}",
     [(GH, "https://github.com/owner/repo", "owner/repo")]),
    ("LaTeX-escaped underscore", r"\url{https://github.com/owner/my\_repo}",
     [(GH, "https://github.com/owner/my_repo", "owner/my_repo")]),
    ("no scheme", "code at github.com/owner/repo.",
     [(GH, "https://github.com/owner/repo", "owner/repo")]),
    ("www and http", "http://www.github.com/owner/repo",
     [(GH, "https://github.com/owner/repo", "owner/repo")]),
    ("upper-case host, case of names kept", "HTTPS://GITHUB.COM/Owner/Repo",
     [(GH, "https://github.com/Owner/Repo", "Owner/Repo")]),
    ("full-width punctuation after the URL", "代码：https://github.com/owner/repo。欢迎使用",
     [(GH, "https://github.com/owner/repo", "owner/repo")]),
    ("dots inside the name", "https://github.com/owner/my.lib.v2.",
     [(GH, "https://github.com/owner/my.lib.v2", "owner/my.lib.v2")]),
    ("ellipsis", "https://github.com/owner/repo...",
     [(GH, "https://github.com/owner/repo", "owner/repo")]),
    ("SSH clone form", "git clone git@github.com:owner/repo.git",
     [(GH, "https://github.com/owner/repo", "owner/repo")]),
    ("pip VCS requirement with a revision", "pip install git+https://github.com/owner/repo@v1.2",
     [(GH, "https://github.com/owner/repo", "owner/repo")]),
    ("raw file", "https://raw.githubusercontent.com/owner/repo/main/README.md",
     [(GH, "https://github.com/owner/repo", "owner/repo")]),
    ("releases page", "https://github.com/owner/repo/releases/tag/v1.0",
     [(GH, "https://github.com/owner/repo", "owner/repo")]),
    ("two URLs glued together", "https://github.com/a/b.https://github.com/c/d",
     [(GH, "https://github.com/a/b", "a/b"), (GH, "https://github.com/c/d", "c/d")]),
    ("comma-separated list", "https://github.com/a/b,https://github.com/c/d",
     [(GH, "https://github.com/a/b", "a/b"), (GH, "https://github.com/c/d", "c/d")]),
    ("split: space after the host's slash", "at https://github.com/ owner/repo .",
     [(GH, "https://github.com/owner/repo", "owner/repo")]),
    ("split: host broken at its dot", "at github. com/owner/repo",
     [(GH, "https://github.com/owner/repo", "owner/repo")]),
    ("split: scheme separated", "at https: //github.com/owner/repo",
     [(GH, "https://github.com/owner/repo", "owner/repo")]),
    ("owner page only", "by https://github.com/someone.", []),
    ("organisation page", "see https://github.com/orgs/modelscope/repositories", []),
    ("topic page", "https://github.com/topics/contrastive-learning", []),
    ("sponsors page", "https://github.com/sponsors/someone", []),
    ("gist is not a repository", "https://gist.github.com/someone/0123abcd", []),
    ("not a code host", "project page https://example.org/owner/repo", []),
    ("the word GitHub ends a sentence", "Code will be released on GitHub. Com-", []),
    ("github.io project page", "Project page: https://someone.github.io/project/.",
     [("github_pages", "https://someone.github.io/project", None)]),
    ("github.io without scheme", "see someone.github.io/project",
     [("github_pages", "https://someone.github.io/project", None)]),
    ("GitLab nested group", "https://gitlab.com/group/sub/project/-/tree/main?ref_type=heads",
     [("gitlab", "https://gitlab.com/group/sub/project", None)]),
    ("GitLab .git", "https://gitlab.com/owner/project.git",
     [("gitlab", "https://gitlab.com/owner/project", None)]),
    ("Hugging Face model", "weights: https://huggingface.co/owner/model-7b/tree/main.",
     [("huggingface", "https://huggingface.co/owner/model-7b", None)]),
    ("Hugging Face dataset", "https://huggingface.co/datasets/owner/data/viewer/default",
     [("huggingface", "https://huggingface.co/datasets/owner/data", None)]),
    ("Hugging Face paper page is not code", "https://huggingface.co/papers/2408.02245", []),
    ("Bitbucket source path", "https://bitbucket.org/owner/repo/src/master/",
     [("bitbucket", "https://bitbucket.org/owner/repo", None)]),
    ("same repository twice in different case",
     "https://github.com/Owner/Repo and https://github.com/owner/repo/tree/dev",
     [(GH, "https://github.com/Owner/Repo", "Owner/Repo")]),
]


@pytest.mark.parametrize(("text", "expected"), [(t, e) for _, t, e in SHAPES],
                         ids=[name for name, _, _ in SHAPES])
def test_links_are_found_and_normalised(text: str, expected: list[tuple[str, str, str | None]]
                                        ) -> None:
    links = extract_links(text, "digest")
    assert [(link.kind, link.url, link.repo) for link in links] == expected
    assert all(link.source == "digest" for link in links)


def test_there_are_at_least_thirty_link_shapes() -> None:
    assert len(SHAPES) >= 30


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://github.com/modelscope/data-juicer/tree/ImgDiff.",
         ("https://github.com/modelscope/data-juicer/tree/ImgDiff",)),
        ("github.com/owner/repo, gitlab.com/g/p.", ("https://github.com/owner/repo",
                                                   "https://gitlab.com/g/p")),
        ("no links here", ()),
    ],
    ids=["keeps-the-path", "bare-hosts-get-a-scheme", "none"],
)
def test_find_code_urls_keeps_what_the_text_says(text: str, expected: tuple[str, ...]) -> None:
    assert find_code_urls(text) == expected


def test_links_keep_the_order_of_the_text() -> None:
    text = "a https://gitlab.com/g/p b https://github.com/x/y c https://someone.github.io/z"
    assert [link.kind for link in extract_links(text, "arxiv")] == [
        "gitlab", "github", "github_pages"]


def test_merging_keeps_the_first_occurrence_and_its_source() -> None:
    digest = extract_links("https://github.com/Owner/Repo.", "digest")
    arxiv = extract_links("https://github.com/owner/repo https://github.com/other/code "
                          "https://gitlab.com/G/P", "arxiv")
    again = extract_links("https://gitlab.com/g/p", "digest")
    merged = merge_links(digest, arxiv, again)
    assert [(link.repo or link.url, link.source) for link in merged] == [
        ("Owner/Repo", "digest"), ("other/code", "arxiv"), ("https://gitlab.com/G/P", "arxiv")]


def test_merging_nothing_gives_nothing() -> None:
    assert merge_links() == ()
    assert merge_links((), ()) == ()


@pytest.mark.parametrize("url", ["https://github.com/owner/repo/issues/12",
                                 "https://api.github.com/repos/owner/repo",
                                 "https://codeload.github.com/owner/repo/zip/refs/heads/main"])
def test_github_hosts_whose_paths_name_a_repository(url: str) -> None:
    assert github_repo(url) == "owner/repo"


@pytest.mark.parametrize("url", ["https://github.com/-bad/repo", "https://github.com/owner/..",
                                 "https://github.com/owner/re%20po", "https://api.github.com/users/x",
                                 "https://example.com/owner/repo"])
def test_urls_that_cannot_be_repositories_are_refused(url: str) -> None:
    assert github_repo(url) is None


def test_classify_refuses_other_hosts() -> None:
    assert classify("https://arxiv.org/abs/2408.02245", "digest") is None


def test_repairs_only_join_what_is_unambiguous() -> None:
    assert repair_split_urls("see github.com/ for details") == "see github.com/ for details"
    assert repair_split_urls("on GitHub. Code soon") == "on GitHub. Code soon"
    assert repair_split_urls("https://github.com/ a/b") == "https://github.com/a/b"


# -- properties -------------------------------------------------------------------------------

OWNERS = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9-]{0,15}", fullmatch=True).filter(
    lambda s: s.lower() not in RESERVED_OWNERS)
NAMES = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,20}[A-Za-z0-9_-]", fullmatch=True).filter(
    lambda s: not s.lower().endswith(".git"))
PREFIXES = st.sampled_from(["https://github.com/", "http://github.com/", "https://www.github.com/",
                            "github.com/", "HTTPS://GitHub.com/", "https://github.com/ "])
SUFFIXES = st.sampled_from(["", "/", ".git", "/tree/main", "/tree/dev/sub/dir",
                            "/blob/main/a.py#L1", "?tab=readme", "#usage", "/releases"])
PUNCTUATION = st.sampled_from(["", ".", ",", ")", ";", ":", "'", '"', "。", "...", ").", "!"])
FILLER = st.sampled_from(["", "Code: ", "(see ", "available at ", "代码 ", "\n"])


@settings(max_examples=300, deadline=None)
@given(owner=OWNERS, name=NAMES, prefix=PREFIXES, suffix=SUFFIXES, end=PUNCTUATION,
       before=FILLER)
def test_any_decorated_repository_link_gives_exactly_its_repository(
        owner: str, name: str, prefix: str, suffix: str, end: str, before: str) -> None:
    text = f"{before}{prefix}{owner}/{name}{suffix}{end} and more text"
    links = extract_links(text, "arxiv")
    assert [(link.repo, link.url, link.kind) for link in links] == [
        (f"{owner}/{name}", f"https://github.com/{owner}/{name}", "github")]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_extraction_never_fails_and_is_stable_on_its_own_output(text: str) -> None:
    links = extract_links(text, "digest")
    again = extract_links(" ".join(link.url for link in links), "digest")
    assert again == links
    for link in links:
        assert re.fullmatch(r"https://[a-z0-9.-]+(/[A-Za-z0-9._-]+)*", link.url)
        assert (link.repo is not None) == (link.kind == "github")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(OWNERS, NAMES, st.sampled_from(["digest", "arxiv"])), max_size=8))
def test_merge_is_a_union_without_case_repeats(items: list[tuple[str, str, str]]) -> None:
    groups = tuple(
        (CodeLink(url=f"https://github.com/{o}/{n}", kind="github", repo=f"{o}/{n}",
                  source=s),)  # type: ignore[arg-type]
        for o, n, s in items)
    merged = merge_links(*groups)
    keys = [link.repo.lower() for link in merged if link.repo]
    assert len(keys) == len(set(keys))
    assert set(keys) == {f"{o}/{n}".lower() for o, n, _ in items}
    assert merge_links(merged, *groups) == merged

"""The truth about a generated corpus (`tests.support.corpus`) and how a run scores against it.

* `parse`: write the digests, read them with the real parser, pair each entry with its truth;
* `score`: precision, recall and outcome counts of the arXiv IDs a run found;
* `linked_repos`, `github_corpus`, `expected_repo`: the repositories the digests link, the fake
  GitHub that serves them (every 15th renamed since the digest, every 20th deleted, every 40th
  DMCA-blocked), and what a run must report for each.

Shared by the tests and by `bench/` (which may import the test suite; never the reverse).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from enrich.digest.parse import read_digest
from enrich.errors import DigestEnrichError
from enrich.render.papers import entry_query
from enrich.resolve.model import EntryQuery
from tests.fakes.github_corpus import FakeRepo, GitHubCorpus
from tests.support.corpus import BenchCorpus, Expectation

RENAMED_EVERY, DELETED_EVERY, BLOCKED_EVERY = 15, 20, 40


def parse(corpus: BenchCorpus, directory: Path) -> tuple[list[EntryQuery], list[Expectation],
                                                           dict[str, int]]:
    """Write and parse the digests; pair each parsed entry with its expectation."""
    queries: list[EntryQuery] = []
    truth: list[Expectation] = []
    links = Counter[str]()
    for path in corpus.write(directory):
        digest = read_digest(path)
        for entry in digest.entries:
            expected = corpus.truth[(path.name, entry.index)]
            queries.append(entry_query(entry))
            truth.append(expected)
            if expected.repo:
                links["expected"] += 1
                wanted = f"github.com/{expected.repo}".lower()
                links["found"] += any(url.lower().startswith(f"https://{wanted}")
                                      for url in entry.code_urls)
    if len(truth) != corpus.entries:
        raise DigestEnrichError(f"parsed {len(truth)} entries, generated {corpus.entries}")
    return queries, truth, dict(links)


def score(found: Sequence[str | None], statuses: Sequence[str],
          truth: Sequence[Expectation]) -> dict[str, Any]:
    """Precision, recall and outcome counts; per kind, recall and wrong IDs."""
    correct = wrong = 0
    by_kind: dict[str, Counter[str]] = {}
    for got, status, expect in zip(found, statuses, truth, strict=True):
        kind = by_kind.setdefault(expect.kind, Counter())
        kind["entries"] += 1
        kind["on_arxiv"] += expect.expected is not None
        if got is not None and got == expect.expected:
            correct += 1
            kind["correct"] += 1
        elif got is not None:
            wrong += 1
            kind["wrong"] += 1
        kind[status] += 1
    on_arxiv = sum(1 for t in truth if t.expected is not None)
    return {
        "correct": correct, "wrong": wrong, "on_arxiv": on_arxiv,
        "precision": correct / (correct + wrong) if correct + wrong else 1.0,
        "recall": correct / on_arxiv if on_arxiv else 1.0,
        "statuses": dict(sorted(Counter(statuses).items())),
        "by_kind": {k: dict(v) for k, v in sorted(by_kind.items())},
    }



def linked_repos(corpus: BenchCorpus) -> list[str]:
    """Every repository the generated digests link (as the truth names them)."""
    return [e.repo for e in corpus.truth.values() if e.repo]


def github_corpus(names: Iterable[str]) -> GitHubCorpus:
    """Every linked repository; every 15th renamed since, every 20th deleted, every 40th blocked.

    Names are compared case-insensitively and assigned in sorted order, so the same links always
    give the same corpus.
    """
    distinct = sorted({n.lower(): n for n in names}.values(), key=str.lower)
    repos: list[FakeRepo] = []
    deleted: list[str] = []
    for i, name in enumerate(distinct):
        if i % DELETED_EVERY == DELETED_EVERY - 1:
            deleted.append(name)
            continue
        renamed = i % RENAMED_EVERY == 0
        repos.append(FakeRepo(
            id=700_000_000 + i, full_name=f"{name}-renamed" if renamed else name,
            stars=(i * 7919) % 40_000, forks=(i * 31) % 800,
            language=("Python", "C++", None)[i % 3], license=("MIT", "Apache-2.0", None)[i % 3],
            renamed_from=(name,) if renamed else (),
            blocked="dmca" if i % BLOCKED_EVERY == BLOCKED_EVERY - 2 else None))
    return GitHubCorpus(tuple(repos), tuple(deleted))


def expected_repo(corpus: GitHubCorpus, name: str) -> tuple[str, str, int | None]:
    """(status, full name today, stars) the pipeline must report for a linked repository."""
    if name.lower() in {d.lower() for d in corpus.deleted}:
        return "missing", name, None
    for repo in corpus.repos:
        if name.lower() in {n.lower() for n in (repo.full_name, *repo.renamed_from)}:
            if repo.blocked:
                return "unavailable", name, None
            return "ok", repo.full_name, repo.stars
    raise KeyError(name)

"""Benchmark: what reading GitHub facts costs in requests, against the loopback fake.

    python -m bench.github_bench [--repos 320] [--concurrency 4]

A generated set of linked repositories (some renamed, some deleted, some DMCA-blocked), each
linked several times in different shapes and cases, is read the way a run reads it:

* without a token (REST, one request per repository, plus GitHub's 301 hop for each rename),
* with a token (GraphQL, 100 repositories per query),
* again within the TTL (nothing asked), and after it (conditional requests: 304s),
* and without a token against GitHub's real 60-an-hour quota (the rest deferred, no sleeping).

Every scenario checks the facts it got against the fake (stars exact, renamed repositories under
their new names) before its row is printed. Not a timed test: run it by hand, report the table.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from enrich.repos.facts import ReadResult, read_repos
from enrich.repos.github_client import GitHubClient
from enrich.repos.links import extract_links
from enrich.repos.model import CodeLink
from enrich.settings import Settings
from enrich.store.db import StateStore
from enrich.store.repos import RepoStore
from tests.fakes.github_api import DEFAULT_TOKEN, FakeGitHub
from tests.fakes.github_corpus import GitHubCorpus, synthetic_corpus

TTL = 24 * 3600.0
T0 = 1_700_000_000.0


@dataclass(frozen=True)
class Row:
    scenario: str
    distinct: int
    requests: int
    statuses: dict[int | None, int]
    outcome: dict[str, int]
    seconds: float

    @property
    def per_repo(self) -> float:
        return self.requests / self.distinct if self.distinct else 0.0


def links_for(names: Sequence[str]) -> tuple[CodeLink, ...]:
    """Each repository linked three times: as the digest prints it, and twice from arXiv."""
    digest = " ".join(f"https://github.com/{n}." for n in names)
    arxiv = " ".join(f"(https://github.com/{n.upper()}/tree/main) github.com/{n}.git"
                     for n in names)
    return (*extract_links(digest, "digest"), *extract_links(arxiv, "arxiv"))


def run(fake: FakeGitHub, state: StateStore, links: Sequence[CodeLink], *, token: str | None,
        now: float, concurrency: int, scenario: str, distinct: int) -> tuple[Row, ReadResult]:
    settings = Settings(github_api_url=fake.url,
                        github_token=SecretStr(token) if token else None, github_max_wait=5.0)
    fake.reset_log()
    started = time.perf_counter()
    with GitHubClient.from_settings(settings) as client:
        result = read_repos(links, client=client, store=RepoStore(state), ttl=TTL,
                            now=lambda: now,
                            concurrency=concurrency, use_graphql=token is not None)
    seconds = time.perf_counter() - started
    if result.requests != fake.request_count:
        raise AssertionError(f"{scenario}: client counted {result.requests} requests, "
                             f"the fake saw {fake.request_count}")
    outcome = Counter(r.status for r in result.repos.values())
    return Row(scenario, distinct, result.requests, fake.statuses(), dict(outcome),
               seconds), result


def check_facts(result: ReadResult, fake: FakeGitHub, corpus: GitHubCorpus,
                names: Sequence[str]) -> None:
    """Stars equal the fake's, renamed repositories end under their new names, 404s missing."""
    deleted = {n.lower() for n in corpus.deleted}
    for name in names:
        repo = result.repos[name.lower()]
        if repo.status == "deferred":
            continue
        if name.lower() in deleted:
            assert repo.status == "missing", (name, repo.status)
            continue
        truth = fake.repo(name)
        if truth.blocked:
            assert repo.status == "unavailable", (name, repo.status)
            continue
        assert (repo.status, repo.full_name, repo.stars) == ("ok", truth.full_name,
                                                             truth.stars), name


def table(rows: Sequence[Row]) -> str:
    head = (f"{'scenario':<44} {'repos':>5} {'requests':>8} {'req/repo':>8} "
            f"{'seconds':>7}  answers (HTTP)                 outcome")
    lines = [head, "-" * len(head)]
    for row in rows:
        answers = ", ".join(f"{k}×{v}" for k, v in sorted(row.statuses.items(),
                                                          key=lambda kv: (kv[0] or 0)))
        outcome = ", ".join(f"{k} {v}" for k, v in sorted(row.outcome.items()))
        lines.append(f"{row.scenario:<44} {row.distinct:>5} {row.requests:>8} "
                     f"{row.per_repo:>8.3f} {row.seconds:>7.2f}  {answers or '-':<30} {outcome}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repos", type=int, default=320)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args(argv)
    # The quota scenario warns by design; the table says what happened.
    logging.basicConfig(level=logging.ERROR)
    corpus, names = synthetic_corpus(args.repos, renamed_every=20, deleted_every=25,
                                     blocked_every=50)
    links = links_for(names)
    distinct = len({link.repo.lower() for link in links if link.repo})
    renamed = sum(1 for r in corpus.repos if r.renamed_from)
    rows: list[Row] = []
    total = time.perf_counter()
    # A quota large enough for the whole set; the last scenario uses GitHub's real one.
    with FakeGitHub(corpus, anonymous_quota=100_000) as fake, \
            tempfile.TemporaryDirectory() as tmp:
        for label, token in (("no token (REST)", None), ("token (GraphQL)", DEFAULT_TOKEN)):
            state = StateStore(Path(tmp) / label.split()[0])
            steps = (("cold", T0), ("re-run within the TTL", T0 + 3600),
                     ("after the TTL", T0 + TTL + 3600))
            for step, now in steps:
                row, result = run(fake, state, links, token=token, now=now,
                                  concurrency=args.concurrency, scenario=f"{label}: {step}",
                                  distinct=distinct)
                check_facts(result, fake, corpus, names)
                rows.append(row)
            state.close()
        fake.reset_quotas()
        fake.anonymous_quota = 60
        state = StateStore(Path(tmp) / "quota")
        row, result = run(fake, state, links, token=None, now=T0, concurrency=args.concurrency,
                          scenario="no token, GitHub's 60/h quota: cold",
                          distinct=distinct)
        check_facts(result, fake, corpus, names)
        rows.append(row)
        state.close()
    print(f"{len(links)} links to {distinct} distinct repositories "
          f"({renamed} renamed, {len(corpus.deleted)} deleted, "
          f"{sum(1 for r in corpus.repos if r.blocked)} DMCA-blocked); "
          f"concurrency {args.concurrency}\n")
    print(table(rows))
    cold = rows[0]
    hops = cold.statuses.get(301, 0)
    print(f"\nno token, cold: {(cold.requests - hops) / distinct:.3f} lookups per repository "
          f"+ {hops / distinct:.3f} rename hops (GitHub answers a renamed repository with a 301;"
          " refreshes ask the new name directly)")
    print("stars, names and statuses checked against the fake; "
          f"total {time.perf_counter() - total:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

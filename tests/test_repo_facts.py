"""Reading repository facts for a run: once per repository, TTL, ETags, quota, GraphQL, state.

GitHub is `tests.support.transports.GitHubRepos` answering in process through
`httpx.MockTransport` from the fake GitHub's corpus (renames, deletions, blocks, ETags, a quota,
GraphQL), with faults scripted in front of it. The TTL clock (`now`) and the client's clock and
sleeps are test doubles: nothing here waits for real.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from enrich.record import to_json
from enrich.repos.facts import ReadResult, read_repos
from enrich.repos.github_client import GitHubClient
from enrich.repos.links import extract_links
from enrich.repos.model import CodeLink
from enrich.settings import Settings
from enrich.store.db import StateStore
from enrich.store.repos import NAMESPACE, RepoStore
from tests.fakes.github_corpus import FakeRepo, load_corpus, synthetic_corpus
from tests.support.clock import Clock
from tests.support.transports import (
    GITHUB_API,
    GITHUB_DATE,
    GITHUB_TOKEN,
    GitHubRepos,
    Script,
    always,
    answers,
    echo_token,
    fails_then,
    graphql_names,
    refused,
    secondary_rate_limit,
    tampered,
    unicorn,
)

REPO = Path(__file__).resolve().parents[1]
FROZEN_DATE = GITHUB_DATE
TOKEN = GITHUB_TOKEN
TTL = 24 * 3600.0
T0 = 1_000_000.0  # the TTL clock's start (any epoch works: it only measures age)

SEED_REPOS = {  # linked name → (name today, status)
    "goel-shashank/CyCLIP": ("goel-shashank/CyCLIP", "ok"),
    "1202kbs/EBCLR": ("1202kbs/EBCLR", "ok"),
    "Wenlve-Zhou/BIDFC-master": ("Wenlve-Zhou/BIDFC-master", "ok"),
    "modelscope/data-juicer": ("modelscope/data-juicer", "ok"),
    "hritam-98/IDEAL-ICASSP23": ("hritam-98/IDEAL-ICASSP23", "ok"),
}
SPECIAL = {
    "huggingface/pytorch-transformers": ("huggingface/transformers", "ok"),
    "old-lab-example/ssl-toolbox": ("vision-lab-example/contrastive-toolkit", "ok"),
    "deleted-example/code-release": ("deleted-example/code-release", "missing"),
    "takedown-example/leaked-weights": ("takedown-example/leaked-weights", "unavailable"),
    "blocked-example/spam-crawler": ("blocked-example/spam-crawler", "unavailable"),
    "facebookresearch/moco": ("facebookresearch/moco", "ok"),
}


class Now:
    """The TTL clock handed to read_repos."""

    def __init__(self, start: float = T0) -> None:
        self.t = start

    def __call__(self) -> float:
        return self.t


def links_to(names: Sequence[str], source: str = "digest") -> tuple[CodeLink, ...]:
    return extract_links(" ".join(f"https://github.com/{n}" for n in names), source)  # type: ignore[arg-type]


def seed_links() -> tuple[CodeLink, ...]:
    text = "\n".join(p.read_text(encoding="utf-8") for p in sorted((REPO / "seeds").glob("*.txt")))
    digest = extract_links(text, "digest")
    # The current arXiv abstract of 2210.15075 adds the link the digest lacks.
    arxiv = extract_links("Code available: https://github.com/hritam-98/IDEAL-ICASSP23", "arxiv")
    return (*digest, *arxiv)


def read(served: Callable[[httpx.Request], httpx.Response], links: Sequence[CodeLink],
         state: StateStore, *, token: str | None = None, now: Now | None = None,
         ttl: float = TTL, concurrency: int = 4, use_graphql: bool | None = None,
         clock: Clock | None = None, **overrides: Any) -> ReadResult:
    settings = Settings(github_api_url=GITHUB_API,
                        github_token=SecretStr(token) if token else None, **overrides)
    clock = clock or Clock()
    with GitHubClient.from_settings(settings, httpx.MockTransport(served), sleep=clock.sleep,
                                    clock=clock.time) as client:
        return read_repos(links, client=client, store=RepoStore(state), ttl=ttl, now=now or Now(),
                          concurrency=concurrency,
                          use_graphql=token is not None if use_graphql is None else use_graphql)


@pytest.fixture
def github() -> GitHubRepos:
    """GitHub over the fake's corpus (what the seeds link to, and the special cases)."""
    return GitHubRepos(load_corpus())


@pytest.fixture
def fake(github: GitHubRepos) -> Script:
    """Every exchange with `github`."""
    return answers(then=github)


@pytest.fixture
def state(tmp_path: Path) -> Iterator[StateStore]:
    store = StateStore(tmp_path / ".state")
    yield store
    store.close()


# -- what comes back --------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, TOKEN], ids=["rest", "graphql"])
def test_the_seeds_repositories_come_back_with_the_fake_s_exact_facts(
        github: GitHubRepos, fake: Script, state: StateStore, token: str | None) -> None:
    links = seed_links()
    assert {link.repo for link in links if link.repo} == set(SEED_REPOS)
    result = read(fake, links, state, token=token)
    assert set(result.repos) == {name.lower() for name in SEED_REPOS}
    for name in SEED_REPOS:
        repo = result.repos[name.lower()]
        truth = github.find(name)
        assert (repo.status, repo.full_name, repo.requested) == ("ok", truth.full_name, name)
        assert (repo.stars, repo.forks, repo.language, repo.license, repo.archived) == (
            truth.stars, truth.forks, truth.language, truth.license, truth.archived)
        assert repo.url == f"https://github.com/{truth.full_name}"
        assert repo.pushed_at == dt.datetime.fromisoformat(truth.pushed_at or "")
        assert repo.fetched_at == repo.checked_at == FROZEN_DATE
    assert result.repos["hritam-98/ideal-icassp23"].source == "arxiv"
    assert result.requests == (1 if token else len(SEED_REPOS))
    assert result.unavailable is None


@pytest.mark.parametrize("token", [None, TOKEN], ids=["rest", "graphql"])
@pytest.mark.parametrize("linked", sorted(SPECIAL))
def test_renames_deletions_and_blocks_become_statuses(github: GitHubRepos, fake: Script,
                                                     state: StateStore, token: str | None,
                                                     linked: str) -> None:
    result = read(fake, links_to([linked]), state, token=token)
    repo = result.repos[linked.lower()]
    assert (repo.full_name, repo.status) == SPECIAL[linked]
    assert repo.requested == linked
    if repo.status == "ok":
        assert repo.stars == github.find(linked).stars
        assert repo.archived is github.find(linked).archived
    else:
        assert repo.stars is None
        assert repo.fetched_at == FROZEN_DATE  # when GitHub said so


def test_each_repository_is_read_once_however_many_links(fake: Script,
                                                         state: StateStore) -> None:
    text = ("https://github.com/1202kbs/EBCLR. https://github.com/1202KBS/ebclr/tree/main "
            "github.com/1202kbs/EBCLR.git https://github.com/goel-shashank/CyCLIP")
    links = (*extract_links(text, "digest"), *extract_links(text, "arxiv"),
             *links_to(["1202kbs/EBCLR"] * 5))
    result = read(fake, links, state, concurrency=8)
    assert list(result.repos) == ["1202kbs/ebclr", "goel-shashank/cyclip"]
    assert result.requests == len(fake.requests) == 2


def test_links_to_other_hosts_are_not_looked_up(fake: Script, state: StateStore) -> None:
    links = extract_links("https://someone.github.io/p https://gitlab.com/g/p "
                          "https://huggingface.co/o/m", "digest")
    result = read(fake, links, state)
    assert result.repos == {}
    assert result.requests == len(fake.requests) == 0


# -- TTL and conditional requests -------------------------------------------------------------


def test_a_rerun_within_the_ttl_makes_no_request(github: GitHubRepos,
                                                 state: StateStore) -> None:
    links = links_to([*SEED_REPOS, *SPECIAL])
    now = Now()
    first = read(github, links, state, now=now)
    now.t += TTL - 1
    again = answers(then=github)
    second = read(again, links, state, now=now)
    assert second.requests == len(again.requests) == 0
    assert second.repos == first.repos


def test_after_the_ttl_only_conditional_requests_are_made(github: GitHubRepos,
                                                         state: StateStore) -> None:
    ok_names = [*SEED_REPOS, "huggingface/pytorch-transformers", "old-lab-example/ssl-toolbox"]
    links = links_to([*ok_names, "deleted-example/code-release"])
    now = Now()
    first = read(github, links, state, now=now)
    github.date = FROZEN_DATE + dt.timedelta(days=2)
    now.t += TTL + 1
    refresh = answers(then=github)
    again = read(refresh, links, state, now=now)
    # Renamed repositories are asked under their new name: a 304, no 301 again.
    assert refresh.statuses == {304: len(ok_names), 404: 1}
    assert all(e.request.headers.get("if-none-match") for e in refresh.exchanges
               if e.status == 304)
    assert again.requests == len(ok_names) + 1
    for name in ok_names:
        before, after = first.repos[name.lower()], again.repos[name.lower()]
        assert after.stars == before.stars
        assert after.fetched_at == FROZEN_DATE  # when the count was read
        assert after.checked_at == FROZEN_DATE + dt.timedelta(days=2)  # when it was confirmed
    # The refresh is stored: within the TTL from now, nothing is asked.
    now.t += 60
    assert read(github, links, state, now=now).requests == 0


def test_a_ttl_of_zero_always_refreshes(github: GitHubRepos, state: StateStore) -> None:
    links = links_to(["1202kbs/EBCLR"])
    read(github, links, state, ttl=0)
    again = answers(then=github)
    assert read(again, links, state, ttl=0).requests == 1
    assert again.statuses == {304: 1}


def test_changed_facts_are_read_again_after_the_ttl(github: GitHubRepos, fake: Script,
                                                    state: StateStore) -> None:
    links = links_to(["modelscope/data-juicer"])
    now = Now()
    read(fake, links, state, now=now)
    github.update("modelscope/data-juicer", stars=5000)
    github.date = FROZEN_DATE + dt.timedelta(days=3)
    now.t += TTL + 1
    repo = read(fake, links, state, now=now).repos["modelscope/data-juicer"]
    assert fake.statuses == {200: 2}
    assert repo.stars == 5000
    assert repo.fetched_at == FROZEN_DATE + dt.timedelta(days=3)
    stored = RepoStore(state).facts(["ModelScope/Data-Juicer"])
    assert stored["modelscope/data-juicer"].stars == 5000


def test_a_missing_repository_is_asked_again_after_the_ttl(github: GitHubRepos,
                                                          state: StateStore) -> None:
    # Code "to be released" is private (404) at first and public later.
    links = links_to(["private-example/unreleased-code"])
    now = Now()
    assert read(github, links, state, now=now).repos[
        "private-example/unreleased-code"].status == "missing"
    github.add(FakeRepo(id=7, full_name="private-example/unreleased-code", stars=3, forks=0))
    now.t += TTL + 1
    repo = read(github, links, state, now=now).repos["private-example/unreleased-code"]
    assert (repo.status, repo.stars) == ("ok", 3)


# -- quota, outages, bad answers --------------------------------------------------------------


def test_an_exhausted_quota_defers_the_rest_quickly_and_the_next_run_finishes(
        state: StateStore) -> None:
    corpus, names = synthetic_corpus(12)
    clock = Clock()
    github = GitHubRepos(corpus, remaining=3, reset=clock.now + 3600)
    served = answers(then=github)
    started = time.monotonic()
    result = read(served, links_to(names), state, concurrency=1, clock=clock,
                  github_max_wait=5)
    elapsed = time.monotonic() - started
    statuses = [result.repos[n.lower()].status for n in names]
    assert statuses == ["ok"] * 3 + ["deferred"] * 9
    # The third answer said `remaining: 0`: the client stopped before wasting a request.
    assert result.requests == len(served.requests) == 3
    assert clock.sleeps == []
    assert elapsed < 5
    assert result.unavailable is not None
    assert result.unavailable.startswith("GitHub quota exhausted until ")
    assert result.unavailable.endswith("; 9 repositories deferred")
    assert {r.status for r in RepoStore(state).facts(names).values()} == {"ok", "deferred"}
    # A later run (quota back) asks only for what was deferred.
    github.remaining = 60
    later = read(github, links_to(names), state, concurrency=4, clock=clock)
    assert later.requests == 9
    assert {r.status for r in later.repos.values()} == {"ok"}


def test_a_403_with_a_far_reset_defers_with_concurrency(state: StateStore) -> None:
    corpus, names = synthetic_corpus(30)
    clock = Clock()
    github = GitHubRepos(corpus, remaining=10, reset=clock.now + 3600)
    result = read(github, links_to(names), state, concurrency=4, github_max_wait=5,
                  clock=clock)
    counts = {s: sum(1 for r in result.repos.values() if r.status == s)
              for s in ("ok", "deferred")}
    assert counts == {"ok": 10, "deferred": 20}
    assert result.requests <= 10 + 4  # a 403 at most per request already in flight


def test_stale_facts_survive_a_refresh_that_was_deferred(github: GitHubRepos,
                                                         state: StateStore) -> None:
    links = links_to(["goel-shashank/CyCLIP"])
    now = Now()
    clock = Clock()
    read(github, links, state, now=now, clock=clock)
    github.remaining, github.reset = 0, clock.now + 3600
    now.t += TTL + 1
    result = read(github, links, state, now=now, github_max_wait=5, clock=clock)
    repo = result.repos["goel-shashank/cyclip"]
    assert (repo.status, repo.stars, repo.fetched_at) == ("deferred", 81, FROZEN_DATE)
    kept = RepoStore(state).facts(["goel-shashank/CyCLIP"])["goel-shashank/cyclip"]
    assert (kept.status, kept.stars) == ("ok", 81)
    assert result.unavailable is not None and "1 repository deferred" in result.unavailable


def test_an_unreachable_github_gives_retryable_errors_within_seconds(state: StateStore) -> None:
    names = [*SEED_REPOS, *SPECIAL]
    started = time.monotonic()
    clock = Clock()
    result = read(always(refused), links_to(names), state, clock=clock, github_timeout=2)
    assert time.monotonic() - started < 5
    # Each worker already in flight backs off at most twice (1 s, 2 s) before GitHub counts
    # as down; later lookups fail without a request.
    assert clock.sleeps and max(clock.sleeps) <= 2
    assert len(clock.sleeps) <= 2 * 4
    assert {r.status for r in result.repos.values()} == {"error"}
    assert len(result.repos) == len(names)
    assert result.unavailable is not None
    assert result.unavailable.startswith("GitHub unreachable: ")
    assert result.unavailable.endswith(f"{len(names)} repositories not read")
    # Errors are not facts: the next run asks again.
    assert {r.status for r in RepoStore(state).facts(names).values()} == {"error"}


def test_github_5xx_that_outlasts_retries_stops_the_run(github: GitHubRepos,
                                                      state: StateStore) -> None:
    served = fails_then(unicorn(503), times=4, then=github)
    result = read(served, links_to(list(SEED_REPOS)), state, concurrency=1)
    assert {r.status for r in result.repos.values()} == {"error"}
    assert result.requests == len(served.requests) == 4
    assert result.unavailable is not None and result.unavailable.startswith("GitHub unavailable")
    # Backing off from 5xx is not waiting on a rate limit (there was none).
    assert result.waited == 0


def test_retry_after_is_honoured_and_reported(github: GitHubRepos, state: StateStore) -> None:
    clock = Clock()
    served = answers(secondary_rate_limit(429, retry_after=4), then=github)
    result = read(served, links_to(["1202kbs/EBCLR"]), state, clock=clock)
    assert clock.sleeps == [4.0]
    assert result.waited == 4.0
    assert result.repos["1202kbs/ebclr"].stars == 28
    assert result.requests == len(served.requests) == 2


def test_a_bad_document_is_an_error_for_that_repository_only(github: GitHubRepos,
                                                             state: StateStore) -> None:
    served = answers(tampered(github, stargazers_count="1.2k", archived="no"), then=github)
    result = read(served, links_to(["1202kbs/EBCLR", "goel-shashank/CyCLIP"]), state,
                  concurrency=1)
    assert [r.status for r in result.repos.values()] == ["error", "ok"]
    assert result.unavailable is None


def test_answers_are_stored_as_they_arrive(github: GitHubRepos, tmp_path: Path) -> None:
    store = StateStore(tmp_path / ".state")
    names = list(SEED_REPOS)
    arrived, release = threading.Event(), threading.Event()

    def held(request: httpx.Request) -> httpx.Response:
        arrived.set()
        assert release.wait(10)
        return github(request)

    served = answers(github, github, held, then=github)
    done = threading.Event()
    thread = threading.Thread(
        target=lambda: (read(served, links_to(names), store, concurrency=1), done.set()))
    thread.start()
    try:
        assert arrived.wait(10)  # the third lookup is under way, the first two answered
        # Another process looking at the state mid-run sees the two finished lookups (once the
        # reader has written the second: it does so while the third is asked).
        deadline = time.monotonic() + 5
        while True:
            other = StateStore(tmp_path / ".state")
            seen = len(list(other.items(NAMESPACE)))
            other.close()
            if seen == 2 or time.monotonic() > deadline:
                break
            threading.Event().wait(0.005)
        assert seen == 2
        assert not done.is_set()
    finally:
        release.set()
        thread.join(timeout=10)
        store.close()
    assert done.is_set()


def test_requests_in_flight_are_bounded(state: StateStore) -> None:
    corpus, names = synthetic_corpus(12)
    github = GitHubRepos(corpus)
    # Every request waits for two others: only three in flight at once get through.
    together = threading.Barrier(3, timeout=10)
    lock = threading.Lock()
    in_flight, most = 0, 0

    def crowded(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, most
        with lock:
            in_flight += 1
            most = max(most, in_flight)
        together.wait()
        with lock:
            in_flight -= 1
        return github(request)

    result = read(crowded, links_to(names), state, concurrency=3)
    assert {r.status for r in result.repos.values()} == {"ok"}
    assert most == 3


# -- GraphQL ----------------------------------------------------------------------------------


def test_graphql_batches_150_repositories_in_two_requests(state: StateStore) -> None:
    corpus, names = synthetic_corpus(150, renamed_every=10, deleted_every=15)
    github = GitHubRepos(corpus)
    served = answers(then=github)
    result = read(served, links_to(names), state, token=TOKEN)
    assert result.requests == len(served.requests) == 2
    assert result.requests / len(names) <= 0.02
    assert [len(graphql_names(r)) for r in served.requests] == [100, 50]
    for name in names:
        repo = result.repos[name.lower()]
        if name in corpus.deleted:
            assert repo.status == "missing"
        else:
            truth = github.find(name)
            assert (repo.status, repo.full_name, repo.stars) == ("ok", truth.full_name,
                                                                 truth.stars)


def test_a_graphql_failure_falls_back_to_rest(github: GitHubRepos, state: StateStore) -> None:
    served = fails_then(unicorn(502), times=4, then=github)  # every GraphQL attempt
    result = read(served, links_to(list(SEED_REPOS)), state, token=TOKEN, concurrency=1)
    assert {r.status for r in result.repos.values()} == {"ok"}
    assert served.paths[:4] == ["/graphql"] * 4
    assert sum(1 for e in served.exchanges
               if e.request.url.path.startswith("/repos/") and e.status == 200) == len(SEED_REPOS)
    assert result.unavailable is None


def test_graphql_out_of_points_falls_back_to_rest(github: GitHubRepos, fake: Script,
                                                  state: StateStore) -> None:
    github.points = 0
    result = read(fake, links_to(["1202kbs/EBCLR", "deleted-example/code-release"]), state,
                  token=TOKEN)
    assert [r.status for r in result.repos.values()] == ["ok", "missing"]
    assert fake.statuses == {200: 2, 404: 1}
    assert fake.paths[0] == "/graphql"


def test_without_use_graphql_a_token_still_uses_rest(fake: Script, state: StateStore) -> None:
    read(fake, links_to(["1202kbs/EBCLR"]), state, token=TOKEN, use_graphql=False)
    assert fake.paths == ["/repos/1202kbs/EBCLR"]
    assert fake.requests[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert fake.statuses == {200: 1}


# -- the token --------------------------------------------------------------------------------


def test_the_token_appears_nowhere_we_write(github: GitHubRepos, tmp_path: Path,
                                            caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    store = StateStore(tmp_path / ".state")
    served = answers(echo_token, httpx.Response(500, json={"message": "Server Error"}),
                     secondary_rate_limit(429, retry_after=1), then=github)
    result = read(served, links_to([*SEED_REPOS, *SPECIAL]), store, token=TOKEN)
    first = read(served, links_to(list(SEED_REPOS)), store, token=TOKEN, ttl=0)
    store.close()
    written = [to_json(list(result.repos.values())), to_json(list(first.repos.values())),
               str(result.unavailable), str(first.unavailable), caplog.text]
    written += [path.read_bytes().decode("latin-1") for path in (tmp_path / ".state").iterdir()]
    assert result.unavailable is not None  # the echoed 401 stopped the run…
    assert "***" in result.unavailable  # …and its message was masked
    assert not [text for text in written if TOKEN in text]


# -- stored facts -----------------------------------------------------------------------------


def test_stored_repos_reads_without_network(fake: Script, state: StateStore) -> None:
    read(fake, links_to(["huggingface/pytorch-transformers", "deleted-example/code-release"]),
         state)
    stored = RepoStore(state).facts(["HuggingFace/PyTorch-Transformers",
                                  "deleted-example/code-release", "never/asked"])
    assert set(stored) == {"huggingface/pytorch-transformers", "deleted-example/code-release"}
    assert stored["huggingface/pytorch-transformers"].full_name == "huggingface/transformers"
    assert stored["deleted-example/code-release"].status == "missing"


def test_state_records_keep_etags_out_of_the_repo_record(fake: Script,
                                                         state: StateStore) -> None:
    result = read(fake, links_to(["1202kbs/EBCLR"]), state)
    record = state.get(NAMESPACE, "1202kbs/ebclr")
    assert record is not None
    assert record["etag"].startswith('W/"')
    assert "etag" not in json.dumps(record["repo"])
    assert "etag" not in to_json(result.repos["1202kbs/ebclr"])


def test_unreadable_state_records_are_asked_again(fake: Script, state: StateStore) -> None:
    state.put(NAMESPACE, "1202kbs/ebclr", {"format": 1, "repo": {"stars": "lots"}})
    assert RepoStore(state).facts(["1202kbs/EBCLR"]) == {}
    result = read(fake, links_to(["1202kbs/EBCLR"]), state)
    assert result.requests == 1
    assert result.repos["1202kbs/ebclr"].stars == 28


def test_github_s_words_in_the_stop_sentence_are_kept_verbatim(state: StateStore) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"message": "Bad {credentials} {n} %s"})

    settings = Settings(github_api_url="https://api.github.test",
                        github_token=SecretStr(TOKEN))
    with GitHubClient.from_settings(settings, httpx.MockTransport(refuse)) as client:
        result = read_repos(links_to(["a/b", "c/d"]), client=client, store=RepoStore(state),
                            ttl=TTL, now=Now(), concurrency=1, use_graphql=False)
    assert result.unavailable == ("GitHub credentials refused: Bad {credentials} {n} %s; "
                                  "2 repositories not read")
    assert result.requests == 1

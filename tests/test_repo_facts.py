"""Reading repository facts for a run: once per repository, TTL, ETags, quota, GraphQL, state.

All over real HTTP against the loopback GitHub fake; the TTL clock (`now`) and the client's
sleeps are test doubles, so nothing here waits for real except where a test says so.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
from collections.abc import Iterator, Sequence
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
from tests.fakes.github_api import DEFAULT_TOKEN, FROZEN_DATE, FakeGitHub
from tests.fakes.github_corpus import synthetic_corpus
from tests.support.clock import Clock

REPO = Path(__file__).resolve().parents[1]
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


def read(fake: FakeGitHub | str, links: Sequence[CodeLink], state: StateStore, *,
         token: str | None = None, now: Now | None = None, ttl: float = TTL,
         concurrency: int = 4, use_graphql: bool | None = None, clock: Clock | None = None,
         **overrides: Any) -> ReadResult:
    url = fake if isinstance(fake, str) else fake.url
    settings = Settings(github_api_url=url, github_token=SecretStr(token) if token else None,
                        **overrides)
    # Fake time from the real now: the fake GitHub stamps its rate-limit resets with real time.
    clock = clock or Clock(time.time())
    with GitHubClient.from_settings(settings, sleep=clock.sleep, clock=clock.time) as client:
        return read_repos(links, client=client, store=RepoStore(state), ttl=ttl, now=now or Now(),
                          concurrency=concurrency,
                          use_graphql=token is not None if use_graphql is None else use_graphql)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeGitHub]:
    with FakeGitHub() as running:
        yield running


@pytest.fixture(autouse=True)
def clean_fake(request: pytest.FixtureRequest) -> None:
    if "fake" in request.fixturenames:
        running: FakeGitHub = request.getfixturevalue("fake")
        running.clear_faults()
        running.reset_log()
        running.reset_quotas()
        running.date = FROZEN_DATE


@pytest.fixture
def state(tmp_path: Path) -> Iterator[StateStore]:
    store = StateStore(tmp_path / ".state")
    yield store
    store.close()


# -- what comes back --------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, DEFAULT_TOKEN], ids=["rest", "graphql"])
def test_the_seeds_repositories_come_back_with_the_fake_s_exact_facts(
        fake: FakeGitHub, state: StateStore, token: str | None) -> None:
    links = seed_links()
    assert {link.repo for link in links if link.repo} == set(SEED_REPOS)
    result = read(fake, links, state, token=token)
    assert set(result.repos) == {name.lower() for name in SEED_REPOS}
    for name in SEED_REPOS:
        repo = result.repos[name.lower()]
        truth = fake.repo(name)
        assert (repo.status, repo.full_name, repo.requested) == ("ok", truth.full_name, name)
        assert (repo.stars, repo.forks, repo.language, repo.license, repo.archived) == (
            truth.stars, truth.forks, truth.language, truth.license, truth.archived)
        assert repo.url == f"https://github.com/{truth.full_name}"
        assert repo.pushed_at == dt.datetime.fromisoformat(truth.pushed_at or "")
        assert repo.fetched_at == repo.checked_at == FROZEN_DATE
    assert result.repos["hritam-98/ideal-icassp23"].source == "arxiv"
    assert result.requests == (1 if token else len(SEED_REPOS))
    assert result.unavailable is None


@pytest.mark.parametrize("token", [None, DEFAULT_TOKEN], ids=["rest", "graphql"])
@pytest.mark.parametrize("linked", sorted(SPECIAL))
def test_renames_deletions_and_blocks_become_statuses(fake: FakeGitHub, state: StateStore,
                                                     token: str | None, linked: str) -> None:
    result = read(fake, links_to([linked]), state, token=token)
    repo = result.repos[linked.lower()]
    assert (repo.full_name, repo.status) == SPECIAL[linked]
    assert repo.requested == linked
    if repo.status == "ok":
        assert repo.stars == fake.repo(linked).stars
        assert repo.archived is fake.repo(linked).archived
    else:
        assert repo.stars is None
        assert repo.fetched_at == FROZEN_DATE  # when GitHub said so


def test_each_repository_is_read_once_however_many_links(fake: FakeGitHub,
                                                         state: StateStore) -> None:
    text = ("https://github.com/1202kbs/EBCLR. https://github.com/1202KBS/ebclr/tree/main "
            "github.com/1202kbs/EBCLR.git https://github.com/goel-shashank/CyCLIP")
    links = (*extract_links(text, "digest"), *extract_links(text, "arxiv"),
             *links_to(["1202kbs/EBCLR"] * 5))
    result = read(fake, links, state, concurrency=8)
    assert list(result.repos) == ["1202kbs/ebclr", "goel-shashank/cyclip"]
    assert result.requests == fake.request_count == 2


def test_links_to_other_hosts_are_not_looked_up(fake: FakeGitHub, state: StateStore) -> None:
    links = extract_links("https://someone.github.io/p https://gitlab.com/g/p "
                          "https://huggingface.co/o/m", "digest")
    result = read(fake, links, state)
    assert result.repos == {}
    assert result.requests == fake.request_count == 0


# -- TTL and conditional requests -------------------------------------------------------------


def test_a_rerun_within_the_ttl_makes_no_request(fake: FakeGitHub, state: StateStore) -> None:
    links = links_to([*SEED_REPOS, *SPECIAL])
    now = Now()
    first = read(fake, links, state, now=now)
    fake.reset_log()
    now.t += TTL - 1
    again = read(fake, links, state, now=now)
    assert again.requests == fake.request_count == 0
    assert again.repos == first.repos


def test_after_the_ttl_only_conditional_requests_are_made(fake: FakeGitHub,
                                                         state: StateStore) -> None:
    ok_names = [*SEED_REPOS, "huggingface/pytorch-transformers", "old-lab-example/ssl-toolbox"]
    links = links_to([*ok_names, "deleted-example/code-release"])
    now = Now()
    first = read(fake, links, state, now=now)
    fake.reset_log()
    fake.date = FROZEN_DATE + dt.timedelta(days=2)
    now.t += TTL + 1
    again = read(fake, links, state, now=now)
    # Renamed repositories are asked under their new name: a 304, no 301 again.
    assert fake.statuses() == {304: len(ok_names), 404: 1}
    assert all(r.if_none_match for r in fake.requests if r.status == 304)
    assert again.requests == len(ok_names) + 1
    for name in ok_names:
        before, after = first.repos[name.lower()], again.repos[name.lower()]
        assert after.stars == before.stars
        assert after.fetched_at == FROZEN_DATE  # when the count was read
        assert after.checked_at == FROZEN_DATE + dt.timedelta(days=2)  # when it was confirmed
    # The refresh is stored: within the TTL from now, nothing is asked.
    fake.reset_log()
    now.t += 60
    assert read(fake, links, state, now=now).requests == 0


def test_a_ttl_of_zero_always_refreshes(fake: FakeGitHub, state: StateStore) -> None:
    links = links_to(["1202kbs/EBCLR"])
    read(fake, links, state, ttl=0)
    fake.reset_log()
    assert read(fake, links, state, ttl=0).requests == 1
    assert fake.statuses() == {304: 1}


def test_changed_facts_are_read_again_after_the_ttl(state: StateStore) -> None:
    with FakeGitHub() as fake:
        links = links_to(["modelscope/data-juicer"])
        now = Now()
        read(fake, links, state, now=now)
        fake.set_stars("modelscope/data-juicer", 5000)
        fake.date = FROZEN_DATE + dt.timedelta(days=3)
        now.t += TTL + 1
        repo = read(fake, links, state, now=now).repos["modelscope/data-juicer"]
        assert fake.statuses() == {200: 2}
    assert repo.stars == 5000
    assert repo.fetched_at == FROZEN_DATE + dt.timedelta(days=3)
    stored = RepoStore(state).facts(["ModelScope/Data-Juicer"])
    assert stored["modelscope/data-juicer"].stars == 5000


def test_a_missing_repository_is_asked_again_after_the_ttl(state: StateStore) -> None:
    # Code "to be released" is private (404) at first and public later.
    with FakeGitHub() as fake:
        links = links_to(["private-example/unreleased-code"])
        now = Now()
        assert read(fake, links, state, now=now).repos[
            "private-example/unreleased-code"].status == "missing"
        fake._deleted.discard("private-example/unreleased-code")
        from tests.fakes.github_corpus import FakeRepo  # noqa: PLC0415

        fake.add(FakeRepo(id=7, full_name="private-example/unreleased-code", stars=3, forks=0))
        now.t += TTL + 1
        repo = read(fake, links, state, now=now).repos["private-example/unreleased-code"]
    assert (repo.status, repo.stars) == ("ok", 3)


# -- quota, outages, bad answers --------------------------------------------------------------


def test_an_exhausted_quota_defers_the_rest_quickly_and_the_next_run_finishes(
        state: StateStore) -> None:
    corpus, names = synthetic_corpus(12)
    with FakeGitHub(corpus) as fake:
        fake.set_quota(3, reset_in=3600)
        clock = Clock(time.time())
        started = time.monotonic()
        result = read(fake, links_to(names), state, concurrency=1, clock=clock,
                      github_max_wait=5)
        elapsed = time.monotonic() - started
        statuses = [result.repos[n.lower()].status for n in names]
        assert statuses == ["ok"] * 3 + ["deferred"] * 9
        # The third answer said `remaining: 0`: the client stopped before wasting a request.
        assert result.requests == fake.request_count == 3
        assert clock.sleeps == []
        assert elapsed < 5
        assert result.unavailable is not None
        assert result.unavailable.startswith("GitHub quota exhausted until ")
        assert result.unavailable.endswith("; 9 repositories deferred")
        assert {r.status for r in RepoStore(state).facts(names).values()} == {"ok", "deferred"}
        # A later run (quota back) asks only for what was deferred.
        fake.reset_quotas()
        fake.reset_log()
        later = read(fake, links_to(names), state, concurrency=4)
        assert later.requests == 9
        assert {r.status for r in later.repos.values()} == {"ok"}


def test_a_403_with_a_far_reset_defers_with_concurrency(state: StateStore) -> None:
    corpus, names = synthetic_corpus(30)
    with FakeGitHub(corpus, anonymous_quota=10) as fake:
        result = read(fake, links_to(names), state, concurrency=4, github_max_wait=5)
        counts = {s: sum(1 for r in result.repos.values() if r.status == s)
                  for s in ("ok", "deferred")}
        assert counts == {"ok": 10, "deferred": 20}
        assert result.requests <= 10 + 4  # a 403 at most per request already in flight


def test_stale_facts_survive_a_refresh_that_was_deferred(state: StateStore) -> None:
    with FakeGitHub() as fake:
        links = links_to(["goel-shashank/CyCLIP"])
        now = Now()
        read(fake, links, state, now=now)
        fake.set_quota(0, reset_in=3600)
        now.t += TTL + 1
        result = read(fake, links, state, now=now, github_max_wait=5)
    repo = result.repos["goel-shashank/cyclip"]
    assert (repo.status, repo.stars, repo.fetched_at) == ("deferred", 81, FROZEN_DATE)
    kept = RepoStore(state).facts(["goel-shashank/CyCLIP"])["goel-shashank/cyclip"]
    assert (kept.status, kept.stars) == ("ok", 81)
    assert result.unavailable is not None and "1 repository deferred" in result.unavailable


def test_an_unreachable_github_gives_retryable_errors_within_seconds(state: StateStore) -> None:
    names = [*SEED_REPOS, *SPECIAL]
    started = time.monotonic()
    clock = Clock(time.time())
    result = read("http://127.0.0.1:1", links_to(names), state, clock=clock, github_timeout=2)
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


def test_github_5xx_that_outlasts_retries_stops_the_run(fake: FakeGitHub,
                                                      state: StateStore) -> None:
    fake.enqueue_faults(["503"] * 4)
    result = read(fake, links_to(list(SEED_REPOS)), state, concurrency=1)
    assert {r.status for r in result.repos.values()} == {"error"}
    assert result.requests == 4
    assert result.unavailable is not None and result.unavailable.startswith("GitHub unavailable")
    # Backing off from 5xx is not waiting on a rate limit (there was none).
    assert result.waited == 0


def test_retry_after_is_honoured_and_reported(fake: FakeGitHub, state: StateStore) -> None:
    fake.enqueue_faults(["429:4"])
    clock = Clock(time.time())
    result = read(fake, links_to(["1202kbs/EBCLR"]), state, clock=clock)
    assert clock.sleeps == [4.0]
    assert result.waited == 4.0
    assert result.repos["1202kbs/ebclr"].stars == 28
    assert result.requests == 2


def test_a_bad_document_is_an_error_for_that_repository_only(fake: FakeGitHub,
                                                             state: StateStore) -> None:
    fake.enqueue_faults(["bad-types"])
    result = read(fake, links_to(["1202kbs/EBCLR", "goel-shashank/CyCLIP"]), state,
                  concurrency=1)
    assert [r.status for r in result.repos.values()] == ["error", "ok"]
    assert result.unavailable is None


def test_answers_are_stored_as_they_arrive(fake: FakeGitHub, tmp_path: Path) -> None:
    store = StateStore(tmp_path / ".state")
    names = list(SEED_REPOS)
    fake.enqueue_faults(["ok", "ok", "slow:1"])
    done = threading.Event()
    thread = threading.Thread(
        target=lambda: (read(fake, links_to(names), store, concurrency=1), done.set()))
    thread.start()
    try:
        deadline = time.monotonic() + 5
        while not any(r.fault == "slow:1" and r.end is None for r in fake.requests):
            assert time.monotonic() < deadline
            time.sleep(0.01)
        # Another process looking at the state mid-run sees the two finished lookups.
        other = StateStore(tmp_path / ".state")
        assert len(list(other.items(NAMESPACE))) == 2
        other.close()
        assert not done.is_set()
    finally:
        thread.join(timeout=10)
        store.close()


def test_requests_in_flight_are_bounded(state: StateStore) -> None:
    corpus, names = synthetic_corpus(12)
    with FakeGitHub(corpus) as fake:
        fake.enqueue_faults(["slow:0.2"] * 12)
        read(fake, links_to(names), state, concurrency=3)
        assert 2 <= fake.max_in_flight <= 3


# -- GraphQL ----------------------------------------------------------------------------------


def test_graphql_batches_150_repositories_in_two_requests(state: StateStore) -> None:
    corpus, names = synthetic_corpus(150, renamed_every=10, deleted_every=15)
    with FakeGitHub(corpus) as fake:
        result = read(fake, links_to(names), state, token=DEFAULT_TOKEN)
        assert result.requests == fake.request_count == 2
        assert result.requests / len(names) <= 0.02
        assert [r.repositories for r in fake.requests] == [100, 50]
        for name in names:
            repo = result.repos[name.lower()]
            if name in corpus.deleted:
                assert repo.status == "missing"
            else:
                truth = fake.repo(name)
                assert (repo.status, repo.full_name, repo.stars) == ("ok", truth.full_name,
                                                                     truth.stars)


def test_a_graphql_failure_falls_back_to_rest(fake: FakeGitHub, state: StateStore) -> None:
    fake.enqueue_faults(["502"] * 4)  # every attempt of the GraphQL query
    result = read(fake, links_to(list(SEED_REPOS)), state, token=DEFAULT_TOKEN,
                  concurrency=1)
    assert {r.status for r in result.repos.values()} == {"ok"}
    assert [r.path for r in fake.requests[:4]] == ["/graphql"] * 4
    assert fake.count(path="/repos/", status=200) == len(SEED_REPOS)
    assert result.unavailable is None


def test_graphql_out_of_points_falls_back_to_rest(fake: FakeGitHub, state: StateStore) -> None:
    fake.set_quota(0, token=DEFAULT_TOKEN, resource="graphql", reset_in=3600)
    result = read(fake, links_to(["1202kbs/EBCLR", "deleted-example/code-release"]), state,
                  token=DEFAULT_TOKEN)
    assert [r.status for r in result.repos.values()] == ["ok", "missing"]
    assert fake.statuses() == {200: 2, 404: 1}


def test_without_use_graphql_a_token_still_uses_rest(fake: FakeGitHub,
                                                     state: StateStore) -> None:
    read(fake, links_to(["1202kbs/EBCLR"]), state, token=DEFAULT_TOKEN, use_graphql=False)
    assert [r.path for r in fake.requests] == ["/repos/1202kbs/EBCLR"]
    assert fake.requests[0].authenticated


# -- the token --------------------------------------------------------------------------------


def test_the_token_appears_nowhere_we_write(fake: FakeGitHub, tmp_path: Path,
                                            caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    store = StateStore(tmp_path / ".state")
    fake.enqueue_faults(["echo-token", "500", "429:1"])
    result = read(fake, links_to([*SEED_REPOS, *SPECIAL]), store, token=DEFAULT_TOKEN)
    first = read(fake, links_to(list(SEED_REPOS)), store, token=DEFAULT_TOKEN, ttl=0)
    store.close()
    written = [to_json(list(result.repos.values())), to_json(list(first.repos.values())),
               str(result.unavailable), str(first.unavailable), caplog.text]
    written += [path.read_bytes().decode("latin-1") for path in (tmp_path / ".state").iterdir()]
    assert result.unavailable is not None  # the echoed 401 stopped the run…
    assert "***" in result.unavailable  # …and its message was masked
    assert not [text for text in written if DEFAULT_TOKEN in text]


# -- stored facts -----------------------------------------------------------------------------


def test_stored_repos_reads_without_network(fake: FakeGitHub, state: StateStore) -> None:
    read(fake, links_to(["huggingface/pytorch-transformers", "deleted-example/code-release"]),
         state)
    stored = RepoStore(state).facts(["HuggingFace/PyTorch-Transformers",
                                  "deleted-example/code-release", "never/asked"])
    assert set(stored) == {"huggingface/pytorch-transformers", "deleted-example/code-release"}
    assert stored["huggingface/pytorch-transformers"].full_name == "huggingface/transformers"
    assert stored["deleted-example/code-release"].status == "missing"


def test_state_records_keep_etags_out_of_the_repo_record(fake: FakeGitHub,
                                                         state: StateStore) -> None:
    result = read(fake, links_to(["1202kbs/EBCLR"]), state)
    record = state.get(NAMESPACE, "1202kbs/ebclr")
    assert record is not None
    assert record["etag"].startswith('W/"')
    assert "etag" not in json.dumps(record["repo"])
    assert "etag" not in to_json(result.repos["1202kbs/ebclr"])


def test_unreadable_state_records_are_asked_again(fake: FakeGitHub, state: StateStore) -> None:
    state.put(NAMESPACE, "1202kbs/ebclr", {"format": 1, "repo": {"stars": "lots"}})
    assert RepoStore(state).facts(["1202kbs/EBCLR"]) == {}
    result = read(fake, links_to(["1202kbs/EBCLR"]), state)
    assert result.requests == 1
    assert result.repos["1202kbs/ebclr"].stars == 28


def test_github_s_words_in_the_stop_sentence_are_kept_verbatim(state: StateStore) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"message": "Bad {credentials} {n} %s"})

    settings = Settings(github_api_url="https://api.github.test",
                        github_token=SecretStr(DEFAULT_TOKEN))
    with GitHubClient.from_settings(settings, httpx.MockTransport(refuse)) as client:
        result = read_repos(links_to(["a/b", "c/d"]), client=client, store=RepoStore(state),
                            ttl=TTL, now=Now(), concurrency=1, use_graphql=False)
    assert result.unavailable == ("GitHub credentials refused: Bad {credentials} {n} %s; "
                                  "2 repositories not read")
    assert result.requests == 1

"""Flaky services: faults at a stated rate leave only right answers and retryable errors.

The fakes answer a share of requests with the faults real services produce — 5xx, 429 with
and without Retry-After, empty feeds, truncated XML or JSON, HTML instead of data, connection
resets, slow answers and timeouts — drawn from a seeded `FaultPlan`. The pipeline runs over a
generated corpus whose truth is known (`tests.support.corpus`), in-process through `enrich.pipeline`
(as the flow's tasks call it), and once as `digest-enrich run` in a subprocess. After a faulty
run every entry is `matched` to its right paper or explicitly retryable (`error`), never
`not_found` or matched to a wrong paper when the paper is on arXiv; repositories are `ok` with
the right facts or `error`/`deferred`, never `missing` when they exist. A later clean run
resolves the rest, asks only for what was left, and ends where a clean run from scratch ends;
nothing is duplicated or lost on the way.

Hostile answers (entity expansion, external entities, gigantic bodies with and without a
length, wrong content types, JSON with wrong types) are covered client by client in
`test_arxiv_client.py` and `test_github_client.py`; here they go through the whole pipeline: the
entries or repositories they touched end `error` with a reason that says what was refused, the
others are unaffected, and memory stays bounded (tracemalloc).
"""

from __future__ import annotations

import json
import logging
import time
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bibtexparser
import httpx
import pytest
from pydantic import SecretStr

from enrich import pipeline
from enrich.net.gate import reset_process_gates
from enrich.net.http import MAX_BODY_BYTES
from enrich.render.papers import entry_fingerprint
from enrich.settings import Settings
from enrich.store.db import StateStore
from enrich.store.files import view_stems
from tests.conftest import cli_env, run_cli
from tests.fakes.arxiv_api import FakeArxiv
from tests.fakes.arxiv_api import FaultPlan as ArxivFaults
from tests.fakes.github_api import DEFAULT_TOKEN, FakeGitHub
from tests.fakes.github_api import FaultPlan as GitHubFaults
from tests.fakes.github_corpus import GitHubCorpus
from tests.support.corpus import BenchCorpus, generate
from tests.support.scoring import expected_repo, github_corpus, linked_repos

RATE = 0.3  # the stated fault rate: three requests in ten fail
INTERVAL = 0.002
ARXIV_FAULTS = ("503", "429", "429-bare", "empty", "truncated", "malformed", "reset", "slow")
GITHUB_FAULTS = ("500", "502", "503", "429", "403-secondary", "truncated", "reset", "slow",
                 "wrong-type")
RETRYABLE_REPO = ("error", "deferred")


@dataclass(frozen=True)
class World:
    """A generated corpus, its repositories, and its digests written as files."""

    corpus: BenchCorpus
    repos: GitHubCorpus
    sources: Path


@dataclass(frozen=True)
class Outputs:
    """What a run wrote, read back: entries by (file, index), papers by key, the .bib."""

    entries: dict[tuple[str, int], dict[str, Any]]
    papers: dict[str, dict[str, Any]]
    bib_keys: list[str]
    bib_eprints: list[str]


@dataclass(frozen=True)
class Ran:
    arxiv: pipeline.ResolveStats
    github: pipeline.RepoStats
    render: pipeline.RenderStats


def make_world(tmp_path_factory: pytest.TempPathFactory, entries: int, seed: int) -> World:
    corpus = generate(entries, seed=seed)
    sources = tmp_path_factory.mktemp("digests")
    corpus.write(sources)
    repos = github_corpus(linked_repos(corpus))
    assert corpus.kinds["missing"] and corpus.kinds["retitled"] and corpus.kinds["hint"]
    assert len(repos.repos) > 10
    return World(corpus, repos, sources)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    """300 entries: enough requests (about 30 to arXiv, 80 to GitHub) for every fault kind."""
    made = make_world(tmp_path_factory, 300, seed=7)
    assert made.repos.deleted and any(r.renamed_from for r in made.repos.repos)
    return made


@pytest.fixture(scope="module")
def small_world(tmp_path_factory: pytest.TempPathFactory) -> World:
    """60 entries, for the hostile answers (memory is traced, which is slow)."""
    return make_world(tmp_path_factory, 60, seed=3)


@pytest.fixture(autouse=True)
def _fresh_gates() -> Iterator[None]:
    # The process gate only ever tightens; start from this file's interval and leave none.
    reset_process_gates()
    yield
    reset_process_gates()


@contextmanager
def services(world: World, *, arxiv_faults: ArxivFaults | None = None,
             github_faults: GitHubFaults | None = None,
             anonymous_quota: int = 10**6) -> Iterator[tuple[FakeArxiv, FakeGitHub]]:
    """Both fakes on the world's corpus; Retry-After 1 s and 0.2 s slow answers when faulting."""
    with FakeArxiv(world.corpus.papers, fault_plan=arxiv_faults, retry_after=1,
                   slow_seconds=0.2) as arxiv, \
            FakeGitHub(world.repos, fault_plan=github_faults, retry_after=1, slow_seconds=0.2,
                       anonymous_quota=anonymous_quota) as github:
        yield arxiv, github


def settings_for(arxiv: FakeArxiv, github: FakeGitHub, *, token: bool = False,
                 **overrides: Any) -> Settings:
    return Settings(arxiv_api_url=arxiv.url, arxiv_min_interval=INTERVAL,
                    github_api_url=github.url,
                    github_token=SecretStr(DEFAULT_TOKEN) if token else None,
                    github_max_wait=5.0, **overrides)


def run(world: World, output: Path, settings: Settings, *,
        transport: httpx.BaseTransport | None = None,
        github_transport: httpx.BaseTransport | None = None) -> Ran:
    """Parse, remember, resolve, read GitHub, render: the flow's steps, in-process."""
    state = StateStore.for_output(output)
    try:
        outcomes = [pipeline.parse_file(p) for p in pipeline.discover([world.sources])]
        pipeline.remember(state, outcomes)
        digests = [o.digest for o in outcomes if o.digest is not None]
        assert len(digests) == len(world.corpus.digests)
        arxiv = pipeline.resolve(digests, settings=settings, state=state, transport=transport)
        github = pipeline.read_github(digests, settings=settings, state=state,
                                      transport=github_transport)
        pipeline.issue_citekeys(state)
        rendered = pipeline.render(output, state)
    finally:
        state.close()
    return Ran(arxiv, github, rendered)


# ----------------------------------------------------------------------------------------------
# What every run must leave behind


def read_outputs(output: Path, world: World) -> Outputs:
    """The outputs, checked whole: nothing duplicated, nothing lost, nothing half-written."""
    corpus = world.corpus
    lines = (output / "papers.jsonl").read_text(encoding="utf-8").splitlines()
    papers = {}
    for line in lines:
        paper = json.loads(line)
        assert paper["key"] not in papers, f"paper {paper['key']} written twice"
        papers[paper["key"]] = paper
    # One line per distinct paper: no arXiv ID twice, and every digest entry in exactly one
    # paper (an entry is never both an unresolved title and a matched paper).
    ids = [p["arxiv_id"] for p in papers.values() if p["arxiv_id"]]
    assert len(ids) == len(set(ids))
    refs = Counter((d["file"], d["index"]) for p in papers.values() for d in p["digests"])
    assert set(refs) == set(corpus.truth), "entries lost or invented"
    assert max(refs.values()) == 1, [r for r, n in refs.items() if n > 1]

    entries: dict[tuple[str, int], dict[str, Any]] = {}
    stems = view_stems(name for name, _ in corpus.digests)
    for name, _ in corpus.digests:
        view = json.loads((output / "digests" / f"{stems[name]}.json").read_text("utf-8"))
        assert view["file"] == name and view.get("error") is None
        expected = sorted(i for f, i in corpus.truth if f == name)
        assert [e["index"] for e in view["entries"]] == expected
        for entry in view["entries"]:
            paper = papers[entry["paper"]]
            assert entry["arxiv_id"] == paper["arxiv_id"]
            entries[(name, entry["index"])] = entry

    library = bibtexparser.parse_string((output / "references.bib").read_text("utf-8"))
    assert library.failed_blocks == []
    keys = [e.key for e in library.entries]
    eprints = [e["eprint"] for e in library.entries]
    assert len(keys) == len(set(keys)), "duplicate .bib keys"
    assert sorted(eprints) == sorted(ids)
    report = json.loads((output / "report.json").read_text("utf-8"))
    assert report["papers"]["total"] == len(papers)
    assert not list(output.rglob("*.tmp")), "temporary files left behind"
    return Outputs(entries, papers, keys, eprints)


def assert_no_false_verdicts(outputs: Outputs, world: World) -> Counter[str]:
    """On-arXiv entries are matched to the right paper or `error` with a reason; the others are
    never matched. Returns the statuses seen."""
    seen: Counter[str] = Counter()
    for key, expect in world.corpus.truth.items():
        entry = outputs.entries[key]
        match = outputs.papers[entry["paper"]]["match"]
        seen[entry["status"]] += 1
        if entry["status"] == "error":
            assert match["error"], (key, "an error without a reason")
        if expect.expected is None:
            assert entry["status"] != "matched", (key, expect.kind, entry["arxiv_id"])
        else:
            assert entry["status"] in ("matched", "error"), (key, expect.kind, entry["status"],
                                                              match)
            if entry["status"] == "matched":
                assert entry["arxiv_id"] == expect.expected, (key, expect.kind)
    return seen


def repo_outcomes(outputs: Outputs, world: World) -> dict[str, dict[str, Any]]:
    """The recorded repository of every linked name (lower-cased), checked against the fake:
    `ok` with today's name and stars, `missing` only when deleted, or retryable."""
    found: dict[str, dict[str, Any]] = {}
    for key, expect in world.corpus.truth.items():
        if not expect.repo:
            continue
        paper = outputs.papers[outputs.entries[key]["paper"]]
        repo = next((r for r in paper["repos"] if r["requested"].lower() == expect.repo.lower()),
                    None)
        assert repo is not None, (key, expect.repo, "repository lost")
        status, full_name, stars = expected_repo(world.repos, expect.repo)
        if repo["status"] not in RETRYABLE_REPO:
            assert (repo["status"], repo["full_name"], repo["stars"]) == (
                status, full_name, stars), expect.repo
        found[expect.repo.lower()] = repo
    return found


def error_fingerprints(output: Path, world: World, outputs: Outputs) -> set[str]:
    """Distinct lookups (fingerprints) whose entries ended `error`."""
    fps = set()
    for path in pipeline.discover([world.sources]):
        outcome = pipeline.parse_file(path)
        assert outcome.digest is not None
        for entry in outcome.digest.entries:
            if outputs.entries[(path.name, entry.index)]["status"] == "error":
                fps.add(entry_fingerprint(entry))
    return fps


@pytest.fixture(scope="module")
def reference(world: World, tmp_path_factory: pytest.TempPathFactory) -> Outputs:
    """A clean run from scratch: where every recovery must end."""
    return clean_run(world, tmp_path_factory)


@pytest.fixture(scope="module")
def small_reference(small_world: World, tmp_path_factory: pytest.TempPathFactory) -> Outputs:
    return clean_run(small_world, tmp_path_factory)


def clean_run(world: World, tmp_path_factory: pytest.TempPathFactory) -> Outputs:
    reset_process_gates()
    output = tmp_path_factory.mktemp("reference")
    with services(world) as (arxiv, github):
        ran = run(world, output, settings_for(arxiv, github))
    reset_process_gates()
    outputs = read_outputs(output, world)
    seen = assert_no_false_verdicts(outputs, world)
    assert seen["error"] == 0 and ran.arxiv.unavailable is None
    assert all(outputs.entries[k]["status"] == "matched" for k, t in world.corpus.truth.items()
               if t.expected), "the clean run itself must find every paper on arXiv"
    assert all(r["status"] not in RETRYABLE_REPO for r in repo_outcomes(outputs, world).values())
    return outputs


def assert_same_as(outputs: Outputs, reference: Outputs) -> None:
    """Every entry's verdict and paper, and every paper's repositories, as in the reference
    (citation keys may differ: they are assigned in the order papers were first matched)."""
    def verdicts(o: Outputs) -> dict[tuple[str, int], tuple[str, str | None, str]]:
        return {k: (e["status"], e["arxiv_id"], e["paper"]) for k, e in o.entries.items()}

    def repos(o: Outputs) -> dict[str, list[tuple[str, str, int | None]]]:
        return {k: sorted((r["full_name"], r["status"], r["stars"]) for r in p["repos"])
                for k, p in o.papers.items()}

    assert verdicts(outputs) == verdicts(reference)
    assert repos(outputs) == repos(reference)
    assert sorted(outputs.bib_eprints) == sorted(reference.bib_eprints)


# ----------------------------------------------------------------------------------------------
# arXiv's moods


ARXIV_CASES = {
    # name: (fault plan, settings overrides)
    "30% mixed faults": (ArxivFaults(RATE, ARXIV_FAULTS, seed=1), {}),
    "30% mixed faults, another seed": (ArxivFaults(RATE, ARXIV_FAULTS, seed=5), {}),
    # Answers slower than the client waits: timeouts, retried like any transient failure.
    "30% faults with timeouts": (ArxivFaults(RATE, ("503", "empty", "reset", "slow:1"), seed=2),
                                 {"arxiv_timeout": 0.4}),
    # arXiv's transient empty answers look exactly like "no such paper" (see EMPTY_FEEDS_BUG).
    "30% empty feeds": (ArxivFaults(RATE, ("empty",), seed=9), {}),
    "arXiv down": (ArxivFaults(1.0, ("503", "429-bare", "reset"), seed=3),
                   {"arxiv_max_attempts": 3}),
}


@pytest.mark.parametrize("case", list(ARXIV_CASES))
def test_arxiv_faults_leave_right_matches_and_retryable_errors_then_a_clean_run_finishes(
        case: str, world: World, reference: Outputs, tmp_path: Path) -> None:
    plan, overrides = ARXIV_CASES[case]
    output = tmp_path / "out"
    with services(world, arxiv_faults=plan) as (arxiv, github):
        began = time.monotonic()
        faulty = run(world, output, settings_for(arxiv, github, **overrides))
        elapsed = time.monotonic() - began
        faults = Counter(r.fault for r in arxiv.requests if r.fault)
        outputs = read_outputs(output, world)
        seen = assert_no_false_verdicts(outputs, world)
        repo_outcomes(outputs, world)  # GitHub was fine: links of unresolved entries read too

        # The faults happened, cost retries, and the run still completed in bounded time.
        assert sum(faults.values()) >= 3, faults
        assert faulty.arxiv.retries > 0
        assert elapsed < 60
        if plan.rate == 1.0:
            assert faulty.arxiv.unavailable is not None
            assert seen == Counter(error=world.corpus.entries)
        else:
            assert seen["matched"] > 0

        # Faults off: the next run asks only for what was left, and ends like a clean run.
        arxiv.fault_plan = None
        left = error_fingerprints(output, world, outputs)
        arxiv.reset_log()
        clean = run(world, output, settings_for(arxiv, github))
        assert clean.arxiv.looked_up == len(left)
        assert (clean.arxiv.requests > 0) == bool(left)
        assert clean.arxiv.unavailable is None
    final = read_outputs(output, world)
    assert assert_no_false_verdicts(final, world)["error"] == 0
    assert_same_as(final, reference)


# ----------------------------------------------------------------------------------------------
# GitHub's moods


# GraphQL asks for all the repositories in one request: its rate limit (Retry-After 0, every
# attempt) sends them to REST, where the faults are.
GRAPHQL_LIMITED = ["429:0", "403-secondary:0"] * 3

GITHUB_CASES = {
    # name: (fault plan, token, anonymous quota)
    "30% mixed faults, REST": (GitHubFaults(RATE, GITHUB_FAULTS, seed=1), False, 10**6),
    "GraphQL rate-limited, then REST with 30% faults": (
        GitHubFaults(RATE, GITHUB_FAULTS, seed=2), True, 10**6),
    # The quota runs out mid-run and resets in an hour: the rest is deferred, not waited for.
    "quota exhausted": (None, False, 8),
}


@pytest.mark.parametrize("case", list(GITHUB_CASES))
def test_github_faults_leave_right_facts_and_retryable_repos_then_a_clean_run_fills_them(
        case: str, world: World, reference: Outputs, tmp_path: Path) -> None:
    plan, token, quota = GITHUB_CASES[case]
    output = tmp_path / "out"
    with services(world, github_faults=plan, anonymous_quota=quota) as (arxiv, github):
        if token:
            github.enqueue_faults(GRAPHQL_LIMITED[:5])
        faulty = run(world, output, settings_for(arxiv, github, token=token,
                                                 github_max_attempts=5))
        outputs = read_outputs(output, world)
        assert assert_no_false_verdicts(outputs, world)["error"] == 0
        repos = repo_outcomes(outputs, world)
        left = {name for name, r in repos.items() if r["status"] in RETRYABLE_REPO}
        if plan is not None:
            assert sum(1 for r in github.requests if r.fault) >= 10
            assert faulty.github.statuses.get("ok", 0) > 0
        if token:
            assert github.requests[0].path == "/graphql"
            assert sum(1 for r in github.requests if r.path.startswith("/repos/")) > 10
        if quota < 10**6:
            assert faulty.github.statuses.get("deferred", 0) > 0
            assert faulty.github.unavailable and "quota" in faulty.github.unavailable
        assert faulty.arxiv.requests > 0

        # Faults off, quota reset: only the repositories left are asked for, then all is known.
        github.fault_plan = None
        github.anonymous_quota = 10**6
        github.reset_quotas()
        github.reset_log()
        clean = run(world, output, settings_for(arxiv, github))
        asked = {r.path.removeprefix("/repos/").lower() for r in github.requests
                 if r.path.startswith("/repos/")}
        assert asked == left  # renames are followed by id (/repositories/…), not by name
        assert clean.arxiv.requests == 0
        assert clean.github.unavailable is None
    final = read_outputs(output, world)
    assert all(r["status"] not in RETRYABLE_REPO for r in repo_outcomes(final, world).values())
    assert_same_as(final, reference)


# ----------------------------------------------------------------------------------------------
# Both at once, through the command line


@pytest.mark.e2e
def test_digest_enrich_run_completes_through_faults_in_both_services(
        world: World, reference: Outputs, tmp_path: Path) -> None:
    output = tmp_path / "out"
    with services(world, arxiv_faults=ArxivFaults(RATE, ARXIV_FAULTS, seed=11),
                  github_faults=GitHubFaults(RATE, GITHUB_FAULTS, seed=11)) as (arxiv, github):
        env = cli_env(tmp_path / "prefect", ARXIV_API_URL=arxiv.url, GITHUB_API_URL=github.url,
                      ARXIV_MIN_INTERVAL=str(INTERVAL), GITHUB_MAX_WAIT="5")
        done = run_cli(["run", str(world.sources), "--output", str(output)], env=env,
                       timeout=240)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "Traceback" not in done.stderr
        print(done.stdout)  # the summary, for -s: what a user sees after a flaky run
        assert (f"{len(world.corpus.digests)} digest(s) read, 0 failed, "
                f"{world.corpus.entries} entries") in done.stdout
        assert any(r.fault for r in arxiv.requests) and any(r.fault for r in github.requests)
        outputs = read_outputs(output, world)
        assert_no_false_verdicts(outputs, world)
        repo_outcomes(outputs, world)

        arxiv.fault_plan = None
        github.fault_plan = None
        run(world, output, settings_for(arxiv, github))
    assert_same_as(read_outputs(output, world), reference)


# ----------------------------------------------------------------------------------------------
# Hostile answers, through the pipeline, in bounded memory


# Nothing here may hold more than the body limit (32 MiB) plus the run's own records.
MEMORY_BOUND = MAX_BODY_BYTES + 16 * 2**20


def endless_body(content_type: str) -> httpx.Response:
    """200 with a body that never ends and declares no length."""
    def chunks() -> Iterator[bytes]:
        yield b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom">' \
            if "xml" in content_type else b'{"message": "'
        while True:
            yield b" " * 2**20

    return httpx.Response(200, headers={"content-type": content_type}, content=chunks())


class Hostile(httpx.BaseTransport):
    """The first request to `path` (any path when None) gets `answer`; every other request
    goes to the fake over real HTTP."""

    def __init__(self, answer: httpx.Response, path: str | None = None) -> None:
        self.answer: httpx.Response | None = answer
        self.path = path
        self.real = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.answer is not None and self.path in (None, request.url.path):
            answer, self.answer = self.answer, None
            return answer
        return self.real.handle_request(request)

    def close(self) -> None:
        self.real.close()


@contextmanager
def traced() -> Iterator[list[int]]:
    """The peak of Python allocations inside the block, in bytes (as `[peak]`)."""
    peak: list[int] = []
    tracemalloc.start()
    try:
        yield peak
    finally:
        peak.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()


def plain_repo(world: World) -> str:
    """A linked repository that GitHub answers plainly (not renamed, deleted or blocked)."""
    return next(r.full_name for r in world.repos.repos if not r.renamed_from and not r.blocked)


ARXIV_HOSTILE = {
    # name: (scripted faults, "stream" for a body without end or "always" for HTML on every
    # request; what the refusal says)
    "billion laughs": (["billion-laughs"], "declares entities (DTD)"),
    "external entity": (["xxe"], "declares entities (DTD)"),
    "gigantic body with its length": ([f"huge:{MAX_BODY_BYTES * 4}"], "exceeds"),
    "endless body without a length": ("stream", "exceeds"),
    "HTML instead of Atom, every time": ("always", "expected Atom XML"),
}


@pytest.mark.parametrize("case", list(ARXIV_HOSTILE))
def test_a_hostile_arxiv_answer_fails_only_what_it_touched_in_bounded_memory(
        case: str, small_world: World, small_reference: Outputs, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    world = small_world
    faults, reason = ARXIV_HOSTILE[case]
    output = tmp_path / "out"
    with services(world) as (arxiv, github):
        transport = None
        if faults == "stream":
            transport = Hostile(endless_body("application/atom+xml"))
        elif faults == "always":
            arxiv.fault_plan = ArxivFaults(1.0, ("wrong-type",))
        else:
            arxiv.enqueue_faults(faults)
        began = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="enrich"), traced() as peak:
            ran = run(world, output, settings_for(arxiv, github, arxiv_max_attempts=3),
                      transport=transport)
        assert time.monotonic() - began < 30
        assert peak[0] < MEMORY_BOUND, f"{peak[0] / 2**20:.0f} MiB"
        arxiv.fault_plan = None
        outputs = read_outputs(output, world)
        seen = assert_no_false_verdicts(outputs, world)
        assert seen["error"] > 0
        said = caplog.text + (ran.arxiv.unavailable or "")
        assert reason in said, said
        assert "lol" not in said and "root:" not in said  # nothing expanded, nothing read
        if case.endswith("every time"):
            assert ran.arxiv.unavailable is not None  # retried, then the service counts as down
            assert seen == Counter(error=world.corpus.entries)
        else:
            assert seen["matched"] > 0  # only the request that met the answer failed
            assert ran.arxiv.unavailable is None
        run(world, output, settings_for(arxiv, github))
    assert_same_as(read_outputs(output, world), small_reference)


def test_an_entry_whose_lookup_failed_says_why_on_its_record(small_world: World,
                                                             tmp_path: Path) -> None:
    output = tmp_path / "out"
    with services(small_world) as (arxiv, github):
        arxiv.enqueue_faults(["xxe"])
        run(small_world, output, settings_for(arxiv, github))
    outputs = read_outputs(output, small_world)
    errors = {outputs.papers[e["paper"]]["match"]["error"] for e in outputs.entries.values()
              if e["status"] == "error"}
    assert errors
    assert all("DTD" in error for error in errors), errors


GITHUB_HOSTILE = {
    # name: (scripted faults, a hostile answer for one repository, or "always" for HTML on every
    # request; what the refusal says)
    "JSON with wrong types": ("bad-types", "stargazers_count"),
    "gigantic body with its length": ([f"huge:{MAX_BODY_BYTES * 4}"], "exceeds"),
    "endless body without a length": ("stream", "exceeds"),
    "HTML instead of JSON, every time": ("always", "expected JSON"),
}


@pytest.mark.parametrize("case", list(GITHUB_HOSTILE))
def test_a_hostile_github_answer_fails_only_what_it_touched_in_bounded_memory(
        case: str, small_world: World, small_reference: Outputs, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    world = small_world
    faults, reason = GITHUB_HOSTILE[case]
    output = tmp_path / "out"
    target = plain_repo(world)
    with services(world) as (arxiv, github):
        transport = None
        if faults == "bad-types":
            document = {**github.corpus_repo(target), "stargazers_count": "1.2k",
                        "archived": "no"}
            transport = Hostile(httpx.Response(200, json=document), f"/repos/{target}")
        elif faults == "stream":
            transport = Hostile(endless_body("application/json"), f"/repos/{target}")
        elif faults == "always":
            github.fault_plan = GitHubFaults(1.0, ("wrong-type",))
        else:
            github.enqueue_faults(faults)
        with caplog.at_level(logging.WARNING, logger="enrich"), traced() as peak:
            ran = run(world, output, settings_for(arxiv, github, github_max_attempts=2),
                      github_transport=transport)
        assert peak[0] < MEMORY_BOUND, f"{peak[0] / 2**20:.0f} MiB"
        repos = repo_outcomes(read_outputs(output, world), world)
        failed = sorted(name for name, r in repos.items() if r["status"] == "error")
        said = caplog.text + (ran.github.unavailable or "")
        assert reason in said, said
        if case.endswith("every time"):
            assert ran.github.unavailable is not None
            assert len(failed) == len(repos)
        else:
            assert len(failed) == 1, failed  # the one that met the answer; the rest are read
            assert failed[0] in said.lower()
            assert ran.github.unavailable is None
            if transport is not None:
                assert failed == [target.lower()]
        github.fault_plan = None
        run(world, output, settings_for(arxiv, github))
    assert_same_as(read_outputs(output, world), small_reference)

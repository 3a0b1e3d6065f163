"""Progress: the core's steps report counts and waits (`enrich.progress`), and `flows.progress`
renders them as plain lines (what a log or CI sees) — without Prefect, over MockTransport."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from enrich import pipeline
from enrich.net.gate import IntervalGate
from enrich.progress import Tally
from enrich.store.db import StateStore
from flows.progress import LineProgress, describe
from tests.test_pipeline import FIRST, NOW, SECOND, FakeArxiv, FakeGitHub, settings

Report = tuple[str, int, int | None, str]


class Heard:
    """A progress callable that keeps what it was told."""

    def __init__(self) -> None:
        self.reports: list[Report] = []

    def __call__(self, stage: str, done: int, total: int | None = None, note: str = "") -> None:
        self.reports.append((stage, done, total, note))

    def counts(self, stage: str) -> list[tuple[int, int | None]]:
        return [(d, t) for s, d, t, _ in self.reports if s == stage]

    def notes(self, stage: str) -> list[str]:
        return [n for s, _, _, n in self.reports if s == stage and n]


@pytest.fixture
def state(tmp_path: Path) -> Iterator[tuple[StateStore, Path]]:
    inbox = tmp_path / "digests"
    inbox.mkdir()
    (inbox / "2022-10-31.txt").write_text(FIRST, encoding="utf-8")
    (inbox / "2022-11-01.txt").write_text(SECOND, encoding="utf-8")
    output = tmp_path / "output"
    store = StateStore.for_output(output)
    pipeline.remember(store, [pipeline.parse_file(p) for p in pipeline.discover([inbox])])
    yield store, output
    store.close()


def _digests(store: StateStore) -> list[pipeline.Digest]:
    return [o.digest for o in pipeline.remembered(store) if o.digest is not None]


def test_a_tally_counts_each_item_once_and_never_past_its_total() -> None:
    heard = Heard()
    tally = Tally(heard, "arxiv", 3)
    tally.start()
    tally.add(["a", "b"])
    tally.add(["a"])  # again: no change, no report
    tally.note("waiting 3.0 s")
    tally.add(["c", "d"])  # more than expected (an entry settled twice under two keys)
    tally.finish()
    assert heard.reports == [("arxiv", 0, 3, ""), ("arxiv", 2, 3, ""),
                             ("arxiv", 2, 3, "waiting 3.0 s"), ("arxiv", 3, 3, ""),
                             ("arxiv", 3, 3, "")]


def test_resolving_reports_entries_as_they_get_a_verdict(
        state: tuple[StateStore, Path]) -> None:
    store, _ = state
    heard = Heard()
    pipeline.resolve(_digests(store), settings=settings(), state=store, gate=IntervalGate(0.0),
                     transport=httpx.MockTransport(FakeArxiv()), progress=heard)
    counts = heard.counts("arxiv")
    # 4 entries, 3 distinct papers: from none to all, never backwards.
    assert counts[0] == (0, 3)
    assert counts[-1] == (3, 3)
    assert [d for d, _ in counts] == sorted(d for d, _ in counts)

    again = Heard()
    pipeline.resolve(_digests(store), settings=settings(), state=store, gate=IntervalGate(0.0),
                     transport=httpx.MockTransport(FakeArxiv()), progress=again)
    assert again.counts("arxiv")[:2] == [(0, 3), (3, 3)]  # the cache answers at once


def test_a_wait_for_arxivs_interval_is_said_before_it_starts(
        state: tuple[StateStore, Path]) -> None:
    store, _ = state
    heard = Heard()
    slept: list[float] = []
    interval = settings().model_copy(update={"arxiv_min_interval": 2.5})
    pipeline.resolve(_digests(store), settings=interval, state=store,
                     gate=IntervalGate(2.5, sleep=slept.append),
                     transport=httpx.MockTransport(FakeArxiv()), progress=heard)
    assert slept  # more than one request: the gate made the later ones wait
    notes = heard.notes("arxiv")
    assert notes
    assert all(n.startswith("waiting ") and n.endswith("one arXiv request every 2.5 s")
               for n in notes)


def test_a_wait_between_attempts_is_said_as_it_starts() -> None:
    heard = Heard()
    retries = pipeline._AnnouncedRetries(tally=Tally(heard, "arxiv", 5), service="arXiv")
    retries.record(0.2, asked=False)  # too short to mention
    retries.record(4.0, asked=True)
    retries.record(2.0, asked=False)
    assert (retries.retries, retries.asked_wait, retries.backoff_wait) == (3, 4.0, 2.2)
    assert heard.notes("arxiv") == ["waiting 4.0 s as arXiv asked",
                                    "waiting 2.0 s before asking arXiv again"]


def test_reading_github_reports_repositories_and_its_waits(
        state: tuple[StateStore, Path]) -> None:
    store, _ = state
    pipeline.resolve(_digests(store), settings=settings(), state=store, gate=IntervalGate(0.0),
                     transport=httpx.MockTransport(FakeArxiv()))
    github = FakeGitHub()
    limited = [True]

    def once_rate_limited(request: httpx.Request) -> httpx.Response:
        if limited.pop() if limited else False:
            return httpx.Response(429, headers={"Retry-After": "7"}, json={"message": "slow"})
        return github(request)

    heard = Heard()
    slept: list[float] = []
    patient = settings().model_copy(update={"github_retry_budget": 60.0})
    pipeline.read_github(_digests(store), settings=patient, state=store,
                         transport=httpx.MockTransport(once_rate_limited), now=lambda: NOW,
                         sleep=slept.append, progress=heard)
    counts = heard.counts("github")
    assert counts[0][0] == 0 and counts[-1][0] == counts[-1][1] and counts[-1][1] >= 2
    assert 7.0 in slept
    assert heard.notes("github") == ["waiting 7.0 s before the next GitHub request"]


def test_rendering_reports_files(state: tuple[StateStore, Path]) -> None:
    store, output = state
    heard = Heard()
    pipeline.render(output, store, progress=heard)
    counts = heard.counts("render")
    assert counts[0] == (0, counts[0][1]) and counts[-1] == (counts[0][1], counts[0][1])


# -- plain lines --------------------------------------------------------------------------


def test_plain_lines_say_the_first_the_last_and_not_every_step() -> None:
    lines: list[str] = []
    now = [0.0]
    show = LineProgress(lines.append, every=2.0, clock=lambda: now[0], timestamps=False)
    show("prefect", 0, None, "starting a local Prefect server in the background")
    show("prefect", 0, None, "starting a local Prefect server in the background (1 s)")
    show("prefect", 0, None, "starting a local Prefect server in the background (2 s)")
    show("prefect", 1, 1, "ready in 8.1 s")
    for done in range(11):
        now[0] += 0.5
        show("arxiv", done, 10)
        if done == 4:
            show("arxiv", done, 10, "waiting 2.9 s: one arXiv request every 3 s")
            show("arxiv", done, 10, "waiting 2.8 s: one arXiv request every 3 s")  # same kind
            show("arxiv", done, 10, "waiting 5.0 s as arXiv asked")  # a new kind
    show("frobnicate", 1, 2)  # a stage of a newer source
    assert lines == [
        "digest-enrich: Prefect: starting a local Prefect server in the background",
        "digest-enrich: Prefect: starting a local Prefect server in the background (1 s)",
        "digest-enrich: Prefect: ready in 8.1 s",
        "digest-enrich: arXiv: 0/10 entries",
        "digest-enrich: arXiv: 4/10 entries",
        "digest-enrich: arXiv: 4/10 entries — waiting 2.9 s: one arXiv request every 3 s",
        "digest-enrich: arXiv: 4/10 entries — waiting 5.0 s as arXiv asked",
        "digest-enrich: arXiv: 8/10 entries",
        "digest-enrich: arXiv: 10/10 entries",
        "digest-enrich: frobnicate: 1/2",
    ]


def test_a_report_in_words() -> None:
    assert describe("github", 3, 5) == "GitHub: 3/5 repositories"
    assert describe("arxiv", 1, None, "waiting") == "arXiv: waiting"
    assert describe("prefect", 1, 1, "ready") == "Prefect: ready"
    assert describe("dblp", 2, 9, "") == "dblp: 2/9 papers"
    assert describe("newsource", 2, 9, "") == "newsource: 2/9"

"""The typed stores (enrich.store.digests, verdicts, repos) over a real SQLite `StateStore`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from enrich.digest.model import Digest, Entry, ParseOutcome, Problem
from enrich.repos.model import Repo
from enrich.resolve.model import ArxivMatch, ArxivPaper, Candidate
from enrich.store import digests as digests_module
from enrich.store import repos as repos_module
from enrich.store import verdicts as verdicts_module
from enrich.store.db import StateStore
from enrich.store.digests import DigestStore
from enrich.store.repos import RepoStore, StoredRepo
from enrich.store.verdicts import StoredVerdict, VerdictStore

UTC = dt.UTC


@pytest.fixture
def state(tmp_path: Path) -> Iterator[StateStore]:
    store = StateStore(tmp_path / ".state")
    yield store
    store.close()


# ----------------------------------------------------------------------------------------------
# Digests


def parsed(file: str, title: str = "A Title") -> ParseOutcome:
    entry = Entry(index=0, line=5, date=dt.date(2024, 8, 16), title=title,
                  authors=("Ada Lovelace", "Alan Turing"), abstract="Text.", comment="9 pages",
                  code_urls=("https://github.com/a/b",), arxiv_id_hint="2408.00001")
    problem = Problem(kind="duplicate", file=file, line=30, message="listed twice")
    return ParseOutcome(file=file, digest=Digest(file=file, category="对比学习",
                                                 date=dt.date(2024, 8, 16), form="markdown",
                                                 entries=(entry,), problems=(problem,)))


def failed(file: str) -> ParseOutcome:
    return ParseOutcome(file=file, error=Problem(kind="empty", file=file, message="empty"))


def test_digest_outcomes_round_trip_sorted_by_file(state: StateStore) -> None:
    outcomes = [parsed("b.md"), failed("c.txt"), parsed("a.txt", "Ünïcode — 标题")]
    DigestStore(state).record(outcomes)
    assert DigestStore(state).outcomes() == sorted(outcomes, key=lambda o: o.file)
    assert [key for key, _ in state.items(digests_module.NAMESPACE)] == ["a.txt", "b.md",
                                                                         "c.txt"]


def test_named_digest_outcomes_are_the_known_ones_of_those_named(state: StateStore) -> None:
    DigestStore(state).record([parsed("a.txt"), parsed("b.txt"), failed("c.txt")])
    found = DigestStore(state).outcomes(["c.txt", "missing.txt", "a.txt"])
    assert [o.file for o in found] == ["a.txt", "c.txt"]
    assert found[1].error == Problem(kind="empty", file="c.txt", message="empty")
    assert DigestStore(state).outcomes([]) == []


def test_recording_a_digest_again_replaces_its_outcome(state: StateStore) -> None:
    store = DigestStore(state)
    store.record([parsed("a.txt")])
    store.record([failed("a.txt")])
    assert store.outcomes() == [failed("a.txt")]


def test_nothing_recorded_is_no_outcomes(state: StateStore) -> None:
    DigestStore(state).record([])
    assert DigestStore(state).outcomes() == []


# ----------------------------------------------------------------------------------------------
# Verdicts


PAPER = ArxivPaper(arxiv_id="2205.14459", version=2, title="CyCLIP", authors=("Shashank Goel",),
                   published=dt.datetime(2022, 5, 28, tzinfo=UTC),
                   updated=dt.datetime(2022, 10, 26, tzinfo=UTC), categories=("cs.CV",))
MATCHED = ArxivMatch(status="matched", method="title-batch", score=0.97, paper=PAPER)
AMBIGUOUS = ArxivMatch(status="ambiguous", candidates=(
    Candidate(arxiv_id="2101.00001", title="T", score=0.5, title_similarity=0.9,
              shared_authors=1),))


def test_verdicts_round_trip_with_when_they_were_reached(state: StateStore) -> None:
    store = VerdictStore(state)
    store.put_many({"fp1": (MATCHED, "CyCLIP"), "fp2": (AMBIGUOUS, "T")}, checked_at=1234.5)
    store.put_many({"fp3": (ArxivMatch(status="not_found"), "Nothing")}, checked_at=2000.0)
    assert store.get_many(["fp1", "fp2", "fp3", "unknown"]) == {
        "fp1": StoredVerdict(MATCHED, 1234.5), "fp2": StoredVerdict(AMBIGUOUS, 1234.5),
        "fp3": StoredVerdict(ArxivMatch(status="not_found"), 2000.0)}
    assert store.matches(["fp3", "fp1"]) == {"fp3": ArxivMatch(status="not_found"),
                                             "fp1": MATCHED}
    assert store.matches([]) == {}


def test_a_verdict_record_carries_the_title_for_a_human_reader(state: StateStore) -> None:
    VerdictStore(state).put_many({"fp": (MATCHED, "CyCLIP: Cyclic…")}, checked_at=7.0)
    raw = state.get(verdicts_module.NAMESPACE, "fp")
    assert raw is not None
    assert (raw["title"], raw["checked_at"], raw["match"]["paper"]["arxiv_id"]) == (
        "CyCLIP: Cyclic…", 7.0, "2205.14459")


def test_a_later_verdict_replaces_the_earlier_one(state: StateStore) -> None:
    store = VerdictStore(state)
    store.put_many({"fp": (ArxivMatch(status="not_found"), "T")}, checked_at=1.0)
    store.put_many({"fp": (MATCHED, "T")}, checked_at=2.0)
    assert store.get_many(["fp"]) == {"fp": StoredVerdict(MATCHED, 2.0)}


def test_a_verdict_recorded_without_a_time_reads_as_never_checked(state: StateStore) -> None:
    state.put(verdicts_module.NAMESPACE, "fp", {"match": {"status": "not_found"}})
    assert VerdictStore(state).get_many(["fp"]) == {
        "fp": StoredVerdict(ArxivMatch(status="not_found"), 0.0)}


# ----------------------------------------------------------------------------------------------
# Repositories


def facts(full_name: str = "Acme/Tool", *, status: str = "ok") -> Repo:
    return Repo(full_name=full_name, requested="acme/tool", url=f"https://github.com/{full_name}",
                status=status, stars=42, forks=3, license="MIT",  # type: ignore[arg-type]
                language="Python", pushed_at=dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
                archived=False, fetched_at=dt.datetime(2024, 2, 1, tzinfo=UTC),
                checked_at=dt.datetime(2024, 2, 1, tzinfo=UTC), source="arxiv")


def stored(repo: Repo | None = None, *, etag: str | None = '"abc"', checked: float | None = 100.0,
           path: str | None = "/repos/Acme/Tool") -> StoredRepo:
    return StoredRepo(repo=repo or facts(), etag=etag, checked=checked, path=path)


def test_repository_records_round_trip(state: StateStore) -> None:
    store = RepoStore(state)
    record = stored()
    placeholder = stored(Repo(full_name="x/y", requested="x/y", url="https://github.com/x/y",
                              status="deferred"), etag=None, checked=None, path=None)
    store.put("acme/tool", record)
    store.put("x/y", placeholder)
    assert store.get_many(["acme/tool", "x/y", "nope/nope"]) == {"acme/tool": record,
                                                                  "x/y": placeholder}
    assert state.get(repos_module.NAMESPACE, "acme/tool") == {
        "format": 1, "repo": facts().model_dump(mode="json"), "etag": '"abc"', "checked": 100.0,
        "path": "/repos/Acme/Tool"}


def test_facts_are_looked_up_by_lower_cased_name(state: StateStore) -> None:
    store = RepoStore(state)
    store.put("acme/tool", stored())
    assert store.facts(["ACME/Tool", "other/repo"]) == {"acme/tool": facts()}


@pytest.mark.parametrize("value", [
    None,
    {},
    # an older format: no `format` field, or another number
    {"repo": facts().model_dump(mode="json"), "etag": '"abc"', "checked": 1.0},
    {"format": 0, "repo": facts().model_dump(mode="json"), "etag": None, "checked": 1.0},
    {"format": 2, "repo": facts().model_dump(mode="json"), "etag": None, "checked": 1.0},
    # unreadable: no repo, or a repo that does not validate
    {"format": 1, "etag": None, "checked": 1.0},
    {"format": 1, "repo": {"full_name": "a/b"}, "checked": 1.0},
    {"format": 1, "repo": {**facts().model_dump(mode="json"), "stars": "many"}},
    {"format": 1, "repo": {**facts().model_dump(mode="json"), "unknown": 1}},
], ids=["missing", "empty", "unversioned", "format-0", "format-2", "no-repo", "partial-repo",
        "bad-field", "extra-field"])
def test_older_format_or_unreadable_records_are_ignored(value: dict[str, object] | None,
                                                        state: StateStore) -> None:
    assert StoredRepo.load(value) is None  # type: ignore[arg-type]
    if value is not None:
        state.put(repos_module.NAMESPACE, "acme/tool", value)  # type: ignore[arg-type]
    state.put(repos_module.NAMESPACE, "good/one", stored().dump())
    assert list(RepoStore(state).get_many(["acme/tool", "good/one"])) == ["good/one"]


@pytest.mark.parametrize(("extra", "etag", "checked", "path"), [
    ({"etag": "", "checked": None, "path": ""}, None, None, None),
    ({"etag": 5, "checked": "yesterday", "path": ["/repos/a/b"]}, None, None, None),
    ({"checked": 12}, None, 12.0, None),
    ({"etag": 'W/"x"', "checked": 1.5, "path": "/repositories/9"}, 'W/"x"', 1.5,
     "/repositories/9"),
], ids=["empty", "wrong-types", "int-checked", "all-set"])
def test_odd_record_fields_are_read_as_absent(extra: dict[str, object], etag: str | None,
                                              checked: float | None, path: str | None) -> None:
    loaded = StoredRepo.load({"format": 1, "repo": facts().model_dump(mode="json"), **extra})
    assert loaded is not None
    assert (loaded.etag, loaded.checked, loaded.path) == (etag, checked, path)
    assert loaded.repo == facts()


@pytest.mark.parametrize(("checked", "now", "ttl", "fresh"), [
    (100.0, 100.0, 10.0, True),
    (100.0, 109.9, 10.0, True),
    (100.0, 110.0, 10.0, False),  # exactly the TTL old: stale
    (100.0, 99.0, 10.0, False),  # checked in the future (clock moved back): ask again
    (100.0, 100.0, 0.0, False),  # refresh: nothing is fresh
    (None, 100.0, 10.0, False),  # never answered
], ids=["just-now", "nearly-stale", "stale", "future", "ttl-zero", "never"])
def test_a_record_is_fresh_while_younger_than_the_ttl(checked: float | None, now: float,
                                                      ttl: float, fresh: bool) -> None:
    record = stored(checked=checked)
    assert record.fresh(now, ttl) is fresh
    assert record.answered is (checked is not None)


def test_forget_all_drops_every_repository_and_nothing_else(state: StateStore) -> None:
    store = RepoStore(state)
    for name in ("a/one", "b/two", "c/three"):
        store.put(name, stored())
    VerdictStore(state).put_many({"fp": (MATCHED, "CyCLIP")}, checked_at=1.0)
    DigestStore(state).record([parsed("a.txt")])
    store.forget_all()
    assert list(state.items(repos_module.NAMESPACE)) == []
    assert store.get_many(["a/one", "b/two", "c/three"]) == {}
    assert VerdictStore(state).matches(["fp"]) == {"fp": MATCHED}
    assert [o.file for o in DigestStore(state).outcomes()] == ["a.txt"]
    store.forget_all()  # forgetting nothing is fine
    store.put("a/one", stored())
    assert list(store.get_many(["a/one"])) == ["a/one"]


def test_the_stores_share_one_database_file_across_instances(tmp_path: Path) -> None:
    first = StateStore(tmp_path / ".state")
    RepoStore(first).put("acme/tool", stored())
    VerdictStore(first).put_many({"fp": (MATCHED, "CyCLIP")}, checked_at=3.0)
    DigestStore(first).record([failed("x.txt")])
    first.close()
    again = StateStore(tmp_path / ".state")
    try:
        assert RepoStore(again).get_many(["acme/tool"]) == {"acme/tool": stored()}
        assert VerdictStore(again).get_many(["fp"]) == {"fp": StoredVerdict(MATCHED, 3.0)}
        assert DigestStore(again).outcomes() == [failed("x.txt")]
    finally:
        again.close()

"""The state store: namespaced JSON in SQLite, atomic batches, safe across processes."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from enrich.errors import OutputError
from enrich.store.db import StateStore


def test_values_round_trip_by_namespace(tmp_path: Path) -> None:
    state = StateStore(tmp_path / ".state")
    state.put("a", "k", {"x": 1, "s": "Ünïcode"})
    state.put("b", "k", {"x": 2})
    assert state.get("a", "k") == {"x": 1, "s": "Ünïcode"}
    assert state.get("b", "k") == {"x": 2}
    assert state.get("a", "missing") is None


def test_get_many_returns_only_known_keys_even_for_long_lists(tmp_path: Path) -> None:
    state = StateStore(tmp_path)
    state.put_many("ns", {f"k{i}": {"i": i} for i in range(1200)})
    found = state.get_many("ns", [f"k{i}" for i in range(0, 2400, 2)])
    assert len(found) == 600
    assert found["k1198"] == {"i": 1198}


def test_items_are_sorted_by_key(tmp_path: Path) -> None:
    state = StateStore(tmp_path)
    state.put_many("ns", {"b": {}, "a": {}, "c": {}})
    assert [k for k, _ in state.items("ns")] == ["a", "b", "c"]


def test_a_failing_batch_writes_nothing(tmp_path: Path) -> None:
    state = StateStore(tmp_path)
    with pytest.raises(TypeError):
        state.put_many("ns", {"good": {"x": 1}, "bad": {"x": object()}})
    assert state.get("ns", "good") is None


def test_put_if_absent_keeps_the_first_value(tmp_path: Path) -> None:
    state = StateStore(tmp_path)
    assert state.put_if_absent("keys", "goel2022cyclip", {"paper": "A"}) == {"paper": "A"}
    assert state.put_if_absent("keys", "goel2022cyclip", {"paper": "B"}) == {"paper": "A"}


def test_values_survive_reopening(tmp_path: Path) -> None:
    StateStore(tmp_path).put("ns", "k", {"v": True})
    assert StateStore(tmp_path).get("ns", "k") == {"v": True}


def _claim(directory: str, worker: int, results: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    state = StateStore(Path(directory))
    won = [k for k in range(50)
           if state.put_if_absent("claims", f"key{k}", {"worker": worker})["worker"] == worker]
    results.put(won)


def test_concurrent_processes_never_claim_the_same_key(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    procs = [ctx.Process(target=_claim, args=(str(tmp_path), w, results)) for w in range(3)]
    for p in procs:
        p.start()
    claims = [results.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    everything = [k for won in claims for k in won]
    assert sorted(everything) == list(range(50))


def test_an_unwritable_directory_is_an_output_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(OutputError, match="state database"):
        StateStore(blocker / ".state")

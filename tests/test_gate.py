"""The rate gate: one holder at a time, a minimum interval between starts, across threads."""

from __future__ import annotations

import itertools
import threading
import time

import pytest

from enrich.net.gate import SAFETY_MARGIN, IntervalGate, process_gate, reset_process_gates
from tests.support.clock import Clock


def test_the_first_pass_does_not_wait() -> None:
    clock = Clock(100.0)
    gate = IntervalGate(3.0, clock=clock.time, sleep=clock.sleep)
    with gate.slot():
        pass
    assert clock.sleeps == []


def test_passes_are_spaced_by_the_interval_from_start_to_start() -> None:
    clock = Clock(100.0)
    gate = IntervalGate(3.0, clock=clock.time, sleep=clock.sleep)
    with gate.slot():
        clock.now += 1.0  # the request took a second
    with gate.slot():
        pass
    with gate.slot():
        pass
    # The interval plus a small safety margin, from start to start.
    assert clock.sleeps == [pytest.approx(2.0 + SAFETY_MARGIN), pytest.approx(3.0 + SAFETY_MARGIN)]
    assert gate.waited == pytest.approx(5.0 + 2 * SAFETY_MARGIN)
    assert gate.passes == 3


def test_no_wait_when_the_interval_already_passed() -> None:
    clock = Clock(100.0)
    gate = IntervalGate(3.0, clock=clock.time, sleep=clock.sleep)
    with gate.slot():
        pass
    clock.now += 10
    with gate.slot():
        pass
    assert clock.sleeps == []


def test_threads_never_overlap_and_respect_the_interval() -> None:
    gate = IntervalGate(0.02)
    spans: list[tuple[float, float]] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(5):
            with gate.slot():
                start = time.monotonic()
                time.sleep(0.002)
                with lock:
                    spans.append((start, time.monotonic()))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    spans.sort()
    assert len(spans) == 20
    for (s1, e1), (s2, _) in itertools.pairwise(spans):
        assert s2 >= e1, "two holders overlapped"
        assert s2 - s1 >= 0.02 - 0.001


def test_the_process_gate_is_shared_and_only_tightens() -> None:
    reset_process_gates()
    a = process_gate("svc", 1.0)
    b = process_gate("svc", 0.5)
    c = process_gate("svc", 2.0)
    assert a is b is c
    assert a.min_interval == 2.0
    reset_process_gates()
    assert process_gate("svc", 0.1) is not a

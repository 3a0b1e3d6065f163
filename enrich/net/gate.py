"""Rate gates: one request in flight, and a minimum interval between request starts.

arXiv's terms of use allow "no more than one request every three seconds" on one connection.
Every arXiv request in a process passes the same `IntervalGate` (threads included); across
machines, `flows/` wraps it in a Prefect global concurrency limit.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from typing import Protocol

SAFETY_MARGIN = 0.015  # seconds


class Gate(Protocol):
    """Something every request passes: `with gate.slot(): send()`."""

    def slot(self) -> AbstractContextManager[None]: ...


class IntervalGate:
    """At most one holder at a time, and at least `min_interval` seconds between starts."""

    def __init__(self, min_interval: float, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.min_interval = min_interval
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._last_start: float | None = None
        self.waited = 0.0  # seconds spent waiting for the interval, for the run summary
        self.passes = 0

    @contextmanager
    def slot(self) -> Iterator[None]:
        with self._lock:
            if self._last_start is not None and self.min_interval > 0:
                # A little over the interval: the server sees our start a few ms late or early
                # (scheduling, connection setup), and arXiv's 3 s is a floor, not a target.
                delay = self._last_start + self.min_interval + SAFETY_MARGIN - self._clock()
                if delay > 0:
                    self.waited += delay
                    self._sleep(delay)
            self._last_start = self._clock()
            self.passes += 1
            yield


_registry: dict[str, IntervalGate] = {}
_registry_lock = threading.Lock()


def process_gate(name: str, min_interval: float) -> IntervalGate:
    """The one gate of this process for a service.

    A process-wide registry (rather than a gate per client) is deliberate: tasks running in
    threads each build their own client, and all of them must queue at the same door. The
    interval may only tighten the gate, never loosen it, for the life of the process.
    """
    with _registry_lock:
        gate = _registry.get(name)
        if gate is None:
            gate = _registry[name] = IntervalGate(min_interval)
        else:
            gate.min_interval = max(gate.min_interval, min_interval)
        return gate


def reset_process_gates() -> None:
    """Forget every process gate (tests that change the interval between runs)."""
    with _registry_lock:
        _registry.clear()


class ChainedGate:
    """Pass several gates in order (e.g. this process's gate, then a fleet-wide one)."""

    def __init__(self, *gates: Gate) -> None:
        self.gates = gates

    @contextmanager
    def slot(self) -> Iterator[None]:
        with ExitStack() as stack:
            for gate in self.gates:
                stack.enter_context(gate.slot())
            yield

    @property
    def waited(self) -> float:
        return sum(float(getattr(g, "waited", 0.0)) for g in self.gates)

"""One fake clock for the code that takes `clock=` and `sleep=` (gates, API clients)."""

from __future__ import annotations

START = 1_750_000_000.0  # 2025-06-15 14:13:20 UTC: a fixed "now"


class Clock:
    """Fake time that only moves forward: `sleep` records each wait and advances `now`.

    Hand the code under test `clock=clock.time` and `sleep=clock.sleep`, then read `sleeps`. A
    test may also move `now` on itself ("the request took a second"). It starts at START, or at
    `start` (`Clock(time.time())` when a fake server stamps its answers with the real time).
    """

    def __init__(self, start: float = START) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def time(self) -> float:
        """The current fake time, in seconds."""
        return self.now

    def sleep(self, seconds: float) -> None:
        """Record the wait and let that much fake time pass, at once."""
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")  # as time.sleep says
        self.sleeps.append(seconds)
        self.now += seconds

"""The retry policy (enrich.net.retry): waits, stops and the public error of each ending.

Sleep and clock are injected: every wait is recorded on a fake clock, none is slept.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

import pytest

from enrich.errors import (
    BadResponseError,
    RateLimitedError,
    ServiceUnavailableError,
    ServiceUnreachableError,
)
from enrich.net.http import RateLimitWaitError, TransientError, UnreachableError
from enrich.net.retry import RetryPolicy, RetryStats, call_with_retries

START = 1_700_000_000.0
URL = "https://api.example.test/q"


class Clock:
    """Epoch seconds that move only when someone sleeps (or an attempt takes time)."""

    def __init__(self) -> None:
        self.now = START
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


class Script:
    """An attempt that fails or succeeds as scripted, each call taking `took` seconds."""

    def __init__(self, clock: Clock, outcomes: Sequence[Exception | str], *,
                 took: float = 0.0) -> None:
        self.clock = clock
        self.outcomes = list(outcomes)
        self.took = took
        self.calls: list[float] = []

    def __call__(self) -> str:
        self.calls.append(self.clock.now - START)
        self.clock.now += self.took
        outcome = self.outcomes[min(len(self.calls), len(self.outcomes)) - 1]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


def run(clock: Clock, attempt: Callable[[], str], *, stats: RetryStats | None = None,
        url: str = URL, **policy: float) -> str:
    return call_with_retries(attempt, policy=RetryPolicy(**policy),  # type: ignore[arg-type]
                             service="Svc", url=url, stats=stats, sleep=clock.sleep, clock=clock)


# ----------------------------------------------------------------------------------------------
# Waits


def test_a_first_success_waits_for_nothing() -> None:
    clock, stats = Clock(), RetryStats()
    assert run(clock, Script(clock, ["ok"]), stats=stats) == "ok"
    assert clock.waits == []
    assert (stats.retries, stats.backoff_wait, stats.asked_wait) == (0, 0.0, 0.0)


def test_our_own_waits_double_from_the_backoff() -> None:
    clock, stats = Clock(), RetryStats()
    attempt = Script(clock, [TransientError("HTTP 503")] * 3 + ["ok"])
    assert run(clock, attempt, stats=stats, max_attempts=4, backoff=1.5) == "ok"
    assert clock.waits == [1.5, 3.0, 6.0]
    assert attempt.calls == [0.0, 1.5, 4.5, 10.5]
    assert (stats.retries, stats.backoff_wait, stats.asked_wait) == (3, 10.5, 0.0)


def test_the_servers_wait_is_taken_instead_of_ours() -> None:
    clock, stats = Clock(), RetryStats()
    attempt = Script(clock, [TransientError("HTTP 429", wait=7.0),
                             TransientError("HTTP 503", wait=0.5), "ok"])
    assert run(clock, attempt, stats=stats, backoff=1.0) == "ok"
    assert clock.waits == [7.0, 0.5]
    assert (stats.retries, stats.backoff_wait, stats.asked_wait) == (2, 0.0, 7.5)


def test_chosen_and_asked_waits_are_counted_apart() -> None:
    clock, stats = Clock(), RetryStats()
    attempt = Script(clock, [TransientError("a"), TransientError("b", wait=3.0),
                             TransientError("c"), "ok"])
    assert run(clock, attempt, stats=stats, max_attempts=5, backoff=1.0) == "ok"
    # the backoff doubles per attempt, whoever chose the wait before
    assert clock.waits == [1.0, 3.0, 4.0]
    assert (stats.retries, stats.backoff_wait, stats.asked_wait) == (3, 5.0, 3.0)


def test_retry_stats_add_up_across_calls() -> None:
    stats = RetryStats()
    stats.record(2.0, asked=False)
    stats.record(30.0, asked=True)
    stats.record(4.0, asked=False)
    assert (stats.retries, stats.backoff_wait, stats.asked_wait) == (3, 6.0, 30.0)


# ----------------------------------------------------------------------------------------------
# Stops, and what is raised


def test_it_stops_after_max_attempts_with_the_service_unavailable() -> None:
    clock = Clock()
    attempt = Script(clock, [TransientError("HTTP 503", status=503)])
    with pytest.raises(ServiceUnavailableError) as caught:
        run(clock, attempt, max_attempts=3, backoff=1.0)
    assert type(caught.value) is ServiceUnavailableError
    assert len(attempt.calls) == 3
    assert clock.waits == [1.0, 2.0]
    error = caught.value
    assert (error.service, error.message, error.status, error.attempts, error.url) == (
        "Svc", "unavailable: HTTP 503", 503, 3, URL)
    assert str(error) == f"Svc: unavailable: HTTP 503 — HTTP 503 — {URL} — after 3 attempts"
    assert error.__cause__ is None


def test_it_stops_when_the_next_wait_would_end_past_the_budget() -> None:
    clock = Clock()
    attempt = Script(clock, [TransientError("HTTP 502")])
    with pytest.raises(ServiceUnavailableError) as caught:
        run(clock, attempt, max_attempts=10, budget=10.0, backoff=4.0)
    # 0 + 4 fits in 10 s; 4 + 8 does not
    assert clock.waits == [4.0]
    assert caught.value.attempts == 2


def test_a_wait_ending_exactly_at_the_budget_is_still_taken() -> None:
    clock = Clock()
    attempt = Script(clock, [TransientError("HTTP 502")])
    with pytest.raises(ServiceUnavailableError) as caught:
        run(clock, attempt, max_attempts=10, budget=3.0, backoff=1.0)
    assert clock.waits == [1.0, 2.0]
    assert caught.value.attempts == 3


def test_the_budget_counts_the_time_attempts_take() -> None:
    clock = Clock()
    attempt = Script(clock, [TransientError("timed out", kind="timeout")], took=5.0)
    with pytest.raises(ServiceUnavailableError) as caught:
        run(clock, attempt, max_attempts=10, budget=12.0, backoff=1.0)
    # 5 s + 1 s wait fits in 12 s; then 11 s + 2 s does not
    assert clock.waits == [1.0]
    assert attempt.calls == [0.0, 6.0]
    assert caught.value.attempts == 2


def test_a_server_wait_longer_than_the_budget_is_not_waited() -> None:
    clock = Clock()
    attempt = Script(clock, [TransientError("HTTP 503", status=503, wait=600.0)])
    with pytest.raises(ServiceUnavailableError) as caught:
        run(clock, attempt, budget=90.0)
    assert clock.waits == []
    assert caught.value.attempts == 1


def test_an_unreachable_service_is_given_up_after_unreachable_attempts() -> None:
    clock = Clock()
    attempt = Script(clock, [UnreachableError("cannot connect (ConnectError)", url=URL)])
    with pytest.raises(ServiceUnreachableError) as caught:
        run(clock, attempt, max_attempts=6, unreachable_attempts=2, backoff=1.0)
    assert len(attempt.calls) == 2
    assert clock.waits == [1.0]
    assert (caught.value.message, caught.value.attempts, caught.value.status) == (
        "unreachable: cannot connect (ConnectError)", 2, None)
    assert isinstance(caught.value, ServiceUnavailableError)


def test_a_connection_that_comes_back_before_the_limit_is_used() -> None:
    clock = Clock()
    attempt = Script(clock, [UnreachableError("cannot connect (ConnectError)"), "ok"])
    assert run(clock, attempt, unreachable_attempts=2) == "ok"
    assert len(attempt.calls) == 2


def test_a_rate_limit_outlasting_the_attempts_says_when_it_resets() -> None:
    clock = Clock()
    attempt = Script(clock, [RateLimitWaitError("rate limited (HTTP 429)", status=429,
                                                wait=30.0)])
    with pytest.raises(RateLimitedError) as caught:
        run(clock, attempt, max_attempts=2, budget=100.0)
    assert clock.waits == [30.0]
    error = caught.value
    # the clock after the last attempt, plus the wait the server last asked for
    assert error.retry_at == dt.datetime.fromtimestamp(START + 60, dt.UTC)
    assert (error.message, error.status, error.attempts) == (
        "rate limited: rate limited (HTTP 429)", 429, 2)


def test_a_rate_limit_reset_is_rounded_to_the_second() -> None:
    clock = Clock()
    clock.now = START + 0.4
    attempt = Script(clock, [RateLimitWaitError("slow down", wait=200.7)])
    with pytest.raises(RateLimitedError) as caught:
        run(clock, attempt, budget=90.0)
    assert clock.waits == []
    assert caught.value.retry_at == dt.datetime.fromtimestamp(START + 201, dt.UTC)


def test_the_last_failure_decides_the_error() -> None:
    clock = Clock()
    attempt = Script(clock, [RateLimitWaitError("slow down", wait=1.0), TransientError("HTTP 500",
                                                                                      status=500)])
    with pytest.raises(ServiceUnavailableError) as caught:
        run(clock, attempt, max_attempts=2)
    assert not isinstance(caught.value, RateLimitedError)
    assert caught.value.status == 500


@pytest.mark.parametrize("error", [
    ValueError("a bug"),
    BadResponseError("refusing a DTD", service="Svc"),
], ids=["bug", "bad-response"])
def test_what_is_not_transient_is_raised_at_once(error: Exception) -> None:
    clock = Clock()
    attempt = Script(clock, [error, "never"])
    with pytest.raises(type(error)) as caught:
        run(clock, attempt)
    assert caught.value is error
    assert len(attempt.calls) == 1
    assert clock.waits == []


@pytest.mark.parametrize(("failure_url", "caller_url", "shown"), [
    ("https://api.example.test/r?access_token=t0k", URL,
     "https://api.example.test/r?access_token=%2A%2A%2A"),
    (None, "https://user:pw@api.example.test/q?token=t0k",
     "https://api.example.test/q?token=%2A%2A%2A"),
], ids=["the-failures-url", "else-the-callers-url"])
def test_the_error_names_a_url_without_credentials(failure_url: str | None, caller_url: str,
                                                   shown: str) -> None:
    clock = Clock()
    attempt = Script(clock, [TransientError("HTTP 503", url=failure_url)])
    with pytest.raises(ServiceUnavailableError) as caught:
        run(clock, attempt, url=caller_url, max_attempts=1)
    assert caught.value.url == shown
    assert "t0k" not in str(caught.value)
    assert "pw@" not in str(caught.value)

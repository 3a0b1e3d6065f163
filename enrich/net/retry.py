"""One retry policy for every service client: what is transient, how long to wait, when to stop.

A client's single request is `attempt()`; it raises `TransientError` (`enrich.net.http`, or a
subclass) for what is worth another attempt and anything else for what is not.
`call_with_retries` runs it under tenacity:

* **waits**: what the server asked for (`TransientError.wait`: `Retry-After`, a quota reset)
  when it asked, else `policy.backoff` doubled per attempt;
* **stops**: after `policy.max_attempts`, or when the next wait would end past
  `policy.budget` seconds since the first attempt, or after `policy.unreachable_attempts` when
  the service cannot be reached at all (a run without network must end quickly and say so);
* **then** raises the public error: `ServiceUnreachableError` / `ServiceUnavailableError`, or
  `RateLimitedError` when the last failure was a rate limit (with the time it resets).

`sleep` and `clock` (epoch seconds) are injected, so tests record waits instead of sleeping, and
every wait is counted in `RetryStats` as backoff (our choice) or as asked for (the server's).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import tenacity

from enrich.errors import RateLimitedError, ServiceUnavailableError, ServiceUnreachableError
from enrich.net.http import RateLimitWaitError, TransientError, UnreachableError, public_url

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How stubborn one client is."""

    max_attempts: int = 4
    budget: float = 90.0  # seconds from the first attempt
    backoff: float = 1.0  # the first wait we choose; doubled per attempt
    unreachable_attempts: int = 3


@dataclass
class RetryStats:
    """Retries and the time spent waiting between attempts, thread-safe."""

    retries: int = 0
    backoff_wait: float = 0.0  # waits we chose (exponential backoff)
    asked_wait: float = 0.0  # waits the server asked for (Retry-After, quota resets)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def record(self, seconds: float, *, asked: bool) -> None:
        with self._lock:
            self.retries += 1
            if asked:
                self.asked_wait += seconds
            else:
                self.backoff_wait += seconds


def call_with_retries(attempt: Callable[[], T], *, policy: RetryPolicy, service: str, url: str,
                      stats: RetryStats | None = None,
                      sleep: Callable[[float], None], clock: Callable[[], float]) -> T:
    """`attempt()`, retried under `policy`; see the module docstring for what is raised."""
    started = clock()

    def wait(state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, TransientError) and exc.wait is not None:
            return exc.wait
        return float(policy.backoff * 2 ** (state.attempt_number - 1))

    def stop(state: tenacity.RetryCallState) -> bool:
        exc = state.outcome.exception() if state.outcome else None
        if (isinstance(exc, UnreachableError)
                and state.attempt_number >= policy.unreachable_attempts):
            return True
        if state.attempt_number >= policy.max_attempts:
            return True
        return clock() - started + wait(state) > policy.budget

    def before_sleep(state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        delay = state.upcoming_sleep
        asked = isinstance(exc, TransientError) and exc.wait is not None
        if stats is not None:
            stats.record(delay, asked=asked)
        reason = exc.reason if isinstance(exc, TransientError) else type(exc).__name__
        log.info("%s: %s; %s %.1f s (attempt %d)", service, reason,
                 "waiting as asked" if asked else "retrying in", delay, state.attempt_number + 1)

    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception_type(TransientError), stop=stop, wait=wait,
        sleep=sleep, before_sleep=before_sleep, reraise=True,
    )
    try:
        return retrying(attempt)
    except TransientError as exc:
        attempts = int(retrying.statistics.get("attempt_number", 1))
        where = public_url(exc.url or url)
        if isinstance(exc, RateLimitWaitError):
            until = dt.datetime.fromtimestamp(round(clock() + (exc.wait or 0.0)), dt.UTC)
            raise RateLimitedError(f"rate limited: {exc.reason}", service=service, url=where,
                                   status=exc.status, attempts=attempts,
                                   retry_at=until) from None
        if isinstance(exc, UnreachableError):
            raise ServiceUnreachableError(f"unreachable: {exc.reason}", service=service,
                                          url=where, attempts=attempts) from None
        raise ServiceUnavailableError(f"unavailable: {exc.reason}", service=service, url=where,
                                      status=exc.status, attempts=attempts) from None

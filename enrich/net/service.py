"""One polite JSON web service: what the Hugging Face, Semantic Scholar and dblp clients share.

`JsonService` sends each request through `enrich.net.http.exchange` (bounded body, total
deadline, the service's gate) under `enrich.net.retry.call_with_retries` with the service's
own `RetryPolicy`, and decides what an answer means before the client reads it:

* **5xx**, transport failures, a 200 whose body is not JSON (truncated, an HTML portal):
  transient, retried with backoff;
* **429** (and 503 with `Retry-After`): wait what the server asked — `Retry-After`, else the
  reset of the IETF `RateLimit` header (`"api";r=0;t=42`, as Hugging Face sends) — when that
  is no longer than `max_wait`; else `RateLimitedError` and no further request until the reset
  (a scheduled run defers, it does not sleep for a window);
* a `RateLimit` header showing the window used up (`r=0`) blocks the next request until the
  reset, before a 429 is wasted;
* **401/403**: the credentials are refused (or the caller is blocked) — every later request
  would fail alike, so the service is `down` for this client's life;
* unreachable (DNS, refused): a few quick attempts, then `down`: later calls fail at once;
* any other status not in the caller's `expected` set: `BadResponseError`, not retried.

Secrets (a token, an API key) are sent in headers by the client's policy and masked out of
every message built from an answer.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import logging
import re
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Self

import httpx

from enrich.errors import (
    BadResponseError,
    RateLimitedError,
    ServiceUnavailableError,
    ServiceUnreachableError,
)
from enrich.net.gate import Gate
from enrich.net.http import (
    RateLimitWaitError,
    TransientError,
    exchange,
    make_client,
    public_url,
    retry_after_seconds,
)
from enrich.net.retry import RetryPolicy, RetryStats, call_with_retries

log = logging.getLogger(__name__)

# A 429 without any hint of when to come back: wait this long (then back off).
DEFAULT_RATE_WAIT = 10.0
_MESSAGE_CHARS = 200
_RATELIMIT_PART = re.compile(r"\b([rt])\s*=\s*(\d+)")


@dataclass
class ServiceStats:
    """Requests, answers and waits of one client (thread-safe through its lock)."""

    requests: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    gate_wait: float = 0.0
    quota_wait: float = 0.0
    retry: RetryStats = field(default_factory=RetryStats)

    @property
    def rate_limit_wait(self) -> float:
        """Seconds waited because the service said so (windows, Retry-After)."""
        return self.quota_wait + self.retry.asked_wait


@dataclass(frozen=True)
class JsonReply:
    """An answer the caller expected: status, headers, decoded JSON (None unless 2xx)."""

    status: int
    headers: httpx.Headers
    data: Any
    url: str

    @property
    def date(self) -> dt.datetime | None:
        """The server's `Date` header as UTC (what "read at" records, reproducibly)."""
        return http_date(self.headers.get("date"))


def http_date(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)


def ratelimit_header(headers: Mapping[str, str]) -> tuple[int | None, int | None]:
    """(remaining, seconds to reset) of an IETF `RateLimit: "api";r=12;t=30` header."""
    value = headers.get("ratelimit")
    if not value:
        return None, None
    parts = dict(_RATELIMIT_PART.findall(value))
    remaining = int(parts["r"]) if "r" in parts else None
    reset = int(parts["t"]) if "t" in parts else None
    return remaining, reset


class JsonService:
    """Requests to one JSON API, politely (see the module docstring)."""

    def __init__(self, service: str, *, http: httpx.Client, policy: RetryPolicy,
                 gate: Gate | None = None, deadline: float | None = None,
                 max_wait: float = 60.0, secrets: Sequence[str] = (),
                 sleep: Callable[[float], None], clock: Callable[[], float]) -> None:
        self.service = service
        self._http = http
        self._policy = policy
        self._gate = gate
        self._deadline = deadline
        self.max_wait = max_wait
        self._secrets = tuple(s for s in secrets if s)
        self._sleep = sleep
        self._clock = clock
        self._lock = threading.Lock()
        self._blocked_until: float | None = None
        self._down: str | None = None
        self.stats = ServiceStats()

    @classmethod
    def connect(cls, service: str, *, base_url: str, user_agent: str, timeout: float,
                headers: Mapping[str, str], max_attempts: int, budget: float, backoff: float,
                gate: Gate, deadline: float | None, max_wait: float,
                secrets: Sequence[str] = (), transport: httpx.BaseTransport | None = None,
                sleep: Callable[[float], None], clock: Callable[[], float]) -> JsonService:
        """The service at `base_url`: one connection, JSON asked for, a few quick attempts
        when it is unreachable, `max_attempts` within `budget` seconds otherwise."""
        http = make_client(base_url=base_url.rstrip("/"), user_agent=user_agent,
                           timeout=timeout, headers={"Accept": "application/json", **headers},
                           max_connections=1, transport=transport)
        policy = RetryPolicy(max_attempts=max_attempts, budget=budget, backoff=backoff,
                             unreachable_attempts=2)
        return cls(service, http=http, policy=policy, gate=gate, deadline=deadline,
                   max_wait=max_wait, secrets=secrets, sleep=sleep, clock=clock)

    def close(self) -> None:
        self._http.close()

    @property
    def down(self) -> str | None:
        """Why the service is not asked again during this client's life, if it is not."""
        return self._down

    def snapshot(self) -> tuple[int, float]:
        """(requests, seconds waited on the service's limits) so far."""
        with self._lock:
            return self.stats.requests, self.stats.rate_limit_wait

    def request(self, method: str, url: str, *, expected: Collection[int] = (200,),
                headers: Mapping[str, str] | None = None, content: bytes | None = None,
                limit: int = 8 << 20) -> JsonReply:
        """One request, retried as the module docstring says; answers of `expected` statuses
        come back (2xx ones decoded), anything else raises."""

        def attempt() -> JsonReply:
            return self._classify(self._send(method, url, headers=headers, content=content,
                                             limit=limit), expected)

        try:
            return call_with_retries(attempt, policy=self._policy, service=self.service,
                                     url=url, stats=self.stats.retry, sleep=self._sleep,
                                     clock=self._clock)
        except ServiceUnreachableError as exc:
            with self._lock:
                self._down = exc.message
            raise

    # -- how -------------------------------------------------------------------------------

    def _send(self, method: str, url: str, *, headers: Mapping[str, str] | None,
              content: bytes | None, limit: int) -> tuple[int, httpx.Headers, bytes, str]:
        self._pass(url)
        with self._lock:
            self.stats.requests += 1
        try:
            reply = exchange(self._http, method, url, service=self.service, limit=limit,
                             headers=headers, content=content, gate=self._gate,
                             total=self._deadline)
        except TransientError as exc:
            self._count(exc.kind)
            raise
        except BadResponseError:
            self._count("oversized")
            raise
        with self._lock:
            self.stats.gate_wait += reply.gate_wait
        self._count(str(reply.status))
        remaining, reset = ratelimit_header(reply.headers)
        if remaining == 0 and reset is not None:
            self._block(self._clock() + reset)
        return reply.status, reply.headers, reply.body, reply.url

    def _classify(self, answer: tuple[int, httpx.Headers, bytes, str],
                  expected: Collection[int]) -> JsonReply:
        status, headers, body, url = answer
        if status == 429 or (status == 503 and headers.get("retry-after")):
            delay = self._rate_wait(headers)
            if delay > self.max_wait:
                until = self._clock() + delay
                self._block(until)
                raise RateLimitedError(
                    f"rate limited; the window resets in {delay:.0f} s, beyond the "
                    f"{self.max_wait:.0f} s we wait", service=self.service,
                    url=public_url(url), status=status, retry_at=_from_epoch(until))
            raise RateLimitWaitError(f"rate limited (HTTP {status})", status=status, url=url,
                                     wait=delay)
        if status >= 500:
            raise TransientError(f"HTTP {status}", status=status, url=url)
        if status in (401, 403) and status not in expected:
            detail = self._message(body) or f"HTTP {status}"
            with self._lock:
                self._down = f"credentials refused: {detail}"
            raise ServiceUnavailableError(f"credentials refused: {detail}",
                                          service=self.service, url=public_url(url),
                                          status=status)
        if status not in expected:
            detail = self._message(body)
            raise BadResponseError(f"unexpected answer{': ' + detail if detail else ''}",
                                   service=self.service, url=public_url(url), status=status)
        data = None
        if 200 <= status < 300:
            content_type = headers.get("content-type", "")
            if "json" not in content_type.lower():
                raise TransientError(f"expected JSON, got {content_type or 'no content type'!r}",
                                     status=status, url=url)
            try:
                data = json.loads(body)
            except ValueError:
                raise TransientError("truncated or malformed JSON", status=status,
                                     url=url) from None
        return JsonReply(status, headers, data, url)

    def _rate_wait(self, headers: httpx.Headers) -> float:
        after = retry_after_seconds(headers, now=self._clock())
        if after is not None:
            return after
        _, reset = ratelimit_header(headers)
        if reset is not None:
            return float(reset) + 1.0
        return DEFAULT_RATE_WAIT

    def _block(self, until: float) -> None:
        with self._lock:
            self._blocked_until = max(until, self._blocked_until or 0.0)

    def _pass(self, url: str) -> None:
        """Fail fast when the service is down or its window is used up for long; wait out a
        short one."""
        with self._lock:
            down, until = self._down, self._blocked_until
        if down is not None:
            raise ServiceUnavailableError(down, service=self.service, url=public_url(url))
        if until is None:
            return
        delay = until - self._clock()
        if delay <= 0:
            with self._lock:
                if self._blocked_until == until:
                    self._blocked_until = None
            return
        if delay > self.max_wait:
            raise RateLimitedError(f"rate limited; the window resets in {delay:.0f} s",
                                   service=self.service, url=public_url(url),
                                   retry_at=_from_epoch(until))
        log.info("%s: rate-limit window used up; waiting %.1f s", self.service, delay)
        with self._lock:
            self.stats.quota_wait += delay
        self._sleep(delay)

    def _count(self, outcome: str) -> None:
        with self._lock:
            self.stats.statuses[outcome] = self.stats.statuses.get(outcome, 0) + 1

    def _message(self, body: bytes) -> str:
        """The service's own words from an error body (`message` or `error`), secrets masked."""
        try:
            data = json.loads(body)
        except ValueError:
            return ""
        text = None
        if isinstance(data, dict):
            text = data.get("message") or data.get("error")
        return self.redact(text) if isinstance(text, str) else ""

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return " ".join(text.split())[:_MESSAGE_CHARS]


def _from_epoch(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(round(seconds), dt.UTC)


class ServiceClient:
    """A client of one `JsonService`: what the HF, S2 and dblp clients share around it."""

    def __init__(self, service: JsonService) -> None:
        self._service = service

    @property
    def service(self) -> JsonService:
        return self._service

    def close(self) -> None:
        self._service.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

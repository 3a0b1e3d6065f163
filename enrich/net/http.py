"""HTTP plumbing shared by the service clients: client policy, one exchange, bounded bodies.

`make_client` holds the policy (base URL, headers, timeouts, connection limits, no redirects);
`exchange` sends one request through an optional gate and reads its body within a size limit,
turning transport failures into `TransientError` / `UnreachableError` for `enrich.net.retry`.
"""

from __future__ import annotations

import contextlib
import email.utils
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from enrich.errors import BadResponseError
from enrich.net.deadline import DeadlineTransport, deadline
from enrich.net.gate import Gate

# No answer we expect from arXiv or GitHub comes near this; a bigger one is refused unread.
MAX_BODY_BYTES = 32 * 1024 * 1024
# How much of a URL that cannot be parsed is shown in messages.
URL_SHOWN = 200
_USERINFO = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@]*@")
# Error pages (503 HTML, 429 text) are read up to this size so the connection stays usable;
# a larger one is cut and dropped with its connection.
MAX_ERROR_BODY = 64 * 1024


class TransientError(Exception):
    """A failure worth another attempt; `wait` is the server's own wait, when it gave one."""

    kind = "transient"

    def __init__(self, reason: str, *, status: int | None = None, url: str | None = None,
                 wait: float | None = None, kind: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.url = url
        self.wait = wait
        if kind is not None:
            self.kind = kind


class UnreachableError(TransientError):
    """No connection at all: DNS failure, refused, connect timeout."""

    kind = "unreachable"


class RateLimitWaitError(TransientError):
    """Rate limited, with a wait (`wait`) short enough to take."""


@dataclass(frozen=True)
class Reply:
    """One answer: status, headers, the body read so far, and the URL that answered."""

    status: int
    headers: httpx.Headers
    body: bytes
    url: str
    gate_wait: float = 0.0  # seconds spent waiting at the gate before sending


def make_client(*, base_url: str = "", user_agent: str, timeout: float,
                headers: Mapping[str, str] | None = None, max_connections: int = 4,
                transport: httpx.BaseTransport | None = None) -> httpx.Client:
    """An httpx client holding the policy: base URL, headers, timeouts, connection limits.

    Redirects are not followed here; the clients decide (GitHub renames answer 301). The
    default transport honours `enrich.net.deadline` (a total time per request).
    """
    limits = httpx.Limits(max_connections=max_connections,
                          max_keepalive_connections=max_connections)
    return httpx.Client(
        base_url=base_url,
        headers={"User-Agent": user_agent, **(headers or {})},
        timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
        limits=limits,
        follow_redirects=False,
        transport=transport if transport is not None else DeadlineTransport(limits=limits),
        trust_env=False,
    )


def read_bounded(response: httpx.Response, *, service: str, limit: int = MAX_BODY_BYTES) -> bytes:
    """The body of a streamed response, refusing anything larger than `limit` bytes."""
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise BadResponseError(f"response of {declared} bytes exceeds the {limit}-byte limit",
                               service=service, url=public_url(response.request.url),
                               status=response.status_code)
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limit:
            raise BadResponseError(f"response exceeds the {limit}-byte limit", service=service,
                                   url=public_url(response.request.url),
                                   status=response.status_code)
        chunks.append(chunk)
    return b"".join(chunks)


def retry_after_seconds(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds a `Retry-After` header asks us to wait (delta-seconds or HTTP date), else None."""
    value = headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def public_url(url: httpx.URL | str) -> str:
    """A URL safe to show: no user-info, no query values that could carry credentials.

    Never raises: error reporting must not fail on the URL it reports (a 1 MB query is not a
    URL httpx will parse); such a URL is shown cut, with anything after `?` dropped.
    """
    try:
        parsed = httpx.URL(str(url))
        safe = parsed.copy_with(username=None, password=None)
        sensitive = {"access_token", "token", "client_secret", "key", "api_key"}
        if any(k.lower() in sensitive for k in safe.params):
            safe = safe.copy_with(params={k: ("***" if k.lower() in sensitive else v)
                                          for k, v in safe.params.items()})
        return str(safe)
    except (httpx.InvalidURL, ValueError, TypeError):
        text = str(url).split("?", 1)[0]
        text = _USERINFO.sub(r"\1", text)
        return text[:URL_SHOWN] + ("…" if len(text) > URL_SHOWN else "")


def exchange(http: httpx.Client, method: str, url: str, *, service: str,
             limit: int = MAX_BODY_BYTES, headers: Mapping[str, str] | None = None,
             content: bytes | None = None, gate: Gate | None = None,
             total: float | None = None) -> Reply:
    """Send one request (no retries) and read its answer.

    The gate, when given, is held for the whole exchange. `total` seconds bound the exchange
    from the first byte sent to the last byte read, however slowly the server trickles
    (`enrich.net.deadline`). A 2xx/3xx body larger than `limit` is refused
    (`BadResponseError`, never retried); an error body is read up to `MAX_ERROR_BODY` and cut
    there. Connection failures raise `UnreachableError`, timeouts (the total one included) and
    other transport failures `TransientError`.
    """
    waited = 0.0
    try:
        with contextlib.ExitStack() as stack:
            if gate is not None:
                before = time.monotonic()
                stack.enter_context(gate.slot())
                waited = time.monotonic() - before
            stack.enter_context(deadline(total))
            resp = stack.enter_context(http.stream(method, url, headers=headers,
                                                   content=content))
            if resp.status_code < 400:
                body = read_bounded(resp, service=service, limit=limit)
            else:
                body = _read_some(resp, MAX_ERROR_BODY)
            return Reply(resp.status_code, resp.headers, body, str(resp.request.url), waited)
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        raise UnreachableError(f"cannot connect ({type(exc).__name__})", url=url) from None
    except httpx.TimeoutException as exc:
        raise TransientError(f"timed out ({type(exc).__name__})", url=url,
                             kind="timeout") from None
    except httpx.TransportError as exc:
        raise TransientError(f"connection failed ({type(exc).__name__})", url=url,
                             kind="transport") from None


def _read_some(response: httpx.Response, limit: int) -> bytes:
    """Up to `limit` bytes of a body; the rest is dropped with the connection."""
    chunks: list[bytes] = []
    size = 0
    with contextlib.suppress(httpx.TransportError):
        for chunk in response.iter_bytes():
            chunks.append(chunk)
            size += len(chunk)
            if size >= limit:
                break
    return b"".join(chunks)[:limit]

"""HTTP plumbing shared by the service clients: client policy, bounded bodies, wait hints."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping

import httpx

from enrich.errors import BadResponseError

# No answer we expect from arXiv or GitHub comes near this; a bigger one is refused unread.
MAX_BODY_BYTES = 32 * 1024 * 1024


def make_client(*, base_url: str = "", user_agent: str, timeout: float,
                headers: Mapping[str, str] | None = None, max_connections: int = 4,
                transport: httpx.BaseTransport | None = None) -> httpx.Client:
    """An httpx client holding the policy: base URL, headers, timeouts, connection limits.

    Redirects are not followed here; the clients decide (GitHub renames answer 301).
    """
    return httpx.Client(
        base_url=base_url,
        headers={"User-Agent": user_agent, **(headers or {})},
        timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
        limits=httpx.Limits(max_connections=max_connections,
                            max_keepalive_connections=max_connections),
        follow_redirects=False,
        transport=transport,
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
    """A URL safe to show: no user-info, no query values that could carry credentials."""
    parsed = httpx.URL(str(url))
    safe = parsed.copy_with(username=None, password=None)
    sensitive = {"access_token", "token", "client_secret", "key", "api_key"}
    if any(k.lower() in sensitive for k in safe.params):
        safe = safe.copy_with(params={k: ("***" if k.lower() in sensitive else v)
                                      for k, v in safe.params.items()})
    return str(safe)

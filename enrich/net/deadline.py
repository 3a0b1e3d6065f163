"""A total deadline for each request, which httpx's timeouts are not.

httpx's read timeout restarts with every byte: a server trickling one byte a second keeps a
request alive for ever. `deadline(seconds)` sets an absolute deadline for the requests the
current thread sends; the transport's network streams clip every connect, read and write
timeout to the time left and fail with a timeout once it has passed. The retry policy then
treats it like any other timeout, and its budget bounds the whole lookup.

`DeadlineTransport` is httpx's own `HTTPTransport` (request and response conversion, exception
mapping) over an httpcore connection pool whose network backend enforces the deadline.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpcore
import httpx

_local = threading.local()


@contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """Requests sent by this thread inside the block must finish within `seconds` in all."""
    before = getattr(_local, "at", None)
    if seconds is not None:
        at = time.monotonic() + seconds
        _local.at = at if before is None else min(before, at)
    try:
        yield
    finally:
        _local.at = before


def _clip(timeout: float | None, error: type[Exception]) -> float | None:
    at: float | None = getattr(_local, "at", None)
    if at is None:
        return timeout
    left = at - time.monotonic()
    if left <= 0:
        raise error("the request's total deadline has passed")
    return left if timeout is None else min(timeout, left)


class _Stream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _clip(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _clip(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        return _Stream(self._inner.start_tls(ssl_context, server_hostname,
                                             _clip(timeout, httpcore.ConnectTimeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        return _Stream(self._inner.connect_tcp(host, port, _clip(timeout, httpcore.ConnectTimeout),
                                               local_address, socket_options))

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[Any] | None = None,
                            ) -> httpcore.NetworkStream:  # pragma: no cover - not used
        return _Stream(self._inner.connect_unix_socket(
            path, _clip(timeout, httpcore.ConnectTimeout), socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


_ssl: list[ssl.SSLContext] = []
_ssl_lock = threading.Lock()


def _ssl_context() -> ssl.SSLContext:
    """The process's one verifying TLS context: building one reads the whole CA bundle
    (~40 ms of CPU), and every client of every run used to build two."""
    with _ssl_lock:
        if not _ssl:
            _ssl.append(httpx.create_ssl_context(trust_env=False))
        return _ssl[0]


class DeadlineTransport(httpx.HTTPTransport):
    """`httpx.HTTPTransport` whose connections honour `deadline()`."""

    def __init__(self, *, limits: httpx.Limits) -> None:
        super().__init__(verify=_ssl_context(), limits=limits, trust_env=False)
        self._pool.close()
        self._pool = httpcore.ConnectionPool(
            ssl_context=_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_Backend(),
        )

"""Recorded answers: run the pipeline once against the fakes, then again without them.

The second run measures the pipeline alone: the same requests get the same bytes back from a
dictionary, with no socket, no server thread and no fake's search in between. `Recorder` hands
out recording transports (one per client: a client closes its transport) that put every
answer in one shared dictionary; `Replay` hands out transports that answer from it and refuse
any request that was not recorded (a run that asks differently is a bug, not a measurement).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

from enrich.net.deadline import DeadlineTransport

Key = tuple[str, str, bytes]
Answer = tuple[int, list[tuple[bytes, bytes]], bytes]


def _key(request: httpx.Request) -> Key:
    return request.method, str(request.url), request.read()


class _Recording(httpx.BaseTransport):
    def __init__(self, answers: dict[Key, Answer]) -> None:
        self._answers = answers
        self._inner = DeadlineTransport(limits=httpx.Limits(max_connections=8,
                                                            max_keepalive_connections=8))

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._inner.handle_request(request)
        try:
            raw = b"".join(response.stream)  # type: ignore[arg-type]
        finally:
            response.close()
        headers = list(response.headers.raw)
        self._answers[_key(request)] = (response.status_code, headers, raw)
        return httpx.Response(response.status_code, headers=headers, content=raw,
                              request=request)

    def close(self) -> None:
        self._inner.close()


class _Replaying(httpx.BaseTransport):
    def __init__(self, answers: dict[Key, Answer]) -> None:
        self._answers = answers

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        try:
            status, headers, raw = self._answers[_key(request)]
        except KeyError:
            raise RuntimeError(f"not recorded: {request.method} {request.url}") from None
        return httpx.Response(status, headers=headers, content=raw, request=request)


@dataclass
class Recorder:
    """Transports that record every answer into `answers`."""

    answers: dict[Key, Answer] = field(default_factory=dict)

    def transport(self) -> httpx.BaseTransport:
        return _Recording(self.answers)

    def replay(self) -> Replay:
        return Replay(self.answers)


@dataclass
class Replay:
    """Transports that answer from what a `Recorder` recorded."""

    answers: dict[Key, Answer]

    def transport(self) -> httpx.BaseTransport:
        return _Replaying(self.answers)

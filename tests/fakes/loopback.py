"""What the small JSON fakes (Hugging Face, Semantic Scholar, dblp) share: a threaded loopback
HTTP server with a request log, a frozen `Date`, and scripted faults.

A fake subclasses `LoopbackFake` and implements `answer(request) -> Answer`; faults come first
from the script (`enqueue_faults(["503", "ok", "429:2"])`), then from an optional seeded rate:

    500, 502, 503          HTML error page (503 also with `Retry-After`: `503:2`)
    429                    `Retry-After: N` (the argument, default 1) and a JSON message
    429-bare               429 without any hint of when to come back
    truncated              the real answer cut in half (honest Content-Length)
    html                   200 with an HTML captive-portal page instead of JSON
    reset                  the connection reset (RST) without an answer
    slow                   the real answer after N seconds (default 1)

Independent of the code under test: nothing here imports `enrich`.
"""

from __future__ import annotations

import collections
import datetime as dt
import email.utils
import json
import random
import signal
import socket
import struct
import threading
import time
from collections.abc import Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

JSON_TYPE = "application/json; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"
FROZEN_DATE = dt.datetime(2025, 7, 1, 12, 0, 0, tzinfo=dt.UTC)
FAULTS = ("500", "502", "503", "429", "429-bare", "truncated", "html", "reset", "slow")
_HTML = b"<!DOCTYPE html><html><body><p>Service temporarily unavailable.</p></body></html>\n"


@dataclass(frozen=True)
class Request:
    """One request as the fake read it."""

    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]  # lower-cased names
    body: bytes


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes = b""
    content_type: str = JSON_TYPE
    headers: Mapping[str, str] = field(default_factory=dict)


def serve_until_interrupted() -> None:
    """Block until Ctrl-C (SIGINT). Started as a background job, a process inherits SIGINT
    ignored, and Ctrl-C (or a test's SIGINT) would not stop it: take the default back."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    with suppress(KeyboardInterrupt):
        threading.Event().wait()


def json_answer(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Answer:
    return Answer(status, json.dumps(payload, ensure_ascii=False).encode(), JSON_TYPE,
                  dict(headers or {}))


@dataclass
class Logged:
    """One request in the log; `status` None for a reset."""

    method: str
    path: str
    query: Mapping[str, str]
    start: float
    status: int | None = None
    fault: str | None = None
    end: float | None = None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], fake: LoopbackFake) -> None:
        self.fake = fake
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: the fake keeps its own log."""

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def _handle(self, method: str) -> None:
        fake = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        split = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        request = Request(method, unquote(split.path), query,
                          {k.lower(): v for k, v in self.headers.items()}, body)
        logged, fault, arg = fake._begin(request)
        try:
            self._serve(fake, request, logged, fault, arg)
        except OSError:
            self.close_connection = True
        finally:
            fake._finish(logged)

    def _serve(self, fake: LoopbackFake, request: Request, logged: Logged, fault: str | None,
               arg: float | None) -> None:
        if fault is None:
            self._send(logged, fake.answer(request))
        elif fault in ("500", "502", "503"):
            headers = {"Retry-After": f"{arg:g}"} if arg is not None else {}
            self._send(logged, Answer(int(fault), _HTML, HTML_TYPE, headers))
        elif fault == "429":
            self._send(logged, json_answer(429, {"message": "Too Many Requests"},
                                           {"Retry-After": f"{arg if arg is not None else 1:g}"}))
        elif fault == "429-bare":
            self._send(logged, json_answer(429, {"message": "Too Many Requests"}))
        elif fault == "truncated":
            answer = fake.answer(request)
            self._send(logged, Answer(answer.status, answer.body[: max(1, len(answer.body) // 2)],
                                      answer.content_type, answer.headers))
        elif fault == "html":
            self._send(logged, Answer(200, _HTML, HTML_TYPE))
        elif fault == "slow":
            if fake._stopping.wait(arg if arg is not None else 1.0):
                return
            self._send(logged, fake.answer(request))
        else:  # reset
            self.close_connection = True
            with suppress(OSError):
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
            with suppress(OSError):
                self.connection.close()

    def _send(self, logged: Logged, answer: Answer) -> None:
        fake = self.server.fake
        lines = [f"HTTP/1.1 {answer.status} {self.responses.get(answer.status, ('',))[0]}",
                 f"Date: {fake._date_header()}", f"Content-Type: {answer.content_type}",
                 f"Content-Length: {len(answer.body)}"]
        lines += [f"{k}: {v}" for k, v in answer.headers.items()]
        logged.status = answer.status
        fake._finish(logged)
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + answer.body)


class LoopbackFake:
    """Base of the JSON fakes: start/stop, `url`, the log, faults. Subclasses answer."""

    name = "fake"

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, prefix: str = "",
                 date: dt.datetime | None = FROZEN_DATE, fault_rate: float = 0.0,
                 fault_kinds: Iterable[str] = ("503", "429", "reset"), seed: int = 0) -> None:
        self.host = host
        self.port = port
        self.prefix = prefix.rstrip("/")
        self.date = date
        self.fault_rate = fault_rate
        self.fault_kinds = tuple(fault_kinds)
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._faults: collections.deque[tuple[str, float | None]] = collections.deque()
        self._log: list[Logged] = []
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> LoopbackFake:
        server = _Server((self.host, self.port), self)
        self.port = server.server_address[1]
        self._server = server
        self._stopping.clear()
        self._thread = threading.Thread(target=server.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name=f"{self.name}-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError(f"{self.name} is not running; call start() first")
        return f"http://{self.host}:{self.port}{self.prefix}"

    # -- faults and log --------------------------------------------------------------------

    def enqueue_faults(self, specs: Iterable[str]) -> None:
        """Script the next requests' faults in order: "503", "ok", "429:2", "slow:0.5"."""
        parsed = []
        for spec in specs:
            kind, _, arg = spec.partition(":")
            if kind not in (*FAULTS, "ok"):
                raise ValueError(f"unknown fault {kind!r}")
            parsed.append((kind, float(arg) if arg else None))
        with self._lock:
            self._faults.extend(parsed)

    @property
    def log(self) -> tuple[Logged, ...]:
        with self._lock:
            return tuple(self._log)

    @property
    def request_count(self) -> int:
        with self._lock:
            return len(self._log)

    def statuses(self) -> dict[int | None, int]:
        with self._lock:
            return dict(collections.Counter(entry.status for entry in self._log))

    def reset_log(self) -> None:
        with self._lock:
            self._log = []

    def _begin(self, request: Request) -> tuple[Logged, str | None, float | None]:
        with self._lock:
            fault: tuple[str, float | None] | None = None
            if self._faults:
                fault = self._faults.popleft()
            elif self.fault_rate and self._rng.random() < self.fault_rate:
                fault = (self._rng.choice(self.fault_kinds), None)
            kind, arg = fault if fault is not None and fault[0] != "ok" else (None, None)
            logged = Logged(request.method, request.path, request.query, time.monotonic(),
                            fault=kind)
            self._log.append(logged)
            return logged, kind, arg

    def _finish(self, logged: Logged) -> None:
        with self._lock:
            if logged.end is None:
                logged.end = time.monotonic()

    def _date_header(self) -> str:
        when = self.date if self.date is not None else dt.datetime.now(dt.UTC)
        return email.utils.format_datetime(when.astimezone(dt.UTC), usegmt=True)

    def route(self, path: str) -> str | None:
        """The path below the fake's prefix, or None when the request is outside it."""
        if self.prefix and not path.startswith(self.prefix + "/"):
            return None
        return path[len(self.prefix):]

    # -- answering -------------------------------------------------------------------------

    def answer(self, request: Request) -> Answer:  # pragma: no cover - abstract
        raise NotImplementedError

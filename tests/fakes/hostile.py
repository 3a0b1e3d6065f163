"""Hostile loopback servers: what a broken or malicious arXiv or GitHub does to a client.

`HostileServer` listens on 127.0.0.1 and answers every request by its `behaviour`. A behaviour
returns a `Reply` to send, or None to let the request through to the `upstream` service (the
loopback `FakeArxiv` or `FakeGitHub`), so one hostile trait can sit in front of an otherwise
ordinary service and the server works as either endpoint (`ARXIV_API_URL=server.url +
"/api/query"`, `GITHUB_API_URL=server.url`):

* `Trickle`     the status line and headers and/or the body one byte per `interval`, for ever
                if asked: httpx's timeouts restart with every byte, only a total deadline ends it;
* `RefuseLong`  414 (or 503, as arXiv's front end answers) to a request whose URL or body is
                longer than `limit` bytes; shorter ones pass;
* `Huge`        a 200 of `size` bytes, declared or not (then it ends only when the client
                hangs up);
* `Malformed`   broken XML or JSON with an honest length, HTML with a 200, JSON labelled as
                text, bytes that are not text at all;
* `Rewrite`     the upstream's JSON answer changed on the way (an `html_url` carrying BibTeX, a
                licence that is a sentence).

Every request is logged (`seen`: method, path, sizes, what was done). `stop()` cuts open
connections, so a trickle never outlives its test. The module never imports `enrich`: a fake
that shared the code under test would hide its bugs.
"""

from __future__ import annotations

import http.client
import itertools
import json
import socket
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

ATOM = "application/atom+xml; charset=utf-8"
JSON = "application/json; charset=utf-8"
HTML = "text/html; charset=utf-8"
TEXT = "text/plain; charset=utf-8"

_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length",
                         "proxy-connection", "upgrade", "te", "trailer", "host",
                         "accept-encoding"})


@dataclass(frozen=True)
class Incoming:
    """One request as received: `target` is the path with its query string."""

    method: str
    target: str
    headers: Mapping[str, str]
    body: bytes

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def size(self) -> int:
        """What a URL-length limit counts: the request line's target plus the body."""
        return len(self.target.encode("latin-1", "replace")) + len(self.body)


@dataclass(frozen=True)
class Reply:
    """What to send. `body` is bytes or an iterable of chunks (possibly endless); `length`
    is the Content-Length to declare (None: none, the body ends with the connection).
    `head_interval` / `body_interval` > 0 send that part one byte at a time."""

    status: int
    content_type: str = TEXT
    body: bytes | Iterable[bytes] = b""
    length: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    head_interval: float = 0.0
    body_interval: float = 0.0
    action: str = ""


Behaviour = Callable[[Incoming], Reply | None]


# ----------------------------------------------------------------------------------------------
# Behaviours


def _endless(chunk: bytes) -> Iterator[bytes]:
    return itertools.repeat(chunk)


@dataclass(frozen=True)
class Trickle:
    """Every request (or those `when` picks) is answered one byte per `interval`: the status
    line and headers when `head`, the body when `body_too`. The body is `body`, repeated for
    ever when `endless` (with no declared length: a plausible answer that never ends)."""

    interval: float = 0.2
    head: bool = True
    body_too: bool = True
    body: bytes = b'{"message": "slowly"}'
    content_type: str = JSON
    endless: bool = True
    when: Callable[[Incoming], bool] | None = None

    def __call__(self, request: Incoming) -> Reply | None:
        if self.when is not None and not self.when(request):
            return None
        body: bytes | Iterable[bytes] = _endless(self.body) if self.endless else self.body
        length = None if self.endless else len(self.body)
        return Reply(200, self.content_type, body, length,
                     head_interval=self.interval if self.head else 0.0,
                     body_interval=self.interval if self.body_too else 0.0, action="trickle")


@dataclass(frozen=True)
class RefuseLong:
    """arXiv's front end: a request longer than `limit` bytes (URL target plus body) gets
    `status` (414 URI Too Long, or 503 as arXiv often answers) and an HTML page."""

    limit: int = 8_000
    status: int = 414

    def __call__(self, request: Incoming) -> Reply | None:
        if request.size <= self.limit:
            return None
        page = (f"<html><head><title>{self.status}</title></head><body><h1>Request too long"
                "</h1></body></html>\n").encode()
        return Reply(self.status, HTML, page, len(page), action=f"refused {request.size} bytes")


@dataclass(frozen=True)
class Huge:
    """A 200 of `size` bytes of `content_type` that starts like the real thing; with
    `declare_length=False` it declares no length and never ends."""

    size: int = 64 * 2**20
    content_type: str = ATOM
    declare_length: bool = True
    when: Callable[[Incoming], bool] | None = None

    def __call__(self, request: Incoming) -> Reply | None:
        if self.when is not None and not self.when(request):
            return None
        start = (b'<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.w3.org/2005/'
                 b'Atom"><title>' if "xml" in self.content_type else b'{"message": "')
        filler = b"A" * 2**16

        def chunks() -> Iterator[bytes]:
            yield start
            if not self.declare_length:
                yield from _endless(filler)
            left = self.size - len(start)
            while left > 0:
                yield filler[:left]
                left -= len(filler)

        return Reply(200, self.content_type, chunks(),
                     self.size if self.declare_length else None, action="huge")


# name: (status, content type, body) — each honest about its length, wrong in its content.
MALFORMED: dict[str, tuple[int, str, bytes]] = {
    "xml-cut": (200, ATOM, b'<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.'
                           b'w3.org/2005/Atom"><opensearch:totalResults xmlns:opensearch="http:/'
                           b'/a9.com/-/spec/opensearch/1.1/">3</opensearch:totalResults><entry>'
                           b'<id>http://arxiv.org/abs/2401.0'),
    "xml-not-atom": (200, ATOM, b'<?xml version="1.0"?><html><body>maintenance</body></html>'),
    "json-cut": (200, JSON, b'{"full_name": "x/y", "html_url": "https://github.com/x/y", "stargaz'),
    "json-not-object": (200, JSON, b'["full_name", "x/y"]'),
    "html-200": (200, HTML, b"<!DOCTYPE html><html><body><h1>Something went wrong</h1></body>"
                            b"</html>\n"),
    "json-as-text": (200, TEXT, b'{"full_name": "x/y", "html_url": "https://github.com/x/y"}'),
    "binary": (200, ATOM, bytes(range(256)) * 4),
}


@dataclass(frozen=True)
class Malformed:
    """Every request (or those `when` picks) gets the `MALFORMED[kind]` answer."""

    kind: str
    when: Callable[[Incoming], bool] | None = None

    def __call__(self, request: Incoming) -> Reply | None:
        if self.when is not None and not self.when(request):
            return None
        status, content_type, body = MALFORMED[self.kind]
        return Reply(status, content_type, body, len(body), action=f"malformed {self.kind}")


@dataclass(frozen=True)
class Rewrite:
    """Forward to the upstream, then pass its JSON answer through `change` (for the requests
    `when` picks): a service answering with hostile strings in well-formed documents."""

    change: Callable[[Any], Any]
    when: Callable[[Incoming], bool] | None = None

    def __call__(self, request: Incoming) -> Reply | None:
        return None  # handled after forwarding (see HostileServer._rewrite)


def first_of(*behaviours: Behaviour) -> Behaviour:
    """The first behaviour that answers; None (forward) when none does."""
    def pick(request: Incoming) -> Reply | None:
        for behaviour in behaviours:
            if (reply := behaviour(request)) is not None:
                return reply
        return None

    return pick


# ----------------------------------------------------------------------------------------------
# The server


@dataclass(frozen=True)
class Seen:
    """One request as the hostile server saw it, and what it did."""

    method: str
    path: str
    size: int
    action: str


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], owner: HostileServer) -> None:
        self.owner = owner
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Hostile/1.0"
    timeout = 30
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: the server keeps its own log."""

    def setup(self) -> None:
        super().setup()
        self.server.owner._track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.owner._untrack(self.connection)

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_HEAD(self) -> None:
        self._handle()

    def _handle(self) -> None:
        owner = self.server.owner
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Incoming(self.command, self.path, dict(self.headers.items()), body)
        try:
            reply = owner.behaviour(request)
            if reply is None:
                reply = owner._forward(request)
            owner._log(Seen(self.command, request.path, request.size, reply.action))
            self._send(reply)
        except OSError:
            self.close_connection = True  # the client hung up (a deadline, a size limit)

    def _send(self, reply: Reply) -> None:
        stopping = self.server.owner._stopping
        reason = self.responses.get(reply.status, ("",))[0]
        lines = [f"HTTP/1.1 {reply.status} {reason}", f"Server: {self.server_version}",
                 f"Content-Type: {reply.content_type}",
                 *(f"{k}: {v}" for k, v in reply.headers.items())]
        if reply.length is not None:
            lines.append(f"Content-Length: {reply.length}")
        hostile = reply.action not in ("", "forwarded")
        if hostile or reply.length is None:
            self.close_connection = True
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self._write(head, reply.head_interval, stopping)
        chunks = [reply.body] if isinstance(reply.body, bytes) else reply.body
        for chunk in chunks:
            if stopping.is_set():
                return
            self._write(chunk, reply.body_interval, stopping)

    def _write(self, data: bytes, interval: float, stopping: threading.Event) -> None:
        if interval <= 0:
            self.wfile.write(data)
            return
        for i in range(len(data)):
            if stopping.wait(interval):
                raise OSError("the server is stopping")
            self.wfile.write(data[i:i + 1])
            self.wfile.flush()


class HostileServer:
    """A loopback server with a hostile `behaviour`, in front of an optional `upstream`
    (`http://127.0.0.1:PORT`; a path in it is ignored, the request's own path is forwarded).

    Use as a context manager. `url` is the base URL; `seen` the requests received.
    """

    def __init__(self, behaviour: Behaviour, *, upstream: str | None = None) -> None:
        self.behaviour = behaviour
        self._upstream = urlsplit(upstream) if upstream else None
        self._lock = threading.Lock()
        self._seen: list[Seen] = []
        self._connections: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> HostileServer:
        self._stopping.clear()
        self._server = _Server(("127.0.0.1", 0), self)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True,
                                        name=f"hostile-{self.port}")
        self._thread.start()
        return self

    def stop(self) -> None:
        server = self._server
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> HostileServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the server is not running")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def seen(self) -> tuple[Seen, ...]:
        with self._lock:
            return tuple(self._seen)

    def _log(self, seen: Seen) -> None:
        with self._lock:
            self._seen.append(seen)

    def _track(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.add(conn)

    def _untrack(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.discard(conn)

    def _forward(self, request: Incoming) -> Reply:
        if self._upstream is None:
            body = b"nothing behind this server\n"
            return Reply(502, TEXT, body, len(body), action="forwarded")
        up = self._upstream
        conn = http.client.HTTPConnection(up.hostname or "127.0.0.1", up.port or 80, timeout=60)
        try:
            headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
            conn.request(request.method, request.target, body=request.body or None,
                         headers=headers)
            answer = conn.getresponse()
            body = answer.read()
            status = answer.status
            theirs = {k: v for k, v in answer.getheaders() if k.lower() not in _HOP_BY_HOP}
        finally:
            conn.close()
        base = f"{up.scheme}://{up.netloc}"
        content_type = theirs.pop("Content-Type", TEXT)
        # Redirects point back at this server, not past it.
        theirs = {k: v.replace(base, self.url) for k, v in theirs.items()}
        body, action = self._rewrite(request, content_type, body)
        return Reply(status, content_type, body, len(body), theirs, action=action)

    def _rewrite(self, request: Incoming, content_type: str, body: bytes) -> tuple[bytes, str]:
        behaviour = self.behaviour
        rewrites = [behaviour] if isinstance(behaviour, Rewrite) else []
        for rewrite in rewrites:
            if "json" in content_type and (rewrite.when is None or rewrite.when(request)):
                changed = rewrite.change(json.loads(body))
                return json.dumps(changed).encode(), "rewritten"
        return body, "forwarded"

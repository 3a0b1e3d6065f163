"""HTTP plumbing (enrich.net.http): client policy, bounded bodies, Retry-After, safe URLs, and
one exchange — all over `httpx.MockTransport`, no sockets."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from enrich.errors import BadResponseError
from enrich.net.http import (
    MAX_ERROR_BODY,
    TransientError,
    UnreachableError,
    exchange,
    make_client,
    public_url,
    read_bounded,
    retry_after_seconds,
)

Handler = Callable[[httpx.Request], httpx.Response]


class Chunks(httpx.SyncByteStream):
    """A response body sent in chunks, counting how many were read; optionally failing."""

    def __init__(self, chunks: list[bytes], *, fail_after: int | None = None,
                 on_chunk: Callable[[], None] | None = None) -> None:
        self.chunks = chunks
        self.fail_after = fail_after
        self.on_chunk = on_chunk
        self.read = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.chunks:
            if self.fail_after is not None and self.read >= self.fail_after:
                raise httpx.ReadError("connection reset")
            self.read += 1
            if self.on_chunk is not None:
                self.on_chunk()
            yield chunk


def client_for(handler: Handler, **options: object) -> httpx.Client:
    values: dict[str, object] = {"user_agent": "digest-enrich-tests/0", "timeout": 5.0}
    values.update(options)
    return make_client(transport=httpx.MockTransport(handler), **values)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------------------------
# make_client


def test_the_client_sends_the_user_agent_and_extra_headers() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    with client_for(handler, headers={"Accept": "application/atom+xml"},
                    base_url="https://api.example.test/v1") as http:
        http.get("/things")
    [request] = seen
    assert request.headers["user-agent"] == "digest-enrich-tests/0"
    assert request.headers["accept"] == "application/atom+xml"
    assert str(request.url) == "https://api.example.test/v1/things"


def test_the_client_follows_no_redirect_and_ignores_the_environment() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(str(request.url))
        return httpx.Response(301, headers={"Location": "https://elsewhere.test/"})

    with client_for(handler) as http:
        response = http.get("https://api.example.test/repos/a/b")
        assert http.trust_env is False
        assert http.follow_redirects is False
    assert response.status_code == 301
    assert calls == ["https://api.example.test/repos/a/b"]


@pytest.mark.parametrize(("timeout", "connect"), [(30.0, 10.0), (5.0, 5.0)], ids=str)
def test_connecting_never_waits_longer_than_ten_seconds(timeout: float, connect: float) -> None:
    with client_for(lambda r: httpx.Response(200), timeout=timeout) as http:
        assert http.timeout == httpx.Timeout(timeout, connect=connect)


# ----------------------------------------------------------------------------------------------
# read_bounded


def _stream(http: httpx.Client,
            url: str = "https://x.test/a") -> contextlib.AbstractContextManager[httpx.Response]:
    return http.stream("GET", url)


def test_a_body_within_the_limit_is_read_whole() -> None:
    body = Chunks([b"abc", b"d"])
    with client_for(lambda r: httpx.Response(200, stream=body)) as http, _stream(http) as resp:
        assert read_bounded(resp, service="S", limit=4) == b"abcd"


def test_a_declared_length_over_the_limit_is_refused_unread() -> None:
    body = Chunks([b"abcde"])
    declared = httpx.Response(200, headers={"content-length": "5"}, stream=body)
    with client_for(lambda r: declared) as http, \
            _stream(http, "https://x.test/a?token=s3cret") as resp, \
            pytest.raises(BadResponseError,
                          match="response of 5 bytes exceeds the 4-byte limit") as caught:
        read_bounded(resp, service="S", limit=4)
    assert body.read == 0
    assert caught.value.status == 200
    assert caught.value.service == "S"
    assert caught.value.url == "https://x.test/a?token=%2A%2A%2A"


def test_a_body_without_length_is_cut_off_once_it_passes_the_limit() -> None:
    body = Chunks([b"ab", b"cd", b"e", b"never read"])
    with client_for(lambda r: httpx.Response(200, stream=body)) as http, _stream(http) as resp:
        assert "content-length" not in resp.headers
        with pytest.raises(BadResponseError, match="response exceeds the 4-byte limit"):
            read_bounded(resp, service="S", limit=4)
    assert body.read == 3


def test_a_body_exactly_at_the_limit_is_accepted() -> None:
    with client_for(lambda r: httpx.Response(200, stream=Chunks([b"ab", b"cd"]))) as http, \
            _stream(http) as resp:
        assert read_bounded(resp, service="S", limit=4) == b"abcd"


# ----------------------------------------------------------------------------------------------
# retry_after_seconds

# Wed, 21 Oct 2015 07:28:00 GMT
WHEN = 1445412480.0


@pytest.mark.parametrize(("headers", "now", "seconds"), [
    ({"retry-after": "120"}, None, 120.0),
    ({"retry-after": " 7 "}, None, 7.0),
    ({"retry-after": "0"}, None, 0.0),
    (httpx.Headers({"Retry-After": "30"}), None, 30.0),
    ({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, WHEN - 80, 80.0),
    ({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, WHEN, 0.0),
    ({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, WHEN + 100, 0.0),  # in the past
    ({}, None, None),
    ({"retry-after": ""}, None, None),
    ({"retry-after": "soon"}, None, None),
    ({"retry-after": "-5"}, None, None),
    ({"retry-after": "1.5"}, None, None),  # delta-seconds are whole numbers
], ids=["delta", "padded", "zero", "headers-object", "date-ahead", "date-now", "date-past",
        "missing", "empty", "words", "negative", "fraction"])
def test_retry_after_is_read_as_seconds_or_an_http_date(headers: dict[str, str],
                                                        now: float | None,
                                                        seconds: float | None) -> None:
    assert retry_after_seconds(headers, now=now) == seconds


def test_an_http_date_is_measured_from_the_clock_when_no_now_is_given() -> None:
    ahead = time.time() + 3600
    header = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(ahead))
    seconds = retry_after_seconds({"retry-after": header})
    assert seconds is not None
    assert 3590 <= seconds <= 3600


# ----------------------------------------------------------------------------------------------
# public_url


@pytest.mark.parametrize(("url", "shown"), [
    ("https://user:pw@api.example.org/x", "https://api.example.org/x"),
    ("https://user@api.example.org/x", "https://api.example.org/x"),
    ("https://api.example.org/x?access_token=abc&q=1",
     "https://api.example.org/x?access_token=%2A%2A%2A&q=1"),
    ("https://api.example.org/x?Token=t", "https://api.example.org/x?Token=%2A%2A%2A"),
    ("https://api.example.org/x?API_KEY=k&client_secret=s",
     "https://api.example.org/x?API_KEY=%2A%2A%2A&client_secret=%2A%2A%2A"),
    ("https://api.example.org/x?key=s3cret", "https://api.example.org/x?key=%2A%2A%2A"),
    ("https://export.arxiv.org/api/query?search_query=ti%3A%22a%22&max_results=5",
     "https://export.arxiv.org/api/query?search_query=ti%3A%22a%22&max_results=5"),
    ("/repos/a/b?token=x", "/repos/a/b?token=%2A%2A%2A"),
], ids=["user-and-password", "user", "access_token", "case", "api_key-and-secret", "key",
        "untouched", "relative"])
def test_public_urls_carry_no_credentials(url: str, shown: str) -> None:
    assert public_url(url) == shown
    assert public_url(httpx.URL(url)) == shown


# ----------------------------------------------------------------------------------------------
# exchange


class RecordingGate:
    """A gate that says whether it is held, and waits `delay` seconds before letting through."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.held = False
        self.passes = 0

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        if self.delay:
            time.sleep(self.delay)
        self.held = True
        self.passes += 1
        try:
            yield
        finally:
            self.held = False


def test_the_gate_is_held_from_sending_to_the_last_byte() -> None:
    gate = RecordingGate(delay=0.02)
    held: list[tuple[str, bool]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        held.append(("send", gate.held))
        return httpx.Response(200, stream=Chunks(
            [b"ab", b"cd"], on_chunk=lambda: held.append(("read", gate.held))))

    with client_for(handler, base_url="https://api.example.test") as http:
        reply = exchange(http, "POST", "/q", service="S", gate=gate, content=b"x=1",
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert held == [("send", True), ("read", True), ("read", True)]
    assert gate.held is False
    assert gate.passes == 1
    assert (reply.status, reply.body, reply.url) == (200, b"abcd", "https://api.example.test/q")
    assert reply.gate_wait >= 0.02


def test_without_a_gate_nothing_is_waited() -> None:
    with client_for(lambda r: httpx.Response(204)) as http:
        reply = exchange(http, "GET", "https://x.test/", service="S")
    assert (reply.status, reply.body, reply.gate_wait) == (204, b"", 0.0)


def test_the_request_carries_method_headers_and_body() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, headers={"ETag": '"v1"'}, content=b"{}")

    with client_for(handler) as http:
        reply = exchange(http, "POST", "https://x.test/graphql", service="S",
                         headers={"If-None-Match": '"v0"'}, content=b'{"query": 1}')
    [request] = seen
    assert (request.method, request.headers["if-none-match"], request.content) == (
        "POST", '"v0"', b'{"query": 1}')
    assert reply.headers["etag"] == '"v1"'


def test_a_redirect_is_returned_not_followed() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return httpx.Response(301, headers={"Location": "/repositories/1"}, content=b"moved")

    with client_for(handler) as http:
        reply = exchange(http, "GET", "https://x.test/repos/a/b", service="S")
    assert (reply.status, reply.headers["location"], reply.body) == (301, "/repositories/1",
                                                                     b"moved")
    assert calls == ["/repos/a/b"]


def test_an_error_body_is_cut_at_max_error_body_and_the_rest_left_unread() -> None:
    chunk = b"x" * 4096
    body = Chunks([chunk] * (2 * MAX_ERROR_BODY // len(chunk)))
    with client_for(lambda r: httpx.Response(503, stream=body)) as http:
        reply = exchange(http, "GET", "https://x.test/", service="S", limit=10)
    assert reply.status == 503
    assert len(reply.body) == MAX_ERROR_BODY
    assert body.read == MAX_ERROR_BODY // len(chunk)


def test_an_error_body_that_breaks_off_keeps_what_arrived() -> None:
    body = Chunks([b"Service ", b"Unavailable"], fail_after=1)
    with client_for(lambda r: httpx.Response(500, stream=body)) as http:
        reply = exchange(http, "GET", "https://x.test/", service="S")
    assert (reply.status, reply.body) == (500, b"Service ")


@pytest.mark.parametrize("status", [200, 301], ids=str)
def test_an_oversized_answer_is_refused(status: int) -> None:
    with client_for(lambda r: httpx.Response(status, content=b"x" * 11)) as http, \
            pytest.raises(BadResponseError, match="exceeds the 10-byte limit") as caught:
        exchange(http, "GET", "https://x.test/a?access_token=t0k", service="GitHub", limit=10)
    assert caught.value.status == status
    assert "t0k" not in str(caught.value)


@pytest.mark.parametrize("error", [httpx.ConnectError, httpx.ConnectTimeout],
                         ids=lambda e: e.__name__)
def test_no_connection_is_unreachable(error: type[httpx.TransportError]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error("no route", request=request)

    with client_for(handler) as http, pytest.raises(UnreachableError) as caught:
        exchange(http, "GET", "https://x.test/a", service="S")
    assert caught.value.kind == "unreachable"
    assert caught.value.reason == f"cannot connect ({error.__name__})"
    assert caught.value.url == "https://x.test/a"
    assert caught.value.__cause__ is None


@pytest.mark.parametrize("error", [httpx.ReadTimeout, httpx.WriteTimeout, httpx.PoolTimeout],
                         ids=lambda e: e.__name__)
def test_a_timeout_is_transient_but_not_unreachable(error: type[httpx.TransportError]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error("slow", request=request)

    with client_for(handler) as http, pytest.raises(TransientError) as caught:
        exchange(http, "GET", "https://x.test/a", service="S")
    assert not isinstance(caught.value, UnreachableError)
    assert caught.value.kind == "timeout"
    assert caught.value.reason == f"timed out ({error.__name__})"


def test_a_body_that_breaks_off_on_success_is_a_transient_transport_failure() -> None:
    body = Chunks([b"<feed>", b"</feed>"], fail_after=1)
    with client_for(lambda r: httpx.Response(200, stream=body)) as http, \
            pytest.raises(TransientError) as caught:
        exchange(http, "GET", "https://x.test/a", service="S")
    assert caught.value.kind == "transport"
    assert caught.value.reason == "connection failed (ReadError)"


def test_the_gate_is_released_when_the_exchange_fails() -> None:
    gate = RecordingGate()

    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with client_for(handler) as http, pytest.raises(UnreachableError):
        exchange(http, "GET", "https://x.test/a", service="S", gate=gate)
    assert (gate.passes, gate.held) == (1, False)

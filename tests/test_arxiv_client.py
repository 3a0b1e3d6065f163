"""The arXiv client: one gate, polite requests, stubborn retries, hostile answers refused.

Unit tests swap the transport (`httpx.MockTransport`, `tests/support/transports.py`): searches
are answered by the fake arXiv's query engine in process, faults and hostile answers by small
handlers and recorded feeds. The gate and the retries run on a fake clock, so every wait is
recorded and none is slept.

Five tests use real sockets, because what they check only exists there: against the loopback
`FakeArxiv`, the process-wide gate (real time by design) seen by a server from several threads
and clients, and only ever tightening; a read timeout firing on a slow server; a real TCP reset.
And a connection to a closed port.
"""

from __future__ import annotations

import contextlib
import pickle
import resource
import socket
import threading
import time
from collections.abc import Callable, Iterator
from urllib.parse import urlencode

import httpx
import pytest

from enrich.errors import BadResponseError, ServiceUnavailableError
from enrich.net.gate import SAFETY_MARGIN, IntervalGate, process_gate, reset_process_gates
from enrich.net.http import MAX_BODY_BYTES, make_client
from enrich.resolve.arxiv_client import ArxivClient
from enrich.settings import Settings
from tests.fakes.arxiv_api import FakeArxiv, Index
from tests.fakes.arxiv_corpus import load_corpus
from tests.support.clock import START, Clock
from tests.support.transports import (
    ATOM,
    Script,
    answers,
    arxiv_rate_limited,
    arxiv_search,
    arxiv_unavailable,
    atom,
    connection_reset,
    cut,
    empty_feed,
    error_page,
    retyped,
    timed_out,
)

INTERVAL = 0.03
SEED_IDS = sorted(p.arxiv_id for p in load_corpus() if p.seed is not None)
# Fabricated identifiers that no paper has (the corpus uses 9xxxx numbers for its decoys).
UNKNOWN_IDS = [f"2301.{80000 + n:05d}" for n in range(240)]
SEARCH = arxiv_search(Index(load_corpus()))


@pytest.fixture(autouse=True)
def fresh_process_gates() -> Iterator[None]:
    reset_process_gates()
    yield
    reset_process_gates()


def settings_for(url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "arxiv_api_url": url, "arxiv_min_interval": INTERVAL, "arxiv_max_attempts": 6,
        "arxiv_retry_budget": 10.0, "arxiv_timeout": 5.0,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def moving(clock: Clock) -> Callable[[float], None]:
    """A sleep that lets fake time pass without recording it (the gate's, apart from retries)."""
    def sleep(seconds: float) -> None:
        clock.now += seconds

    return sleep


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_client_for(clock: Clock) -> Iterator[Callable[..., tuple[ArxivClient, Script]]]:
    """`make_client_for(*steps, then=SEARCH, …)`: a client answered by a script on `clock`.

    Its gate and retries run on the fake clock (retry waits land in `clock.sleeps`, the gate's
    do not). Afterwards every request it made must have set `max_results` (arXiv's raw default
    of 10 silently cuts id_lists).
    """
    made: list[tuple[ArxivClient, Script]] = []

    def build(*steps: object, then: object = SEARCH, interval: float = INTERVAL,
              max_attempts: int = 6, retry_budget: float = 10.0, confirm_empty: int = 1,
              backoff: float | None = None) -> tuple[ArxivClient, Script]:
        script = answers(*steps, then=then, clock=clock.time)  # type: ignore[arg-type]
        http = make_client(user_agent="digest-enrich-tests/0 (+https://example.invalid)",
                           timeout=5.0, max_connections=1, transport=script.transport,
                           headers={"Accept": "application/atom+xml"})
        client = ArxivClient(api_url="https://export.arxiv.test/api/query", http=http,
                             gate=IntervalGate(interval, clock=clock.time, sleep=moving(clock)),
                             min_interval=interval, max_attempts=max_attempts,
                             retry_budget=retry_budget, confirm_empty=confirm_empty,
                             backoff=backoff, sleep=clock.sleep, clock=clock.time)
        made.append((client, script))
        return client, script

    yield build
    for client, script in made:
        client.close()
        assert all(p.get("max_results", "").isdigit() for p in script.params), script.params


# ----------------------------------------------------------------------------------------------
# What is asked, and how


def test_requests_carry_a_descriptive_user_agent_with_the_contact() -> None:
    script = answers(then=SEARCH)
    settings = settings_for("https://export.arxiv.test/api/query",
                            digest_enrich_contact="ops@example.org")
    client = ArxivClient.from_settings(settings, gate=IntervalGate(0.0),
                                       transport=script.transport)
    try:
        client.by_ids(["2408.03230"])
        client.search('ti:"contrastive"', max_results=3)
    finally:
        client.close()
    assert len(script.requests) == 2
    assert all(p["max_results"].isdigit() for p in script.params)
    for request in script.requests:
        agent = request.headers["user-agent"]
        assert agent.startswith("digest-enrich/")
        assert "+https://" in agent
        assert "mailto:ops@example.org" in agent
        assert "python-httpx" not in agent and "python-requests" not in agent
        assert "atom" in request.headers["accept"]


def test_search_sets_max_results_and_returns_todays_metadata(
        make_client_for: Callable[..., tuple[ArxivClient, Script]]) -> None:
    client, script = make_client_for()
    page = client.search('ti:"img diff contrastive data synthesis"', max_results=5)
    (request,) = script.requests
    assert script.params[0]["max_results"] == "5"
    assert request.method == "GET"
    paper = next(p for p in page.papers if p.arxiv_id == "2408.04594")
    # The latest version is what arXiv serves: v3, with the author added after the digest.
    assert paper.version == 3
    assert "Ying Shen" in paper.authors or len(paper.authors) == 6
    assert paper.published.date().isoformat() == "2024-08-08"
    assert page.total_results >= len(page.papers)


def test_by_ids_asks_for_exactly_as_many_results_as_ids_and_omits_unknown_ones(
        make_client_for: Callable[..., tuple[ArxivClient, Script]]) -> None:
    client, script = make_client_for()
    page = client.by_ids([*SEED_IDS, "2301.80001"])
    (params,) = script.params
    assert params["max_results"] == str(len(SEED_IDS) + 1)
    assert sorted(p.arxiv_id for p in page.papers) == SEED_IDS
    assert client.by_ids([]).papers == ()
    assert len(script.requests) == 1  # nothing asked for nothing


def test_long_id_lists_go_by_post_and_short_ones_by_get(
        make_client_for: Callable[..., tuple[ArxivClient, Script]]) -> None:
    client, script = make_client_for()
    short = client.by_ids(SEED_IDS[:3])
    long = client.by_ids([*SEED_IDS, *UNKNOWN_IDS])
    first, second = script.requests
    assert first.method == "GET"
    assert second.method == "POST"
    params = script.params[1]
    assert params["id_list"].count(",") == len(SEED_IDS) + len(UNKNOWN_IDS) - 1
    assert params["max_results"] == str(len(SEED_IDS) + len(UNKNOWN_IDS))
    # A GET of this size would risk 414; the POST form carries the same parameters.
    assert len(urlencode(params)) > 2000
    assert not second.url.query
    assert len(short.papers) == 3
    assert sorted(p.arxiv_id for p in long.papers) == SEED_IDS


def test_long_search_queries_go_by_post(
        make_client_for: Callable[..., tuple[ArxivClient, Script]]) -> None:
    client, script = make_client_for()
    clauses = [f'ti:"contrastive learning variant number {n}"' for n in range(60)]
    page = client.search(" OR ".join([*clauses, 'ti:"energy based contrastive learning"']),
                         max_results=50)
    (request,) = script.requests
    assert request.method == "POST"
    assert "2202.04933" in {p.arxiv_id for p in page.papers}


# ----------------------------------------------------------------------------------------------
# The gate


def test_retries_pass_the_gate_too(
        make_client_for: Callable[..., tuple[ArxivClient, Script]]) -> None:
    # Backoff shorter than the interval must not let a retry jump the queue.
    client, script = make_client_for(arxiv_unavailable(), arxiv_unavailable(),
                                      arxiv_unavailable(), interval=0.08, backoff=0.001)
    assert client.by_ids(["2408.03230"]).papers
    assert len(script.requests) == 4
    assert script.shortest_gap >= 0.08 + SAFETY_MARGIN


# ----------------------------------------------------------------------------------------------
# Transient trouble is retried


TRANSIENT = [
    ("503", arxiv_unavailable()),
    ("429 without Retry-After", arxiv_rate_limited()),
    ("empty feed", empty_feed()),
    ("truncated XML", cut(SEARCH)),
    ("HTML error page", error_page()),
    ("wrong content type", retyped(SEARCH, "text/html; charset=utf-8")),
    ("connection reset", connection_reset),
    ("timeout", timed_out),
]


@pytest.mark.parametrize("fault", [t[1] for t in TRANSIENT], ids=[t[0] for t in TRANSIENT])
def test_transient_trouble_is_retried_and_the_answer_arrives(
        make_client_for: Callable[..., tuple[ArxivClient, Script]], clock: Clock,
        fault: object) -> None:
    client, script = make_client_for(fault)
    page = client.by_ids(["2408.03230", "2408.05956"])
    assert sorted(p.arxiv_id for p in page.papers) == ["2408.03230", "2408.05956"]
    assert len(script.requests) == 2
    assert client.stats.retry.retries == 1
    assert len(clock.sleeps) == 1
    assert clock.sleeps[0] >= INTERVAL
    assert script.shortest_gap >= INTERVAL


def test_an_empty_search_page_that_should_have_results_is_asked_again(
        make_client_for: Callable[..., tuple[ArxivClient, Script]]) -> None:
    client, script = make_client_for(empty_feed())
    page = client.search('ti:"contrastive learning for image complexity representation"',
                         max_results=10)
    assert "2408.03230" in {p.arxiv_id for p in page.papers}
    assert (len(script.requests), script.unused) == (2, 0)  # the empty one, then the answer


def test_a_truly_empty_answer_is_believed_after_one_confirmation(
        make_client_for: Callable[..., tuple[ArxivClient, Script]]) -> None:
    client, script = make_client_for()
    page = client.search('ti:"no paper has this title anywhere"', max_results=10)
    assert page.papers == ()
    assert page.total_results == 0
    assert len(script.requests) == 2


def test_429_retry_after_is_honoured(make_client_for: Callable[..., tuple[ArxivClient, Script]],
                                     clock: Clock) -> None:
    client, script = make_client_for(arxiv_rate_limited(retry_after=1))
    assert client.by_ids(["2408.03230"]).papers
    assert clock.sleeps == [1.0]
    first, second = script.times
    assert second - first >= 1.0
    assert client.stats.retry.asked_wait >= 1.0  # the server asked: not our backoff
    assert client.stats.retry.backoff_wait == 0


def test_backoff_grows_between_attempts(
        make_client_for: Callable[..., tuple[ArxivClient, Script]], clock: Clock) -> None:
    client, _ = make_client_for(arxiv_unavailable(), arxiv_rate_limited(), connection_reset)
    assert client.by_ids(["2408.03230"]).papers
    assert len(clock.sleeps) == 3
    assert clock.sleeps == sorted(clock.sleeps)
    assert clock.sleeps[2] >= 4 * clock.sleeps[0]


def test_a_service_that_stays_down_fails_within_the_attempt_limit(
        make_client_for: Callable[..., tuple[ArxivClient, Script]], clock: Clock) -> None:
    client, script = make_client_for(then=arxiv_unavailable(), max_attempts=4)
    began = time.monotonic()
    with pytest.raises(ServiceUnavailableError) as caught:
        client.by_ids(["2408.03230"])
    assert time.monotonic() - began < 3.0
    assert clock.now - START < 3.0
    assert len(script.requests) == 4
    error = caught.value
    assert (error.status, error.attempts, error.service) == (503, 4, "arXiv")
    assert pickle.loads(pickle.dumps(error)).attempts == 4


def test_retrying_stops_at_the_total_time_budget(
        make_client_for: Callable[..., tuple[ArxivClient, Script]], clock: Clock) -> None:
    client, script = make_client_for(then=arxiv_unavailable(), max_attempts=100,
                                     retry_budget=0.5)
    began = time.monotonic()
    with pytest.raises(ServiceUnavailableError):
        client.by_ids(["2408.03230"])
    assert time.monotonic() - began < 1.2
    assert clock.now - START < 1.2
    assert len(script.requests) < 10


def test_a_retry_after_beyond_the_budget_is_not_waited_for(
        make_client_for: Callable[..., tuple[ArxivClient, Script]], clock: Clock) -> None:
    client, script = make_client_for(arxiv_rate_limited(retry_after=30), retry_budget=5.0)
    began = time.monotonic()
    with pytest.raises(ServiceUnavailableError) as caught:
        client.by_ids(["2408.03230"])
    assert time.monotonic() - began < 1.0
    assert clock.now - START < 1.0
    assert clock.sleeps == []
    assert caught.value.status == 429
    assert len(script.requests) == 1


# ----------------------------------------------------------------------------------------------
# Answers that are refused


@pytest.mark.parametrize("recording", ["billion-laughs.atom", "xxe.atom"])
def test_xml_with_a_dtd_is_refused_unexpanded(
        make_client_for: Callable[..., tuple[ArxivClient, Script]], recording: str) -> None:
    client, script = make_client_for(atom(recording))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    began = time.monotonic()
    with pytest.raises(BadResponseError, match="DTD") as caught:
        client.by_ids(["2408.02245"])
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kib < 100 * 1024  # 10**9 'lol's would need gigabytes
    assert time.monotonic() - began < 2.0
    assert "root:" not in str(caught.value)
    assert len(script.requests) == 1  # hostile answers are not asked for again


CHUNK = b"<!-- padding -->" * 65536  # 1 MiB


def endless(content_type: str, sent: list[int], **headers: str) -> httpx.Response:
    """200 with a body that never ends; `sent` counts the bytes handed to the client."""
    def body() -> Iterator[bytes]:
        yield b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom">'
        while True:
            sent[0] += len(CHUNK)
            yield CHUNK

    return httpx.Response(200, headers={"content-type": content_type, **headers},
                          content=body())


def test_a_gigantic_body_is_refused_by_its_declared_length(
        make_client_for: Callable[..., tuple[ArxivClient, Script]]) -> None:
    sent = [0]
    client, script = make_client_for(
        lambda _: endless(ATOM, sent, **{"content-length": str(MAX_BODY_BYTES * 2)}))
    began = time.monotonic()
    with pytest.raises(BadResponseError, match="exceeds"):
        client.by_ids(["2408.02245"])
    assert time.monotonic() - began < 5.0
    assert len(script.requests) == 1
    assert sent == [0]  # refused unread


def test_a_gigantic_body_without_a_length_is_cut_off_while_streaming(
        make_client_for: Callable[..., tuple[ArxivClient, Script]]) -> None:
    sent = [0]
    client, _ = make_client_for(lambda _: endless(ATOM, sent))
    with pytest.raises(BadResponseError, match="exceeds"):
        client.by_ids(["2408.02245"])
    assert MAX_BODY_BYTES <= sent[0] <= MAX_BODY_BYTES + 2 * len(CHUNK)


def test_an_entry_with_unreadable_fields_is_a_bad_response_not_a_crash(
        make_client_for: Callable[..., tuple[ArxivClient, Script]]) -> None:
    good = atom("2408.02245.atom")
    body = good.content.replace(b"<published>2024-08-05T12:00:00Z",
                                b"<published>the fifth of August")
    assert b"the fifth of August" in body
    client, _ = make_client_for(httpx.Response(200, headers={"content-type": ATOM},
                                               content=body))
    with pytest.raises(BadResponseError, match="unreadable entry"):
        client.by_ids(["2408.02245"])


def test_arxivs_error_feed_is_a_bad_response(
        make_client_for: Callable[..., tuple[ArxivClient, Script]]) -> None:
    client, script = make_client_for(atom("error-malformed-query.atom", status=400))
    with pytest.raises(BadResponseError) as caught:
        client.search("ti:(unbalanced", max_results=5)
    assert caught.value.status == 400
    assert len(script.requests) == 1


def test_an_unreachable_service_gives_up_quickly() -> None:
    with socket.socket() as sock:  # a port nobody listens on: a real refused connection
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    clock = Clock()
    http = make_client(user_agent="digest-enrich-tests/0", timeout=5.0, max_connections=1)
    client = ArxivClient(api_url=f"http://127.0.0.1:{port}/api/query", http=http,
                         gate=IntervalGate(INTERVAL, clock=clock.time, sleep=moving(clock)),
                         min_interval=INTERVAL, sleep=clock.sleep, clock=clock.time)
    began = time.monotonic()
    with contextlib.closing(client), \
            pytest.raises(ServiceUnavailableError, match="unreachable"):
        client.by_ids(["2408.03230"])
    assert time.monotonic() - began < 2.0
    assert client.stats.requests == 3


# ----------------------------------------------------------------------------------------------
# Over real HTTP: the process gate, a timeout, a reset


# The fake stamps a request when its handler thread reads it; on a busy machine that lands a
# few milliseconds after the client's gate opened, and not by the same amount each time. The
# fake forgives 5 ms; JITTER covers scheduling noise beyond that. A gate that lets a request
# through early misses by (nearly) the whole interval, so the checks still catch it.
JITTER = 0.01


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeArxiv]:
    with FakeArxiv() as running:
        yield running


@pytest.fixture
def live(fake: FakeArxiv) -> Iterator[FakeArxiv]:
    """The loopback fake with no faults and an empty log; afterwards, every request it saw
    set `max_results`."""
    fake.clear_faults()
    fake.fault_plan = None
    fake.reset_log()
    yield fake
    fake.wait_idle()
    api = [r for r in fake.requests if r.path == "/api/query"]
    assert all(r.params.get("max_results", "").isdigit() for r in api), api


def test_one_gate_for_every_client_and_thread_in_the_process(live: FakeArxiv) -> None:
    settings = settings_for(live.url, arxiv_min_interval=0.03)
    errors: list[BaseException] = []
    threads_n, per_thread = 4, 3
    # Slow answers make overlap likely if anything let two requests through at once.
    live.enqueue_faults(["slow:0.05"] * (threads_n * per_thread))
    start = threading.Barrier(threads_n)

    def work() -> None:
        client = ArxivClient.from_settings(settings)  # each thread builds its own client
        try:
            start.wait()
            for _ in range(per_thread):
                client.by_ids(["2408.03230"])
        except BaseException as exc:
            errors.append(exc)
        finally:
            client.close()

    threads = [threading.Thread(target=work) for _ in range(threads_n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    assert live.request_count == threads_n * per_thread
    assert live.max_in_flight == 1
    assert live.gate_violations(0.03 - JITTER) == 0
    assert process_gate("arxiv", 0.0).passes == threads_n * per_thread


def test_the_process_gate_only_ever_tightens(live: FakeArxiv) -> None:
    strict = ArxivClient.from_settings(settings_for(live.url, arxiv_min_interval=0.05))
    lax = ArxivClient.from_settings(settings_for(live.url, arxiv_min_interval=0.0))
    try:
        for _ in range(2):
            strict.by_ids(["2408.03230"])
            lax.by_ids(["2408.03230"])
    finally:
        strict.close()
        lax.close()
    assert live.gate_violations(0.05 - JITTER) == 0


def test_a_slow_server_times_out_and_is_asked_again(live: FakeArxiv) -> None:
    client = ArxivClient.from_settings(settings_for(live.url, arxiv_timeout=0.2),
                                       gate=IntervalGate(INTERVAL))
    live.enqueue_faults(["slow:0.6"])
    began = time.monotonic()
    try:
        page = client.by_ids(["2408.03230"])
    finally:
        client.close()
    assert [p.arxiv_id for p in page.papers] == ["2408.03230"]
    assert client.stats.outcomes.get("timeout") == 1
    assert time.monotonic() - began < 2.0


def test_a_real_connection_reset_is_asked_again(live: FakeArxiv) -> None:
    client = ArxivClient.from_settings(settings_for(live.url), gate=IntervalGate(INTERVAL))
    live.enqueue_faults(["reset"])
    try:
        page = client.by_ids(["2408.03230"])
    finally:
        client.close()
    assert [p.arxiv_id for p in page.papers] == ["2408.03230"]
    assert client.stats.outcomes.get("transport") == 1
    assert live.request_count == 2

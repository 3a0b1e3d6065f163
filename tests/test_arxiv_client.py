"""The arXiv client: one gate, polite requests, stubborn retries, hostile answers refused.

Everything runs over real HTTP against the loopback `FakeArxiv`; `httpx.MockTransport` is used
only where the fake cannot produce the answer (a body without Content-Length, an unreadable
date). Intervals are a few hundredths of a second so that the rules are exercised for real.
"""

from __future__ import annotations

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
from enrich.net.gate import IntervalGate, process_gate, reset_process_gates
from enrich.net.http import MAX_BODY_BYTES, make_client
from enrich.resolve.arxiv_client import ArxivClient
from enrich.settings import Settings
from tests.fakes.arxiv_api import FakeArxiv, FaultPlan, render_feed
from tests.fakes.arxiv_corpus import load_corpus

INTERVAL = 0.03
# The fake stamps a request when its handler thread reads it; on a busy machine that lands a
# few milliseconds after the client's gate opened, and not by the same amount each time. The
# fake forgives 5 ms; JITTER covers scheduling noise beyond that. A gate that lets a request
# through early misses by (nearly) the whole interval, so the checks still catch it.
JITTER = 0.01
SEED_IDS = sorted(p.arxiv_id for p in load_corpus() if p.seed is not None)
# Fabricated identifiers that no paper has (the corpus uses 9xxxx numbers for its decoys).
UNKNOWN_IDS = [f"2301.{80000 + n:05d}" for n in range(240)]


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeArxiv]:
    with FakeArxiv() as running:
        yield running


@pytest.fixture(autouse=True)
def clean_fake(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each test starts with no faults and an empty log; afterwards every request it made
    must have set `max_results` (arXiv's raw default of 10 silently cuts id_lists)."""
    running: FakeArxiv | None = None
    if "fake" in request.fixturenames:
        running = request.getfixturevalue("fake")
        running.clear_faults()
        running.fault_plan = None
        running.reset_log()
    yield
    if running is not None:
        running.wait_idle()
        api = [r for r in running.requests if r.path == "/api/query"]
        assert all(r.params.get("max_results", "").isdigit() for r in api), api


@pytest.fixture(autouse=True)
def fresh_process_gates() -> Iterator[None]:
    reset_process_gates()
    yield
    reset_process_gates()


def violations(fake: FakeArxiv, interval: float) -> int:
    """Gate violations the fake counted at `interval`, allowing for scheduling jitter."""
    return fake.gate_violations(interval - JITTER)


def settings_for(fake: FakeArxiv, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "arxiv_api_url": fake.url, "arxiv_min_interval": INTERVAL, "arxiv_max_attempts": 6,
        "arxiv_retry_budget": 10.0, "arxiv_timeout": 5.0,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


class Sleeps:
    """A sleep that really sleeps (the fake must see the gaps) and remembers each wait."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        time.sleep(seconds)


@pytest.fixture
def make_client_for(fake: FakeArxiv) -> Iterator[Callable[..., ArxivClient]]:
    """Build `ArxivClient`s on the fake with a private gate; all are closed afterwards."""
    made: list[ArxivClient] = []

    def build(*, interval: float = INTERVAL, timeout: float = 5.0, max_attempts: int = 6,
              retry_budget: float = 10.0, sleep: Callable[[float], None] = time.sleep,
              api_url: str | None = None, transport: httpx.BaseTransport | None = None,
              confirm_empty: int = 1, backoff: float | None = None) -> ArxivClient:
        http = make_client(user_agent="digest-enrich-tests/0 (+https://example.invalid)",
                           timeout=timeout, max_connections=1, transport=transport,
                           headers={"Accept": "application/atom+xml"})
        client = ArxivClient(api_url=api_url or fake.url, http=http,
                             gate=IntervalGate(interval), min_interval=interval,
                             max_attempts=max_attempts, retry_budget=retry_budget,
                             confirm_empty=confirm_empty, backoff=backoff, sleep=sleep)
        made.append(client)
        return client

    yield build
    for client in made:
        client.close()


class Recording(httpx.BaseTransport):
    """A real loopback transport that also remembers every request it sent."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport(limits=httpx.Limits(max_connections=1))
        self.sent: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


# ----------------------------------------------------------------------------------------------
# What is asked, and how


def test_requests_carry_a_descriptive_user_agent_with_the_contact(fake: FakeArxiv) -> None:
    transport = Recording()
    settings = settings_for(fake, digest_enrich_contact="ops@example.org")
    client = ArxivClient.from_settings(settings, gate=IntervalGate(INTERVAL),
                                       transport=transport)
    try:
        client.by_ids(["2408.03230"])
        client.search('ti:"contrastive"', max_results=3)
    finally:
        client.close()
    assert len(transport.sent) == 2
    for request in transport.sent:
        agent = request.headers["user-agent"]
        assert agent.startswith("digest-enrich/")
        assert "+https://" in agent
        assert "mailto:ops@example.org" in agent
        assert "python-httpx" not in agent and "python-requests" not in agent
        assert "atom" in request.headers["accept"]


def test_search_sets_max_results_and_returns_todays_metadata(
        make_client_for: Callable[..., ArxivClient], fake: FakeArxiv) -> None:
    client = make_client_for()
    page = client.search('ti:"img diff contrastive data synthesis"', max_results=5)
    (record,) = fake.requests
    assert record.params["max_results"] == "5"
    assert record.method == "GET"
    paper = next(p for p in page.papers if p.arxiv_id == "2408.04594")
    # The latest version is what arXiv serves: v3, with the author added after the digest.
    assert paper.version == 3
    assert "Ying Shen" in paper.authors or len(paper.authors) == 6
    assert paper.published.date().isoformat() == "2024-08-08"
    assert page.total_results >= len(page.papers)


def test_by_ids_asks_for_exactly_as_many_results_as_ids_and_omits_unknown_ones(
        make_client_for: Callable[..., ArxivClient], fake: FakeArxiv) -> None:
    client = make_client_for()
    page = client.by_ids([*SEED_IDS, "2301.80001"])
    (record,) = fake.requests
    assert record.params["max_results"] == str(len(SEED_IDS) + 1)
    assert sorted(p.arxiv_id for p in page.papers) == SEED_IDS
    assert client.by_ids([]).papers == ()
    assert fake.request_count == 1  # nothing asked for nothing


def test_long_id_lists_go_by_post_and_short_ones_by_get(
        make_client_for: Callable[..., ArxivClient], fake: FakeArxiv) -> None:
    client = make_client_for()
    short = client.by_ids(SEED_IDS[:3])
    long = client.by_ids([*SEED_IDS, *UNKNOWN_IDS])
    first, second = fake.requests
    assert first.method == "GET"
    assert second.method == "POST"
    assert second.params["id_list"].count(",") == len(SEED_IDS) + len(UNKNOWN_IDS) - 1
    assert second.params["max_results"] == str(len(SEED_IDS) + len(UNKNOWN_IDS))
    # A GET of this size would risk 414; the POST form carries the same parameters.
    assert len(urlencode(second.params)) > 2000
    assert len(short.papers) == 3
    assert sorted(p.arxiv_id for p in long.papers) == SEED_IDS


def test_long_search_queries_go_by_post(make_client_for: Callable[..., ArxivClient],
                                        fake: FakeArxiv) -> None:
    client = make_client_for()
    clauses = [f'ti:"contrastive learning variant number {n}"' for n in range(60)]
    page = client.search(" OR ".join([*clauses, 'ti:"energy based contrastive learning"']),
                         max_results=50)
    (record,) = fake.requests
    assert record.method == "POST"
    assert "2202.04933" in {p.arxiv_id for p in page.papers}


# ----------------------------------------------------------------------------------------------
# The gate


def test_one_gate_for_every_client_and_thread_in_the_process(fake: FakeArxiv) -> None:
    settings = settings_for(fake, arxiv_min_interval=0.03)
    errors: list[BaseException] = []
    threads_n, per_thread = 4, 3
    # Slow answers make overlap likely if anything let two requests through at once.
    fake.enqueue_faults(["slow:0.05"] * (threads_n * per_thread))
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
    assert fake.request_count == threads_n * per_thread
    assert fake.max_in_flight == 1
    assert violations(fake, 0.03) == 0
    assert process_gate("arxiv", 0.0).passes == threads_n * per_thread


def test_the_process_gate_only_ever_tightens(fake: FakeArxiv) -> None:
    strict = ArxivClient.from_settings(settings_for(fake, arxiv_min_interval=0.05))
    lax = ArxivClient.from_settings(settings_for(fake, arxiv_min_interval=0.0))
    try:
        for _ in range(2):
            strict.by_ids(["2408.03230"])
            lax.by_ids(["2408.03230"])
    finally:
        strict.close()
        lax.close()
    assert violations(fake, 0.05) == 0


def test_retries_pass_the_gate_too(make_client_for: Callable[..., ArxivClient],
                                   fake: FakeArxiv) -> None:
    # Backoff shorter than the interval must not let a retry jump the queue.
    client = make_client_for(interval=0.08, backoff=0.001)
    fake.enqueue_faults(["503", "503", "503"])
    assert client.by_ids(["2408.03230"]).papers
    assert fake.request_count == 4
    assert violations(fake, 0.08) == 0


# ----------------------------------------------------------------------------------------------
# Transient trouble is retried


TRANSIENT = [
    ("503", "503"),
    ("429 without Retry-After", "429-bare"),
    ("empty feed", "empty"),
    ("truncated XML", "truncated"),
    ("HTML error page", "malformed"),
    ("wrong content type", "wrong-type"),
    ("connection reset", "reset"),
]


@pytest.mark.parametrize("fault", [t[1] for t in TRANSIENT], ids=[t[0] for t in TRANSIENT])
def test_transient_trouble_is_retried_and_the_answer_arrives(
        make_client_for: Callable[..., ArxivClient], fake: FakeArxiv, fault: str) -> None:
    sleeps = Sleeps()
    client = make_client_for(sleep=sleeps)
    fake.enqueue_faults([fault])
    page = client.by_ids(["2408.03230", "2408.05956"])
    assert sorted(p.arxiv_id for p in page.papers) == ["2408.03230", "2408.05956"]
    assert fake.request_count == 2
    assert client.stats.retry.retries == 1
    assert len(sleeps.waits) == 1
    assert sleeps.waits[0] >= INTERVAL
    assert violations(fake, INTERVAL) == 0


def test_timeouts_are_retried(make_client_for: Callable[..., ArxivClient],
                              fake: FakeArxiv) -> None:
    client = make_client_for(timeout=0.2)
    fake.enqueue_faults(["slow:0.6"])
    began = time.monotonic()
    page = client.by_ids(["2408.03230"])
    assert [p.arxiv_id for p in page.papers] == ["2408.03230"]
    assert client.stats.outcomes.get("timeout") == 1
    assert time.monotonic() - began < 2.0


def test_an_empty_search_page_that_should_have_results_is_asked_again(
        make_client_for: Callable[..., ArxivClient], fake: FakeArxiv) -> None:
    client = make_client_for()
    fake.enqueue_faults(["empty"])
    page = client.search('ti:"contrastive learning for image complexity representation"',
                         max_results=10)
    assert "2408.03230" in {p.arxiv_id for p in page.papers}
    assert [r.fault for r in fake.requests] == ["empty", None]


def test_a_truly_empty_answer_is_believed_after_one_confirmation(
        make_client_for: Callable[..., ArxivClient], fake: FakeArxiv) -> None:
    client = make_client_for()
    page = client.search('ti:"no paper has this title anywhere"', max_results=10)
    assert page.papers == ()
    assert page.total_results == 0
    assert fake.request_count == 2


def test_429_retry_after_is_honoured(make_client_for: Callable[..., ArxivClient],
                                     fake: FakeArxiv) -> None:
    sleeps = Sleeps()
    client = make_client_for(sleep=sleeps)
    fake.enqueue_faults(["429:1"])
    assert client.by_ids(["2408.03230"]).papers
    assert sleeps.waits == [1.0]
    first, second = fake.requests
    assert second.start - first.start >= 1.0
    assert client.stats.retry.asked_wait >= 1.0  # the server asked: not our backoff
    assert client.stats.retry.backoff_wait == 0


def test_backoff_grows_between_attempts(make_client_for: Callable[..., ArxivClient],
                                        fake: FakeArxiv) -> None:
    sleeps = Sleeps()
    client = make_client_for(sleep=sleeps)
    fake.enqueue_faults(["503", "429-bare", "reset"])
    assert client.by_ids(["2408.03230"]).papers
    assert len(sleeps.waits) == 3
    assert sleeps.waits == sorted(sleeps.waits)
    assert sleeps.waits[2] >= 4 * sleeps.waits[0]


def test_a_service_that_stays_down_fails_within_the_attempt_limit(
        make_client_for: Callable[..., ArxivClient], fake: FakeArxiv) -> None:
    client = make_client_for(max_attempts=4)
    fake.fault_plan = FaultPlan(1.0, ("503",))
    began = time.monotonic()
    with pytest.raises(ServiceUnavailableError) as caught:
        client.by_ids(["2408.03230"])
    assert time.monotonic() - began < 3.0
    assert fake.request_count == 4
    error = caught.value
    assert (error.status, error.attempts, error.service) == (503, 4, "arXiv")
    assert pickle.loads(pickle.dumps(error)).attempts == 4


def test_retrying_stops_at_the_total_time_budget(make_client_for: Callable[..., ArxivClient],
                                                 fake: FakeArxiv) -> None:
    client = make_client_for(max_attempts=100, retry_budget=0.5)
    fake.fault_plan = FaultPlan(1.0, ("503",))
    began = time.monotonic()
    with pytest.raises(ServiceUnavailableError):
        client.by_ids(["2408.03230"])
    assert time.monotonic() - began < 1.2
    assert fake.request_count < 10


def test_a_retry_after_beyond_the_budget_is_not_waited_for(
        make_client_for: Callable[..., ArxivClient], fake: FakeArxiv) -> None:
    sleeps = Sleeps()
    client = make_client_for(retry_budget=5.0, sleep=sleeps)
    fake.enqueue_faults(["429:30"])
    began = time.monotonic()
    with pytest.raises(ServiceUnavailableError) as caught:
        client.by_ids(["2408.03230"])
    assert time.monotonic() - began < 1.0
    assert sleeps.waits == []
    assert caught.value.status == 429


def test_an_unreachable_service_gives_up_quickly(
        make_client_for: Callable[..., ArxivClient]) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = make_client_for(api_url=f"http://127.0.0.1:{port}/api/query")
    began = time.monotonic()
    with pytest.raises(ServiceUnavailableError, match="unreachable"):
        client.by_ids(["2408.03230"])
    assert time.monotonic() - began < 2.0
    assert client.stats.requests == 3


# ----------------------------------------------------------------------------------------------
# Answers that are refused


@pytest.mark.parametrize("fault", ["billion-laughs", "xxe"])
def test_xml_with_a_dtd_is_refused_unexpanded(make_client_for: Callable[..., ArxivClient],
                                              fake: FakeArxiv, fault: str) -> None:
    client = make_client_for()
    fake.enqueue_faults([fault])
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    began = time.monotonic()
    with pytest.raises(BadResponseError, match="DTD") as caught:
        client.by_ids(["2408.02245"])
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kib < 100 * 1024  # 10**9 'lol's would need gigabytes
    assert time.monotonic() - began < 2.0
    assert "root:" not in str(caught.value)
    assert fake.request_count == 1  # hostile answers are not asked for again


def test_a_gigantic_body_is_refused_by_its_declared_length(
        make_client_for: Callable[..., ArxivClient], fake: FakeArxiv) -> None:
    client = make_client_for()
    fake.enqueue_faults([f"huge:{MAX_BODY_BYTES * 2}"])
    began = time.monotonic()
    with pytest.raises(BadResponseError, match="exceeds"):
        client.by_ids(["2408.02245"])
    assert time.monotonic() - began < 5.0
    assert fake.request_count == 1


def test_a_gigantic_body_without_a_length_is_cut_off_while_streaming(
        make_client_for: Callable[..., ArxivClient]) -> None:
    chunk = b"<!-- padding -->" * 65536  # 1 MiB
    sent = 0

    def endless() -> Iterator[bytes]:
        nonlocal sent
        yield b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom">'
        while True:
            sent += len(chunk)
            yield chunk

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "application/atom+xml"},
                              content=endless())

    client = make_client_for(transport=httpx.MockTransport(handler))
    with pytest.raises(BadResponseError, match="exceeds"):
        client.by_ids(["2408.02245"])
    assert MAX_BODY_BYTES <= sent <= MAX_BODY_BYTES + 2 * len(chunk)


def test_an_entry_with_unreadable_fields_is_a_bad_response_not_a_crash(
        make_client_for: Callable[..., ArxivClient], fake: FakeArxiv) -> None:
    good = fake.index.answer({"id_list": "2408.02245", "max_results": "1"})
    body = render_feed(good).replace(b"<published>2024-08-05T12:00:00Z",
                                     b"<published>the fifth of August")
    assert b"the fifth of August" in body

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "application/atom+xml"},
                              content=body)

    client = make_client_for(transport=httpx.MockTransport(handler))
    with pytest.raises(BadResponseError, match="unreadable entry"):
        client.by_ids(["2408.02245"])


def test_arxivs_error_feed_is_a_bad_response(make_client_for: Callable[..., ArxivClient],
                                             fake: FakeArxiv) -> None:
    client = make_client_for()
    with pytest.raises(BadResponseError) as caught:
        client.search("ti:(unbalanced", max_results=5)
    assert caught.value.status == 400
    assert fake.request_count == 1

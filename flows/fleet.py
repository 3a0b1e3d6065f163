"""Fleet-wide service limits: Prefect global concurrency limits shared by every worker.

In the embedded (ephemeral) mode there is one process, and `enrich.net.gate`'s process gate is
the whole story. With a Prefect server, several workers on several machines may ask arXiv at the
same time; each request then also passes two global concurrency limits on the server:

* `arxiv-api-in-flight` (limit 1): at most one arXiv request in flight in the fleet;
* `arxiv-api-rate` (limit 1, one slot decaying every `ARXIV_MIN_INTERVAL` seconds): at least
  that long between request starts in the fleet.

GitHub gets `github-api-in-flight` (limit `GITHUB_CONCURRENCY`). Hugging Face, Semantic
Scholar and dblp each get `<service>-api-in-flight` (limit 1) and `<service>-api-rate` (one slot
decaying every `Settings.hf_interval` / `S2_MIN_INTERVAL` / `DBLP_MIN_INTERVAL` seconds).
The limits are created on first use with these numbers; an existing limit that is looser is
tightened, a stricter one (an operator's choice) is kept. Acquisition is `strict`: a worker
that cannot reach the limits does not ask the service at all.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import (
    GlobalConcurrencyLimitCreate,
    GlobalConcurrencyLimitUpdate,
)
from prefect.concurrency.sync import concurrency, rate_limit
from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound
from prefect.settings import get_current_settings

from enrich.net.gate import ChainedGate, Gate, process_gate
from enrich.settings import Settings

log = logging.getLogger(__name__)

ARXIV_IN_FLIGHT = "arxiv-api-in-flight"
ARXIV_RATE = "arxiv-api-rate"
GITHUB_IN_FLIGHT = "github-api-in-flight"

# A slot is held only while one HTTP request is sent and read; the lease outlives any timeout.
LEASE_SECONDS = 300.0


def server_in_use() -> bool:
    """True when runs report to a Prefect server (PREFECT_API_URL), not the embedded one."""
    return bool(get_current_settings().api.url)


def ensure_limit(name: str, limit: int, slot_decay_per_second: float | None = None) -> None:
    """Create the global concurrency limit if missing; tighten it if it is looser than ours."""
    with get_client(sync_client=True) as client:
        try:
            current = client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            try:
                client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(
                    name=name, limit=limit, active=True,
                    slot_decay_per_second=slot_decay_per_second or 0.0))
                log.info("created global concurrency limit %s (limit %d, decay %s/s)", name,
                         limit, slot_decay_per_second)
            except ObjectAlreadyExists:
                pass  # another worker created it first
            return
        looser = current.limit > limit or not current.active or (
            slot_decay_per_second is not None
            and (current.slot_decay_per_second or 0.0) > slot_decay_per_second
        )
        if looser:
            client.update_global_concurrency_limit(name, GlobalConcurrencyLimitUpdate(
                limit=min(current.limit, limit), active=True,
                slot_decay_per_second=(slot_decay_per_second
                                       if slot_decay_per_second is not None
                                       else current.slot_decay_per_second)))
            log.warning("tightened global concurrency limit %s to limit %d, decay %s/s", name,
                        min(current.limit, limit), slot_decay_per_second)


class PrefectLimitGate:
    """Every request holds an in-flight slot and, if given, takes a slot of a rate limit."""

    def __init__(self, in_flight: str, rate: str | None = None) -> None:
        self.in_flight = in_flight
        self.rate = rate

    @contextmanager
    def slot(self) -> Iterator[None]:
        with concurrency(self.in_flight, occupy=1, strict=True, lease_duration=LEASE_SECONDS):
            if self.rate is not None:
                rate_limit(self.rate, occupy=1, strict=True)
            yield


def arxiv_gate(settings: Settings) -> Gate | None:
    """The gate for arXiv requests: None (the process gate) without a server, else both."""
    if not server_in_use():
        return None
    decay = 1.0 / settings.arxiv_min_interval if settings.arxiv_min_interval > 0 else None
    ensure_limit(ARXIV_IN_FLIGHT, 1)
    if decay is not None:
        ensure_limit(ARXIV_RATE, 1, decay)
    return ChainedGate(process_gate("arxiv", settings.arxiv_min_interval),
                       PrefectLimitGate(ARXIV_IN_FLIGHT, ARXIV_RATE if decay else None))


def github_gate(settings: Settings) -> Gate | None:
    """The gate for GitHub requests: None without a server, else the fleet's in-flight limit."""
    if not server_in_use():
        return None
    ensure_limit(GITHUB_IN_FLIGHT, settings.github_concurrency)
    return PrefectLimitGate(GITHUB_IN_FLIGHT)


def _rate_gate(name: str, interval: float) -> Gate | None:
    """One request in flight and `interval` seconds between starts, fleet-wide; None without a
    server (the client's process gate suffices)."""
    if not server_in_use():
        return None
    in_flight, rate = f"{name}-api-in-flight", f"{name}-api-rate"
    ensure_limit(in_flight, 1)
    if interval > 0:
        ensure_limit(rate, 1, 1.0 / interval)
    return ChainedGate(process_gate(name, interval),
                       PrefectLimitGate(in_flight, rate if interval > 0 else None))


def hf_gate(settings: Settings) -> Gate | None:
    """Hugging Face Papers: its fixed window (500 per 5 minutes anonymous) as an interval."""
    return _rate_gate("huggingface", settings.hf_interval)


def s2_gate(settings: Settings) -> Gate | None:
    """Semantic Scholar: one request per second with a key (S2's terms)."""
    return _rate_gate("semantic-scholar", settings.s2_min_interval)


def dblp_gate(settings: Settings) -> Gate | None:
    """dblp: gentle, one request at a time."""
    return _rate_gate("dblp", settings.dblp_min_interval)

"""arXiv resolution benchmark: requests, precision and recall against a naive baseline.

    python -m bench.arxiv_bench [--entries 1000] [--seed 0] [--interval 0.005]
                                [--fault-rate 0.0] [--no-naive] [--json]

Generates a digest corpus (`tests.support.corpus`), writes it as digest text files, parses them
with the real parser, serves the corpus from the loopback fake arXiv, and resolves every entry
with the real client (process-wide gate, `ARXIV_MIN_INTERVAL` = `--interval`) and resolver
(state on disk). Then:

* a re-run with the same state (should ask arXiv nothing),
* a naive baseline in the same run: one `ti:"<title>"` query per entry, first hit accepted.

With `--fault-rate` the fake answers that share of requests with 503, 429, an empty feed or a
connection reset (seeded), to show that arXiv's moods cost retries, not wrong or lost papers.

`run()` returns the figures as a dict (for an umbrella benchmark); `markdown()` renders them.
"Projected" times replace the benchmark's gate interval by arXiv's 3 s: wall time plus the
extra waiting the real interval would add per request.
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from enrich.errors import DigestEnrichError
from enrich.net.gate import process_gate, reset_process_gates
from enrich.net.http import make_client
from enrich.resolve.arxiv_client import ArxivClient
from enrich.resolve.matching import fingerprint
from enrich.resolve.model import EntryQuery
from enrich.resolve.resolver import Resolver
from enrich.settings import Settings
from enrich.store.db import StateStore
from tests.fakes.arxiv_api import FakeArxiv, FaultPlan
from tests.support.corpus import Expectation, generate
from tests.support.scoring import parse, score

ARXIV_INTERVAL = 3.0  # arXiv's terms of use: one request every three seconds
GOALS = {"requests_per_entry": 0.15, "rerun_requests": 0, "precision": 1.0, "recall": 0.99,
         "gate_violations": 0}


def _client(settings: Settings, *, confirm_empty: int = 1) -> ArxivClient:
    http = make_client(user_agent=settings.user_agent, timeout=settings.arxiv_timeout,
                       max_connections=1, headers={"Accept": "application/atom+xml"})
    return ArxivClient(api_url=settings.arxiv_api_url, http=http,
                       gate=process_gate("arxiv", settings.arxiv_min_interval),
                       min_interval=settings.arxiv_min_interval,
                       max_attempts=settings.arxiv_max_attempts,
                       retry_budget=settings.arxiv_retry_budget, confirm_empty=confirm_empty)


def _projected(wall: float, requests: int, interval: float) -> float:
    return wall + requests * max(0.0, ARXIV_INTERVAL - interval)


def _ours(fake: FakeArxiv, settings: Settings, queries: list[EntryQuery],
          truth: list[Expectation], state_dir: Path) -> dict[str, Any]:
    interval = settings.arxiv_min_interval
    state = StateStore(state_dir)
    try:
        fake.reset_log()
        client = ArxivClient.from_settings(settings)  # the real path: the process gate
        began = time.perf_counter()
        try:
            report = Resolver(client, state).resolve(queries)
        finally:
            client.close()
        wall = time.perf_counter() - began
        retries = client.stats.retries
        fake.wait_idle()
        cold_requests = fake.request_count
        faults = sum(1 for r in fake.requests if r.fault)
        violations = fake.gate_violations(interval)
        in_flight = fake.max_in_flight
        methods = Counter(m.method or "-" for m in report.matches.values()
                          if m.status == "matched")
        found = []
        statuses = []
        for query in queries:
            match = report.matches[fingerprint(query)]
            statuses.append(match.status)
            found.append(match.paper.arxiv_id if match.status == "matched" and match.paper
                         else None)

        fake.reset_log()
        client = ArxivClient.from_settings(settings)
        rerun_began = time.perf_counter()
        try:
            again = Resolver(client, state).resolve(queries)
        finally:
            client.close()
        rerun_wall = time.perf_counter() - rerun_began
        fake.wait_idle()
        rerun_requests = fake.request_count
        violations += fake.gate_violations(interval)
    finally:
        state.close()
    return {
        "requests": cold_requests, "requests_per_entry": cold_requests / len(queries),
        "lookups": report.looked_up, "requests_per_lookup": cold_requests / report.looked_up,
        "wall_s": wall, "projected_s": _projected(wall, cold_requests, interval),
        "rerun_requests": rerun_requests, "rerun_from_cache": again.from_cache,
        "rerun_wall_s": rerun_wall, "gate_violations": violations, "max_in_flight": in_flight,
        "faults": faults, "retries": retries,
        "methods": dict(sorted(methods.items())), **score(found, statuses, truth),
    }


def _naive(fake: FakeArxiv, settings: Settings, queries: list[EntryQuery],
           truth: list[Expectation]) -> dict[str, Any]:
    """One title query per entry, first hit accepted (no cache, no author or date check)."""
    interval = settings.arxiv_min_interval
    fake.reset_log()
    client = _client(settings, confirm_empty=0)  # exactly one request per title
    found: list[str | None] = []
    statuses: list[str] = []
    began = time.perf_counter()
    try:
        for query in queries:
            title = query.title.replace('"', " ")
            try:
                page = client.search(f'ti:"{title}"', max_results=1)
            except DigestEnrichError:
                found.append(None)
                statuses.append("error")
                continue
            hit = page.papers[0].arxiv_id if page.papers else None
            found.append(hit)
            statuses.append("matched" if hit else "not_found")
    finally:
        client.close()
    wall = time.perf_counter() - began
    fake.wait_idle()
    requests = fake.request_count
    return {
        "faults": sum(1 for r in fake.requests if r.fault),
        "requests": requests, "requests_per_entry": requests / len(queries), "wall_s": wall,
        "projected_s": _projected(wall, requests, interval), "rerun_requests": requests,
        "gate_violations": fake.gate_violations(interval), "max_in_flight": fake.max_in_flight,
        **score(found, statuses, truth),
    }


FAULT_KINDS = ("503", "429-bare", "empty", "reset")


def run(entries: int = 1000, *, seed: int = 0, interval: float = 0.005,
        naive: bool = True, fault_rate: float = 0.0) -> dict[str, Any]:
    """Generate, serve, resolve, measure. Returns every figure as plain data."""
    began = time.perf_counter()
    corpus = generate(entries, seed=seed)
    generated = time.perf_counter() - began
    with tempfile.TemporaryDirectory(prefix="arxiv-bench-") as tmp:
        root = Path(tmp)
        queries, truth, links = parse(corpus, root / "digests")
        settings = Settings(arxiv_api_url="http://127.0.0.1:1/api/query",
                            arxiv_min_interval=interval, arxiv_max_attempts=6,
                            arxiv_retry_budget=60.0, arxiv_timeout=30.0)
        reset_process_gates()
        try:
            plan = FaultPlan(fault_rate, FAULT_KINDS, seed) if fault_rate > 0 else None
            with FakeArxiv(corpus.papers, fault_plan=plan) as fake:
                settings = settings.model_copy(update={"arxiv_api_url": fake.url})
                ours = _ours(fake, settings, queries, truth, root / "output" / ".state")
                baseline = _naive(fake, settings, queries, truth) if naive else None
        finally:
            reset_process_gates()
    figures: dict[str, Any] = {
        "corpus": {"entries": corpus.entries, "papers": len(corpus.papers),
                   "decoys": corpus.decoys, "digests": len(corpus.digests), "seed": seed,
                   "kinds": dict(sorted(corpus.kinds.items())), "code_links": links,
                   "generate_s": generated},
        "interval_s": interval, "fault_rate": fault_rate, "ours": ours, "naive": baseline,
        "goals": GOALS,
    }
    figures["goals_met"] = {
        "requests_per_entry": ours["requests_per_entry"] <= GOALS["requests_per_entry"],
        "rerun_requests": ours["rerun_requests"] == GOALS["rerun_requests"],
        "precision": ours["precision"] >= GOALS["precision"],
        "recall": ours["recall"] >= GOALS["recall"],
        "gate_violations": ours["gate_violations"] == GOALS["gate_violations"],
    }
    return figures


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.1f} s"


def markdown(figures: dict[str, Any]) -> str:
    """The figures as a markdown table (plus the per-kind breakdown)."""
    ours, naive = figures["ours"], figures["naive"]
    corpus = figures["corpus"]

    def ratio(a: float, b: float) -> str:
        return f"{a / b:.1f}×" if b else "∞" if a else "–"

    rows = [
        ("arXiv requests, cold run", f"{ours['requests']}", f"{naive['requests']}" if naive
         else "–", ratio(naive["requests"], ours["requests"]) if naive else "–"),
        ("requests per entry, cold (goal ≤ 0.15)", f"{ours['requests_per_entry']:.3f}",
         f"{naive['requests_per_entry']:.3f}" if naive else "–",
         ratio(naive["requests_per_entry"], ours["requests_per_entry"]) if naive else "–"),
        ("requests on a re-run (goal 0)", f"{ours['rerun_requests']}",
         f"{naive['rerun_requests']} (no cache)" if naive else "–", "–"),
        ("precision (goal 1.0)", f"{ours['precision']:.4f} ({ours['wrong']} wrong)",
         f"{naive['precision']:.4f} ({naive['wrong']} wrong)" if naive else "–", "–"),
        ("recall on papers on arXiv (goal ≥ 0.99)",
         f"{ours['recall']:.4f} ({ours['correct']}/{ours['on_arxiv']})",
         f"{naive['recall']:.4f} ({naive['correct']}/{naive['on_arxiv']})" if naive else "–",
         "–"),
        ("gate violations counted by the fake (goal 0)", f"{ours['gate_violations']}",
         f"{naive['gate_violations']}" if naive else "–", "–"),
        (f"wall time at {figures['interval_s']} s interval", _minutes(ours["wall_s"]),
         _minutes(naive["wall_s"]) if naive else "–",
         ratio(naive["wall_s"], ours["wall_s"]) if naive else "–"),
        ("projected time at arXiv's 3 s", _minutes(ours["projected_s"]),
         _minutes(naive["projected_s"]) if naive else "–",
         ratio(naive["projected_s"], ours["projected_s"]) if naive else "–"),
    ]
    faults = (f"; {figures['fault_rate']:.0%} of requests faulted "
              f"({ours['faults']} in our cold run)" if figures["fault_rate"] else "")
    lines = [
        f"arXiv resolution: {corpus['entries']} digest entries in {corpus['digests']} digests, "
        f"{corpus['papers']} papers on the fake arXiv ({corpus['decoys']} decoys), "
        f"seed {corpus['seed']}{faults}",
        "",
        "| measure | digest-enrich | naive (one query per title) | naive / ours |",
        "|---|---|---|---|",
        *(f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows),
        "",
        f"Verdicts: {ours['statuses']}; matched by method: {ours['methods']}; "
        f"re-run answered {ours['rerun_from_cache']} lookups from the cache "
        f"({ours['lookups']} distinct lookups, {ours['requests_per_lookup']:.3f} requests each).",
        "",
        "| entry kind | entries | on arXiv | found (ours) | wrong (ours) | found (naive) "
        "| wrong (naive) |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind, counts in ours["by_kind"].items():
        base = naive["by_kind"].get(kind, {}) if naive else {}
        lines.append(
            f"| {kind} | {counts['entries']} | {counts.get('on_arxiv', 0)} "
            f"| {counts.get('correct', 0)} | {counts.get('wrong', 0)} "
            f"| {base.get('correct', 0) if naive else '–'} "
            f"| {base.get('wrong', 0) if naive else '–'} |")
    links = corpus["code_links"]
    if links:
        lines += ["", f"GitHub links in the generated abstracts found by the digest parser: "
                      f"{links.get('found', 0)}/{links.get('expected', 0)}."]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--entries", type=int, default=1000, help="digest entries (≥ 1000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--interval", type=float, default=0.005,
                        help="ARXIV_MIN_INTERVAL for the run (seconds)")
    parser.add_argument("--fault-rate", type=float, default=0.0,
                        help="share of requests the fake answers with a fault")
    parser.add_argument("--no-naive", action="store_true", help="skip the naive baseline")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    figures = run(args.entries, seed=args.seed, interval=args.interval, naive=not args.no_naive,
                  fault_rate=args.fault_rate)
    if args.json:
        print(json.dumps(figures, indent=2, sort_keys=True, default=str))
    else:
        print(markdown(figures))
    return 0 if all(figures["goals_met"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())

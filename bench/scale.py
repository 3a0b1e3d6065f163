"""The whole pipeline from 1,000 to 10,000 digest entries: our cost per 1,000 entries apart from
the fakes', against a naive baseline; then the digest parser on 10 and 50 MB digests.

    python -m bench.scale [--sizes 1000,2000,5000,10000] [--interval 0.002]
                          [--naive-sample 1000] [--parse-mb 10,50] [--no-traced] [--json PATH]

For each size, in a fresh subprocess (so peak RSS belongs to that size alone): generate a corpus
(`tests.support.corpus`: decoys, retitled papers, papers not on arXiv, duplicates, code links),
serve it from the loopback fakes (arXiv searched through `tests.support.indexed_search`, which
answers what the fake's linear scan answers without scanning every paper per request; GitHub
with some repositories renamed, deleted or blocked, its quota lifted), write the digests as text
files and run the Prefect-free pipeline exactly as the flow's tasks do (`enrich.pipeline`:
parse, remember, resolve, read GitHub, issue keys, render), three times:

* **live**, against the fakes at `--interval` between arXiv requests, every answer recorded
  (`bench.replay`); the fakes' server threads time their own CPU per request, which separates
  their cost from ours. Then a re-run on the same state (must ask nothing) and the naive
  baseline: one arXiv title query per entry with the first hit accepted, one GitHub REST call
  per link, no cache (on the first `--naive-sample` entries; its figures are per entry and its
  projected time is scaled up).
* **replayed**, on a fresh state with the recorded answers and no interval: the pipeline alone,
  no socket, no server, no search. Its outputs must equal the live run's, byte for byte. This
  is "ours": its CPU time per stage, per 1,000 entries (CPU rather than wall time, which other
  processes on a shared machine stretch; with nothing to wait for the two are alike).
* **traced**, the replay again under tracemalloc: the pipeline's peak traced memory.

Figures: arXiv requests per entry, GitHub requests per distinct repository, re-run requests,
precision and recall against the corpus's truth, live wall time and the projection at arXiv's
3 s, our cost per 1,000 entries by stage, the fakes' CPU per 1,000 entries, papers the fake
arXiv returned per entry (candidates the matcher judges: the generated corpus puts more
namesakes in each author window as it grows, up to the resolver's cap), parse throughput of the
corpus's digests, peak traced memory and the process's peak RSS (fakes and corpora included).
Then `bench.parse_bench` (MB/s and memory on large digests, streaming vs whole file).
Results go to `bench/results/scale.json`.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import logging
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

import tests.fakes.arxiv_api as fake_arxiv_module
import tests.fakes.github_api as fake_github_module
from bench import parse_bench
from bench.arxiv_bench import _naive
from bench.pipeline_bench import _settings, parse_throughput, services
from bench.replay import Recorder
from enrich import pipeline
from enrich.net.gate import reset_process_gates
from enrich.resolve.matching import fingerprint
from enrich.settings import Settings
from enrich.store.db import StateStore
from enrich.store.verdicts import VerdictStore
from tests.support.corpus import generate
from tests.support.scoring import github_corpus, linked_repos, parse, score

ARXIV_INTERVAL = 3.0
DEFAULT_SIZES = "1000,2000,5000,10000"
RESULTS = Path(__file__).resolve().parent / "results"
STAGES = ("parse", "arxiv", "github", "keys", "render")


class FakeClock:
    """CPU seconds the fakes spend answering, summed over their server threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seconds = {"arxiv": 0.0, "github": 0.0}

    @contextmanager
    def timing(self) -> Iterator[None]:
        """Time every request the fake arXiv and the fake GitHub handle meanwhile."""
        handlers = {"arxiv": fake_arxiv_module._Handler, "github": fake_github_module._Handler}
        originals = {name: cls.handle_one_request for name, cls in handlers.items()}
        for name, cls in handlers.items():
            cls.handle_one_request = self._timed(  # type: ignore[method-assign,assignment]
                name, originals[name])
        try:
            yield
        finally:
            for name, cls in handlers.items():
                cls.handle_one_request = originals[name]  # type: ignore[method-assign]

    def _timed(self, name: str, original: Callable[[Any], None]) -> Callable[[Any], None]:
        def handle_one_request(handler: Any) -> None:
            began = time.thread_time()  # waiting for the next request costs no CPU
            try:
                original(handler)
            finally:
                with self._lock:
                    self._seconds[name] += time.thread_time() - began
        return handle_one_request

    def read(self) -> dict[str, float]:
        with self._lock:
            return dict(self._seconds)


def _naive_github(api_url: str, links: Sequence[str]) -> int:
    """One REST call per link as printed (no dedupe, no cache, renames not followed)."""
    with httpx.Client(base_url=api_url, timeout=20) as http:
        for name in links:
            http.get(f"/repos/{name}")
    return len(links)


def _run(paths: Sequence[Path], output: Path, settings: Settings,
         transport: Callable[[], httpx.BaseTransport],
         fakes: FakeClock | None = None) -> dict[str, dict[str, float]]:
    """The pipeline's steps, as the flow runs them; wall, CPU and fakes' CPU per stage."""
    state = StateStore.for_output(output)
    reset_process_gates()
    stages: dict[str, dict[str, float]] = {}
    digests: list[Any] = []

    def parse_step() -> None:
        outcomes = [pipeline.parse_file(path) for path in paths]
        pipeline.remember(state, outcomes)
        digests.extend(o.digest for o in outcomes if o.digest is not None)

    steps: dict[str, Callable[[], object]] = {
        "parse": parse_step,
        "arxiv": lambda: pipeline.resolve(digests, settings=settings, state=state,
                                          transport=transport()),
        "github": lambda: pipeline.read_github(digests, settings=settings, state=state,
                                               transport=transport()),
        "keys": lambda: pipeline.issue_citekeys(state),
        "render": lambda: pipeline.render(output, state),
    }
    try:
        for name, step in steps.items():
            before = fakes.read() if fakes else {}
            began, began_cpu = time.perf_counter(), time.process_time()
            step()
            after = fakes.read() if fakes else {}
            stages[name] = {"wall_s": time.perf_counter() - began,
                            "cpu_s": time.process_time() - began_cpu,
                            **{f"fake_{fake}_cpu_s": after[fake] - before[fake]
                               for fake in after}}
    finally:
        state.close()
    return stages


def _same_outputs(a: Path, b: Path) -> bool:
    """Whether two output directories hold the same files, byte for byte (state left out)."""
    def files(root: Path) -> list[str]:
        return sorted(str(p.relative_to(root)) for p in root.rglob("*")
                      if p.is_file() and ".state" not in p.parts)
    names = files(a)
    return names == files(b) and all(filecmp.cmp(a / n, b / n, shallow=False) for n in names)


def measure(entries: int, *, seed: int, interval: float, naive_sample: int,
            traced: bool = True) -> dict[str, Any]:
    """Every figure for one size (see the module docstring)."""
    corpus = generate(entries, seed=seed)
    repos = github_corpus(linked_repos(corpus))
    clock = FakeClock()
    recorder = Recorder()
    with tempfile.TemporaryDirectory(prefix="scale-bench-") as tmp:
        root = Path(tmp)
        queries, truth, _ = parse(corpus, root / "digests")
        paths = sorted((root / "digests").iterdir())
        throughput = parse_throughput(paths)
        with clock.timing(), services(corpus, repos) as (arxiv, github):
            settings = _settings(arxiv, github, interval)
            arxiv.reset_log()
            github.reset_log()
            live = _run(paths, root / "live", settings, recorder.transport, clock)
            arxiv.wait_idle()
            arxiv_requests, github_requests = arxiv.request_count, github.request_count
            served = sum(r.results for r in arxiv.requests)
            violations = arxiv.gate_violations(interval)

            state = StateStore.for_output(root / "live")
            stored = VerdictStore(state).matches(fingerprint(q) for q in queries)
            found, statuses = [], []
            for query in queries:
                match = stored[fingerprint(query)]
                statuses.append(match.status)
                found.append(match.paper.arxiv_id if match.paper is not None else None)
            quality = score(found, statuses, truth)
            digests = [o.digest for o in pipeline.remembered(state) if o.digest is not None]
            arxiv.reset_log()
            github.reset_log()
            pipeline.resolve(digests, settings=settings, state=state)
            pipeline.read_github(digests, settings=settings, state=state)
            rerun = {"arxiv": arxiv.request_count, "github": github.request_count}
            state.close()

            sample = min(len(queries), naive_sample)
            naive = _naive(arxiv, settings, queries[:sample], truth[:sample])
            github.reset_log()
            linked = [t.repo for t in truth[:sample] if t.repo]
            naive_github = _naive_github(github.url, linked)
            fakes = clock.read()

        quiet = settings.model_copy(update={"arxiv_min_interval": 0.0})
        replayed = _run(paths, root / "replay", quiet, recorder.replay().transport)
        identical = _same_outputs(root / "live", root / "replay")
        traced_peak = None
        if traced:
            tracemalloc.start()
            _run(paths, root / "traced", quiet, recorder.replay().transport)
            traced_peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()

    distinct = len({r.lower() for r in linked_repos(corpus)})
    live_wall = sum(s["wall_s"] for s in live.values())
    return {
        "entries": entries, "papers_served": len(corpus.papers), "decoys": corpus.decoys,
        "digests": len(paths), "repos": distinct, "interval_s": interval, **throughput,
        "ours": {
            "replayed": replayed,
            "replay_identical": identical,
            "live": live, "wall_s": live_wall,
            "arxiv_requests": arxiv_requests, "arxiv_per_entry": arxiv_requests / entries,
            "github_requests": github_requests,
            "github_per_repo": github_requests / distinct if distinct else 0.0,
            "served_per_entry": served / entries,
            "projected_s": live_wall + arxiv_requests * (ARXIV_INTERVAL - interval),
            "rerun": rerun, "gate_violations": violations,
            "precision": quality["precision"], "recall": quality["recall"],
            "wrong": quality["wrong"], "statuses": quality["statuses"],
        },
        "fakes_cpu_s": fakes,
        "naive": {
            "sample": sample,
            "arxiv_per_entry": naive["requests"] / sample,
            "github_requests": naive_github,
            "github_per_repo": (naive_github / len({n.lower() for n in linked})
                                if linked else 0.0),
            "projected_s": naive["projected_s"] * entries / sample,
            "precision": naive["precision"], "recall": naive["recall"],
        },
        "peak_rss_mb": parse_bench.peak_rss_mb(),
        "pipeline_peak_mb": traced_peak / 2**20 if traced_peak is not None else None,
    }


# --------------------------------------------------------------------------------------------
# Tables


def _k(seconds: float, entries: int) -> str:
    return f"{seconds * 1000 / entries:.2f}"


def scale_table(results: Sequence[dict[str, Any]]) -> str:
    rows = ["| entries | arXiv req/entry (naive) | GitHub req/repo (naive) | re-run requests "
            "| precision (naive) | recall (naive) | wall at 2 ms | projected at 3 s (naive) "
            "| parse MB/s | pipeline peak (per entry) | process peak RSS |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        o, n = r["ours"], r["naive"]
        sampled = "" if n["sample"] == r["entries"] else f" ({n['sample']:,} sampled)"
        peak = r["pipeline_peak_mb"]
        memory = "–" if peak is None else f"{peak:.1f} MB ({peak * 1024 / r['entries']:.1f} KB)"
        rows.append(
            f"| {r['entries']:,} | {o['arxiv_per_entry']:.3f} ({n['arxiv_per_entry']:.2f}; "
            f"{n['arxiv_per_entry'] / o['arxiv_per_entry']:.0f}×) "
            f"| {o['github_per_repo']:.2f} ({n['github_per_repo']:.2f}) "
            f"| {o['rerun']['arxiv']} + {o['rerun']['github']} "
            f"| {o['precision']:.4f} ({n['precision']:.4f}) "
            f"| {o['recall']:.4f} ({n['recall']:.4f}) "
            f"| {o['wall_s']:.1f} s "
            f"| {o['projected_s'] / 60:.1f} min ({n['projected_s'] / 60:.0f} min{sampled}) "
            f"| {r['parse_mb_per_s']:.1f} | {memory} | {r['peak_rss_mb']:.0f} MB |")
    return "\n".join(rows)


def cost_table(results: Sequence[dict[str, Any]]) -> str:
    """Seconds per 1,000 entries: our CPU (replayed answers) by stage, the fakes' CPU, the live
    run's wall time."""
    rows = ["| entries | ours | parse | arXiv | GitHub | keys | render | the fakes' CPU "
            "(arXiv + GitHub) | live wall | papers served per entry |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        o, n = r["ours"], r["entries"]
        mine = {stage: figures["cpu_s"] for stage, figures in o["replayed"].items()}
        fakes = {fake: sum(s.get(f"fake_{fake}_cpu_s", 0.0) for s in o["live"].values())
                 for fake in ("arxiv", "github")}
        rows.append(
            f"| {n:,} | **{_k(sum(mine.values()), n)} s** | "
            + " | ".join(_k(mine[s], n) for s in STAGES)
            + f" | {_k(sum(fakes.values()), n)} s ({_k(fakes['arxiv'], n)} + "
              f"{_k(fakes['github'], n)}) | {_k(o['wall_s'], n)} s "
              f"| {o['served_per_entry']:.1f} |")
    return "\n".join(rows)


def check(results: Sequence[dict[str, Any]]) -> list[str]:
    """What a healthy run must show; the failures, as sentences."""
    problems = []
    for r in results:
        o, size = r["ours"], f"{r['entries']} entries"
        if not o["replay_identical"]:
            problems.append(f"{size}: the replayed run wrote other outputs than the live one")
        if o["rerun"]["arxiv"] or o["rerun"]["github"]:
            problems.append(f"{size}: the re-run asked {o['rerun']}")
        if o["wrong"]:
            problems.append(f"{size}: {o['wrong']} wrong arXiv IDs")
        if o["gate_violations"]:
            problems.append(f"{size}: {o['gate_violations']} gate violations")
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale",
                                     description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default=DEFAULT_SIZES,
                        help="digest entries per corpus, comma-separated (default %(default)s)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--interval", type=float, default=0.002)
    parser.add_argument("--naive-sample", type=int, default=1000)
    parser.add_argument("--parse-mb", default="10,50",
                        help="large-digest sizes for bench.parse_bench ('' to skip)")
    parser.add_argument("--no-traced", action="store_true",
                        help="skip the tracemalloc replay (the pipeline's peak memory)")
    parser.add_argument("--json", type=Path, default=RESULTS / "scale.json")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    if args.one:
        print(json.dumps(measure(args.one, seed=args.seed, interval=args.interval,
                                 naive_sample=args.naive_sample, traced=not args.no_traced)))
        return 0
    began = time.perf_counter()
    results = []
    for size in sorted({int(s) for s in args.sizes.split(",") if s.strip()}):
        command = [sys.executable, "-m", "bench.scale", "--one", str(size), "--seed",
                   str(args.seed), "--interval", str(args.interval), "--naive-sample",
                   str(args.naive_sample)]
        if args.no_traced:
            command.append("--no-traced")
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{size} entries failed:\n{done.stderr}")
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(f"measured {size} entries ({time.perf_counter() - began:.0f} s)", file=sys.stderr,
              flush=True)
    parsed = parse_bench.run([int(mb) for mb in args.parse_mb.split(",") if mb.strip()],
                             seed=args.seed) if args.parse_mb.strip() else []
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"seed": args.seed, "interval_s": args.interval,
                                     "sizes": results, "parser": parsed}, indent=2) + "\n",
                         encoding="utf-8")
    print(scale_table(results))
    print()
    print(cost_table(results))
    if parsed:
        print()
        print(parse_bench.table(parsed))
    problems = check(results)
    print(f"\n{len(results)} size(s) in {time.perf_counter() - began:.0f} s; figures in "
          f"{args.json}", file=sys.stderr)
    for problem in problems:
        print(f"FAILED: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())

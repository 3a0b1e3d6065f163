"""The whole pipeline at 100, 1,000 and 5,000 digest entries, against a naive baseline.

    python -m bench.scale [--sizes 100,1000,5000] [--interval 0.002] [--naive-sample 1000]

For each size, in a fresh subprocess (so peak RSS belongs to that size alone): generate a corpus
(`tests.support.corpus`: decoys, retitled papers, papers not on arXiv, duplicates, code links),
serve it from the loopback fakes (arXiv and GitHub; some repositories renamed or deleted), write
the digests as text files, and run the Prefect-free pipeline exactly as the flow's tasks do
(`enrich.pipeline`: parse, resolve, read GitHub, render). Then a re-run on the same state, and
the naive baseline in the same process: one arXiv title query per entry with the first hit
accepted, one GitHub REST call per link, no cache.

Figures: arXiv requests per entry, GitHub requests per distinct repository, re-run requests,
precision and recall against the corpus's truth, wall time at the small interval and projected
at arXiv's 3 s, parse throughput (MB/s of digest text through the parser alone), the
pipeline's peak traced memory (tracemalloc, from parse to render) and the process's peak RSS
(which also holds the fakes and their corpora, served from the same process).
The naive baseline costs one request per entry; above `--naive-sample` entries it runs on the
first `--naive-sample` entries and its request figures are per entry (ratios stay exact, its
projected time is scaled up, and the table says so).
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from bench.arxiv_bench import _naive
from enrich import pipeline
from enrich.digest.parse import read_digest
from enrich.net.gate import reset_process_gates
from enrich.resolve.matching import fingerprint
from enrich.settings import Settings
from enrich.store.db import StateStore
from enrich.store.verdicts import VerdictStore
from tests.fakes.arxiv_api import FakeArxiv
from tests.fakes.github_api import FakeGitHub
from tests.fakes.github_corpus import FakeRepo, GitHubCorpus
from tests.support.corpus import BenchCorpus, generate
from tests.support.scoring import parse, score

ARXIV_INTERVAL = 3.0
RESULTS = Path(__file__).resolve().parent / "results"


def github_corpus(names: Sequence[str]) -> GitHubCorpus:
    """Every linked repository; every 15th renamed since, every 20th deleted."""
    repos, deleted = [], []
    for i, name in enumerate(sorted(set(names), key=str.lower)):
        if i % 20 == 19:
            deleted.append(name)
            continue
        renamed = i % 15 == 0
        repos.append(FakeRepo(
            id=900_000_000 + i, full_name=f"{name}-renamed" if renamed else name,
            stars=(i * 7919) % 40_000, forks=(i * 31) % 800, language="Python",
            license="MIT", renamed_from=(name,) if renamed else ()))
    return GitHubCorpus(tuple(repos), tuple(deleted))


def _parse_throughput(paths: Sequence[Path]) -> dict[str, float]:
    size = sum(p.stat().st_size for p in paths)
    began = time.perf_counter()
    for path in paths:
        read_digest(path)
    seconds = time.perf_counter() - began
    return {"bytes": size, "parse_s": seconds, "mb_per_s": size / 1e6 / seconds}


def _naive_github(api_url: str, links: Sequence[str]) -> int:
    """One REST call per link as printed (no dedupe, no cache, renames not followed)."""
    with httpx.Client(base_url=api_url, timeout=20) as http:
        for name in links:
            http.get(f"/repos/{name}")
    return len(links)


def measure(entries: int, *, seed: int, interval: float, naive_sample: int) -> dict[str, Any]:
    corpus: BenchCorpus = generate(entries, seed=seed)
    repo_links = [e.repo for e in corpus.truth.values() if e.repo]
    with tempfile.TemporaryDirectory(prefix="scale-bench-") as tmp:
        root = Path(tmp)
        queries, truth, _ = parse(corpus, root / "digests")
        paths = sorted((root / "digests").iterdir())
        throughput = _parse_throughput(paths)
        reset_process_gates()
        # GitHub's quota is lifted here: this measures requests, not the 60-an-hour wait
        # (bench.github_bench shows what happens at the real quota).
        with FakeArxiv(corpus.papers) as arxiv, \
                FakeGitHub(github_corpus(repo_links), anonymous_quota=10**9) as github:
            settings = Settings(arxiv_api_url=arxiv.url, arxiv_min_interval=interval,
                                github_api_url=github.url, github_max_wait=5.0)
            output = root / "output"
            state = StateStore.for_output(output)
            tracemalloc.start()
            began = time.perf_counter()
            outcomes = [pipeline.parse_file(p) for p in paths]
            pipeline.remember(state, outcomes)
            digests = [o.digest for o in outcomes if o.digest is not None]
            resolved = pipeline.resolve(digests, settings=settings, state=state)
            repos = pipeline.read_github(digests, settings=settings, state=state)
            pipeline.issue_citekeys(state)
            rendered = pipeline.render(output, state)
            wall = time.perf_counter() - began
            traced_peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            arxiv_requests, github_requests = arxiv.request_count, github.request_count
            violations = arxiv.gate_violations(interval)

            stored = VerdictStore(state).matches(fingerprint(q) for q in queries)
            found, statuses = [], []
            for query in queries:
                match = stored[fingerprint(query)]
                statuses.append(match.status)
                found.append(match.paper.arxiv_id if match.paper is not None else None)
            quality = score(found, statuses, truth)

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
            naive["github_requests"] = naive_github
            naive["sample"] = sample

    distinct = len({r.lower() for r in repo_links})
    return {
        "entries": entries, "papers_served": len(corpus.papers), "decoys": corpus.decoys,
        "digests": len(paths), "repos": distinct, "links": len(repo_links),
        "interval_s": interval, **throughput,
        "ours": {
            "wall_s": wall, "arxiv_requests": arxiv_requests,
            "arxiv_per_entry": arxiv_requests / entries,
            "github_requests": github_requests,
            "github_per_repo": github_requests / distinct if distinct else 0.0,
            "projected_s": wall + arxiv_requests * (ARXIV_INTERVAL - interval),
            "rerun": rerun, "gate_violations": violations,
            "gate_wait_s": resolved.gate_wait, "statuses": resolved.statuses,
            "repo_statuses": repos.statuses, "in_bib": rendered.in_bib,
            "precision": quality["precision"], "recall": quality["recall"],
        },
        "naive": {
            "sample": naive["sample"],
            "arxiv_per_entry": naive["requests"] / naive["sample"],
            "github_requests": naive_github,
            "github_per_repo": (naive_github / len({n.lower() for n in linked})
                                if linked else 0.0),
            "projected_s": naive["projected_s"] * entries / naive["sample"],
            "precision": naive["precision"], "recall": naive["recall"],
        },
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "pipeline_peak_mb": traced_peak / 2**20,
    }


def table(results: Sequence[dict[str, Any]]) -> str:
    rows = ["| entries | arXiv req/entry (naive) | GitHub req/repo (naive) | re-run "
            "requests | precision (naive) | recall (naive) | wall at 2 ms | projected at 3 s "
            "(naive) | parse MB/s | pipeline peak (per entry) | process peak RSS |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        o, n = r["ours"], r["naive"]
        sampled = "" if n["sample"] == r["entries"] else f" ({n['sample']} sampled)"
        rows.append(
            f"| {r['entries']:,} | {o['arxiv_per_entry']:.3f} ({n['arxiv_per_entry']:.2f}; "
            f"{n['arxiv_per_entry'] / o['arxiv_per_entry']:.0f}×) "
            f"| {o['github_per_repo']:.2f} ({n['github_per_repo']:.2f}) "
            f"| {o['rerun']['arxiv']} + {o['rerun']['github']} "
            f"| {o['precision']:.4f} ({n['precision']:.4f}) "
            f"| {o['recall']:.4f} ({n['recall']:.4f}) "
            f"| {o['wall_s']:.1f} s "
            f"| {o['projected_s'] / 60:.1f} min ({n['projected_s'] / 60:.0f} min{sampled}) "
            f"| {r['mb_per_s']:.1f} "
            f"| {r['pipeline_peak_mb']:.1f} MB "
            f"({r['pipeline_peak_mb'] * 1024 / r['entries']:.1f} KB) "
            f"| {r['peak_rss_mb']:.0f} MB |")
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="100,1000,5000")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--interval", type=float, default=0.002)
    parser.add_argument("--naive-sample", type=int, default=1000)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    if args.one:
        print(json.dumps(measure(args.one, seed=args.seed, interval=args.interval,
                                 naive_sample=args.naive_sample)))
        return 0
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        done = subprocess.run(  # a fresh process per size: its own peak RSS
            [sys.executable, "-m", "bench.scale", "--one", str(size), "--seed", str(args.seed),
             "--interval", str(args.interval), "--naive-sample", str(args.naive_sample)],
            capture_output=True, text=True, check=True)
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(f"measured {size} entries", file=sys.stderr)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "scale.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

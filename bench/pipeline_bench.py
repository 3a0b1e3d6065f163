"""The whole pipeline at 100, 1,000 and 5,000 digest entries, against a naive baseline.

    python -m bench.pipeline_bench [--sizes 100,1000,5000] [--seed 0] [--interval 0.002]
                                   [--naive-sample N] [--no-token] [--json PATH]

For each size, generate a corpus with `tests.support.corpus` (decoys, typos, retitled papers, papers
not on arXiv, duplicates, GitHub links), serve its papers from the loopback fake arXiv and every
linked repository from the fake GitHub (every 15th renamed since the digest, every 20th deleted,
every 40th DMCA-blocked), write the digests as text files, and run each variant in a fresh
subprocess (so that its peak RSS is its own):

* **digest-enrich**: the Prefect-free pipeline exactly as the flow's tasks call it
  (`enrich.pipeline`: parse every file, remember, resolve, read_github, render), no GitHub
  token, `ARXIV_MIN_INTERVAL` = `--interval`; then a re-run on the same state (must ask
  nothing), and a cold GitHub read with a token (GraphQL) on the same links.
* **naive**: the same parser, then one `ti:"<title>"` query per entry accepting the first hit
  (`bench.arxiv_bench`'s naive runner), one REST call per GitHub link as the digest prints it
  (no dedupe, no cache, redirects followed).

Figures: arXiv requests per entry, GitHub requests per distinct repository, re-run requests,
precision and recall against the corpus's truth (read back from the written `digests/*.json`),
repository facts checked against the fake, wall time at the small interval and the projected
time at arXiv's 3 s (wall - gate waits + requests x 3 s, an upper estimate: it also counts the
fake's own serving time), parse throughput (MB/s of digest text through `read_digest` alone,
best of three), the process's peak RSS and its growth while the pipeline ran, per entry.

The fakes run in the measuring process (their corpora are loaded before the RSS baseline is
taken, so the growth is the pipeline's). The fake arXiv's search is a linear scan over its
corpus per request, which makes serving quadratic in the corpus size; the benchmark puts an
inverted word index in front of it (`tests.support.indexed_search`) that answers exactly what
the scan answers (checked by `tests/test_indexed_search.py`), so wall times measure the pipeline.

GitHub's anonymous quota (60 an hour) is lifted here: this counts requests; `bench.github_bench`
shows what the real quota does. Results go to `bench/results/latest.json`.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from bench.arxiv_bench import _naive
from enrich import pipeline
from enrich.digest.parse import read_digest
from enrich.net.gate import process_gate, reset_process_gates
from enrich.render.papers import entry_query
from enrich.repos.links import extract_links
from enrich.resolve.model import EntryQuery
from enrich.settings import Settings
from enrich.store.db import StateStore
from enrich.store.files import view_stems
from enrich.store.repos import RepoStore
from tests.fakes.arxiv_api import FakeArxiv
from tests.fakes.github_api import DEFAULT_TOKEN, FakeGitHub
from tests.fakes.github_corpus import GitHubCorpus
from tests.support.corpus import BenchCorpus, Expectation, generate
from tests.support.indexed_search import indexed_fake_arxiv
from tests.support.scoring import expected_repo, github_corpus, linked_repos, score

ARXIV_INTERVAL = 3.0  # arXiv's terms of use: one request every three seconds
DEFAULT_SIZES = (100, 1000, 5000)
RESULTS = Path(__file__).resolve().parent / "results"

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------
# The services


@contextmanager
def services(corpus: BenchCorpus, repos: GitHubCorpus) -> Iterator[tuple[FakeArxiv, FakeGitHub]]:
    """The fake arXiv (with `IndexedSearch`) and the fake GitHub (quota lifted), running."""
    with indexed_fake_arxiv(corpus.papers) as arxiv, \
            FakeGitHub(repos, anonymous_quota=10**9, token_quota=10**9,
                       graphql_quota=10**9) as github:
        yield arxiv, github


# --------------------------------------------------------------------------------------------
# Measuring


def parse_throughput(paths: Sequence[Path], repeat: int = 3) -> dict[str, float]:
    """MB/s of digest text through the parser alone (reading included), best of `repeat`."""
    size = sum(p.stat().st_size for p in paths)
    best = float("inf")
    for _ in range(repeat):
        began = time.perf_counter()
        for path in paths:
            read_digest(path)
        best = min(best, time.perf_counter() - began)
    return {"digest_bytes": size, "parse_s": best, "parse_mb_per_s": size / 1e6 / best}


def _max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _settings(arxiv: FakeArxiv, github: FakeGitHub, interval: float,
              token: str | None = None) -> Settings:
    return Settings(arxiv_api_url=arxiv.url, arxiv_min_interval=interval,
                    github_api_url=github.url, github_token=SecretStr(token) if token else None,
                    github_max_wait=5.0)


def _corpus_figures(corpus: BenchCorpus, paths: Sequence[Path]) -> dict[str, Any]:
    links = linked_repos(corpus)
    return {"entries": corpus.entries, "digests": len(paths), "papers_served": len(corpus.papers),
            "decoys": corpus.decoys, "repo_links": len(links),
            "repos": len({n.lower() for n in links}),
            "on_arxiv": sum(1 for t in corpus.truth.values() if t.expected)}


def _outputs_vs_truth(output: Path, corpus: BenchCorpus, repos: GitHubCorpus,
                      github: FakeGitHub) -> dict[str, Any]:
    """Precision, recall and repository facts, read back from the files the pipeline wrote."""
    papers = {}
    for line in (output / "papers.jsonl").read_text(encoding="utf-8").splitlines():
        paper = json.loads(line)
        papers[paper["key"]] = paper
    stems = view_stems(name for name, _ in corpus.digests)
    found: list[str | None] = []
    statuses: list[str] = []
    truth: list[Expectation] = []
    repo_checks: dict[str, bool] = {}
    for name, _ in corpus.digests:
        view = json.loads((output / "digests" / f"{stems[name]}.json").read_text("utf-8"))
        for entry in view["entries"]:
            expect = corpus.truth[(name, entry["index"])]
            truth.append(expect)
            statuses.append(entry["status"])
            found.append(entry["arxiv_id"] if entry["status"] == "matched" else None)
            if expect.repo:
                got = {r["requested"].lower(): r for r in papers[entry["paper"]]["repos"]}
                status, full_name, _ = expected_repo(repos, expect.repo)
                repo = got.get(expect.repo.lower())
                ok = repo is not None and (repo["status"], repo["full_name"]) == (status,
                                                                                   full_name)
                if ok and status == "ok":
                    ok = repo["stars"] == github.repo(full_name).stars  # type: ignore[index]
                repo_checks[expect.repo.lower()] = repo_checks.get(expect.repo.lower(),
                                                                   True) and ok
    if len(truth) != corpus.entries:
        raise AssertionError(f"the digest views hold {len(truth)} entries, "
                             f"the corpus {corpus.entries}")
    quality = score(found, statuses, truth)
    return {"precision": quality["precision"], "recall": quality["recall"],
            "correct": quality["correct"], "wrong": quality["wrong"],
            "statuses": quality["statuses"], "repos_correct": sum(repo_checks.values()),
            "repos_checked": len(repo_checks), "papers": len(papers)}


def measure_ours(entries: int, *, seed: int = 0, interval: float = 0.002,
                 token: bool = True) -> dict[str, Any]:
    """digest-enrich's pipeline on a generated corpus, then a re-run and a token read."""
    corpus = generate(entries, seed=seed)
    repos = github_corpus(linked_repos(corpus))
    with tempfile.TemporaryDirectory(prefix="pipeline-bench-") as tmp, \
            services(corpus, repos) as (arxiv, github):
        root = Path(tmp)
        paths = corpus.write(root / "digests")
        figures: dict[str, Any] = {"variant": "ours", "interval_s": interval,
                                   **_corpus_figures(corpus, paths), **parse_throughput(paths)}
        settings = _settings(arxiv, github, interval)
        output = root / "output"
        state = StateStore.for_output(output)
        reset_process_gates()
        arxiv.reset_log()
        github.reset_log()
        gc.collect()
        rss_before = _max_rss_mb()
        stages: dict[str, float] = {}
        began = mark = time.perf_counter()
        outcomes = [pipeline.parse_file(path) for path in paths]
        pipeline.remember(state, outcomes)
        digests = [o.digest for o in outcomes if o.digest is not None]
        stages["parse"], mark = time.perf_counter() - mark, time.perf_counter()
        resolved = pipeline.resolve(digests, settings=settings, state=state)
        stages["arxiv"], mark = time.perf_counter() - mark, time.perf_counter()
        read = pipeline.read_github(digests, settings=settings, state=state)
        stages["github"], mark = time.perf_counter() - mark, time.perf_counter()
        pipeline.issue_citekeys(state)
        rendered = pipeline.render(output, state)
        stages["render"] = time.perf_counter() - mark
        wall = time.perf_counter() - began
        rss_after = _max_rss_mb()
        arxiv.wait_idle()
        figures.update({
            "failed_digests": len(outcomes) - len(digests),
            "arxiv_requests": arxiv.request_count, "arxiv_requests_counted": resolved.requests,
            "github_requests": github.request_count, "gate_wait_s": resolved.gate_wait,
            "retry_wait_s": resolved.retry_wait, "gate_violations":
                arxiv.gate_violations(interval),
            "match_statuses": resolved.statuses, "repo_statuses": read.statuses,
            "in_bib": rendered.in_bib, "wall_s": wall, "stages_s": stages,
            "rss_before_mb": rss_before, "peak_rss_mb": rss_after,
        })
        figures.update(_outputs_vs_truth(output, corpus, repos, github))

        arxiv.reset_log()
        github.reset_log()
        again = time.perf_counter()
        pipeline.resolve(digests, settings=settings, state=state)
        pipeline.read_github(digests, settings=settings, state=state)
        pipeline.issue_citekeys(state)
        rewritten = pipeline.render(output, state)
        figures["rerun"] = {"arxiv_requests": arxiv.request_count,
                            "github_requests": github.request_count,
                            "files_changed": len(rewritten.written),
                            "wall_s": time.perf_counter() - again}

        if token:
            RepoStore(state).forget_all()
            github.reset_log()
            with_token = pipeline.read_github(
                digests, settings=_settings(arxiv, github, interval, DEFAULT_TOKEN), state=state)
            figures["token"] = {"github_requests": github.request_count,
                                "repo_statuses": with_token.statuses,
                                "same_statuses": with_token.statuses == read.statuses}
        state.close()
    figures["rss_growth_mb"] = max(0.0, figures["peak_rss_mb"] - figures["rss_before_mb"])
    figures["projected_s"] = _projected(figures["wall_s"],
                                        figures["gate_wait_s"] + figures["retry_wait_s"],
                                        figures["arxiv_requests"])
    return figures


def _projected(wall: float, waits: float, requests: int) -> float:
    """The same run at arXiv's 3 s: the waits the small interval caused (gate, retry backoff)
    replaced by 3 s per request."""
    return max(0.0, wall - waits) + requests * ARXIV_INTERVAL


def _naive_github(api_url: str, names: Sequence[str]) -> dict[str, tuple[int, str | None]]:
    """One REST call per link, as a script would: no dedupe, no cache, redirects followed."""
    last: dict[str, tuple[int, str | None]] = {}
    with httpx.Client(base_url=api_url, timeout=20, follow_redirects=True,
                      headers={"Accept": "application/vnd.github+json"}) as http:
        for name in names:
            answer = http.get(f"/repos/{name}")
            full_name = answer.json().get("full_name") if answer.status_code == 200 else None
            last[name.lower()] = (answer.status_code, full_name)
    return last


def measure_naive(entries: int, *, seed: int = 0, interval: float = 0.002,
                  sample: int | None = None) -> dict[str, Any]:
    """The naive baseline in the same harness (on the first `sample` entries when given)."""
    corpus = generate(entries, seed=seed)
    repos = github_corpus(linked_repos(corpus))
    with tempfile.TemporaryDirectory(prefix="pipeline-bench-naive-") as tmp, \
            services(corpus, repos) as (arxiv, github):
        root = Path(tmp)
        paths = corpus.write(root / "digests")
        figures: dict[str, Any] = {"variant": "naive", "interval_s": interval,
                                   **_corpus_figures(corpus, paths), **parse_throughput(paths)}
        settings = _settings(arxiv, github, interval)
        reset_process_gates()
        gate = process_gate("arxiv", interval)
        github.reset_log()
        gc.collect()
        rss_before = _max_rss_mb()
        began = time.perf_counter()
        queries: list[EntryQuery] = []
        truth: list[Expectation] = []
        links: list[list[str]] = []
        for path in paths:
            for entry in read_digest(path).entries:
                queries.append(entry_query(entry))
                truth.append(corpus.truth[(path.name, entry.index)])
                text = f"{entry.abstract}\n{entry.comment or ''}"
                links.append([link.repo for link in extract_links(text, "digest")
                              if link.repo])
        count = len(queries) if sample is None else min(sample, len(queries))
        waited = gate.waited
        arxiv_figures = _naive(arxiv, settings, queries[:count], truth[:count])
        gate_wait = gate.waited - waited
        asked = [name for names in links[:count] for name in names]
        answers = _naive_github(github.url, asked)
        wall = time.perf_counter() - began
        rss_after = _max_rss_mb()
        checked = {t.repo.lower(): t.repo for t in truth[:count] if t.repo}
        correct = 0
        for key, name in checked.items():
            status, full_name, _ = expected_repo(repos, name)
            got = answers.get(key)
            correct += got is not None and (
                (status == "ok" and got == (200, full_name))
                or (status == "missing" and got[0] == 404)
                or (status == "unavailable" and got[0] == 451))
        figures.update({
            "sample": count, "arxiv_requests": arxiv_figures["requests"],
            "github_requests": github.request_count, "github_links_asked": len(asked),
            "repos_sampled": len({n.lower() for n in asked}),
            "gate_wait_s": gate_wait, "gate_violations": arxiv_figures["gate_violations"],
            "arxiv_wall_s": arxiv_figures["wall_s"], "wall_s": wall,
            "precision": arxiv_figures["precision"], "recall": arxiv_figures["recall"],
            "correct": arxiv_figures["correct"], "wrong": arxiv_figures["wrong"],
            "statuses": arxiv_figures["statuses"], "repos_correct": correct,
            "repos_checked": len(checked),
            "rerun": {"arxiv_requests": arxiv_figures["requests"],
                      "github_requests": github.request_count, "note": "no cache: as cold"},
            "rss_before_mb": rss_before, "peak_rss_mb": rss_after,
        })
    scale = entries / count
    figures["rss_growth_mb"] = max(0.0, figures["peak_rss_mb"] - figures["rss_before_mb"])
    figures["projected_s"] = _projected(figures["wall_s"] * scale, figures["gate_wait_s"] * scale,
                                        round(figures["arxiv_requests"] * scale))
    figures["extrapolated"] = count < entries
    return figures


# --------------------------------------------------------------------------------------------
# One process per size and variant


def run_sizes(sizes: Sequence[int], *, seed: int, interval: float, naive_sample: int | None,
              token: bool) -> list[dict[str, Any]]:
    """Measure every size, each variant in a fresh interpreter; returns one dict per size."""
    results = []
    for size in sizes:
        row: dict[str, Any] = {"entries": size}
        for variant in ("ours", "naive"):
            began = time.perf_counter()
            command = [sys.executable, "-m", "bench.pipeline_bench", "--one", str(size),
                       "--variant", variant, "--seed", str(seed), "--interval", str(interval)]
            if naive_sample is not None:
                command += ["--naive-sample", str(naive_sample)]
            if not token:
                command.append("--no-token")
            done = subprocess.run(command, capture_output=True, text=True, check=False,
                                  env={**os.environ, "PYTHONHASHSEED": "0"})
            if done.returncode != 0:
                raise RuntimeError(f"{variant} at {size} entries failed:\n{done.stderr}")
            row[variant] = json.loads(done.stdout.strip().splitlines()[-1])
            print(f"  {size:>5} entries, {variant:<5} {time.perf_counter() - began:6.1f} s",
                  file=sys.stderr, flush=True)
        results.append(row)
    return results


# --------------------------------------------------------------------------------------------
# Tables


def _ratio(naive: float, ours: float) -> str:
    if ours == 0:
        return "∞" if naive else "–"
    return f"{naive / ours:.1f}×"


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.1f} s"


def _cell(ours: str, naive: str, ratio: str = "") -> str:
    return f"{ours} · {naive}" + (f" ({ratio})" if ratio else "")


def comparison_table(results: Sequence[Mapping[str, Any]]) -> str:
    """One row per measure, one column per size; each cell `ours · naive (naive/ours)`."""
    def per_size(fn: Any) -> list[str]:
        return [fn(r["ours"], r["naive"]) for r in results]

    def rerun(o: Mapping[str, Any], n: Mapping[str, Any]) -> str:
        ours = f"{o['rerun']['arxiv_requests']:,} + {o['rerun']['github_requests']:,}"
        scale = o["entries"] / n["sample"]
        return _cell(ours, f"{round(n['arxiv_requests'] * scale):,} + "
                           f"{round(n['github_requests'] * scale):,}" + sampled(n))

    def sampled(n: Mapping[str, Any]) -> str:
        return "*" if n["extrapolated"] else ""

    rows: list[tuple[str, list[str]]] = [
        ("arXiv requests, cold", per_size(lambda o, n: _cell(
            f"{o['arxiv_requests']:,}",
            f"{round(n['arxiv_requests'] * o['entries'] / n['sample']):,}" + sampled(n),
            _ratio(n["arxiv_requests"] / n["sample"], o["arxiv_requests"] / o["entries"])))),
        ("arXiv requests per entry", per_size(lambda o, n: _cell(
            f"{o['arxiv_requests'] / o['entries']:.3f}",
            f"{n['arxiv_requests'] / n['sample']:.3f}" + sampled(n)))),
        ("GitHub requests per repository, no token", per_size(lambda o, n: _cell(
            f"{o['github_requests'] / o['repos']:.2f}",
            f"{n['github_requests'] / max(1, n['repos_sampled']):.2f}" + sampled(n),
            _ratio(n["github_requests"] / max(1, n["repos_sampled"]),
                   o["github_requests"] / o["repos"])))),
        ("GitHub requests per repository, token", per_size(lambda o, n: _cell(
            f"{o['token']['github_requests'] / o['repos']:.3f}" if "token" in o else "–", "–"))),
        ("requests on a re-run (arXiv + GitHub)", per_size(rerun)),
        ("precision (wrong IDs)", per_size(lambda o, n: _cell(
            f"{o['precision']:.4f} ({o['wrong']})", f"{n['precision']:.4f} ({n['wrong']})"
            + sampled(n)))),
        ("recall on papers on arXiv", per_size(lambda o, n: _cell(
            f"{o['recall']:.4f}", f"{n['recall']:.4f}" + sampled(n)))),
        ("repository facts right", per_size(lambda o, n: _cell(
            f"{o['repos_correct']:,}/{o['repos_checked']:,}",
            f"{n['repos_correct']:,}/{n['repos_checked']:,}" + sampled(n)))),
        (f"wall time at {results[0]['ours']['interval_s'] * 1000:g} ms interval",
         per_size(lambda o, n: _cell(_duration(o["wall_s"]),
                                     _duration(n["wall_s"] * o["entries"] / n["sample"])
                                     + sampled(n),
                                     _ratio(n["wall_s"] * o["entries"] / n["sample"],
                                            o["wall_s"])))),
        ("projected at arXiv's 3 s", per_size(lambda o, n: _cell(
            _duration(o["projected_s"]), _duration(n["projected_s"]) + sampled(n),
            _ratio(n["projected_s"], o["projected_s"])))),
        ("parse throughput (same parser)", per_size(lambda o, n: _cell(
            f"{o['parse_mb_per_s']:.1f} MB/s", f"{n['parse_mb_per_s']:.1f} MB/s"))),
        ("peak RSS (process, fakes included)", per_size(lambda o, n: _cell(
            f"{o['peak_rss_mb']:.0f} MB", f"{n['peak_rss_mb']:.0f} MB"))),
        ("RSS growth while running, per entry", per_size(lambda o, n: _cell(
            f"{o['rss_growth_mb'] * 1024 / o['entries']:.1f} KB",
            f"{n['rss_growth_mb'] * 1024 / n['sample']:.1f} KB"))),
    ]
    head = "| measure (digest-enrich · naive) | " + " | ".join(
        f"{r['entries']:,} entries" for r in results) + " |"
    lines = [head, "|---" * (len(results) + 1) + "|"]
    lines += [f"| {name} | " + " | ".join(cells) + " |" for name, cells in rows]
    return "\n".join(lines)


def growth_table(results: Sequence[Mapping[str, Any]]) -> str:
    """How digest-enrich's cost grows with the number of entries."""
    base = results[0]["ours"]
    lines = ["| entries | × entries | arXiv requests (×) | per entry | GitHub requests (×) "
             "| per repo | wall (per entry) | peak RSS | RSS growth while running | per entry "
             "| marginal per entry |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    previous: Mapping[str, Any] | None = None
    for r in results:
        o = r["ours"]
        marginal = "–"
        if previous is not None and o["entries"] > previous["entries"]:
            extra = (o["rss_growth_mb"] - previous["rss_growth_mb"]) * 1024
            marginal = f"{extra / (o['entries'] - previous['entries']):.1f} KB"
        lines.append(
            f"| {o['entries']:,} | {o['entries'] / base['entries']:.0f} "
            f"| {o['arxiv_requests']:,} ({o['arxiv_requests'] / base['arxiv_requests']:.1f}) "
            f"| {o['arxiv_requests'] / o['entries']:.3f} "
            f"| {o['github_requests']:,} ({o['github_requests'] / base['github_requests']:.1f}) "
            f"| {o['github_requests'] / o['repos']:.2f} "
            f"| {_duration(o['wall_s'])} ({o['wall_s'] * 1000 / o['entries']:.1f} ms) "
            f"| {o['peak_rss_mb']:.0f} MB | {o['rss_growth_mb']:.0f} MB "
            f"| {o['rss_growth_mb'] * 1024 / o['entries']:.1f} KB | {marginal} |")
        previous = o
    return "\n".join(lines)


def markdown(results: Sequence[Mapping[str, Any]]) -> str:
    """The tables and the notes that go with them."""
    corpus = "; ".join(
        f"{r['ours']['entries']:,} entries in {r['ours']['digests']} digests, "
        f"{r['ours']['papers_served']:,} papers on the fake arXiv ({r['ours']['decoys']:,} "
        f"decoys), {r['ours']['repos']:,} linked repositories" for r in results)
    notes = [
        f"Corpora (seed {results[0]['ours'].get('seed', 0)}): {corpus}. Every 15th repository "
        "was renamed since the digest, every 20th deleted, every 40th DMCA-blocked.",
        "",
        "Each cell of the first table is `digest-enrich · naive (naive / ours)`. The naive "
        "baseline parses with the same parser, asks arXiv one `ti:\"…\"` query per entry and "
        "takes the first hit, and makes one GitHub REST call per link as printed (no dedupe, no "
        "cache, redirects followed); its re-run costs what its first run cost. \"Projected at "
        "3 s\" is the wall time minus the waits the small interval caused, plus 3 s per arXiv "
        "request (an upper estimate: it also counts the fake's serving time). GitHub's 60/h "
        "anonymous quota is lifted to count requests (`python -m bench.github_bench` shows the "
        "real quota). With a token, GitHub facts come by GraphQL, 100 repositories a request.",
        "",
        "Each variant runs in its own process, with the fakes in that process; peak RSS "
        "includes them and their corpora, loaded before the run starts. \"RSS growth\" is how "
        "far the peak rose while the pipeline ran (parse to render); \"marginal per entry\" is "
        "the growth added per extra entry from the previous size, which leaves out the fixed "
        "start-up cost that dominates small runs.",
    ]
    extrapolated = [r for r in results if r["naive"]["extrapolated"]]
    if extrapolated:
        notes += ["", "\\* naive baseline run on the first "
                  + ", ".join(f"{r['naive']['sample']:,} of {r['entries']:,}"
                              for r in extrapolated)
                  + " entries; its counts and times are extrapolated linearly, its ratios are "
                    "per entry."]
    return "\n".join([comparison_table(results), "", growth_table(results), "", *notes])


def check(results: Sequence[Mapping[str, Any]]) -> list[str]:
    """What a healthy run must show; the failures, as sentences."""
    problems = []
    for r in results:
        o = r["ours"]
        size = f"{o['entries']} entries"
        if o["arxiv_requests"] / o["entries"] > 0.5:
            problems.append(f"{size}: {o['arxiv_requests']} arXiv requests")
        if o["rerun"]["arxiv_requests"] or o["rerun"]["github_requests"]:
            problems.append(f"{size}: the re-run asked {o['rerun']}")
        if o["wrong"]:
            problems.append(f"{size}: {o['wrong']} wrong arXiv IDs")
        if o["gate_violations"]:
            problems.append(f"{size}: {o['gate_violations']} gate violations")
        if o["repos_correct"] != o["repos_checked"]:
            problems.append(f"{size}: repository facts right for only "
                            f"{o['repos_correct']}/{o['repos_checked']}")
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pipeline_bench",
                                     description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)),
                        help="digest entries per corpus, comma-separated (default %(default)s)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--interval", type=float, default=0.002,
                        help="ARXIV_MIN_INTERVAL for the runs (seconds)")
    parser.add_argument("--naive-sample", type=int, default=None,
                        help="run the naive baseline on this many entries and extrapolate")
    parser.add_argument("--no-token", action="store_true", help="skip the GitHub token read")
    parser.add_argument("--json", type=Path, default=RESULTS / "latest.json",
                        help="where to write the figures (default %(default)s)")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--variant", choices=("ours", "naive"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    if args.one:
        if args.variant == "naive":
            figures = measure_naive(args.one, seed=args.seed, interval=args.interval,
                                    sample=args.naive_sample)
        else:
            figures = measure_ours(args.one, seed=args.seed, interval=args.interval,
                                   token=not args.no_token)
        figures["seed"] = args.seed
        print(json.dumps(figures, sort_keys=True))
        return 0
    sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()})
    print(f"python -m bench.pipeline_bench: sizes {', '.join(map(str, sizes))}, "
          f"interval {args.interval} s, each variant in its own process", file=sys.stderr,
          flush=True)
    began = time.perf_counter()
    results = run_sizes(sizes, seed=args.seed, interval=args.interval,
                        naive_sample=args.naive_sample, token=not args.no_token)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"seed": args.seed, "interval_s": args.interval,
                                     "sizes": results}, indent=2, sort_keys=True) + "\n",
                         encoding="utf-8")
    print(markdown(results))
    problems = check(results)
    print(f"\n{len(sizes)} size(s) in {_duration(time.perf_counter() - began)}; figures in "
          f"{args.json}", file=sys.stderr)
    for problem in problems:
        print(f"FAILED: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())

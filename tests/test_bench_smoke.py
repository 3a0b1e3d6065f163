"""The pipeline benchmark at a tiny size, so that `python -m bench` cannot rot unnoticed.

Not a timed test: `python -m bench` runs the way a user runs it, in a subprocess (the test suite
never imports `bench/`; `bench/` imports the suite's fakes and corpora), and the figures it
writes with `--json` must be sane: few requests, no wrong ID, a re-run that asks nothing, no
failed check. The indexed search the benchmark serves from is tested in
`test_indexed_search.py`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import REPO, cli_env

ENTRIES = 40


def run_bench(tmp_path: Path, *options: str) -> tuple[str, dict[str, Any]]:
    """`python -m bench` at ENTRIES entries; its markdown tables and its JSON figures."""
    figures = tmp_path / "figures.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--sizes", str(ENTRIES), "--seed", "0",
         "--interval", "0.002", "--json", str(figures), *options],
        cwd=REPO, env=cli_env(tmp_path / "prefect"), capture_output=True, text=True,
        timeout=600, check=False)
    # The benchmark's own checks (`check()`): exit status 1 and a FAILED line per problem.
    assert done.returncode == 0, done.stderr
    assert "FAILED" not in done.stderr, done.stderr
    written: dict[str, Any] = json.loads(figures.read_text(encoding="utf-8"))
    assert (written["seed"], written["interval_s"]) == (0, 0.002)
    assert [row["entries"] for row in written["sizes"]] == [ENTRIES]
    return done.stdout, written["sizes"][0]


def test_the_pipeline_bench_at_a_tiny_size_gives_sane_figures(tmp_path: Path) -> None:
    tables, row = run_bench(tmp_path)
    ours, naive = row["ours"], row["naive"]

    assert ours["entries"] == naive["entries"] == ENTRIES
    assert ours["failed_digests"] == 0
    assert 0 < ours["arxiv_requests"] <= 0.5 * ENTRIES
    assert ours["arxiv_requests"] == ours["arxiv_requests_counted"]
    assert (ours["precision"], ours["wrong"], ours["recall"]) == (1.0, 0, 1.0)
    assert ours["rerun"] == {"arxiv_requests": 0, "github_requests": 0, "files_changed": 0,
                             "wall_s": ours["rerun"]["wall_s"]}
    assert ours["gate_violations"] == 0
    assert ours["repos_checked"] > 0 and ours["repos_correct"] == ours["repos_checked"]
    assert 0 < ours["github_requests"] <= 2 * ours["repos"]
    assert ours["token"]["same_statuses"] and ours["token"]["github_requests"] == 1
    assert ours["projected_s"] >= 3 * ours["arxiv_requests"]
    assert ours["parse_mb_per_s"] > 0 and ours["peak_rss_mb"] >= ours["rss_before_mb"] > 0

    # The baseline costs what it is defined to cost, and is no more right than we are.
    assert naive["arxiv_requests"] == ENTRIES
    assert naive["github_links_asked"] >= naive["repos_sampled"] > 0
    assert naive["precision"] <= ours["precision"] and naive["recall"] <= ours["recall"]
    assert not naive["extrapolated"]

    assert "| arXiv requests, cold | " in tables
    assert f"| {ENTRIES} | 1 | {ours['arxiv_requests']} (1.0) |" in tables


def test_a_sampled_naive_baseline_says_it_was_extrapolated(tmp_path: Path) -> None:
    _, row = run_bench(tmp_path, "--naive-sample", "10", "--no-token")
    naive = row["naive"]
    assert (naive["sample"], naive["arxiv_requests"], naive["extrapolated"]) == (10, 10, True)


def test_the_sources_bench_at_a_small_size_meets_the_bar(tmp_path: Path) -> None:
    figures_path = tmp_path / "sources.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench.sources_bench", "--entries", "60", "--seed", "1",
         "--json", str(figures_path)],
        cwd=REPO, env=cli_env(tmp_path / "prefect"), capture_output=True, text=True,
        timeout=600, check=False)
    assert done.returncode == 0, done.stdout + done.stderr  # its own checks: the bar
    figures = json.loads(figures_path.read_text(encoding="utf-8"))
    assert figures["links"]["recall"] >= 0.98 and figures["links"]["precision"] == 1.0
    assert figures["links"]["correct"] > figures["links_text_only"]["correct"]
    assert figures["venues"]["precision"] == 1.0 and figures["venues"]["recall"] >= 0.95
    assert figures["requests"]["semantic_scholar"] == 1
    assert not any(figures["rerun"].values())
    assert "| code-link recall (goal ≥ 0.98) |" in done.stdout

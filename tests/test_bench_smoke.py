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

import pytest

from tests.conftest import REPO, cli_env

ENTRIES = 40


def run_bench(tmp_path: Path, *options: str) -> tuple[str, dict[str, Any]]:
    """`python -m bench` at ENTRIES entries; its markdown tables and its JSON figures."""
    figures = tmp_path / "figures.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench.pipeline_bench", "--sizes", str(ENTRIES), "--seed", "0",
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


def test_the_scale_bench_at_a_tiny_size_separates_our_cost_from_the_fakes(
        tmp_path: Path) -> None:
    figures = tmp_path / "scale.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench.scale", "--sizes", str(ENTRIES), "--naive-sample", "20",
         "--parse-mb", "1", "--json", str(figures)],
        cwd=REPO, env=cli_env(tmp_path / "prefect"), capture_output=True, text=True,
        timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    assert "FAILED" not in done.stderr, done.stderr
    written: dict[str, Any] = json.loads(figures.read_text(encoding="utf-8"))
    (row,) = written["sizes"]
    ours = row["ours"]
    # The replayed run (our cost alone) wrote what the live run wrote, and asked no fake.
    assert ours["replay_identical"]
    assert set(ours["replayed"]) == {"parse", "arxiv", "github", "keys", "render"}
    assert all(stage["cpu_s"] > 0 for stage in ours["replayed"].values())
    assert ours["live"]["arxiv"]["fake_arxiv_cpu_s"] > 0
    assert ours["live"]["render"]["fake_arxiv_cpu_s"] == 0
    assert ours["rerun"] == {"arxiv": 0, "github": 0}
    assert (ours["precision"], ours["wrong"]) == (1.0, 0)
    assert row["pipeline_peak_mb"] > 0 and row["peak_rss_mb"] > 0
    # The parser on large digests: both shapes, both ways of reading, the same entries.
    assert [(p["shape"], p["megabytes"]) for p in written["parser"]] == [("typical", 1),
                                                                         ("long", 1)]
    for parsed in written["parser"]:
        assert parsed["streaming"]["entries"] == parsed["whole file"]["entries"] > 0
        assert parsed["streaming"]["mb_per_s"] > 0
    assert "| entries | ours | parse |" in done.stdout


@pytest.mark.e2e
def test_the_startup_bench_runs_ours_against_a_bare_flow_and_reports_ratios(
        tmp_path: Path) -> None:
    figures = tmp_path / "startup.json"
    done = subprocess.run([sys.executable, "-m", "bench.startup", "--smoke", "--json",
                           str(figures)], cwd=REPO, env=cli_env(tmp_path / "prefect"),
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    report = json.loads(figures.read_text(encoding="utf-8"))
    cases = report["cases"]
    assert set(cases) == {"bare flow, first", "ours, local server, first",
                          "ours, local server, warm"}
    assert all(c["ok"] == c["runs"] == 1 for c in cases.values())
    assert cases["bare flow, first"]["ratio_to_bare_first"] == 1.0
    # Ours says something within seconds; its flow time is read from its summary.
    ours = cases["ours, local server, warm"]
    assert ours["first_output_s"] < ours["wall_s"] and ours["flow_s"] > 0
    assert ours["ratio_to_bare_first"] < 1.0  # reusing the server beats starting one
    [batch] = report["concurrent"]
    assert (batch["n"], batch["ok"], batch["servers_running_after"]) == (2, 2, 1)
    assert "| ours, local server, warm |" in done.stdout

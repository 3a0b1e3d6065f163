"""The Prefect way, for real: a `prefect server`, a process work pool, `prefect deploy` from the
repo's prefect.yaml, workers, `prefect deployment run … --watch` — all on loopback, against the
project's fakes. Slow (a server start, several flow-run subprocesses), so marked e2e.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO, SEEDS, cli_env
from tests.fakes.arxiv_api import FakeArxiv
from tests.fakes.github_api import FakeGitHub

pytestmark = pytest.mark.e2e

INTERVAL = 0.2
SEED = SEEDS / "000_024a476f5ee58d5f.txt"
PREFECT = [sys.executable, "-m", "prefect"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _prefect(args: list[str], env: dict[str, str], timeout: float = 180,
             ) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([*PREFECT, *args], env=env, cwd=REPO, capture_output=True, text=True,
                          timeout=timeout, check=False)
    assert done.returncode == 0, f"prefect {' '.join(args)}\n{done.stdout}\n{done.stderr}"
    return done


class Worker:
    def __init__(self, name: str, env: dict[str, str], log: Path, limit: int = 0) -> None:
        self.name = name
        self.log = log
        self._file = log.open("w")
        self.proc = subprocess.Popen(
            [*PREFECT, "worker", "start", "--pool", "digest-enrich", "--type", "process",
             "--name", name, *(["--limit", str(limit)] if limit else [])],
            env=env, cwd=REPO, stdout=self._file, stderr=subprocess.STDOUT,
            start_new_session=True)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self._file.close()

    def flow_runs(self) -> list[str]:
        """Names of the flow runs this worker started (from its log; a worker that lost the
        race for a run logs "Aborted submission" instead)."""
        text = self.log.read_text(errors="replace")
        return re.findall(r"Flow run '([^']+)' submitted to infrastructure", text)


@pytest.fixture(scope="module")
def fakes() -> Iterator[tuple[FakeArxiv, FakeGitHub]]:
    with FakeArxiv() as arxiv, FakeGitHub() as github:
        yield arxiv, github


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory,
           fakes: tuple[FakeArxiv, FakeGitHub]) -> Iterator[dict[str, str]]:
    """A real Prefect server on loopback with a private home; yields the clients' env."""
    arxiv, github = fakes
    home = tmp_path_factory.mktemp("prefect-home")
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    base = cli_env(home, ARXIV_API_URL=arxiv.url, GITHUB_API_URL=github.url,
                   ARXIV_MIN_INTERVAL=str(INTERVAL),
                   PREFECT_WORKER_QUERY_SECONDS="1", PREFECT_WORKER_PREFETCH_SECONDS="2",
                   PREFECT_LOGGING_LEVEL="INFO")
    server_env = {**base,
                  # No scheduled runs of the daily deployment while tests run.
                  "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false"}
    log = (home / "server.log").open("w")
    proc = subprocess.Popen([*PREFECT, "server", "start", "--host", "127.0.0.1", "--port",
                             str(port)], env=server_env, cwd=home, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail("prefect server did not start:\n"
                            + (home / "server.log").read_text(errors="replace")[-3000:])
            time.sleep(0.5)
        env = {**base, "PREFECT_API_URL": api}
        _prefect(["work-pool", "create", "digest-enrich", "--type", "process"], env)
        _prefect(["--no-prompt", "deploy", "--all"], env)
        yield env
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


def _read_runs(env: dict[str, str], deployment: str) -> list[dict[str, object]]:
    api = env["PREFECT_API_URL"]
    dep = httpx.get(f"{api}/deployments/name/{deployment}", timeout=10).json()
    runs = httpx.post(f"{api}/flow_runs/filter", timeout=10, json={
        "deployments": {"id": {"any_": [dep["id"]]}}, "limit": 200}).json()
    return list(runs)


def _summary_artifact(env: dict[str, str], flow_run_id: str) -> str:
    """The markdown of the summary artifact a flow run published."""
    arts = httpx.post(f"{env['PREFECT_API_URL']}/artifacts/filter", timeout=10, json={
        "artifacts": {"key": {"any_": ["enrich-digests-summary"]},
                      "flow_run_id": {"any_": [flow_run_id]}}}).json()
    assert len(arts) == 1, arts
    return str(arts[0]["data"])


def test_deploy_and_run_the_daily_deployment(tmp_path: Path, server: dict[str, str],
                                             fakes: tuple[FakeArxiv, FakeGitHub]) -> None:
    arxiv, _ = fakes
    arxiv.reset_log()
    output = tmp_path / "out"
    worker = Worker("w-daily", server, tmp_path / "worker.log")
    try:
        done = _prefect(["deployment", "run", "enrich-digests/daily", "--watch",
                         "--watch-timeout", "300",
                         "--params", json.dumps({"sources": [str(SEEDS)],
                                                 "output": str(output)})],
                        server, timeout=360)
    finally:
        worker.stop()
    assert "Completed" in done.stdout, done.stdout + worker.log.read_text(errors="replace")
    papers = [json.loads(line) for line in (output / "papers.jsonl").read_text().splitlines()]
    assert len(papers) == 14
    assert all(p["match"]["status"] == "matched" for p in papers)
    entries = re.findall(r"^@(\w+)\{", (output / "references.bib").read_text(), re.MULTILINE)
    assert len(entries) == 14 and set(entries) <= {"techreport", "inproceedings", "article"}
    # The fleet-wide limits were created with arXiv's numbers and every request honoured them.
    api = server["PREFECT_API_URL"]
    limit = httpx.get(f"{api}/v2/concurrency_limits/arxiv-api-rate", timeout=10).json()
    assert limit["limit"] == 1
    assert limit["slot_decay_per_second"] == pytest.approx(1 / INTERVAL)
    assert arxiv.gate_violations(INTERVAL) == 0
    # Artifacts with stable keys.
    arts = httpx.post(f"{api}/artifacts/filter", timeout=10,
                      json={"artifacts": {"key": {"any_": ["enrich-digests-summary",
                                                           "enrich-digests-papers"]}}}).json()
    assert {a["key"] for a in arts} == {"enrich-digests-summary", "enrich-digests-papers"}
    summary = next(a for a in arts if a["key"] == "enrich-digests-summary")
    assert "14 matched" in summary["data"]
    # The weekly re-check of published versions and stars was deployed with its schedule.
    weekly = httpx.get(f"{api}/deployments/name/enrich-digests/weekly", timeout=10).json()
    assert weekly["parameters"]["recheck_published_weeks"] == 4
    assert weekly["parameters"]["refresh_github"] is True
    assert [s["schedule"]["cron"] for s in weekly["schedules"]] == ["0 3 * * 1"]


def _split_into_digests(target: Path) -> list[Path]:
    """One digest per seed entry: the seed's category and date lines, then that entry."""
    made = []
    for seed in sorted(SEEDS.glob("*.txt")):
        text = seed.read_text("utf-8")
        marker = "点此查看论文截图"
        header_end = text.index("更新") + len("更新")
        header, body = text[:header_end], text[header_end:]
        blocks = [b for b in body.split(marker)[:-1] if b.strip()]
        for index, block in enumerate(blocks):
            path = target / f"{seed.stem}-{index:02d}.txt"
            path.write_text(f"{header}\n{block.strip()}\n\n{marker}\n", "utf-8")
            made.append(path)
    return made


def test_two_workers_share_a_backfill_exactly_once(tmp_path: Path, server: dict[str, str],
                                                   fakes: tuple[FakeArxiv, FakeGitHub]) -> None:
    arxiv, _ = fakes
    (tmp_path / "digests").mkdir()
    digests = _split_into_digests(tmp_path / "digests")
    assert len(digests) == 14
    backfills_before = {r["id"] for r in _read_runs(server, "enrich-backfill/backfill")}

    def backfill(output: Path, workers: list[Worker]) -> list[dict[str, object]]:
        before = {r["id"] for r in _read_runs(server, "enrich-digests/partition")}
        try:
            done = _prefect(["deployment", "run", "enrich-backfill/backfill", "--watch",
                             "--watch-timeout", "600", "--params", json.dumps({
                                 "sources": [str(tmp_path / "digests")],
                                 "output": str(output), "batch_size": 2,
                                 "poll_seconds": 1})], server, timeout=660)
        finally:
            for worker in workers:
                worker.stop()
        assert "Completed" in done.stdout, done.stdout
        return [r for r in _read_runs(server, "enrich-digests/partition")
                if r["id"] not in before]

    arxiv.reset_log()
    # At most two flow runs each (the backfill parent takes a slot while it waits): with no
    # limit, the worker that polled first sometimes took all seven partitions.
    two = [Worker(f"w{i}", server, tmp_path / f"worker{i}.log", limit=2) for i in (1, 2)]
    runs = backfill(tmp_path / "out-two", two)
    assert arxiv.gate_violations(INTERVAL) == 0
    assert arxiv.max_in_flight == 1
    # The parent's summary adds up what its partitions saw (issue item 6: it said "arXiv
    # requests: 0" and "none" while the partitions did all the asking).
    (parent,) = [r for r in _read_runs(server, "enrich-backfill/backfill")
                 if r["id"] not in backfills_before]
    summary = _summary_artifact(server, str(parent["id"]))
    assert "**Papers (arXiv)**: 14 matched" in summary, summary
    asked = re.search(r"\*\*arXiv requests\*\*: (\d+)", summary)
    assert asked is not None and int(asked.group(1)) == arxiv.request_count > 0, summary

    # Every digest in exactly one partition run; every run completed, by exactly one worker.
    assert len(runs) == 7
    assert all(r["state_type"] == "COMPLETED" for r in runs)
    sources = sorted(s for r in runs for s in r["parameters"]["sources"])  # type: ignore[index]
    assert sources == sorted(str(p.resolve()) for p in digests)
    taken = [name for w in two for name in w.flow_runs()]
    partition_names = sorted(str(r["name"]) for r in runs)
    assert sorted(n for n in taken if n.startswith("backfill-")) == partition_names
    assert all(any(n.startswith("backfill-") for n in w.flow_runs()) for w in two)

    # The same backfill on one worker writes byte-identical outputs.
    one = [Worker("w-single", server, tmp_path / "worker-single.log")]
    backfill(tmp_path / "out-one", one)
    for name in ("papers.jsonl", "references.bib", "references.json", "report.json"):
        assert (tmp_path / "out-two" / name).read_bytes() == \
            (tmp_path / "out-one" / name).read_bytes(), name
    papers = (tmp_path / "out-two" / "papers.jsonl").read_text().splitlines()
    assert len(papers) == 14


def test_an_outage_is_said_in_the_flow_runs_log_on_the_server(
        tmp_path: Path, server: dict[str, str]) -> None:
    # Issue item 6: with arXiv and GitHub unreachable the worker's terminal said so, the flow
    # run's log on the server did not.
    unreachable = {**server, "ARXIV_API_URL": "http://127.0.0.1:9/api/query",
                   "GITHUB_API_URL": "http://127.0.0.1:9", "ARXIV_MAX_ATTEMPTS": "2",
                   "GITHUB_MAX_ATTEMPTS": "2"}
    before = {r["id"] for r in _read_runs(server, "enrich-digests/daily")}
    worker = Worker("w-outage", unreachable, tmp_path / "worker.log")
    try:
        done = _prefect(["deployment", "run", "enrich-digests/daily", "--watch",
                         "--watch-timeout", "300",
                         "--params", json.dumps({"sources": [str(SEED)],
                                                 "output": str(tmp_path / "out")})],
                        server, timeout=360)
    finally:
        worker.stop()
    assert "Completed" in done.stdout, done.stdout + worker.log.read_text(errors="replace")
    (run,) = [r for r in _read_runs(server, "enrich-digests/daily") if r["id"] not in before]
    logs = httpx.post(f"{server['PREFECT_API_URL']}/logs/filter", timeout=10, json={
        "logs": {"flow_run_id": {"any_": [run["id"]]}, "level": {"ge_": 30}},
        "limit": 200}).json()
    said = "\n".join(f"{log['name']}: {log['message']}" for log in logs)
    # The flow's own warning, and the core's (PREFECT_LOGGING_EXTRA_LOGGERS in prefect.yaml).
    assert "arXiv was unavailable" in said, said
    assert "GitHub was unavailable" in said, said
    assert re.search(r"^enrich\.[\w.]+: arXiv unavailable", said, re.MULTILINE), said
    assert "**arXiv unavailable**" in _summary_artifact(server, str(run["id"]))

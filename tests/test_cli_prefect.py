"""`digest-enrich run` and Prefect: one local server shared by runs started together, every way
Prefect can fail said in one line with exit code 6, and progress on stderr from the start.

Subprocesses over loopback, like a user's runs; each test's server is stopped afterwards
(tests/conftest.py).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from flows.local_server import LocalServer, Paths
from tests.conftest import REPO, SEEDS, cli_env, run_cli
from tests.fakes.arxiv_api import FakeArxiv
from tests.fakes.github_api import FakeGitHub

pytestmark = pytest.mark.e2e

EXIT_PREFECT = 6


@pytest.fixture(scope="module")
def fakes() -> Iterator[tuple[FakeArxiv, FakeGitHub]]:
    with FakeArxiv() as arxiv, FakeGitHub() as github:
        yield arxiv, github


@pytest.fixture
def env(tmp_path: Path, fakes: tuple[FakeArxiv, FakeGitHub]) -> dict[str, str]:
    arxiv, github = fakes
    return cli_env(tmp_path / "prefect", ARXIV_API_URL=arxiv.url, GITHUB_API_URL=github.url,
                   ARXIV_MIN_INTERVAL="0")


def _start(env: dict[str, str], output: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "flows.cli", "run", str(SEEDS), "--output",
                             str(output)], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _server_processes(env: dict[str, str]) -> list[int]:
    needle = f"--home\0{Paths.under(Path(env['DIGEST_ENRICH_HOME'])).root}\0".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes() + b"\0"
            except OSError:
                continue
            if b"flows.server_process" in cmdline and needle in cmdline:
                found.append(int(entry.name))
    return found


def _papers(output: Path) -> int:
    return len((output / "papers.jsonl").read_text(encoding="utf-8").splitlines())


def test_runs_started_together_share_one_server_and_all_succeed(tmp_path: Path,
                                                                env: dict[str, str]) -> None:
    # Two at once with nothing running (they race to start it), then several on the server.
    for batch, count in (("two", 2), ("several", 5)):
        runs = [_start(env, tmp_path / f"{batch}-{i}") for i in range(count)]
        for i, run in enumerate(runs):
            out, err = run.communicate(timeout=300)
            assert run.returncode == 0, f"{batch} run {i}:\n{out}\n{err}"
            assert "14 matched" in out
            assert _papers(tmp_path / f"{batch}-{i}") == 14
        assert len(_server_processes(env)) == 1, batch
    server = LocalServer(Path(env["DIGEST_ENRICH_HOME"])).status()
    assert server is not None
    assert _server_processes(env) == [server.pid]

    # Every run is a flow run of that server, with its task runs, logs and artifacts.
    api = server.api_url
    runs_seen = httpx.post(f"{api}/flow_runs/filter", json={}, timeout=30).json()
    assert len(runs_seen) == 7
    assert {r["state_type"] for r in runs_seen} == {"COMPLETED"}
    tasks = httpx.post(f"{api}/task_runs/filter", json={
        "flow_runs": {"id": {"any_": [runs_seen[0]["id"]]}}}, timeout=30).json()
    assert {"parse-digest", "resolve-arxiv", "read-github", "write-outputs"} <= {
        t["name"].rsplit("-", 1)[0] for t in tasks}
    logs = httpx.post(f"{api}/logs/filter", json={"logs": {
        "flow_run_id": {"any_": [runs_seen[0]["id"]]}}}, timeout=30).json()
    assert any("arXiv: 14/14 entries" in entry["message"] for entry in logs)
    artifacts = httpx.post(f"{api}/artifacts/filter", json={}, timeout=30).json()
    assert {a["key"] for a in artifacts} >= {"enrich-digests-summary", "enrich-digests-papers"}

    status = run_cli(["server", "status"], env=env)
    assert status.returncode == 0
    assert f"local Prefect server at {server.url}" in status.stdout
    stopped = run_cli(["server", "stop"], env=env)
    assert stopped.returncode == 0, stopped.stderr
    assert f"stopped the local Prefect server at {server.url}" in stopped.stdout
    assert _server_processes(env) == []
    assert run_cli(["server", "status"], env=env).returncode == 1


def test_progress_shows_on_stderr_from_the_start_as_plain_lines(tmp_path: Path,
                                                                env: dict[str, str]) -> None:
    done = run_cli(["run", str(SEEDS), "--output", str(tmp_path / "out")], env=env)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert lines[0].startswith("digest-enrich:   0.")  # within the first second
    assert "Prefect: starting a local Prefect server in the background" in lines[0]
    for expected in ("Prefect: ready in ", "parse: 2/2 digests", "arXiv: 0/14 entries",
                     "arXiv: 14/14 entries", "GitHub: 5/5 repositories", "write: 6/6 files"):
        assert any(expected in line for line in lines), (expected, done.stderr)
    assert all(line.startswith("digest-enrich: ") for line in lines), done.stderr
    assert "Traceback" not in done.stderr
    assert "14 matched" in done.stdout  # the summary stays on stdout

    again = run_cli(["run", str(SEEDS), "--output", str(tmp_path / "out"), "-q"], env=env)
    assert again.returncode == 0
    assert again.stderr == ""


def _one_line(done: subprocess.CompletedProcess[str]) -> str:
    """The run (with -q: no progress) failed with exit code 6 and said why in one line."""
    assert done.returncode == EXIT_PREFECT, done.stdout + done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("digest-enrich: ")
    return lines[0]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_prefect_api_url_is_one_line_and_starts_nothing(
        tmp_path: Path, env: dict[str, str]) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/api"
    done = run_cli(["run", str(SEEDS), "--output", str(tmp_path / "out"), "-q"],
                   env={**env, "PREFECT_API_URL": url})
    line = _one_line(done)
    assert f"PREFECT_API_URL={url} does not answer" in line
    assert not Paths.under(Path(env["DIGEST_ENRICH_HOME"])).state.exists()
    assert _server_processes(env) == []


def test_a_local_server_that_cannot_start_is_one_line(tmp_path: Path,
                                                      env: dict[str, str]) -> None:
    # Its Prefect home cannot be made: the server process dies at once.
    paths = Paths.under(Path(env["DIGEST_ENRICH_HOME"]))
    paths.root.mkdir(parents=True)
    paths.prefect_home.write_text("a file where a directory should be", encoding="utf-8")
    done = run_cli(["run", str(SEEDS), "--output", str(tmp_path / "out"), "-q"], env=env)
    line = _one_line(done)
    assert line.startswith("digest-enrich: ")
    assert "local Prefect server" in line
    assert str(paths.root) in line  # where to look


def test_a_local_server_too_slow_to_start_is_one_line(tmp_path: Path,
                                                      env: dict[str, str]) -> None:
    done = run_cli(["run", str(SEEDS), "--output", str(tmp_path / "out"), "-q"],
                   env={**env, "DIGEST_ENRICH_SERVER_START_TIMEOUT": "0.3"})
    line = _one_line(done)
    assert "did not answer within 0 s" in line
    assert "DIGEST_ENRICH_SERVER_START_TIMEOUT" in line


def test_an_embedded_server_too_slow_to_start_is_one_line(tmp_path: Path,
                                                          env: dict[str, str]) -> None:
    done = run_cli(["run", str(SEEDS), "--output", str(tmp_path / "out"), "-q"],
                   env={**env, "DIGEST_ENRICH_PREFECT": "embedded",
                        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "1"})
    line = _one_line(done)
    assert "Prefect's embedded server did not start within 1 s" in line


def test_a_server_that_stops_during_the_run_ends_it_at_once_in_one_line(
        tmp_path: Path, env: dict[str, str], fakes: tuple[FakeArxiv, FakeGitHub]) -> None:
    arxiv, _ = fakes
    arxiv.reset_log()
    output = tmp_path / "out"
    run = subprocess.Popen([sys.executable, "-m", "flows.cli", "run", str(SEEDS), "--output",
                            str(output), "-q"], cwd=REPO,
                           env={**env, "ARXIV_MIN_INTERVAL": "1.5"}, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while arxiv.request_count < 1:  # the run is under way, asking arXiv
            assert run.poll() is None, run.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert LocalServer(Path(env["DIGEST_ENRICH_HOME"])).stop(force=True) is not None
        stopped = time.monotonic()
        out, err = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            run.kill()
            run.communicate()
    assert time.monotonic() - stopped < 10  # not Prefect's minutes of retries
    line = _one_line(subprocess.CompletedProcess(run.args, run.returncode, out, err))
    assert "local Prefect server" in line and "stopped during the run" in line
    assert "finished lookups are kept" in line


def test_a_wrong_prefect_mode_is_a_usage_error(tmp_path: Path, env: dict[str, str]) -> None:
    done = run_cli(["run", str(SEEDS), "--output", str(tmp_path / "out")],
                   env={**env, "DIGEST_ENRICH_PREFECT": "cloud"})
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "DIGEST_ENRICH_PREFECT='cloud'" in done.stderr


def test_the_server_commands_without_a_server(tmp_path: Path) -> None:
    env = cli_env(tmp_path / "prefect")
    status = run_cli(["server", "status"], env=env)
    assert status.returncode == 1
    assert "no local Prefect server is running" in status.stdout
    stop = run_cli(["server", "stop"], env=env)
    assert stop.returncode == 0
    assert "no local Prefect server is running" in stop.stdout

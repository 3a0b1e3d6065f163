"""Killed runs, concurrent runs: nothing lost, nothing corrupted, finished lookups not redone.

Every test runs the real CLI as a subprocess against the loopback fakes and kills it with
SIGKILL — no chance to clean up — at a chosen point, then runs it again and compares the
outputs byte for byte with an uninterrupted run. A killed run leaves no process behind but the
local Prefect server, which is meant to outlive runs and stops by itself once unused; with
DIGEST_ENRICH_PREFECT=embedded, not even that (flows/reaper.py).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from enrich.digest.parse import read_digest
from enrich.render.papers import entry_query
from enrich.resolve.matching import fingerprint
from enrich.resolve.resolver import title_clause_for
from enrich.store.db import StateStore
from enrich.store.verdicts import NAMESPACE, PROGRESS_NAMESPACE
from flows.local_server import LocalServer
from tests.conftest import REPO, SEEDS, cli_env, run_cli
from tests.fakes.arxiv_api import FakeArxiv
from tests.fakes.github_api import FakeGitHub

pytestmark = pytest.mark.e2e

OUTPUTS = ("papers.jsonl", "references.bib", "references.json", "report.json",
           "digests/000_024a476f5ee58d5f.json", "digests/001_7124c519675a2515.json")

# Runs the CLI with `atomic_write` wrapped: the Nth output write leaves half a temp file behind
# and the process SIGKILLs itself, as a power cut or an OOM kill would.
CRASH_AT_WRITE = """
import os, signal, sys
from pathlib import Path
import enrich.pipeline as pipeline
from flows.cli import main

target = int(os.environ["CRASH_AT_WRITE"])
real = pipeline.atomic_write
calls = 0

def atomic_write(path, data):
    global calls
    calls += 1
    if calls == target:
        payload = data.encode() if isinstance(data, str) else data
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        # What our own writer leaves when killed mid-write (its temp-file name).
        stray = Path(path).parent / f".{Path(path).name}.digest-enrich-crash.tmp"
        stray.write_bytes(payload[: len(payload) // 2])
        os.kill(os.getpid(), signal.SIGKILL)
    return real(path, data)

pipeline.atomic_write = atomic_write
sys.exit(main(sys.argv[1:]))
"""


@pytest.fixture(scope="module")
def fakes() -> Iterator[tuple[FakeArxiv, FakeGitHub]]:
    with FakeArxiv() as arxiv, FakeGitHub() as github:
        yield arxiv, github


def _env(tmp: Path, fakes: tuple[FakeArxiv, FakeGitHub], interval: str = "0.05",
         **extra: str) -> dict[str, str]:
    arxiv, github = fakes
    return cli_env(tmp / "prefect", ARXIV_API_URL=arxiv.url, GITHUB_API_URL=github.url,
                   ARXIV_MIN_INTERVAL=interval, **extra)


def _snapshot(output: Path) -> dict[str, bytes]:
    return {name: (output / name).read_bytes() for name in OUTPUTS}


def _strays(output: Path) -> list[Path]:
    return [p for p in output.rglob("*.tmp") if ".state" not in p.parts]


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory,
              fakes: tuple[FakeArxiv, FakeGitHub]) -> tuple[dict[str, bytes], int]:
    """Outputs of an uninterrupted run, and how many arXiv requests it needed."""
    tmp = tmp_path_factory.mktemp("reference")
    fakes[0].reset_log()
    done = run_cli(["run", str(SEEDS), "--output", str(tmp / "out")], env=_env(tmp, fakes))
    assert done.returncode == 0, done.stderr
    return _snapshot(tmp / "out"), fakes[0].request_count


def _embedded_servers(prefect_home: Path) -> list[int]:
    """PIDs of Prefect embedded servers started for this PREFECT_HOME (Linux /proc)."""
    found = []
    needle = f"PREFECT_HOME={prefect_home}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if b"prefect.server.api.server:create_app" in cmdline and needle in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def _no_orphans_left(prefect_home: Path) -> bool:
    deadline = time.monotonic() + 15
    while _embedded_servers(prefect_home):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def _processes_of(server_home: Path) -> set[int]:
    """PIDs of every process started with this DIGEST_ENRICH_HOME (the CLI's and its
    children's; Linux /proc)."""
    needle = f"DIGEST_ENRICH_HOME={server_home}".encode()
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                environ = (entry / "environ").read_bytes()
            except OSError:
                continue
            if needle in environ.split(b"\0"):
                found.add(int(entry.name))
    return found


def _killpg(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(30)


def test_killed_during_arxiv_lookups_resumes_without_redoing_them(
        tmp_path: Path, fakes: tuple[FakeArxiv, FakeGitHub],
        reference: tuple[dict[str, bytes], int]) -> None:
    arxiv, _ = fakes
    expected, reference_requests = reference
    output = tmp_path / "out"
    env = _env(tmp_path, fakes, interval="0.6")
    arxiv.reset_log()
    proc = subprocess.Popen([sys.executable, "-m", "flows.cli", "run", str(SEEDS), "--output",
                             str(output)], cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while arxiv.served_count < 2:  # the title batch is answered, a fallback is under way
            assert proc.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        _killpg(proc)

    state = StateStore.for_output(output)
    settled = dict(state.items(NAMESPACE))
    assert any(v["match"]["status"] == "matched" for v in settled.values())  # type: ignore[index]
    # Entries still open have their finished phases recorded after every request.
    progress = dict(state.items(PROGRESS_NAMESPACE))
    queries = [entry_query(e) for seed in sorted(SEEDS.glob("*.txt"))
               for e in read_digest(seed).entries]
    clauses = {fingerprint(q): title_clause_for(q) for q in queries}
    titled = {fp for fp, v in progress.items() if "title" in v["done"]}
    done_clauses = [c for fp, c in clauses.items() if (fp in settled or fp in titled) and c]
    open_clauses = [c for fp, c in clauses.items()
                    if fp not in settled and fp not in titled and c]
    assert done_clauses
    assert titled, "the open entries' finished title phase was not recorded"

    arxiv.reset_log()
    done = run_cli(["run", str(SEEDS), "--output", str(output)], env=_env(tmp_path, fakes))
    assert done.returncode == 0, done.stderr
    # A settled paper's title rides along every search as the known-paper check (with its
    # days): that is not asking for the paper again.
    sentinel = re.compile(r'\(ti:"[^"]*" AND submittedDate:\[[0-9]{12} TO [0-9]{12}\]\)')
    asked = " ".join(sentinel.sub("", r.params.get("search_query", ""))
                     for r in arxiv.requests)
    # Neither the papers settled before the kill nor the title batch the open ones finished
    # are asked for again; titles not asked yet are.
    assert not [c for c in done_clauses if c in asked]
    assert all(c in asked for c in open_clauses)
    assert arxiv.request_count < reference_requests
    assert _snapshot(output) == expected
    assert _strays(output) == []


@pytest.mark.parametrize(("crash_at", "prefect"), [
    (1, "embedded"), (3, "server"), (6, "server")])
def test_killed_while_writing_outputs_leaves_old_or_new_files_and_resumes(
        tmp_path: Path, fakes: tuple[FakeArxiv, FakeGitHub],
        reference: tuple[dict[str, bytes], int], crash_at: int, prefect: str) -> None:
    arxiv, github = fakes
    expected, _ = reference
    output = tmp_path / "out"
    # At the second crash point, a server that retires soon: it must, with its run killed.
    idle = "0.1" if crash_at == 3 else "5"
    env = _env(tmp_path, fakes, CRASH_AT_WRITE=str(crash_at), DIGEST_ENRICH_PREFECT=prefect,
               DIGEST_ENRICH_SERVER_IDLE_MINUTES=idle)
    proc = subprocess.run([sys.executable, "-c", CRASH_AT_WRITE, "run", str(SEEDS), "--output",
                           str(output)], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300, start_new_session=True, check=False)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    server_home = Path(env["DIGEST_ENRICH_HOME"])
    if prefect == "embedded":
        # Prefect's embedded server does not outlive the killed run (flows/reaper.py).
        assert _no_orphans_left(tmp_path / "prefect")
        deadline = time.monotonic() + 15  # the watchdog, done, is on its way out
        while _processes_of(server_home):
            assert time.monotonic() < deadline, _processes_of(server_home)
            time.sleep(0.2)
    else:
        # Nothing outlives it but the local server, which is meant to.
        server = LocalServer(server_home).status()
        assert server is not None
        assert _processes_of(server_home) == {server.pid}
        if crash_at == 3:  # ... and it stops by itself once unused
            deadline = time.monotonic() + 60
            while _processes_of(server_home):
                assert time.monotonic() < deadline, "the unused server did not stop"
                time.sleep(0.2)
            assert LocalServer(server_home).status() is None
    # Every output file present is complete (atomic rename), the half-written one is a temp.
    for name in OUTPUTS:
        if (output / name).exists():
            assert (output / name).read_bytes() == expected[name], name
    assert _strays(output) != []

    arxiv.reset_log()
    github.reset_log()
    done = run_cli(["run", str(SEEDS), "--output", str(output)], env=_env(tmp_path, fakes))
    assert done.returncode == 0, done.stderr
    assert arxiv.request_count == 0  # every lookup had finished before the writing began
    assert github.request_count == 0
    assert _snapshot(output) == expected
    assert _strays(output) == []


def test_second_run_on_the_same_output_is_refused_clearly(
        tmp_path: Path, fakes: tuple[FakeArxiv, FakeGitHub],
        reference: tuple[dict[str, bytes], int]) -> None:
    arxiv, _ = fakes
    expected, _ = reference
    output = tmp_path / "out"
    arxiv.reset_log()
    first = subprocess.Popen([sys.executable, "-m", "flows.cli", "run", str(SEEDS), "--output",
                              str(output)], cwd=REPO, env=_env(tmp_path, fakes, interval="0.5"),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while arxiv.request_count < 1:  # the first run holds the lock and is asking arXiv
            assert first.poll() is None
            assert time.monotonic() < deadline
            time.sleep(0.05)
        second = run_cli(["run", str(SEEDS), "--output", str(output)],
                         env=_env(tmp_path / "second", fakes))
        assert second.returncode == 5  # the output directory is in use
        assert "another digest-enrich run is using" in second.stderr
        assert "Traceback" not in second.stderr
        _, err = first.communicate(timeout=300)
    finally:
        if first.poll() is None:
            _killpg(first)  # type: ignore[arg-type]
    assert first.returncode == 0, err
    assert _snapshot(output) == expected

    # With --wait, a second run queues behind the first instead (here: nothing left to do).
    waited = run_cli(["run", str(SEEDS), "--output", str(output), "--wait", "60"],
                     env=_env(tmp_path / "third", fakes))
    assert waited.returncode == 0, waited.stderr
    assert _snapshot(output) == expected

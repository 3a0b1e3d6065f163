"""What a run costs beyond its work: `digest-enrich run` against a bare Prefect flow, in one run.

    python -m bench.startup [--repeat 3] [--concurrent 2,4] [--sizes 100,1000] [--quick|--smoke]

Every case is a fresh process, timed from its start to its exit (wall), with the time to its
first byte on stderr (how long the user waits for a sign of life) and, for our runs, the flow's
own seconds from the summary ("in X s": the pipeline and its Prefect tasks). The fakes
(`tests.fakes`: arXiv, GitHub, Hugging Face, Semantic Scholar and dblp on loopback, no request
interval) run in this process; every case gets a private PREFECT_HOME and DIGEST_ENRICH_HOME,
"first" in fresh ones, "warm" again in the same ones.

* **bare flow**: one task in one flow (`python bare_flow.py`), Prefect's defaults: its embedded
  server starts and stops with the process. The yardstick of the ratios.
* **ours, local server** (the default): `digest-enrich run seeds`; the first run starts the
  background server (fresh home), the warm one reuses it.
* **ours, embedded** (DIGEST_ENRICH_PREFECT=embedded): Prefect's embedded server with our
  settings (start-up timeout 120 s, automations off); **untuned**: the same with Prefect's.
* **ours, PREFECT_API_URL**: a `prefect server start` the bench starts first (its own start-up
  is reported apart).
* **concurrent**: N runs at once into N output directories, sharing one home, cold (nothing
  running) and warm, on an idle machine and with a busy loop per core; the embedded mode and the
  bare flow the same way for comparison. Counts failures and servers left running.
* **sizes**: a warm run at generated corpora of several sizes (`tests.support.corpus`): the
  flow's seconds and what the run costs beyond them.

Cases run round-robin per repetition, so that a machine whose load changes (a shared CI runner)
weighs on every case alike; ratios are taken within a repetition, then the median. Results:
`bench/results/startup.json` and markdown tables on stdout (the README's "Start-up" table).
"""

from __future__ import annotations

import argparse
import compileall
import json
import math
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from flows.local_server import LocalServer
from tests.fakes.arxiv_api import FakeArxiv
from tests.fakes.dblp_api import FakeDblp
from tests.fakes.github_api import FakeGitHub
from tests.fakes.github_corpus import FakeRepo, GitHubCorpus
from tests.fakes.hf_api import FakeHuggingFace
from tests.fakes.s2_api import FakeSemanticScholar
from tests.support.corpus import generate

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "seeds"
RESULTS = Path(__file__).resolve().parent / "results"
SCRUB = ("ARXIV_", "GITHUB_", "PREFECT_", "DIGEST_ENRICH_", "BIBTEX_", "HF_", "S2_", "DBLP_",
         "PUBLISHED_")

BARE_FLOW = '''
from prefect import flow, task


@task
def one() -> int:
    return 1


@flow
def bare() -> int:
    return one()


if __name__ == "__main__":
    bare()
'''


@dataclass
class Timed:
    """One process: how long it took, whether it worked, when it first said something."""

    wall: float
    code: int
    first_output: float | None
    flow: float | None = None  # "in X s" of our summary
    tail: str = ""

    @property
    def ok(self) -> bool:
        return self.code == 0


def run_timed(cmd: Sequence[str], env: dict[str, str], timeout: float = 600) -> Timed:
    """Run `cmd`, noting the time of its first byte on stderr."""
    began = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    first: list[float] = []
    err: list[bytes] = []

    def read_stderr() -> None:
        assert proc.stderr is not None
        while chunk := proc.stderr.read1(65536):
            if not first:
                first.append(time.perf_counter() - began)
            err.append(chunk)

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    wall = time.perf_counter() - began
    reader.join(10)
    text = out.decode(errors="replace")
    flow = re.search(r"in (\d+(?:\.\d+)?) s\s*$", text.strip())
    stderr = b"".join(err).decode(errors="replace")
    return Timed(wall=wall, code=proc.returncode, first_output=first[0] if first else None,
                 flow=float(flow.group(1)) if flow else None,
                 tail=(stderr.strip().splitlines() or [""])[-1][-300:] if proc.returncode
                 else "")


def digest_enrich() -> list[str]:
    script = Path(sys.executable).with_name("digest-enrich")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "flows.cli"]


@dataclass
class World:
    """The fakes, a scratch directory, and fresh homes on demand."""

    arxiv: FakeArxiv
    github: FakeGitHub
    root: Path
    bare_flow: Path
    made: int = 0
    homes: list[Path] = field(default_factory=list)
    # HF, S2 and dblp on loopback too (knowing none of the papers): a run asks each of them as
    # it would the real services, with no interval, like arXiv here.
    sources: dict[str, str] = field(default_factory=dict)

    def fresh(self, name: str) -> Path:
        self.made += 1
        home = self.root / f"{self.made:03d}-{name}"
        home.mkdir(parents=True)
        self.homes.append(home)
        return home

    def env(self, home: Path, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(SCRUB)}
        env.update({"PREFECT_HOME": str(home / "prefect"),
                    "DIGEST_ENRICH_HOME": str(home / "digest-enrich"),
                    # Stopped at the end anyway; should the bench be killed, soon after.
                    "DIGEST_ENRICH_SERVER_IDLE_MINUTES": "10",
                    "ARXIV_API_URL": self.arxiv.url, "GITHUB_API_URL": self.github.url,
                    "ARXIV_MIN_INTERVAL": "0", **self.sources})
        env.update(extra)
        return env

    def ours(self, home: Path, sources: Sequence[Path] = (SEEDS,), output: str = "out",
             **extra: str) -> Timed:
        return run_timed([*digest_enrich(), "run", *map(str, sources), "--output",
                          str(home / output)], self.env(home, **extra))

    def bare(self, home: Path) -> Timed:
        return run_timed([sys.executable, str(self.bare_flow)], self.env(home))

    def stop_servers(self) -> None:
        """Stop the local servers of every home made so far (as `server stop --force`)."""
        while self.homes:
            LocalServer(self.homes.pop() / "digest-enrich").stop(force=True)


def servers_of(home: Path) -> list[int]:
    """PIDs of local server processes of this home (Linux /proc)."""
    needle = f"--home\0{home / 'digest-enrich' / 'server'}\0".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"flows.server_process" in cmdline and needle in cmdline + b"\0":
                found.append(int(entry.name))
    return found


@contextmanager
def busy_machine(enabled: bool) -> Iterator[None]:
    """One busy loop per core while the context lasts."""
    loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
             for _ in range(os.cpu_count() or 1)] if enabled else []
    try:
        yield
    finally:
        for loop in loops:
            loop.kill()
            loop.wait()


# -- the cases --------------------------------------------------------------------------------


def startup_round(world: World, *, smoke: bool = False) -> dict[str, Timed]:
    """One repetition of the single-run cases, in a fixed order (`smoke`: the first three)."""
    results: dict[str, Timed] = {}
    home = world.fresh("bare")
    results["bare flow, first"] = world.bare(home)
    if not smoke:
        results["bare flow, warm"] = world.bare(home)

    home = world.fresh("server")
    results["ours, local server, first"] = world.ours(home)
    results["ours, local server, warm"] = world.ours(home, output="out2")
    world.stop_servers()
    if smoke:
        return results

    home = world.fresh("embedded")
    results["ours, embedded, first"] = world.ours(home, DIGEST_ENRICH_PREFECT="embedded")
    results["ours, embedded, warm"] = world.ours(home, output="out2",
                                                  DIGEST_ENRICH_PREFECT="embedded")
    home = world.fresh("untuned")
    untuned = {"DIGEST_ENRICH_PREFECT": "embedded",
               "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "20",
               "PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED": "true",
               "PREFECT_SERVER_SERVICES_ACTIONS_ENABLED": "true"}
    results["ours, embedded untuned, first"] = world.ours(home, **untuned)
    results["ours, embedded untuned, warm"] = world.ours(home, output="out2", **untuned)
    return results


@contextmanager
def prefect_server(world: World) -> Iterator[tuple[str, float]]:
    """A `prefect server start` on loopback with a fresh home; its API URL, its start-up."""
    home = world.fresh("prefect-server")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    api = f"http://127.0.0.1:{port}/api"
    env = world.env(home, PREFECT_SERVER_ANALYTICS_ENABLED="false")
    began = time.perf_counter()
    with (home / "server.log").open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host",
                                 "127.0.0.1", "--port", str(port)], env=env, cwd=home,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        while True:
            try:
                if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.perf_counter() - began > 300:
                raise RuntimeError("prefect server start failed; see " + str(home))
            time.sleep(0.1)
        yield api, time.perf_counter() - began
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def concurrent(world: World, n: int, *, mode: str, warm: bool, loaded: bool) -> dict[str, Any]:
    """N runs at once into N outputs sharing one home; cold or after one run (warm)."""
    home = world.fresh(f"concurrent-{mode}")
    extra = {"DIGEST_ENRICH_PREFECT": "embedded"} if mode == "embedded" else {}
    if warm:
        (world.bare(home) if mode == "bare" else world.ours(home, output="warmup", **extra))
    with busy_machine(loaded):
        results: list[Timed | None] = [None] * n

        def one(i: int) -> None:
            results[i] = (world.bare(home) if mode == "bare"
                          else world.ours(home, output=f"out-{i}", **extra))

        began = time.perf_counter()
        threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - began
    done = [r for r in results if r is not None]
    servers = len(servers_of(home))
    world.stop_servers()
    failures = [r.tail for r in done if not r.ok]
    return {"n": n, "mode": mode, "warm": warm, "loaded": loaded, "wall_s": wall,
            "ok": sum(r.ok for r in done), "failures": failures[:3],
            "slowest_s": max(r.wall for r in done), "servers_running_after": servers,
            "first_output_s": max((r.first_output or r.wall) for r in done)}


def sizes_round(world: World, sizes: Sequence[int]) -> list[dict[str, Any]]:
    """A warm run per corpus size (the server already running): flow time and the rest."""
    rows = []
    for entries in sizes:
        corpus = generate(entries, seed=0)
        repos = sorted({e.repo for e in corpus.truth.values() if e.repo}, key=str.lower)
        github = GitHubCorpus(tuple(FakeRepo(id=900_000_000 + i, full_name=name, stars=i,
                                             forks=0) for i, name in enumerate(repos)))
        with FakeArxiv(corpus.papers) as arxiv, \
                FakeGitHub(github, anonymous_quota=10**9) as fake_github:
            sized = World(arxiv, fake_github, world.root, world.bare_flow, world.made,
                          sources=world.sources)
            home = sized.fresh(f"size-{entries}")
            digests = home / "digests"
            corpus.write(digests)
            sized.ours(home, output="warmup")  # starts the server
            cold = sized.ours(home, sources=[digests], output="out")
            again = sized.ours(home, sources=[digests], output="out")
            sized.stop_servers()
            world.made = sized.made
        rows.append({"entries": entries, "digests": len(corpus.digests),
                     "wall_s": cold.wall, "flow_s": cold.flow, "ok": cold.ok,
                     "rerun_wall_s": again.wall, "rerun_flow_s": again.flow})
    return rows


# -- report -----------------------------------------------------------------------------------


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def summarise(rounds: list[dict[str, Timed]]) -> dict[str, Any]:
    cases: dict[str, Any] = {}
    for name in rounds[0]:
        runs = [r[name] for r in rounds]
        ok = [t for t in runs if t.ok]
        cases[name] = {
            "wall_s": median([t.wall for t in ok]),
            "min_s": min((t.wall for t in ok), default=float("nan")),
            "max_s": max((t.wall for t in ok), default=float("nan")),
            "first_output_s": median([t.first_output for t in ok
                                      if t.first_output is not None]),
            "flow_s": median([t.flow for t in ok if t.flow is not None]),
            "ok": len(ok), "runs": len(runs),
            "failures": [t.tail for t in runs if not t.ok][:3],
        }
        ratios = [r[name].wall / r["bare flow, first"].wall for r in rounds
                  if r[name].ok and r["bare flow, first"].ok]
        cases[name]["ratio_to_bare_first"] = median(ratios)
    return cases


def _s(value: float | None) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:.1f} s"


def tables(report: dict[str, Any]) -> str:
    lines = ["| run | wall (median) | range | first output | flow (pipeline + tasks) "
             "| × bare flow's first run | ok |", "|---|---|---|---|---|---|---|"]
    for name, c in report["cases"].items():
        lines.append(f"| {name} | {_s(c['wall_s'])} | {c['min_s']:.1f}–{c['max_s']:.1f} s "
                     f"| {_s(c['first_output_s'])} | {_s(c['flow_s'])} "
                     f"| {c['ratio_to_bare_first']:.2f} | {c['ok']}/{c['runs']} |")
    explicit = report.get("explicit")
    if explicit:
        lines.append(f"| ours, PREFECT_API_URL (`prefect server start`, up in "
                     f"{explicit['server_start_s']:.1f} s) | {_s(explicit['wall_s'])} | – "
                     f"| {_s(explicit['first_output_s'])} | {_s(explicit['flow_s'])} "
                     f"| {explicit['ratio_to_bare_first']:.2f} | {explicit['ok']}/1 |")
    lines += ["", "| concurrent runs | machine | all succeeded | wall of the batch | slowest "
              "run | servers running after |", "|---|---|---|---|---|---|"]
    for c in report["concurrent"]:
        what = {"server": "ours, local server", "embedded": "ours, embedded",
                "bare": "bare flow"}[c["mode"]]
        lines.append(f"| {c['n']} × {what}, {'warm' if c['warm'] else 'cold'} "
                     f"| {'busy loop per core' if c['loaded'] else 'idle'} "
                     f"| {c['ok']}/{c['n']} | {c['wall_s']:.1f} s | {c['slowest_s']:.1f} s "
                     f"| {c['servers_running_after']} |")
    if report["sizes"]:
        lines += ["", "| entries (digests) | wall, warm server | flow | beyond the flow "
                  "| re-run wall (flow) |", "|---|---|---|---|---|"]
        for r in report["sizes"]:
            beyond = r["wall_s"] - r["flow_s"] if r["flow_s"] is not None else float("nan")
            lines.append(f"| {r['entries']:,} ({r['digests']}) | {r['wall_s']:.1f} s "
                         f"| {_s(r['flow_s'])} | {beyond:.1f} s "
                         f"| {r['rerun_wall_s']:.1f} s ({_s(r['rerun_flow_s'])}) |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--concurrent", default="2,4", help="batch sizes, e.g. 2,4")
    parser.add_argument("--sizes", default="100,1000", help="corpus sizes in entries ('' none)")
    parser.add_argument("--quick", action="store_true",
                        help="one repetition, 2 concurrent, no sizes")
    parser.add_argument("--smoke", action="store_true",
                        help="the least that shows it works: bare flow and ours, once each, and "
                             "2 runs at once (the test suite runs this)")
    parser.add_argument("--json", type=Path, default=RESULTS / "startup.json")
    args = parser.parse_args(argv)
    if args.quick or args.smoke:
        args.repeat, args.concurrent, args.sizes = 1, "2", ""
    # As `make run` leaves them: our modules compiled (a machine that writes no bytecode would
    # compile them in every run).
    for package in ("enrich", "flows"):
        compileall.compile_dir(REPO / package, quiet=1)
    batches = [int(n) for n in args.concurrent.split(",") if n]
    sizes = [int(n) for n in args.sizes.split(",") if n]

    with tempfile.TemporaryDirectory(prefix="startup-bench-") as tmp, FakeArxiv() as arxiv, \
            FakeGitHub() as github, FakeHuggingFace() as hf, FakeSemanticScholar() as s2, \
            FakeDblp() as dblp:
        root = Path(tmp)
        bare_flow = root / "bare_flow.py"
        bare_flow.write_text(BARE_FLOW, encoding="utf-8")
        world = World(arxiv, github, root / "homes", bare_flow,
                      sources={"HF_API_URL": hf.url, "HF_MIN_INTERVAL": "0",
                               "S2_API_URL": s2.url, "S2_MIN_INTERVAL": "0",
                               "DBLP_API_URL": dblp.url, "DBLP_MIN_INTERVAL": "0"})
        try:
            rounds = []
            for i in range(args.repeat):
                rounds.append(startup_round(world, smoke=args.smoke))
                print(f"round {i + 1}/{args.repeat}: " + ", ".join(
                    f"{k} {v.wall:.1f} s" for k, v in rounds[-1].items()), file=sys.stderr)
            report: dict[str, Any] = {"machine": {"cpus": os.cpu_count(),
                                                  "load_before": os.getloadavg()},
                                      "cases": summarise(rounds),
                                      "rounds": [{k: asdict(v) for k, v in r.items()}
                                                 for r in rounds]}
            if not args.smoke:
                with prefect_server(world) as (api, up):
                    home = world.fresh("explicit")
                    timed = world.ours(home, PREFECT_API_URL=api)
                    bare_first = report["cases"]["bare flow, first"]["wall_s"]
                    report["explicit"] = {"server_start_s": up, "wall_s": timed.wall,
                                          "first_output_s": timed.first_output,
                                          "flow_s": timed.flow, "ok": int(timed.ok),
                                          "ratio_to_bare_first": timed.wall / bare_first}
            report["concurrent"] = []
            for n in batches:
                for warm in (False,) if args.smoke else (False, True):
                    for loaded in (False,) if args.smoke else (False, True):
                        report["concurrent"].append(
                            concurrent(world, n, mode="server", warm=warm, loaded=loaded))
                        print(f"concurrent {n} warm={warm} loaded={loaded}: "
                              f"{report['concurrent'][-1]['ok']}/{n}", file=sys.stderr)
            n = max(batches, default=0)
            if n and not args.smoke:
                for mode in ("embedded", "bare"):
                    report["concurrent"].append(
                        concurrent(world, n, mode=mode, warm=True, loaded=True))
            report["sizes"] = sizes_round(world, sizes)
        finally:
            world.stop_servers()
    report["machine"]["load_after"] = os.getloadavg()
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(tables(report))
    print(f"\nload average before {report['machine']['load_before'][0]:.1f}, after "
          f"{report['machine']['load_after'][0]:.1f} ({os.cpu_count()} cores); "
          f"figures in {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

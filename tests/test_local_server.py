"""The local Prefect server's manager: state, locks, reuse, stale records, idle shutdown.

Unit tests stand a sleeping child process in for the server (no Prefect) and inject the clock;
the one test marked e2e starts the real server and watches it retire when idle.
"""

from __future__ import annotations

import asyncio
import fcntl
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flows import local_server
from flows.local_server import (
    UNKNOWN,
    Attachment,
    LocalServer,
    Paths,
    ServerError,
    ServerState,
    configured_api_url,
    in_use,
    try_exclusive,
)
from flows.server_process import SCHEMA, Activity, IdleWatch, schema_header, seed_database


class Stand:
    """Sleeping processes standing in for servers; `spawn` and `is_server` for LocalServer.
    Attachments made through `server()` are released at the end of the test."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []
        self.spawned = 0
        self.lock = threading.Lock()
        self.attachments: list[Attachment] = []

    def spawn(self, paths: Paths, idle_minutes: float) -> tuple[ServerState, Any]:
        with self.lock:
            self.spawned += 1
        time.sleep(0.05)  # a real start takes a while: others must wait at the lock
        proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
        self.procs.append(proc)
        return ServerState(pid=proc.pid, port=1, started=time.time(),
                           prefect_version=local_server.prefect_version(),
                           idle_minutes=idle_minutes), proc

    def is_server(self, pid: int) -> bool:
        return any(p.pid == pid and p.poll() is None for p in self.procs)

    def stop(self) -> None:
        for attachment in self.attachments:
            attachment.release()
        for proc in self.procs:
            proc.kill()
            proc.wait()


@pytest.fixture
def stand() -> Iterator[Stand]:
    stand = Stand()
    yield stand
    stand.stop()


class _Manager(LocalServer):
    def __init__(self, home: Path, stand: Stand) -> None:
        super().__init__(home, spawn=stand.spawn, is_server=stand.is_server)
        self._stand = stand

    def attach(self) -> Attachment:
        attached = super().attach()
        self._stand.attachments.append(attached)
        return attached


def server(tmp_path: Path, stand: Stand) -> LocalServer:
    return _Manager(tmp_path / "home", stand)


# -- the state file -----------------------------------------------------------------------


def test_the_state_survives_a_round_trip_and_a_broken_one_reads_as_none(tmp_path: Path) -> None:
    path = tmp_path / "server.json"
    state = ServerState(pid=42, port=4321, started=1.5, prefect_version="3.9.1",
                        idle_minutes=30)
    state.save(path)
    assert ServerState.load(path) == state
    assert state.api_url == "http://127.0.0.1:4321/api"
    assert [p.name for p in tmp_path.iterdir()] == ["server.json"]  # no temp file left
    path.write_text("{not json", encoding="utf-8")
    assert ServerState.load(path) is None
    path.write_text('{"pid": 1}', encoding="utf-8")
    assert ServerState.load(path) is None
    assert ServerState.load(tmp_path / "missing.json") is None


# -- attach: start once, reuse ------------------------------------------------------------


def test_the_first_run_starts_the_server_and_the_next_reuses_it(tmp_path: Path,
                                                                stand: Stand) -> None:
    first = server(tmp_path, stand).attach()
    second = server(tmp_path, stand).attach()
    assert (first.started, second.started) == (True, False)
    assert second.state == first.state
    assert stand.spawned == 1
    assert ServerState.load(first.paths.state) == first.state


def test_runs_starting_together_start_one_server(tmp_path: Path, stand: Stand) -> None:
    attached: list[Any] = []

    def attach() -> None:
        attached.append(server(tmp_path, stand).attach())

    threads = [threading.Thread(target=attach) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert stand.spawned == 1
    assert len({a.state.pid for a in attached}) == 1
    assert sum(a.started for a in attached) == 1


def test_a_stale_record_is_forgotten_and_a_new_server_started(tmp_path: Path,
                                                              stand: Stand) -> None:
    old = server(tmp_path, stand).attach()
    old.release()
    stand.procs[0].kill()  # the server died (a reboot, the OOM killer)
    stand.procs[0].wait()
    new = server(tmp_path, stand).attach()
    assert new.started
    assert new.state.pid != old.state.pid
    assert stand.spawned == 2


def test_a_record_naming_someone_elses_process_is_stale(tmp_path: Path, stand: Stand) -> None:
    paths = Paths.under(tmp_path / "home")
    paths.root.mkdir(parents=True)
    # A recycled pid: alive, but not our server (the real check reads /proc/PID/cmdline).
    ServerState(pid=1, port=1, started=0, prefect_version=local_server.prefect_version(),
                idle_minutes=30).save(paths.state)
    assert not local_server.process_is_server(1)
    assert server(tmp_path, stand).status() is None
    assert not paths.state.exists()


def test_a_server_of_another_prefect_version_is_replaced_when_unused(tmp_path: Path,
                                                                     stand: Stand) -> None:
    old = server(tmp_path, stand).attach()
    old.release()
    ServerState(**{**old.state.__dict__, "prefect_version": "0.0.1"}).save(old.paths.state)
    new = server(tmp_path, stand).attach()
    assert new.started and new.state.pid != old.state.pid
    stand.procs[0].wait(10)  # terminated


# -- status and stop ----------------------------------------------------------------------


def test_stop_is_refused_while_a_run_uses_the_server_unless_forced(tmp_path: Path,
                                                                   stand: Stand) -> None:
    manager = server(tmp_path, stand)
    assert manager.stop() is None  # nothing to stop
    attached = manager.attach()
    assert in_use(attached.paths)
    with pytest.raises(ServerError, match="in use by a run"):
        manager.stop()
    assert manager.status() == attached.state
    stopped = manager.stop(force=True)
    assert stopped == attached.state
    assert stand.procs[0].wait(10) is not None
    assert manager.status() is None
    assert not attached.paths.state.exists()


def test_a_released_or_killed_run_no_longer_holds_the_server(tmp_path: Path,
                                                             stand: Stand) -> None:
    manager = server(tmp_path, stand)
    attached = manager.attach()
    attached.release()
    assert not in_use(attached.paths)
    # A run killed with SIGKILL: the kernel drops its lock with the process.
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, sys, time\n"
        f"h = open({str(attached.paths.clients_lock)!r}, 'a+b')\n"
        "fcntl.flock(h, fcntl.LOCK_SH); print('held', flush=True); time.sleep(60)")],
        stdout=subprocess.PIPE)
    assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
    assert in_use(attached.paths)
    holder.kill()
    holder.wait()
    holder.stdout.close()
    assert not in_use(attached.paths)
    assert manager.stop() == attached.state


# -- waiting for it -----------------------------------------------------------------------


def test_waiting_for_a_server_that_dies_says_why_in_one_line(tmp_path: Path, stand: Stand,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             ) -> None:
    monkeypatch.setattr(local_server, "answers", lambda url, timeout=2.0: False)
    attached = server(tmp_path, stand).attach()
    attached.paths.log.write_text("Traceback…\nsqlite3.OperationalError: disk I/O error\n\n",
                                  encoding="utf-8")
    stand.procs[0].kill()
    stand.procs[0].wait()
    with pytest.raises(ServerError) as caught:
        attached.wait_ready(60, sleep=lambda s: None)
    message = str(caught.value)
    assert "stopped while starting" in message
    assert "sqlite3.OperationalError: disk I/O error" in message
    assert "\n" not in message


def test_waiting_gives_up_after_the_start_timeout(tmp_path: Path, stand: Stand,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local_server, "answers", lambda url, timeout=2.0: False)
    attached = server(tmp_path, stand).attach()
    now = [0.0]
    ticks: list[float] = []

    def sleep(seconds: float) -> None:
        now[0] += seconds

    with pytest.raises(ServerError, match="did not answer within 5 s") as caught:
        attached.wait_ready(5, tick=ticks.append, clock=lambda: now[0], sleep=sleep)
    assert "DIGEST_ENRICH_SERVER_START_TIMEOUT" in str(caught.value)
    assert ticks and ticks[-1] < 5


def test_a_server_that_answers_is_ready_at_once(tmp_path: Path, stand: Stand,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local_server, "answers", lambda url, timeout=2.0: True)
    attached = server(tmp_path, stand).attach()
    assert attached.wait_ready(5, clock=lambda: 7.0) == 0.0


# -- retiring when idle -------------------------------------------------------------------


def _recorded(paths: Paths, pid: int) -> None:
    paths.root.mkdir(parents=True, exist_ok=True)
    ServerState(pid=pid, port=1, started=0, prefect_version="3", idle_minutes=1).save(
        paths.state)


@pytest.mark.parametrize(("idle_for", "used", "retires"), [
    (59.0, False, False),
    (60.0, True, False),
    (60.0, False, True),
], ids=["not-idle-long-enough", "idle-but-a-run-holds-it", "idle-and-unused"])
def test_the_server_retires_only_when_idle_and_unused(tmp_path: Path, idle_for: float,
                                                       used: bool, retires: bool) -> None:
    paths = Paths.under(tmp_path)
    _recorded(paths, 1234)
    holder = paths.clients_lock.open("a+b")
    if used:
        fcntl.flock(holder, fcntl.LOCK_SH)
    try:
        watch = IdleWatch(paths, 1234, 60.0, lambda: idle_for)
        assert watch.retire() is retires
        # Retiring removes the record first: no run can pick the server up any more.
        assert paths.state.exists() is not retires
    finally:
        holder.close()


def test_the_server_does_not_retire_while_a_run_is_attaching(tmp_path: Path) -> None:
    paths = Paths.under(tmp_path)
    _recorded(paths, 1234)
    lock = try_exclusive(paths.start_lock)
    assert lock is not None
    try:
        assert IdleWatch(paths, 1234, 1.0, lambda: 999.0).retire() is False
    finally:
        lock.close()
    assert IdleWatch(paths, 1234, 1.0, lambda: 999.0).retire() is True


def test_a_server_nobody_can_find_retires_at_once(tmp_path: Path) -> None:
    paths = Paths.under(tmp_path)
    _recorded(paths, 999)  # the record names another server
    assert IdleWatch(paths, 1234, 3600.0, lambda: 0.0).retire() is True
    assert ServerState.load(paths.state) is not None  # the other server's record stays
    IdleWatch(paths, 999, 3600.0, lambda: 0.0).forget()
    assert not paths.state.exists()


def test_activity_counts_requests_in_flight_and_since_the_last() -> None:
    now = [100.0]
    release = asyncio.Event()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            await release.wait()

    activity = Activity(app, clock=lambda: now[0])

    async def scenario() -> list[float]:
        seen = [activity.idle_for()]
        now[0] = 130.0
        seen.append(activity.idle_for())
        socket = asyncio.create_task(activity({"type": "websocket"}, None, None))
        await asyncio.sleep(0)
        now[0] = 500.0
        seen.append(activity.idle_for())  # a websocket open: not idle
        release.set()
        await socket
        now[0] = 510.0
        seen.append(activity.idle_for())
        await activity({"type": "lifespan"}, None, None)  # not a request
        now[0] = 520.0
        seen.append(activity.idle_for())
        return seen

    assert asyncio.run(scenario()) == [0.0, 30.0, 0.0, 10.0, 20.0]


# -- a new database ----------------------------------------------------------------------


def test_a_new_database_is_made_from_the_schema_of_its_prefect_version(tmp_path: Path) -> None:
    version = local_server.prefect_version()
    database = tmp_path / "prefect.db"
    assert seed_database(database, version)
    with sqlite3.connect(database) as db:
        tables = {r[0] for r in db.execute("select name from sqlite_master where type='table'")}
        head = db.execute("select version_num from alembic_version").fetchall()
    assert {"flow", "flow_run", "task_run", "log", "artifact", "alembic_version"} <= tables
    assert len(head) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["prefect.db"]  # no temp file left
    before = database.read_bytes()
    assert not seed_database(database, version)  # an existing database is never touched
    assert database.read_bytes() == before


def test_another_prefect_version_migrates_as_usual(tmp_path: Path) -> None:
    assert not seed_database(tmp_path / "prefect.db", "0.0.1")
    assert not (tmp_path / "prefect.db").exists()
    other = tmp_path / "schema.sql"
    other.write_text(schema_header("0.0.1") + "\nCREATE TABLE x (y);\n", encoding="utf-8")
    assert not seed_database(tmp_path / "prefect.db", local_server.prefect_version(),
                             schema=other)
    assert not (tmp_path / "prefect.db").exists()


def _statements(sql: str) -> list[list[str]]:
    """Each statement as its sorted lines: the migrations list a table's constraints in an
    order that changes from run to run (alembic iterates sets); the schema does not."""
    return sorted(sorted(line.strip().rstrip(",") for line in statement.splitlines()
                         if line.strip())
                  for statement in sql.split(";\n"))


@pytest.mark.e2e
def test_the_shipped_schema_is_what_prefects_migrations_make(tmp_path: Path) -> None:
    written = tmp_path / "schema.sql"
    done = subprocess.run([sys.executable, "-m", "flows.server_process", "--write-schema",
                           str(written)], capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert _statements(written.read_text("utf-8")) == _statements(SCHEMA.read_text("utf-8")), (
        "Prefect's migrations make another schema now: run `PYTHONHASHSEED=0 python -m "
        "flows.server_process --write-schema flows/prefect_schema.sql` and commit it")


# -- is a server configured? --------------------------------------------------------------


def _profiles(tmp_path: Path, text: str) -> dict[str, str]:
    (tmp_path / "ph").mkdir(exist_ok=True)
    (tmp_path / "ph" / "profiles.toml").write_text(text, encoding="utf-8")
    return {"PREFECT_HOME": str(tmp_path / "ph")}


PROFILES = '''
active = "local"
[profiles.ephemeral]
PREFECT_SERVER_EPHEMERAL_ENABLED = "true"
[profiles.local]
PREFECT_API_URL = "http://127.0.0.1:4200/api"
'''


def test_the_environment_names_the_server_first(tmp_path: Path) -> None:
    env = {**_profiles(tmp_path, PROFILES), "PREFECT_API_URL": "http://prefect:4200/api"}
    assert configured_api_url(env, cwd=tmp_path) == "http://prefect:4200/api"


def test_the_active_profile_names_the_server(tmp_path: Path) -> None:
    env = _profiles(tmp_path, PROFILES)
    assert configured_api_url(env, cwd=tmp_path) == "http://127.0.0.1:4200/api"
    assert configured_api_url({**env, "PREFECT_PROFILE": "ephemeral"}, cwd=tmp_path) is None
    assert configured_api_url({**env, "PREFECT_PROFILE": "nope"}, cwd=tmp_path) is None
    assert configured_api_url({"PREFECT_HOME": str(tmp_path / "none")}, cwd=tmp_path) is None
    assert configured_api_url({"PREFECT_PROFILES_PATH": str(tmp_path / "ph/profiles.toml")},
                              cwd=tmp_path) == "http://127.0.0.1:4200/api"
    (tmp_path / "ph" / "profiles.toml").write_text("not = [toml", encoding="utf-8")
    assert configured_api_url(env, cwd=tmp_path) == UNKNOWN


@pytest.mark.parametrize(("name", "text", "unknown"), [
    ("prefect.toml", "[api]\nurl = 'http://x/api'\n", True),
    (".env", "PREFECT_API_URL=http://x/api\n", True),
    (".env", "OTHER=1\n", False),
    ("pyproject.toml", "[tool.prefect]\n", True),
    ("pyproject.toml", "[project]\nname = 'x'\n", False),
], ids=["prefect-toml", "dotenv-prefect", "dotenv-other", "pyproject-prefect",
        "pyproject-other"])
def test_settings_files_here_defer_to_prefect(tmp_path: Path, name: str, text: str,
                                              unknown: bool) -> None:
    (tmp_path / name).write_text(text, encoding="utf-8")
    found = configured_api_url({"PREFECT_HOME": str(tmp_path / "none")}, cwd=tmp_path)
    assert (found == UNKNOWN) is unknown


def test_settings_of_the_manager_are_read_and_checked() -> None:
    assert local_server.idle_minutes_from({}) == 30
    assert local_server.idle_minutes_from({"DIGEST_ENRICH_SERVER_IDLE_MINUTES": "0.5"}) == 0.5
    assert local_server.start_timeout_from({"DIGEST_ENRICH_SERVER_START_TIMEOUT": "9"}) == 9
    with pytest.raises(ServerError, match="not a number"):
        local_server.idle_minutes_from({"DIGEST_ENRICH_SERVER_IDLE_MINUTES": "soon"})
    with pytest.raises(ServerError, match="more than 0"):
        local_server.start_timeout_from({"DIGEST_ENRICH_SERVER_START_TIMEOUT": "0"})
    assert local_server.default_home({"DIGEST_ENRICH_HOME": "/x"}) == Path("/x")
    assert local_server.default_home({"XDG_DATA_HOME": "/d"}) == Path("/d/digest-enrich")


# -- the real thing -----------------------------------------------------------------------


@pytest.mark.e2e
def test_the_real_server_starts_answers_and_retires_when_idle(tmp_path: Path) -> None:
    manager = LocalServer(tmp_path / "home", idle_minutes=0.05)  # 3 s
    try:
        attached = manager.attach()
        waited = attached.wait_ready(180)
        assert local_server.answers(attached.state.api_url)
        assert local_server.process_is_server(attached.state.pid)
        assert waited > 0
        attached.release()
        deadline = time.monotonic() + 60
        while local_server.process_is_server(attached.state.pid):
            assert time.monotonic() < deadline, "the idle server did not stop by itself"
            time.sleep(0.2)
        assert manager.status() is None
        assert "idle for 0.05 min" in attached.paths.log.read_text(encoding="utf-8")
    finally:
        manager.stop(force=True)

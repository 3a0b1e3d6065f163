"""A long-lived local Prefect server: started by the first `digest-enrich run`, reused by the next.

Prefect's embedded mode starts an API server as a subprocess for every run and stops it at the
end: 8–15 s of a run whose own work takes one. Instead, `digest-enrich run` (with no
PREFECT_API_URL configured) uses one server per user, started in the background on first use:

* **Reuse**: a run that finds the server answering uses it (PREFECT_API_URL is set for that
  process only); the flow runs, task runs, logs and artifacts land in its database, and its UI
  shows them (`digest-enrich server status` prints the address).
* **Several runs at once** start ONE server: starting, reusing and stopping happen under an
  exclusive lock (`start.lock`), held for milliseconds; runs then wait for it to answer.
* **Idle shutdown**: the server stops itself after `idle_minutes` (default 30) without a run
  using it and without a request (the UI counts). A run holds `clients.lock` shared while it
  uses the server, so a SIGKILLed run stops counting at once (the kernel drops its lock).
* **Stale state**: a recorded server whose process is gone, or is not ours any more (a reused
  pid), is forgotten; one that does not answer within the start-up timeout is reported, with
  its log, not silently replaced.

Files, under DIGEST_ENRICH_HOME (default `$XDG_DATA_HOME/digest-enrich`, that is
`~/.local/share/digest-enrich`), in `server/`:

    server.json    the running server: pid, port, address, start time, Prefect version
    start.lock     exclusive, briefly: start, reuse or stop
    clients.lock   shared by every run using the server
    server.log     the server's own output
    prefect/       its PREFECT_HOME (the database of runs)

Standard library only: the CLI imports this module before Prefect, so the server starts while
the CLI is still importing Prefect. The server process itself is `flows.server_process`.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, replace
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import IO, Any

DEFAULT_IDLE_MINUTES = 30.0
DEFAULT_START_TIMEOUT = 120.0  # seconds; a loaded 2-core machine needs ~30 s at worst
LOCK_TIMEOUT = 60.0  # seconds; the lock is held for milliseconds at a time
SERVER_MODULE = "flows.server_process"
# Set by the CLI, with PREFECT_API_URL, when its runs use the local server.
LOCAL_API_ENV = "DIGEST_ENRICH_LOCAL_API_URL"

# Environment of the server process (on top of the user's, minus every PREFECT_ variable: the
# server is ours, and must not pick up a database or settings meant for another one).
SERVER_SETTINGS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    # Registered just after the server answers instead (flows.server_process).
    "PREFECT_API_BLOCKS_REGISTER_ON_START": "false",
    # What a private server for our runs needs: the API, the UI, task runs recorded from their
    # events, the events themselves and expiring concurrency leases. Scheduling, late runs,
    # worker health, automations and pauses are for deployments, which this server has none
    # of (a deployment wants a real `prefect server start`; see the README).
    **{f"PREFECT_SERVER_SERVICES_{name}_ENABLED": "false" for name in (
        "SCHEDULER", "LATE_RUNS", "FOREMAN", "PAUSE_EXPIRATIONS", "CANCELLATION_CLEANUP",
        "CLEANUP_RECONCILER", "TRIGGERS", "ACTIONS", "EVENT_LOGGER")},
}


class ServerError(Exception):
    """The local Prefect server cannot be started, reached or stopped (said in one line)."""


def default_home(environ: Mapping[str, str] = os.environ) -> Path:
    """DIGEST_ENRICH_HOME, else `$XDG_DATA_HOME/digest-enrich` (`~/.local/share/…`)."""
    if environ.get("DIGEST_ENRICH_HOME"):
        return Path(environ["DIGEST_ENRICH_HOME"]).expanduser()
    data = environ.get("XDG_DATA_HOME") or str(Path("~/.local/share").expanduser())
    return Path(data) / "digest-enrich"


def idle_minutes_from(environ: Mapping[str, str] = os.environ) -> float:
    """DIGEST_ENRICH_SERVER_IDLE_MINUTES (default 30; fractions allowed)."""
    return _positive(environ, "DIGEST_ENRICH_SERVER_IDLE_MINUTES", DEFAULT_IDLE_MINUTES)


def start_timeout_from(environ: Mapping[str, str] = os.environ) -> float:
    """DIGEST_ENRICH_SERVER_START_TIMEOUT in seconds (default 120)."""
    return _positive(environ, "DIGEST_ENRICH_SERVER_START_TIMEOUT", DEFAULT_START_TIMEOUT)


def _positive(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ServerError(f"{name}={raw!r} is not a number") from None
    if value <= 0:
        raise ServerError(f"{name}={raw!r} must be more than 0")
    return value


@dataclass(frozen=True)
class Paths:
    """Where one home keeps its server's files."""

    root: Path

    @classmethod
    def under(cls, home: Path) -> Paths:
        return cls(home / "server")

    @property
    def state(self) -> Path:
        return self.root / "server.json"

    @property
    def start_lock(self) -> Path:
        return self.root / "start.lock"

    @property
    def clients_lock(self) -> Path:
        return self.root / "clients.lock"

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    @property
    def prefect_home(self) -> Path:
        return self.root / "prefect"


@dataclass(frozen=True)
class ServerState:
    """What `server.json` records about the running server."""

    pid: int
    port: int
    started: float  # epoch seconds
    prefect_version: str
    idle_minutes: float

    @property
    def url(self) -> str:
        """The server's address (its UI)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        """What PREFECT_API_URL must say to use it."""
        return f"{self.url}/api"

    @classmethod
    def load(cls, path: Path) -> ServerState | None:
        """The recorded state, or None when there is none (or it is unreadable: forgotten)."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(pid=int(data["pid"]), port=int(data["port"]),
                       started=float(data["started"]),
                       prefect_version=str(data["prefect_version"]),
                       idle_minutes=float(data["idle_minutes"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def save(self, path: Path) -> None:
        temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        temp.write_text(json.dumps(asdict(self), sort_keys=True) + "\n", encoding="utf-8")
        temp.replace(path)


def prefect_version() -> str:
    """The installed Prefect's version, without importing Prefect."""
    try:
        return version("prefect")
    except PackageNotFoundError:  # pragma: no cover - Prefect is a dependency
        return "unknown"


# -- processes ----------------------------------------------------------------------------


def process_is_server(pid: int) -> bool:
    """True when `pid` is alive, not a zombie, and (where /proc tells) our server process."""
    proc = Path(f"/proc/{pid}")
    if Path("/proc/self").is_dir():
        try:
            stat = (proc / "stat").read_text()
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            return False
        state = stat.rsplit(")", 1)[-1].split()[0] if ")" in stat else "?"
        return state not in ("Z", "X") and SERVER_MODULE.encode() in cmdline
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def answers(url: str, timeout: float = 2.0) -> bool:
    """True when the Prefect API at `url` (…/api) says it is healthy."""
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=timeout) as reply:  # noqa: S310
            return bool(reply.status == 200)
    except (OSError, urllib.error.URLError, ValueError):
        return False


def _spawn(paths: Paths, idle_minutes: float) -> tuple[ServerState, subprocess.Popen[bytes]]:
    """Start the server process, detached, on a port bound here (so no other process can take
    it between choosing and listening)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
        state = ServerState(pid=0, port=port, started=time.time(),
                            prefect_version=prefect_version(), idle_minutes=idle_minutes)
        env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
        env.update(SERVER_SETTINGS)
        env.update({"PREFECT_HOME": str(paths.prefect_home),
                    "PREFECT_UI_API_URL": state.api_url,
                    # `flows` importable even from a checkout that is not installed
                    "PYTHONPATH": os.pathsep.join(
                        p for p in (str(Path(__file__).resolve().parents[1]),
                                    env.get("PYTHONPATH")) if p)})
        paths.prefect_home.mkdir(parents=True, exist_ok=True)
        with paths.log.open("wb") as log:
            proc = subprocess.Popen(  # noqa: S603 - our interpreter, our module
                [sys.executable, "-m", SERVER_MODULE, "--fd", str(sock.fileno()),
                 "--home", str(paths.root), "--idle-minutes", str(idle_minutes)],
                pass_fds=(sock.fileno(),), stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, cwd=paths.root, env=env, start_new_session=True)
    finally:
        sock.close()
    _CHILDREN.append(proc)  # never garbage-collected while it runs (no ResourceWarning)
    return replace(state, pid=proc.pid), proc


_CHILDREN: list[subprocess.Popen[bytes]] = []


# -- locks --------------------------------------------------------------------------------


@contextlib.contextmanager
def exclusive(path: Path, *, timeout: float = LOCK_TIMEOUT,
              sleep: Callable[[float], None] = time.sleep) -> Iterator[None]:
    """Hold `path` locked exclusively (waiting up to `timeout` seconds for it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+b") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise ServerError(f"{path} stayed locked for {timeout:.0f} s; another "
                                      "digest-enrich seems stuck starting the server") from None
                sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def try_exclusive(path: Path) -> IO[bytes] | None:
    """The file, locked exclusively, if nobody holds it (shared or not); else None."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a+b")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def in_use(paths: Paths) -> bool:
    """True while some run holds the clients lock (uses the server)."""
    handle = try_exclusive(paths.clients_lock)
    if handle is None:
        return True
    handle.close()
    return False


# -- what callers use ---------------------------------------------------------------------


@dataclass
class Attachment:
    """This process uses the server until it exits (or `release`): the clients lock is held."""

    state: ServerState
    started: bool  # this process started it
    paths: Paths
    _handle: IO[bytes] | None
    _proc: subprocess.Popen[bytes] | None = None

    def wait_ready(self, timeout: float, *, tick: Callable[[float], None] | None = None,
                   clock: Callable[[], float] = time.monotonic,
                   sleep: Callable[[float], None] = time.sleep) -> float:
        """Wait until the server answers; the seconds waited. `tick(elapsed)` is called while
        waiting. Raises ServerError, with the log's last line, when it dies or stays silent."""
        began = clock()
        while not answers(self.state.api_url, timeout=min(2.0, timeout)):
            elapsed = clock() - began
            if not self.alive():
                raise ServerError(f"the local Prefect server stopped while starting ("
                                  f"{last_line(self.paths.log) or 'no output'}; log: "
                                  f"{self.paths.log})")
            if elapsed >= timeout:
                raise ServerError(
                    f"the local Prefect server did not answer within {timeout:.0f} s (log: "
                    f"{self.paths.log}); a loaded machine may need longer: "
                    "DIGEST_ENRICH_SERVER_START_TIMEOUT=SECONDS, or stop it: "
                    "`digest-enrich server stop`")
            if tick is not None:
                tick(elapsed)
            sleep(0.1)
        return clock() - began

    def alive(self) -> bool:
        """True while the server's process runs."""
        if self._proc is not None:
            return self._proc.poll() is None
        return process_is_server(self.state.pid)

    def release(self) -> None:
        """Stop using the server (the process exiting does the same)."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def __enter__(self) -> Attachment:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class LocalServer:
    """The server of one home: start or reuse it, say what it is doing, stop it."""

    def __init__(self, home: Path, *, idle_minutes: float = DEFAULT_IDLE_MINUTES,
                 spawn: Callable[[Paths, float], tuple[ServerState, Any]] = _spawn,
                 is_server: Callable[[int], bool] = process_is_server) -> None:
        self.paths = Paths.under(home)
        self.idle_minutes = idle_minutes
        self._spawn = spawn
        self._is_server = is_server

    def attach(self) -> Attachment:
        """Use the running server, or start one (without waiting for it: `wait_ready`).

        Under the start lock, so that runs starting together start one server; the clients
        lock is taken before the start lock is let go, so the server cannot retire between.
        """
        self.paths.root.mkdir(parents=True, exist_ok=True)
        with exclusive(self.paths.start_lock):
            state = self._current()
            if state is not None and state.prefect_version != prefect_version() \
                    and not in_use(self.paths):
                self._terminate(state)  # Prefect was upgraded: its own server, fresh
                state = None
            proc = None
            if state is None:
                state, proc = self._spawn(self.paths, self.idle_minutes)
                state.save(self.paths.state)
            handle = self.paths.clients_lock.open("a+b")
            fcntl.flock(handle, fcntl.LOCK_SH)
        return Attachment(state=state, started=proc is not None, paths=self.paths,
                          _handle=handle, _proc=proc)

    def status(self) -> ServerState | None:
        """The running server, or None."""
        with exclusive(self.paths.start_lock):
            return self._current()

    def stop(self, *, force: bool = False, timeout: float = 15.0) -> ServerState | None:
        """Stop the server (refused while a run uses it, unless `force`); what was stopped."""
        if not self.paths.root.is_dir():
            return None
        with exclusive(self.paths.start_lock):
            state = self._current()
            if state is None:
                return None
            if not force and in_use(self.paths):
                raise ServerError(f"the local Prefect server (pid {state.pid}) is in use by a "
                                  "run; wait for it to finish, or `digest-enrich server stop "
                                  "--force`")
            self._terminate(state, timeout=timeout)
            return state

    def _current(self) -> ServerState | None:
        """The recorded server if its process is still ours; a stale record is removed."""
        _reap()
        state = ServerState.load(self.paths.state)
        if state is None:
            return None
        if not self._is_server(state.pid):
            self.paths.state.unlink(missing_ok=True)
            return None
        return state

    def _terminate(self, state: ServerState, timeout: float = 15.0) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(state.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while self._is_server(state.pid) and time.monotonic() < deadline:
            _reap(state.pid)
            time.sleep(0.05)
        if self._is_server(state.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(state.pid, signal.SIGKILL)
        _reap(state.pid)
        self.paths.state.unlink(missing_ok=True)


def _reap(pid: int | None = None) -> None:
    """Collect the exit status of servers this process started that have ended (of `pid`
    only, if given)."""
    for proc in list(_CHILDREN):
        if (pid is None or proc.pid == pid) and proc.poll() is not None:
            _CHILDREN.remove(proc)


def last_line(path: Path) -> str:
    """The last non-empty line of a log (for one-line error messages)."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    return next((line.strip() for line in reversed(lines) if line.strip()), "")[:300]


# -- is a server configured? --------------------------------------------------------------

UNKNOWN = "unknown"


def configured_api_url(environ: Mapping[str, str] = os.environ,
                       cwd: Path | None = None) -> str | None:
    """PREFECT_API_URL as Prefect will see it, without importing Prefect: the environment, else
    the active profile's. `UNKNOWN` when a settings file in the working directory (`.env`,
    `prefect.toml`, `pyproject.toml` with `[tool.prefect]`) may say otherwise: then ask
    Prefect itself."""
    if environ.get("PREFECT_API_URL"):
        return environ["PREFECT_API_URL"]
    if _settings_files_in(cwd or Path.cwd()):
        return UNKNOWN
    return _profile_api_url(environ)


def _settings_files_in(here: Path) -> bool:
    try:
        pyproject = here / "pyproject.toml"
        dotenv = here / ".env"
        return ((here / "prefect.toml").exists()
                or (dotenv.is_file() and "PREFECT_" in dotenv.read_text("utf-8", "replace"))
                or (pyproject.is_file()
                    and "[tool.prefect" in pyproject.read_text("utf-8", "replace")))
    except OSError:
        return True


def _profile_api_url(environ: Mapping[str, str]) -> str | None:
    """The active profile's PREFECT_API_URL (Prefect's default profile has none)."""
    if environ.get("PREFECT_PROFILES_PATH"):
        profiles = Path(environ["PREFECT_PROFILES_PATH"]).expanduser()
    else:
        home = Path(environ.get("PREFECT_HOME") or "~/.prefect").expanduser()
        profiles = home / "profiles.toml"
    if not profiles.is_file():
        return None
    import tomllib  # noqa: PLC0415 - only when there is a profiles file

    try:
        data = tomllib.loads(profiles.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return UNKNOWN
    active = environ.get("PREFECT_PROFILE") or data.get("active")
    profile = data.get("profiles", {}).get(active) if isinstance(active, str) else None
    url = profile.get("PREFECT_API_URL") if isinstance(profile, dict) else None
    return str(url) if url else None

"""The local Prefect server process: `python -m flows.server_process --fd N --home DIR`.

Started (detached, in its own session) by `flows.local_server`, which binds the listening
socket and passes it as `--fd`. Prefect's API and UI (`prefect.server.api.server.create_app`,
as `prefect server start` serves them) under uvicorn, plus a watcher thread that stops the
server once it has been idle for `--idle-minutes`: no request in flight or answered for that
long, and no run holding the clients lock. Before it stops it removes `server.json` under the
start lock, so a run arriving at that moment starts a new server instead of using this one.

Two things make its first start (which the first run waits for) shorter than Prefect's own:

* a new database is made from `prefect_schema.sql`, the schema Prefect's 116 migrations make,
  shipped for the Prefect version it was written with (~0.1 s instead of ~4 s of CPU). Any
  other version of Prefect migrates as usual. After upgrading Prefect, write it anew from a real
  migration: `PYTHONHASHSEED=0 python -m flows.server_process --write-schema
  flows/prefect_schema.sql` (the test suite checks that the shipped one is that);
* the block types (what the UI offers, what Secret blocks need) are registered once the server
  has been idle for a moment, instead of before it answers (~1 s).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import sqlite3
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from pathlib import Path
from typing import Any

from flows.local_server import Paths, ServerState, in_use, prefect_version, try_exclusive

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Message]],
                    Callable[[Message], Awaitable[None]]], Awaitable[None]]

CHECK_SECONDS = 5.0
# The block types are registered once nobody has asked anything for this long.
REGISTER_WHEN_IDLE = 2.0


class Activity:
    """An ASGI wrapper that knows when the server last did anything for anyone."""

    def __init__(self, app: ASGIApp, clock: Callable[[], float] = time.monotonic) -> None:
        self.app = app
        self._clock = clock
        self.last = clock()
        self.in_flight = 0
        self.loop: asyncio.AbstractEventLoop | None = None  # the server's, once it runs

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Message]],
                       send: Callable[[Message], Awaitable[None]]) -> None:
        if scope["type"] not in ("http", "websocket"):
            self.loop = asyncio.get_running_loop()
            await self.app(scope, receive, send)
            return
        self.in_flight += 1  # one event loop: no lock needed
        self.last = self._clock()
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
            self.last = self._clock()

    def idle_for(self) -> float:
        """Seconds since the last request ended (0 while one is in flight, a websocket too)."""
        return 0.0 if self.in_flight else max(0.0, self._clock() - self.last)

    def run_soon(self, job: Callable[[], Awaitable[None]]) -> bool:
        """Run `job()` on the server's event loop (from another thread); False before it runs."""
        if self.loop is None:
            return False
        asyncio.run_coroutine_threadsafe(job(), self.loop)  # type: ignore[arg-type]
        return True


SCHEMA = Path(__file__).with_name("prefect_schema.sql")


def schema_header(version: str) -> str:
    return f"-- The schema of Prefect {version}'s SQLite database, as its migrations make it."


def seed_database(database: Path, version: str, schema: Path = SCHEMA) -> bool:
    """Make a new `database` from the shipped schema, if it is the schema of this Prefect
    `version`; True when it did (else Prefect migrates, as it always can)."""
    if database.exists() or not schema.is_file():
        return False
    text = schema.read_text(encoding="utf-8")
    if text.split("\n", 1)[0] != schema_header(version):
        return False
    temp = database.with_name(f".{database.name}.{os.getpid()}.tmp")
    temp.unlink(missing_ok=True)
    with contextlib.closing(sqlite3.connect(temp)) as db:
        db.executescript(text)
    temp.replace(database)  # whole or not at all
    return True


def write_schema(path: Path) -> int:
    """`--write-schema PATH`: migrate a new database with Prefect and write what it holds."""
    with tempfile.TemporaryDirectory() as home:
        os.environ["PREFECT_HOME"] = home  # before Prefect is imported: it reads it once
        os.environ.pop("PREFECT_API_DATABASE_CONNECTION_URL", None)
        from prefect.server.database import provide_database_interface  # noqa: PLC0415

        asyncio.run(provide_database_interface().create_db())
        with contextlib.closing(sqlite3.connect(Path(home) / "prefect.db")) as db:
            lines = list(db.iterdump())
    path.write_text("\n".join([schema_header(prefect_version()), *lines]) + "\n",
                    encoding="utf-8")
    return 0


async def register_block_types() -> None:
    """What Prefect's server does before it answers (PREFECT_API_BLOCKS_REGISTER_ON_START),
    done just after: the block types the UI offers and Secret blocks need."""
    from prefect.server.database import provide_database_interface  # noqa: PLC0415
    from prefect.server.models.block_registration import (  # noqa: PLC0415
        run_block_auto_registration,
    )

    try:
        session = await provide_database_interface().session()
        async with session:
            await run_block_auto_registration(session=session)
    except Exception as exc:  # the API works without them; say so in the log
        print(f"registering block types failed: {type(exc).__name__}: {exc}", file=sys.stderr,
              flush=True)




class IdleWatch:
    """Decides when the server retires, and makes sure no run picks it up as it does."""

    def __init__(self, paths: Paths, pid: int, idle_seconds: float,
                 idle_for: Callable[[], float]) -> None:
        self.paths = paths
        self.pid = pid
        self.idle_seconds = idle_seconds
        self._idle_for = idle_for

    def retire(self) -> bool:
        """True when the server should stop now: idle long enough and no run uses it, or its
        record names another server (nobody can find this one any more). Its record is removed
        first, under the start lock; a run attaching right now makes this wait a round."""
        lock = try_exclusive(self.paths.start_lock)
        if lock is None:
            return False  # a run is attaching (or a stop is under way): not now
        try:
            state = ServerState.load(self.paths.state)
            orphan = state is None or state.pid != self.pid
            if not orphan and (self._idle_for() < self.idle_seconds or in_use(self.paths)):
                return False
            if orphan and in_use(self.paths):
                return False  # a run found us before the record changed: let it finish
            if state is not None and state.pid == self.pid:
                self.paths.state.unlink(missing_ok=True)
            return True
        finally:
            lock.close()

    def forget(self) -> None:
        """On the way out, however it came: our record goes (another server's stays)."""
        lock = try_exclusive(self.paths.start_lock)
        if lock is None:
            return  # whoever holds it (`server stop`) removes the record itself
        try:
            state = ServerState.load(self.paths.state)
            if state is not None and state.pid == self.pid:
                self.paths.state.unlink(missing_ok=True)
        finally:
            lock.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flows.server_process")
    parser.add_argument("--fd", type=int, help="the listening socket")
    parser.add_argument("--home", type=Path, help="the server's directory")
    parser.add_argument("--idle-minutes", type=float, default=30.0)
    parser.add_argument("--check-seconds", type=float, default=CHECK_SECONDS)
    parser.add_argument("--write-schema", type=Path, metavar="PATH",
                        help="write the schema a new database gets (prefect_schema.sql), exit")
    args = parser.parse_args(argv)
    if args.write_schema:
        return write_schema(args.write_schema)
    if args.fd is None or args.home is None:
        parser.error("--fd and --home are required")

    sock = socket.socket(fileno=args.fd)
    seed_database(Paths(args.home).prefect_home / "prefect.db", prefect_version())
    import uvicorn  # noqa: PLC0415 - after the arguments: a wrong call fails fast
    from prefect.server.api.server import create_app  # noqa: PLC0415

    activity = Activity(create_app(final=True))
    server = uvicorn.Server(uvicorn.Config(
        activity, lifespan="on", log_level="warning", access_log=False,
        timeout_graceful_shutdown=5))
    watch = IdleWatch(Paths(args.home), os.getpid(), args.idle_minutes * 60, activity.idle_for)

    def watcher() -> None:
        registered = False
        every = min(args.check_seconds, args.idle_minutes * 60)
        checked = time.monotonic()
        while not server.should_exit:
            time.sleep(min(1.0, every))
            if not registered and server.started and activity.idle_for() >= REGISTER_WHEN_IDLE:
                registered = activity.run_soon(register_block_types)
            if time.monotonic() - checked >= every:
                checked = time.monotonic()
                if watch.retire():
                    print(f"idle for {args.idle_minutes:g} min with no run using it: stopping",
                          file=sys.stderr, flush=True)
                    server.should_exit = True

    threading.Thread(target=watcher, name="idle-watch", daemon=True).start()
    try:
        server.run(sockets=[sock])
    finally:
        watch.forget()
    return 0


if __name__ == "__main__":
    sys.exit(main())

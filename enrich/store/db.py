"""Persistent state under `output/.state`: lookup cache, ETags and the citation-key registry.

One SQLite database in WAL mode holds JSON values in namespaces. SQLite gives what the run needs
without a server: every write is an atomic transaction (a killed run loses at most the batch in
flight, never corrupts what finished), and several threads or worker processes on one machine
can read and write at once.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from enrich.errors import OutputError

STATE_DIR = ".state"
_DB_NAME = "state.sqlite3"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (
    ns    TEXT NOT NULL,
    key   TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (ns, key)
) WITHOUT ROWID;
"""

JSON = dict[str, Any]


class StateStore:
    """Namespaced JSON values in SQLite. Safe across threads and processes."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / _DB_NAME
        self._local = threading.local()
        try:
            directory.mkdir(parents=True, exist_ok=True)
            with self._connect() as conn:
                conn.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise OutputError(f"cannot open the state database: {exc}", path=str(self.path)) \
                from exc

    @classmethod
    def for_output(cls, output_dir: Path) -> StateStore:
        """The state store of an output directory (`<output>/.state`)."""
        return cls(output_dir / STATE_DIR)

    def _connect(self) -> sqlite3.Connection:
        # One connection per thread and process: sqlite3 objects must not cross either.
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None or getattr(self._local, "pid", None) != os.getpid():
            conn = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def get(self, ns: str, key: str) -> JSON | None:
        row = self._connect().execute(
            "SELECT value FROM kv WHERE ns = ? AND key = ?", (ns, key)
        ).fetchone()
        return json.loads(row[0]) if row else None

    def get_many(self, ns: str, keys: Iterable[str]) -> dict[str, JSON]:
        wanted = list(dict.fromkeys(keys))
        found: dict[str, JSON] = {}
        conn = self._connect()
        for start in range(0, len(wanted), 500):
            part = wanted[start:start + 500]
            marks = ",".join("?" * len(part))
            for key, value in conn.execute(
                f"SELECT key, value FROM kv WHERE ns = ? AND key IN ({marks})",  # noqa: S608
                (ns, *part),
            ):
                found[key] = json.loads(value)
        return found

    def put(self, ns: str, key: str, value: JSON) -> None:
        self.put_many(ns, {key: value})

    def put_many(self, ns: str, items: Mapping[str, JSON]) -> None:
        """Write several values in one transaction: all of them land, or none."""
        if not items:
            return
        rows = [(ns, k, json.dumps(v, sort_keys=True, ensure_ascii=False)) for k, v in
                items.items()]
        conn = self._connect()
        with _transaction(conn):
            conn.executemany("INSERT OR REPLACE INTO kv (ns, key, value) VALUES (?, ?, ?)", rows)

    def put_if_absent(self, ns: str, key: str, value: JSON) -> JSON:
        """Store `value` unless the key exists; return what is stored now (atomic)."""
        conn = self._connect()
        with _transaction(conn):
            conn.execute("INSERT OR IGNORE INTO kv (ns, key, value) VALUES (?, ?, ?)",
                         (ns, key, json.dumps(value, sort_keys=True, ensure_ascii=False)))
            row = conn.execute("SELECT value FROM kv WHERE ns = ? AND key = ?",
                               (ns, key)).fetchone()
        return dict(json.loads(row[0]))

    def delete(self, ns: str, key: str) -> None:
        self.delete_many(ns, [key])

    def delete_many(self, ns: str, keys: Iterable[str]) -> None:
        """Delete several keys in one transaction."""
        rows = [(ns, k) for k in dict.fromkeys(keys)]
        if not rows:
            return
        conn = self._connect()
        with _transaction(conn):
            conn.executemany("DELETE FROM kv WHERE ns = ? AND key = ?", rows)

    def items(self, ns: str) -> Iterator[tuple[str, JSON]]:
        rows = self._connect().execute(
            "SELECT key, value FROM kv WHERE ns = ? ORDER BY key", (ns,)
        ).fetchall()
        for key, value in rows:
            yield key, json.loads(value)


class _transaction:  # noqa: N801 - used like a function: `with _transaction(conn):`
    """BEGIN IMMEDIATE … COMMIT, rolled back on error (autocommit connections)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *_: object) -> None:
        self.conn.execute("ROLLBACK" if exc_type else "COMMIT")

"""Reap Prefect's embedded server when `digest-enrich run` dies without cleaning up.

In the embedded mode Prefect starts its API server as a subprocess and stops it from an
`atexit` hook. A run killed with SIGKILL (the OOM killer, `kill -9`, a crashed container
runtime) never runs that hook, and the server would live on, orphaned. `digest-enrich run`
therefore starts a tiny watchdog process: while the CLI lives it notes which of the CLI's
children are Prefect's embedded server; once the CLI is gone it terminates them. Linux only
(it reads /proc); elsewhere nothing is started.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

# Run as `python -c WATCHDOG <cli pid>`; only the standard library, no imports of ours.
WATCHDOG = r"""
import os, signal, sys, time

cli = int(sys.argv[1])
me = os.getpid()
marker = b"prefect.server.api.server:" + b"create_app"  # split: this script must not match
servers = {}  # pid -> its command line, to never signal a recycled pid

def children(pid):
    found = set()
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as handle:
                found.update(int(x) for x in handle.read().split())
    except OSError:
        pass
    return found

def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read()
    except OSError:
        return b""

while os.getppid() == cli:
    for pid in children(cli):
        if pid != me and pid not in servers and marker in cmdline(pid):
            servers[pid] = cmdline(pid)
    time.sleep(0.25)

for pid, line in servers.items():
    if cmdline(pid) == line:
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            pass
"""


@contextlib.contextmanager
def reap_embedded_server() -> Iterator[None]:
    """Keep a watchdog running for the duration of the context (no-op without /proc)."""
    if not Path("/proc/self/task").is_dir():
        yield
        return
    watchdog = subprocess.Popen(  # noqa: S603 - our own interpreter and a constant script
        [sys.executable, "-c", WATCHDOG, str(os.getpid())],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    try:
        yield
    finally:
        # Prefect's own atexit hook stops the server on a normal exit.
        watchdog.kill()
        watchdog.wait()

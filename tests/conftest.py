"""Shared fixtures: running the real CLI as a subprocess against the loopback fakes."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from flows.local_server import LocalServer

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "seeds"

# Variables of the developer's shell that would change what a subprocess run does.
_SCRUB = ("ARXIV_", "GITHUB_", "PREFECT_", "DIGEST_ENRICH_", "BIBTEX_", "HF_", "S2_", "DBLP_",
          "PUBLISHED_")


# Homes of the local Prefect servers the tests' runs may have started: stopped after each test.
_SERVER_HOMES: set[Path] = set()


def cli_env(prefect_home: Path, **overrides: str) -> dict[str, str]:
    """A clean environment for `digest-enrich`: no inherited service settings, a private
    PREFECT_HOME and local-server home beside it (so runs never touch the developer's Prefect
    database or server), quiet Prefect. Servers started there are stopped after the test."""
    prefect_home.mkdir(parents=True, exist_ok=True)
    server_home = prefect_home / "digest-enrich"
    _SERVER_HOMES.add(server_home)
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUB)}
    env.update({
        "DIGEST_ENRICH_HOME": str(server_home),
        # A test that dies before its teardown leaves no server for long.
        "DIGEST_ENRICH_SERVER_IDLE_MINUTES": "5",
        "PREFECT_HOME": str(prefect_home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PYTHONUNBUFFERED": "1",
        # Nothing may reach the real services from a test.
        "ARXIV_API_URL": "http://127.0.0.1:9/api/query",
        "GITHUB_API_URL": "http://127.0.0.1:9",
        "HF_API_URL": "http://127.0.0.1:9",
        "S2_API_URL": "http://127.0.0.1:9/graph/v1",
        "DBLP_API_URL": "http://127.0.0.1:9",
    })
    env.update(overrides)
    return env


def run_cli(args: list[str], *, env: Mapping[str, str], cwd: Path = REPO,
            timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run `digest-enrich ARGS` the way a user does, capturing both streams."""
    return subprocess.run([sys.executable, "-m", "flows.cli", *args], cwd=cwd, env=dict(env),
                          capture_output=True, text=True, timeout=timeout, check=False)


def stop_local_servers() -> None:
    """Stop every local Prefect server the runs of this test may have started."""
    while _SERVER_HOMES:
        LocalServer(_SERVER_HOMES.pop()).stop(force=True)


@pytest.fixture(scope="session", autouse=True)
def _private_server_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """In-process runs (`flows.cli.main`) too never start a server in the developer's home."""
    home = tmp_path_factory.mktemp("digest-enrich-home")
    before = os.environ.get("DIGEST_ENRICH_HOME")
    os.environ["DIGEST_ENRICH_HOME"] = str(home)
    yield home
    if before is None:
        os.environ.pop("DIGEST_ENRICH_HOME", None)
    else:
        os.environ["DIGEST_ENRICH_HOME"] = before


@pytest.fixture(autouse=True)
def _no_local_server_outlives_its_test(_private_server_home: Path) -> Iterator[None]:
    _SERVER_HOMES.add(_private_server_home)
    yield
    stop_local_servers()

"""Shared fixtures: running the real CLI as a subprocess against the loopback fakes."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "seeds"

# Variables of the developer's shell that would change what a subprocess run does.
_SCRUB = ("ARXIV_", "GITHUB_", "PREFECT_", "DIGEST_ENRICH_", "BIBTEX_", "HF_", "S2_", "DBLP_",
          "PUBLISHED_")


def cli_env(prefect_home: Path, **overrides: str) -> dict[str, str]:
    """A clean environment for `digest-enrich`: no inherited service settings, a private
    PREFECT_HOME (so runs never touch the developer's Prefect database), quiet Prefect."""
    prefect_home.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUB)}
    env.update({
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

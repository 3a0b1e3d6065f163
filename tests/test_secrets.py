"""The GitHub token never leaves the Authorization header: not in logs (even at debug level),
stdout, records, the .bib, the state, Prefect's database or artifacts — also when GitHub
rejects it. Real CLI runs over loopback HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import SEEDS, cli_env, run_cli
from tests.fakes.arxiv_api import FakeArxiv
from tests.fakes.github_api import FakeGitHub

pytestmark = pytest.mark.e2e

TOKEN = "test-S3cr3tT0kenForDigestEnrichTests0042"


@pytest.fixture(scope="module")
def fakes() -> Iterator[tuple[FakeArxiv, FakeGitHub]]:
    with FakeArxiv() as arxiv, FakeGitHub(tokens=(TOKEN,)) as github:
        yield arxiv, github


def _leaks(root: Path, needle: bytes) -> list[str]:
    """Files under `root` whose bytes contain `needle` (SQLite databases and WAL included)."""
    return [str(p.relative_to(root)) for p in sorted(root.rglob("*"))
            if p.is_file() and needle in p.read_bytes()]


@pytest.mark.parametrize("accepted", [True, False], ids=["valid-token", "rejected-token"])
def test_token_never_leaves_the_request_header(tmp_path: Path,
                                               fakes: tuple[FakeArxiv, FakeGitHub],
                                               accepted: bool) -> None:
    arxiv, github = fakes
    github.reset_log()
    token = TOKEN if accepted else TOKEN.replace("0042", "9999")
    env = cli_env(tmp_path / "prefect", ARXIV_API_URL=arxiv.url, GITHUB_API_URL=github.url,
                  ARXIV_MIN_INTERVAL="0.05", GITHUB_TOKEN=token,
                  PREFECT_LOGGING_LEVEL="DEBUG")
    output = tmp_path / "out"

    done = run_cli(["-vv", "run", str(SEEDS), "--output", str(output)], env=env)

    assert done.returncode == 0, done.stderr
    assert github.request_count > 0  # the token was really used
    secret = token.encode()
    assert secret not in done.stdout.encode()
    assert secret not in done.stderr.encode()
    assert _leaks(output, secret) == []          # records, .bib, CSL, report, .state
    assert _leaks(tmp_path / "prefect", secret) == []  # Prefect's database, logs, artifacts
    if accepted:
        assert "GitHub: 5 repositories (5 ok)" in done.stdout
    else:
        assert "GitHub" in done.stdout
        assert "401" in done.stdout or "credentials" in done.stdout.lower()

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
from tests.fakes.hf_api import FakeHuggingFace
from tests.fakes.s2_api import FakeSemanticScholar

pytestmark = pytest.mark.e2e

TOKEN = "test-S3cr3tT0kenForDigestEnrichTests0042"
HF_TOKEN = "hf_S3cr3tHuggingFaceTokenForTests0042"
S2_KEY = "s2S3cr3tSemanticScholarKeyForTests0042"


@pytest.fixture(scope="module")
def fakes() -> Iterator[tuple[FakeArxiv, FakeGitHub]]:
    with FakeArxiv() as arxiv, FakeGitHub(tokens=(TOKEN,)) as github:
        yield arxiv, github


@pytest.fixture(scope="module")
def sources() -> Iterator[tuple[FakeHuggingFace, FakeSemanticScholar]]:
    with FakeHuggingFace(tokens=(HF_TOKEN,)) as hf, \
            FakeSemanticScholar(keys=(S2_KEY,), key_interval=0) as s2:
        yield hf, s2


def _leaks(root: Path, needle: bytes) -> list[str]:
    """Files under `root` whose bytes contain `needle` (SQLite databases and WAL included)."""
    return [str(p.relative_to(root)) for p in sorted(root.rglob("*"))
            if p.is_file() and needle in p.read_bytes()]


@pytest.mark.parametrize("accepted", [True, False], ids=["valid-token", "rejected-token"])
def test_token_never_leaves_the_request_header(tmp_path: Path,
                                               fakes: tuple[FakeArxiv, FakeGitHub],
                                               sources: tuple[FakeHuggingFace,
                                                              FakeSemanticScholar],
                                               accepted: bool) -> None:
    arxiv, github = fakes
    hf, s2 = sources
    for fake in (github, hf, s2):
        fake.reset_log()
    token, hf_token, s2_key = (secret if accepted else secret.replace("0042", "9999")
                               for secret in (TOKEN, HF_TOKEN, S2_KEY))
    env = cli_env(tmp_path / "prefect", ARXIV_API_URL=arxiv.url, GITHUB_API_URL=github.url,
                  ARXIV_MIN_INTERVAL="0.05", GITHUB_TOKEN=token,
                  HF_API_URL=hf.url, HF_TOKEN=hf_token, HF_MIN_INTERVAL="0",
                  S2_API_URL=s2.url, S2_API_KEY=s2_key, S2_MIN_INTERVAL="0",
                  PREFECT_LOGGING_LEVEL="DEBUG")
    output = tmp_path / "out"

    done = run_cli(["-vv", "run", str(SEEDS), "--output", str(output)], env=env)

    assert done.returncode == 0, done.stderr
    assert github.request_count > 0  # the token was really used
    assert hf.request_count > 0 and s2.request_count > 0
    for value in (token, hf_token, s2_key):
        secret = value.encode()
        assert secret not in done.stdout.encode()
        assert secret not in done.stderr.encode()
        assert _leaks(output, secret) == []          # records, .bib, CSL, report, .state
        assert _leaks(tmp_path / "prefect", secret) == []  # Prefect's database, logs, artifacts
    if accepted:
        assert "GitHub: 5 repositories (5 ok)" in done.stdout
        assert "Hugging Face: 14 asked of 14 (14 absent)" in done.stdout
    else:
        assert "Hugging Face was unreachable or unavailable (Hugging Face credentials " \
               "refused" in done.stdout
        assert "Semantic Scholar was unreachable or unavailable" in done.stdout
        assert "GitHub" in done.stdout
        assert "401" in done.stdout or "credentials" in done.stdout.lower()

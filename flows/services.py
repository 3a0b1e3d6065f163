"""Settings at the edge of a task: the environment, plus Prefect's Secret block for the token."""

from __future__ import annotations

import logging

from pydantic import SecretStr

from enrich.settings import Settings, load_settings

# Name of the Prefect Secret block holding a GitHub token (used when GITHUB_TOKEN is not set):
#   prefect block create secret  → name it "github-token", or in Python:
#   Secret(value="ghp_…").save("github-token")
GITHUB_TOKEN_BLOCK = "github-token"  # noqa: S105 - a block name, not a secret

log = logging.getLogger(__name__)


def runtime_settings(*, github: bool = False) -> Settings:
    """Settings from this process's environment; with `github`, the token may come from the
    Secret block. The token is never a flow or task parameter, so it never lands in Prefect's
    database, logs or the UI."""
    settings = load_settings()
    if github and settings.github_token_value is None:
        token = _secret_block_token()
        if token:
            settings = settings.model_copy(update={"github_token": SecretStr(token)})
    return settings


def _secret_block_token() -> str | None:
    from prefect.blocks.system import Secret  # noqa: PLC0415 - only when a block is needed

    try:
        block = Secret.load(GITHUB_TOKEN_BLOCK, _sync=True)  # type: ignore[call-arg]
    except (ValueError, ImportError):
        return None  # no such block: run without a token
    except Exception as exc:  # the server may be unreachable: go on without a token
        log.warning("could not read the %r Secret block (%s); continuing without a GitHub "
                    "token", GITHUB_TOKEN_BLOCK, type(exc).__name__)
        return None
    value = block.get()
    return str(value).strip() or None if value else None

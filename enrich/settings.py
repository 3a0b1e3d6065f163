"""Settings, read from the environment once, at the edge (CLI or flow), then passed down."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from enrich import __version__

DEFAULT_ARXIV_API_URL = "https://export.arxiv.org/api/query"
DEFAULT_GITHUB_API_URL = "https://api.github.com"


class Settings(BaseSettings):
    """Everything configurable. Environment names are the field names in upper case."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", case_sensitive=False)

    arxiv_api_url: str = DEFAULT_ARXIV_API_URL
    # arXiv's terms of use: "no more than one request every three seconds".
    arxiv_min_interval: float = Field(default=3.0, ge=0)
    # Retrying one arXiv request stops after this many attempts or this many seconds.
    arxiv_max_attempts: int = Field(default=6, ge=1)
    arxiv_retry_budget: float = Field(default=120.0, ge=0)
    arxiv_timeout: float = Field(default=30.0, gt=0)
    # Total seconds one request may take, however slowly the server sends (timeouts above
    # restart with every byte).
    arxiv_deadline: float = Field(default=90.0, gt=0)

    github_api_url: str = DEFAULT_GITHUB_API_URL
    github_token: SecretStr | None = None
    # Stored repository facts younger than this are used without asking GitHub.
    github_ttl_hours: float = Field(default=24.0, ge=0)
    # When the quota resets further away than this, stop asking and mark repos `deferred`.
    github_max_wait: float = Field(default=60.0, ge=0)
    github_max_attempts: int = Field(default=4, ge=1)
    github_retry_budget: float = Field(default=90.0, ge=0)
    github_concurrency: int = Field(default=4, ge=1, le=32)
    github_timeout: float = Field(default=20.0, gt=0)
    github_deadline: float = Field(default=45.0, gt=0)

    # references.bib: non-ASCII as LaTeX commands (classic BibTeX) or as UTF-8 (biber).
    bibtex_encoding: Literal["latex", "utf8"] = "latex"

    # Contact for the User-Agent, as arXiv and GitHub ask of API clients.
    digest_enrich_contact: str | None = None

    @property
    def user_agent(self) -> str:
        base = f"digest-enrich/{__version__} (+https://github.com/digest-enrich/digest-enrich"
        if self.digest_enrich_contact:
            base += f"; mailto:{self.digest_enrich_contact}"
        return base + ")"

    @property
    def github_token_value(self) -> str | None:
        """The token itself, for the one place that sends it (the GitHub client)."""
        if self.github_token is None:
            return None
        value = self.github_token.get_secret_value().strip()
        return value or None


def load_settings() -> Settings:
    """Read settings from the environment (call once, at the edge)."""
    return Settings()

"""Settings, read from the environment once, at the edge (CLI or flow), then passed down."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from enrich import __version__

DEFAULT_ARXIV_API_URL = "https://export.arxiv.org/api/query"
DEFAULT_GITHUB_API_URL = "https://api.github.com"
DEFAULT_HF_API_URL = "https://huggingface.co"
DEFAULT_S2_API_URL = "https://api.semanticscholar.org/graph/v1"
DEFAULT_DBLP_API_URL = "https://dblp.org"


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

    # Hugging Face Papers (code links): `$HF_API_URL/api/papers/{arxiv_id}`. HF's Hub API
    # allows 500 requests per fixed 5-minute window anonymously, 1,000 with a token: one
    # request every 0.6 s (0.3 s with a token) never runs a window dry.
    hf_api_url: str = DEFAULT_HF_API_URL
    hf_token: SecretStr | None = None
    hf_min_interval: float | None = Field(default=None, ge=0)
    # What HF said about a paper is used this long without asking again (HF learns code
    # links over time, so "not on HF" is not for ever).
    hf_ttl_hours: float = Field(default=168.0, ge=0)
    # When HF's window resets further away than this, stop asking (papers stay `deferred`).
    hf_max_wait: float = Field(default=60.0, ge=0)
    hf_max_attempts: int = Field(default=4, ge=1)
    hf_retry_budget: float = Field(default=60.0, ge=0)
    hf_timeout: float = Field(default=20.0, gt=0)
    hf_deadline: float = Field(default=45.0, gt=0)

    # Semantic Scholar (published versions): `$S2_API_URL/paper/batch`, up to 500 IDs per
    # request. With a key: 1 request/s; keyless requests share a pool (429s at random).
    s2_api_url: str = DEFAULT_S2_API_URL
    s2_api_key: SecretStr | None = None
    s2_min_interval: float = Field(default=1.0, ge=0)
    s2_max_attempts: int = Field(default=6, ge=1)
    s2_retry_budget: float = Field(default=120.0, ge=0)
    s2_timeout: float = Field(default=60.0, gt=0)
    s2_deadline: float = Field(default=120.0, gt=0)

    # dblp (venues S2 lacks): `$DBLP_API_URL/search/publ/api`, one search per such paper.
    dblp_api_url: str = DEFAULT_DBLP_API_URL
    dblp_min_interval: float = Field(default=1.0, ge=0)
    dblp_max_attempts: int = Field(default=4, ge=1)
    dblp_retry_budget: float = Field(default=90.0, ge=0)
    dblp_timeout: float = Field(default=30.0, gt=0)
    dblp_deadline: float = Field(default=60.0, gt=0)
    # How long answers about a paper's published version (S2 and dblp) are used without
    # asking again; the weekly deployment re-checks older unpublished papers sooner.
    published_ttl_hours: float = Field(default=720.0, ge=0)

    # references.bib: non-ASCII as LaTeX commands (classic BibTeX) or as UTF-8 (biber).
    bibtex_encoding: Literal["latex", "utf8"] = "latex"
    # A file of extra proper nouns to keep capitalised in titles (JabRef's protected-terms
    # format: one term a line, `#` comments), on top of enrich/data/protected_terms.txt. Read
    # once at the edge (pipeline.protected_terms) and passed down as data.
    bibtex_protected_terms: Path | None = None

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

    @property
    def hf_token_value(self) -> str | None:
        """The HF token itself, for the one place that sends it (the HF client)."""
        return _secret(self.hf_token)

    @property
    def s2_api_key_value(self) -> str | None:
        """The S2 key itself, for the one place that sends it (the S2 client)."""
        return _secret(self.s2_api_key)

    @property
    def hf_interval(self) -> float:
        """Seconds between HF request starts: the configured value, else what HF's window
        allows (500 per 5 minutes anonymously, 1,000 with a token)."""
        if self.hf_min_interval is not None:
            return self.hf_min_interval
        return 0.3 if self.hf_token_value else 0.6


def _secret(value: SecretStr | None) -> str | None:
    if value is None:
        return None
    text = value.get_secret_value().strip()
    return text or None


def load_settings() -> Settings:
    """Read settings from the environment (call once, at the edge)."""
    return Settings()

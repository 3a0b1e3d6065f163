"""How to ask Hugging Face Papers for a paper's code links: `GET /api/papers/{arxiv_id}`.

Since Papers with Code shut down (2025), Hugging Face Papers is where authors and the
community attach code to arXiv papers. One request per paper:

* **200**: the paper document (`id`, `title`, `authors`, and only when known `githubRepo`,
  `githubStars`, `projectPage`). It is validated (strict types, the `id` must be the one
  asked, URLs bounded) before anything is kept; `githubStars` is HF's cached count and is
  never used — stars come from GitHub;
* **404** (`{"error": …}`): HF does not index the paper — an answer, not a failure;
* **429** and the `RateLimit` / `RateLimit-Policy` headers of HF's fixed 5-minute windows
  (500 requests anonymous, 1,000 with a token): handled by `enrich.net.service` (wait a
  short reset, defer a long one); the process gate spaces requests so a window is never run
  dry in the first place (`Settings.hf_interval`).

The optional token (`HF_TOKEN`) is sent as `Authorization: Bearer …` to `HF_API_URL` only,
and is masked out of every message.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError

from enrich.errors import BadResponseError
from enrich.net.gate import Gate, process_gate
from enrich.net.http import public_url
from enrich.net.service import JsonService, ServiceClient
from enrich.repos.model import HfRecord
from enrich.settings import Settings
from enrich.text.identifiers import base_id

SERVICE = "Hugging Face"
BODY_LIMIT = 2 << 20  # a paper document is a few kB (with its author list)
BACKOFF = 1.0
_URL = r"^https?://[^\s\x00-\x1f\x7f{}\\<>\"']{1,500}$"


class _Author(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: StrictStr


class _PaperDoc(BaseModel):
    """The fields of HF's paper document we read; wrong types are refused, not coerced."""

    model_config = ConfigDict(extra="ignore")
    id: StrictStr
    title: StrictStr
    authors: list[_Author] = Field(default_factory=list)
    githubRepo: StrictStr | None = Field(default=None, pattern=_URL)  # noqa: N815 - HF's
    projectPage: StrictStr | None = Field(default=None, pattern=_URL)  # noqa: N815


class HuggingFaceClient(ServiceClient):
    """Read Hugging Face Papers' record of arXiv papers, one request each."""

    @classmethod
    def from_settings(cls, settings: Settings, transport: httpx.BaseTransport | None = None,
                      *, gate: Gate | None = None, sleep: Callable[[float], None] = time.sleep,
                      clock: Callable[[], float] = time.time) -> HuggingFaceClient:
        token = settings.hf_token_value
        return cls(JsonService.connect(
            SERVICE, base_url=settings.hf_api_url, user_agent=settings.user_agent,
            timeout=settings.hf_timeout,
            headers={"Authorization": f"Bearer {token}"} if token else {},
            max_attempts=settings.hf_max_attempts, budget=settings.hf_retry_budget,
            backoff=BACKOFF, gate=gate or process_gate("huggingface", settings.hf_interval),
            deadline=settings.hf_deadline, max_wait=settings.hf_max_wait,
            secrets=(token or "",), transport=transport, sleep=sleep, clock=clock))

    def get_paper(self, arxiv_id: str) -> HfRecord:
        """HF's record of the paper: `found` (with its links) or `absent` (404).

        Raises `RateLimitedError` when HF's window is used up for longer than we wait,
        `ServiceUnavailableError` when HF cannot be reached or keeps failing, and
        `BadResponseError` for an answer we refuse to trust.
        """
        wanted = base_id(arxiv_id)
        if wanted is None:
            raise ValueError(f"not an arXiv identifier: {arxiv_id!r}")
        url = f"/api/papers/{quote(wanted, safe='/.')}"
        reply = self._service.request("GET", url, expected=(200, 404), limit=BODY_LIMIT)
        if reply.status == 404:
            return HfRecord(arxiv_id=wanted, outcome="absent", read_at=reply.date)
        try:
            doc = _PaperDoc.model_validate(reply.data)
        except ValidationError as exc:
            fields = sorted({".".join(str(p) for p in e["loc"]) for e in exc.errors()})
            raise BadResponseError(f"paper document with bad fields: {', '.join(fields)}",
                                   service=SERVICE, url=public_url(reply.url),
                                   status=200) from None
        if base_id(doc.id) != wanted:
            raise BadResponseError(f"answered for another paper ({doc.id[:40]!r})",
                                   service=SERVICE, url=public_url(reply.url), status=200)
        return HfRecord(arxiv_id=wanted, outcome="found", github_repo=doc.githubRepo,
                        project_page=doc.projectPage, read_at=reply.date)

"""A loopback fake of Hugging Face Papers' API: `GET /api/papers/{arxiv_id}`.

* **200** with HF's paper document: `id`, `authors[{_id, name, hidden}]`, `publishedAt`,
  `title`, `summary`, `upvotes`, `discussionId`, and only when known `githubRepo`,
  `githubStars` (HF's cached count — deliberately allowed to be stale), `projectPage`;
* **404** `{"error": "Paper not found"}` for papers HF does not index;
* HF's fixed windows per identity (anonymous, or each token): `quota` requests per `window`
  seconds (500 / 300 s anonymous, 1,000 with a token), every answer carrying
  `RateLimit: "api";r=<left>;t=<seconds to reset>` and
  `RateLimit-Policy: "fixed window";"api";q=<quota>;w=<window>`; an exhausted window answers
  **429** with `Retry-After`;
* `Authorization: Bearer <token>` must be one of `tokens`, else **401**;
* faults from `tests.fakes.loopback`.

Run it by hand: `python -m tests.fakes.hf_api --port 8767`.
"""

from __future__ import annotations

import argparse
import math
import threading
import time
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from tests.fakes.loopback import (
    Answer,
    LoopbackFake,
    Request,
    json_answer,
    serve_until_interrupted,
)

ANONYMOUS_QUOTA = 500
TOKEN_QUOTA = 1000
WINDOW = 300.0


@dataclass(frozen=True)
class HfPaper:
    """What HF knows about one arXiv paper."""

    arxiv_id: str
    title: str
    authors: tuple[str, ...]
    github_repo: str | None = None
    github_stars: int | None = None
    project_page: str | None = None
    published_at: str = "2024-08-06T17:59:58.000Z"
    summary: str = ""
    upvotes: int = 3

    def document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "id": self.arxiv_id,
            "authors": [{"_id": f"66b2{i:020x}", "name": name, "hidden": False}
                        for i, name in enumerate(self.authors)],
            "mediaUrls": [],
            "publishedAt": self.published_at,
            "submittedOnDailyAt": self.published_at,
            "title": self.title,
            "summary": self.summary,
            "upvotes": self.upvotes,
            "discussionId": f"66b3{zlib.crc32(self.arxiv_id.encode()):020d}",
        }
        if self.github_repo is not None:
            doc["githubRepo"] = self.github_repo
            if self.github_stars is not None:
                doc["githubStars"] = self.github_stars
        if self.project_page is not None:
            doc["projectPage"] = self.project_page
        return doc


class FakeHuggingFace(LoopbackFake):
    """The loopback HF Papers API: point `HF_API_URL` at `.url`."""

    name = "fake-hf"

    def __init__(self, papers: Iterable[HfPaper] = (), *, tokens: Iterable[str] = (),
                 anonymous_quota: int = ANONYMOUS_QUOTA, token_quota: int = TOKEN_QUOTA,
                 window: float = WINDOW, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.papers = {p.arxiv_id: p for p in papers}
        self.tokens = set(tokens)
        self.anonymous_quota = anonymous_quota
        self.token_quota = token_quota
        self.window = window
        self._windows: dict[str, tuple[float, int]] = {}  # identity → (window start, used)
        self._quota_lock = threading.Lock()

    def add(self, paper: HfPaper) -> None:
        self.papers[paper.arxiv_id] = paper

    def answer(self, request: Request) -> Answer:
        path = self.route(request.path)
        authorization = request.headers.get("authorization")
        token = authorization.removeprefix("Bearer ").strip() if authorization else None
        if token is not None and token not in self.tokens:
            return json_answer(401, {"error": "Invalid credentials in Authorization header"})
        identity = "anonymous" if token is None else f"token:{token}"
        quota = self.anonymous_quota if token is None else self.token_quota
        headers, exhausted = self._spend(identity, quota)
        if exhausted is not None:
            return json_answer(429, {"error": "You have exceeded our rate limit for the api "
                                              "bucket. Retry later."},
                               {**headers, "Retry-After": str(exhausted)})
        if request.method != "GET" or path is None or not path.startswith("/api/papers/"):
            return json_answer(404, {"error": "Sorry, we can't find the page you are looking "
                                              "for."}, headers)
        arxiv_id = path.removeprefix("/api/papers/")
        paper = self.papers.get(arxiv_id)
        if paper is None:
            return json_answer(404, {"error": "Paper not found"}, headers)
        return json_answer(200, paper.document(), headers)

    def _spend(self, identity: str, quota: int) -> tuple[dict[str, str], int | None]:
        """Count one request in the identity's fixed window; the headers, and the seconds to
        wait when the window is used up."""
        now = time.monotonic()
        with self._quota_lock:
            start, used = self._windows.get(identity, (now, 0))
            if now - start >= self.window:
                start, used = now, 0
            reset = max(1, math.ceil(self.window - (now - start)))
            policy = f'"fixed window";"api";q={quota};w={int(self.window)}'
            if used >= quota:
                return {"RateLimit": f'"api";r=0;t={reset}', "RateLimit-Policy": policy}, reset
            used += 1
            self._windows[identity] = (start, used)
            return {"RateLimit": f'"api";r={quota - used};t={reset}',
                    "RateLimit-Policy": policy}, None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="fake Hugging Face Papers API")
    parser.add_argument("--port", type=int, default=8767)
    args = parser.parse_args(argv)
    demo = HfPaper("2205.14459", "CyCLIP: Cyclic Contrastive Language-Image Pretraining",
                   ("Shashank Goel",), github_repo="https://github.com/goel-shashank/CyCLIP",
                   github_stars=12)
    with FakeHuggingFace([demo], port=args.port) as fake:
        print(f"fake Hugging Face at {fake.url}; Ctrl-C stops", flush=True)
        serve_until_interrupted()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

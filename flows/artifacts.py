"""Prefect artifacts for every run: a table of papers and a markdown summary (stable keys)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from prefect.artifacts import create_markdown_artifact, create_table_artifact

from flows.summary import RunSummary, markdown

PAPERS_KEY = "enrich-digests-papers"
SUMMARY_KEY = "enrich-digests-summary"


def paper_rows(output: Path) -> list[dict[str, Any]]:
    """One row per paper of `papers.jsonl`: title, arXiv link, status, code link, stars."""
    path = output / "papers.jsonl"
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        paper = json.loads(line)
        repo = next(iter(paper.get("repos") or []), None)
        arxiv_id = paper.get("arxiv_id")
        rows.append({
            "title": paper["title"],
            "arxiv": f"[{arxiv_id}](https://arxiv.org/abs/{arxiv_id})" if arxiv_id else "",
            "status": paper["match"]["status"],
            "code": f"[{repo['full_name']}]({repo['url']})" if repo else "",
            "stars": repo.get("stars") if repo else None,
        })
    return rows


def publish(summary: RunSummary, output: Path) -> None:
    """Create the two artifacts; the keys are stable so the UI shows their history."""
    create_table_artifact(paper_rows(output), key=PAPERS_KEY,
                          description="Papers found in the digests")
    create_markdown_artifact(markdown(summary), key=SUMMARY_KEY,
                             description="What the run did")

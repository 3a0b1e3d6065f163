"""Prefect artifacts for every run: a table of papers and a markdown summary (stable keys)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prefect.artifacts import create_markdown_artifact, create_table_artifact

if TYPE_CHECKING:
    from flows.enrich_flow import RunSummary

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


def summary_markdown(summary: RunSummary) -> str:
    """The run in a few lines of markdown."""
    a, g = summary.arxiv, summary.github
    lines = [
        f"# enrich-digests: {summary.output}",
        "",
        f"- **Digests**: {len(summary.digests) - len(summary.failed)} parsed, "
        f"{len(summary.failed)} failed",
    ]
    for bad in summary.failed:
        if bad.error is not None:
            where = f"{bad.error.file}:{bad.error.line}" if bad.error.line else bad.error.file
            lines.append(f"  - `{where}`: {bad.error.message}")
    for problem in summary.problems:
        where = f"{problem.file}:{problem.line}" if problem.line else problem.file
        lines.append(f"  - `{where}` (warning): {problem.message}")
    statuses = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in a.statuses.items()) or "none"
    lines += [
        f"- **Papers (arXiv)**: {statuses}",
        f"- **arXiv requests**: {a.requests} ({a.from_cache} answers from the cache, "
        f"{a.retries} retries); waited {a.gate_wait:.1f} s at the rate gate and "
        f"{a.retry_wait:.1f} s backing off",
    ]
    if a.unavailable:
        lines.append(f"- **arXiv unavailable**: {a.unavailable}")
    repo_statuses = ", ".join(f"{v} {k}" for k, v in g.statuses.items()) or "none"
    lines += [
        f"- **Repositories (GitHub)**: {repo_statuses}",
        f"- **GitHub requests**: {g.requests}; waited {g.wait:.1f} s on rate limits",
    ]
    if g.unavailable:
        lines.append(f"- **GitHub unavailable**: {g.unavailable}")
    if summary.outputs is not None:
        lines.append(f"- **Outputs**: {summary.outputs.papers} papers, "
                     f"{summary.outputs.in_bib} in references.bib")
    lines.append(f"- **Time**: {summary.seconds:.1f} s")
    return "\n".join(lines) + "\n"


def publish(summary: RunSummary, output: Path) -> None:
    """Create the two artifacts; the keys are stable so the UI shows their history."""
    create_table_artifact(paper_rows(output), key=PAPERS_KEY,
                          description="Papers found in the digests")
    create_markdown_artifact(summary_markdown(summary), key=SUMMARY_KEY,
                             description="What the run did")

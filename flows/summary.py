"""What one run did (`RunSummary`), in words for the terminal and in markdown for the UI."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import Field

from enrich.digest.model import ParseOutcome, Problem
from enrich.pipeline import RenderStats, RepoStats, ResolveStats, SourceStats
from enrich.record import Record


class RunSummary(Record):
    """What one run did, for the CLI, the artifacts and the flow run's result."""

    output: str
    digests: tuple[str, ...] = ()
    failed: tuple[ParseOutcome, ...] = ()
    problems: tuple[Problem, ...] = ()
    arxiv: ResolveStats = Field(default_factory=ResolveStats)
    github: RepoStats = Field(default_factory=RepoStats)
    huggingface: SourceStats = Field(default_factory=SourceStats)
    semantic_scholar: SourceStats = Field(default_factory=SourceStats)
    dblp: SourceStats = Field(default_factory=SourceStats)
    outputs: RenderStats | None = None
    seconds: float = 0.0


def _add(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    return dict(sorted({k: a.get(k, 0) + b.get(k, 0) for k in {*a, *b}}.items()))


def _first(*values: str | None) -> str | None:
    return next((v for v in values if v), None)


def combine(output: str, parts: Iterable[RunSummary], *, digests: tuple[str, ...],
            outputs: RenderStats | None, seconds: float) -> RunSummary:
    """One summary of a backfill from its partitions' (requests, waits and statuses added up,
    the first outage each service had said)."""
    arxiv, github = ResolveStats(), RepoStats()
    sources = {"huggingface": SourceStats(), "semantic_scholar": SourceStats(),
               "dblp": SourceStats()}
    failed: list[ParseOutcome] = []
    problems: list[Problem] = []
    for part in parts:
        a, g = part.arxiv, part.github
        arxiv = ResolveStats(
            entries=arxiv.entries + a.entries, looked_up=arxiv.looked_up + a.looked_up,
            from_cache=arxiv.from_cache + a.from_cache, requests=arxiv.requests + a.requests,
            retries=arxiv.retries + a.retries,
            retry_wait=round(arxiv.retry_wait + a.retry_wait, 3),
            gate_wait=round(arxiv.gate_wait + a.gate_wait, 3),
            statuses=_add(arxiv.statuses, a.statuses),
            unavailable=_first(arxiv.unavailable, a.unavailable))
        github = RepoStats(
            repos=github.repos + g.repos, requests=github.requests + g.requests,
            statuses=_add(github.statuses, g.statuses), wait=round(github.wait + g.wait, 3),
            unavailable=_first(github.unavailable, g.unavailable))
        for name, total in sources.items():
            sources[name] = _add_sources(total, getattr(part, name))
        failed.extend(part.failed)
        problems.extend(part.problems)
    return RunSummary(output=output, digests=digests, failed=tuple(failed),
                      problems=tuple(problems), arxiv=arxiv, github=github, outputs=outputs,
                      seconds=seconds, **sources)


def _add_sources(a: SourceStats, b: SourceStats) -> SourceStats:
    return SourceStats(papers=a.papers + b.papers, asked=a.asked + b.asked,
                       requests=a.requests + b.requests, statuses=_add(a.statuses, b.statuses),
                       wait=round(a.wait + b.wait, 3),
                       unavailable=_first(a.unavailable, b.unavailable))


# Names in the summary, and what an outage of each costs.
_SOURCES = (("huggingface", "Hugging Face", "code links"),
            ("semantic_scholar", "Semantic Scholar", "published versions"),
            ("dblp", "dblp", "venues"))


def _source_line(name: str, stats: SourceStats) -> str:
    outcomes = ", ".join(f"{n} {s}" for s, n in stats.statuses.items()) or "nothing new"
    return (f"  {name}: {stats.asked} asked of {stats.papers} ({outcomes}) — "
            f"{stats.requests} request(s)" + _waits(stats.wait, "waiting on its rate limit"))


def terminal_text(summary: RunSummary) -> str:
    """The run in plain words for the terminal."""
    a, g, o = summary.arxiv, summary.github, summary.outputs
    read = len(summary.digests) - len(summary.failed)
    lines = [f"digest-enrich: {read} digest(s) read, {len(summary.failed)} failed, "
             f"{a.entries} entries"]
    for bad in summary.failed:
        if bad.error is not None:
            lines.append(f"  ! {bad.error.where}: {bad.error.message}")
    for problem in summary.problems:
        lines.append(f"  ~ {problem.where}: {problem.message}")
    statuses = ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in a.statuses.items()) or "none"
    lines.append(f"  arXiv:  {statuses} — {a.requests} request(s), {a.from_cache} from cache"
                 + _waits(a.gate_wait, "between requests (arXiv's rate limit)")
                 + _waits(a.retry_wait, "backing off after errors"))
    unresolved = sum(n for s, n in a.statuses.items() if s != "matched")
    if a.unavailable:
        lines.append(f"  arXiv was unreachable or unavailable ({a.unavailable}); "
                     f"{unresolved} entr{'y is' if unresolved == 1 else 'ies are'} unresolved "
                     "and will be retried on the next run")
    repo_statuses = ", ".join(f"{n} {s}" for s, n in g.statuses.items()) or "none linked"
    lines.append(f"  GitHub: {g.repos} repositor{'y' if g.repos == 1 else 'ies'} "
                 f"({repo_statuses}) — {g.requests} request(s)"
                 + _waits(g.wait, "waiting on GitHub's rate limits"))
    if g.unavailable:
        lines.append(f"  GitHub was unreachable or unavailable ({g.unavailable}); repository "
                     "facts are missing or stale and will be read on the next run")
    for field, name, what in _SOURCES:
        stats = getattr(summary, field)
        lines.append(_source_line(name, stats))
        if stats.unavailable:
            lines.append(f"  {name} was unreachable or unavailable ({stats.unavailable}); "
                         f"{what} are asked again on the next run")
    if o is not None:
        lines.append(f"  wrote {summary.output}/: {o.papers} papers, {o.in_bib} in "
                     f"references.bib ({len(o.written)} file(s) changed) "
                     f"in {summary.seconds:.1f} s")
    return "\n".join(lines)


def _waits(seconds: float, what: str) -> str:
    """", 2.5 s <what>" when there was such a wait worth saying, else nothing."""
    return f", {seconds:.1f} s {what}" if seconds >= 0.05 else ""


def markdown(summary: RunSummary) -> str:
    """The run in a few lines of markdown (the summary artifact)."""
    a, g = summary.arxiv, summary.github
    lines = [
        f"# enrich-digests: {summary.output}",
        "",
        f"- **Digests**: {len(summary.digests) - len(summary.failed)} parsed, "
        f"{len(summary.failed)} failed",
    ]
    for bad in summary.failed:
        if bad.error is not None:
            lines.append(f"  - `{bad.error.where}`: {bad.error.message}")
    for problem in summary.problems:
        lines.append(f"  - `{problem.where}` (warning): {problem.message}")
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
        f"- **GitHub requests**: {g.requests}; waited {g.wait:.1f} s on GitHub's rate limits",
    ]
    if g.unavailable:
        lines.append(f"- **GitHub unavailable**: {g.unavailable}")
    for field, name, _ in _SOURCES:
        stats = getattr(summary, field)
        outcomes = ", ".join(f"{v} {k}" for k, v in stats.statuses.items()) or "nothing new"
        lines.append(f"- **{name}**: {stats.asked} of {stats.papers} papers asked ({outcomes}); "
                     f"{stats.requests} request(s), waited {stats.wait:.1f} s")
        if stats.unavailable:
            lines.append(f"- **{name} unavailable**: {stats.unavailable}")
    if summary.outputs is not None:
        lines.append(f"- **Outputs**: {summary.outputs.papers} papers, "
                     f"{summary.outputs.in_bib} in references.bib")
    lines.append(f"- **Time**: {summary.seconds:.1f} s")
    return "\n".join(lines) + "\n"

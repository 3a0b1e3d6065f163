"""The Prefect flow `enrich-digests`: a table of contents over `enrich.pipeline`.

Tasks are thin: they take paths and flags (never clients or tokens), build what they need from
the environment in their own process, and call one pipeline function. State in
`<output>/.state` carries results between tasks, runs and workers, so task results are not
cached by Prefect (NO_CACHE) — re-running a task is cheap because the pipeline skips what the
state already knows.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Literal

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.context import get_run_context
from prefect.futures import as_completed
from prefect.logging import get_run_logger
from prefect.task_runners import ThreadPoolTaskRunner

from enrich import pipeline
from enrich.digest.model import ParseOutcome
from enrich.pipeline import RenderStats, RepoStats, ResolveStats, SourceStats
from enrich.settings import Settings
from enrich.store.db import StateStore
from enrich.store.files import check_output_dir
from enrich.store.lock import output_lock
from enrich.store.runs import RunStore
from enrich.text.terms import ProtectedTerms
from flows import artifacts, fleet
from flows.progress import reporter
from flows.services import runtime_settings
from flows.summary import RunSummary

# Parsing is CPU-bound and local; four threads keep a laptop responsive. Prefect's default
# thread pool is unbounded.
MAX_PARSE_WORKERS = 4


@task(name="parse-digest", cache_policy=NO_CACHE, retries=0)
def parse_digest(path: str, name: str) -> ParseOutcome:
    """Parse one digest file (bad input becomes an error record, never an exception)."""
    return pipeline.parse_file(Path(path), name)


@task(name="resolve-arxiv", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=30)
def resolve_arxiv(output: str, files: list[str], refresh: bool,
                  settings: Settings) -> ResolveStats:
    """Find the digests' papers on arXiv. Retries and the rate gate live in the client; a task
    retry only covers the unexpected, and costs nothing for what the state already holds."""
    state = StateStore.for_output(Path(output))
    digests = [o.digest for o in pipeline.remembered(state, files) if o.digest is not None]
    return pipeline.resolve(digests, settings=settings, state=state, refresh=refresh,
                            gate=fleet.arxiv_gate(settings), progress=reporter())


@task(name="read-huggingface", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=30)
def read_huggingface(output: str, files: list[str] | None, settings: Settings) -> SourceStats:
    """Ask Hugging Face Papers for the matched papers' code links (new or stale ones only)."""
    state = StateStore.for_output(Path(output))
    digests = [o.digest for o in pipeline.remembered(state, files) if o.digest is not None]
    return pipeline.read_huggingface(digests, settings=settings, state=state,
                                     gate=fleet.hf_gate(settings), progress=reporter())


@task(name="find-published", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=30)
def find_published(output: str, files: list[str] | None, recheck_after_days: float | None,
                   settings: Settings) -> tuple[SourceStats, SourceStats]:
    """Find published versions: Semantic Scholar in batches, dblp where S2 has no venue."""
    state = StateStore.for_output(Path(output))
    digests = [o.digest for o in pipeline.remembered(state, files) if o.digest is not None]
    return pipeline.find_published(digests, settings=settings, state=state,
                                   recheck_after_days=recheck_after_days,
                                   s2_gate=fleet.s2_gate(settings),
                                   dblp_gate=fleet.dblp_gate(settings),
                                   progress=reporter())


@task(name="read-github", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=30)
def read_github(output: str, files: list[str] | None, refresh: bool,
                settings: Settings) -> RepoStats:
    """Read stars, forks, licence… of the repositories the papers link to."""
    state = StateStore.for_output(Path(output))
    digests = [o.digest for o in pipeline.remembered(state, files) if o.digest is not None]
    return pipeline.read_github(digests, settings=settings, state=state, refresh=refresh,
                                gate=fleet.github_gate(settings), progress=reporter())


@task(name="issue-citekeys", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=5)
def issue_citekeys(output: str) -> int:
    """Give every resolved paper its citation key, once and for ever (before rendering)."""
    return pipeline.issue_citekeys(StateStore.for_output(Path(output)))


@task(name="write-outputs", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=5)
def write_outputs(output: str, encoding: Literal["latex", "utf8"],
                  terms: ProtectedTerms | None = None) -> RenderStats:
    """Render references.bib, references.json, papers.jsonl, digests/*.json, report.json.
    `terms`: the proper nouns titles keep, read once by the flow (BIBTEX_PROTECTED_TERMS)."""
    out = Path(output)
    return pipeline.render(out, StateStore.for_output(out), encoding=encoding, terms=terms,
                           progress=reporter())


@flow(name="enrich-digests", task_runner=ThreadPoolTaskRunner(max_workers=MAX_PARSE_WORKERS),
      log_prints=False)
def enrich_digests(  # noqa: PLR0917 - flow parameters are keyword-friendly by name
    sources: list[str] | None = None,
    output: str = "output",
    refresh: bool = False,
    refresh_github: bool = False,
    render: bool = True,
    lock_wait: float = 0.0,
    force: bool = False,
    names: dict[str, str] | None = None,
    recheck_published_weeks: float | None = None,
) -> RunSummary:
    """Parse the digests in `sources` (directories or files; default `seeds/`), find their
    papers on arXiv and their code on GitHub, and write the references into `output`.

    `refresh` asks arXiv again for everything; `refresh_github` ignores the GitHub TTL.
    `render=False` (used by backfill partitions) records results without writing the combined
    files; `lock_wait` is how long to wait for another run holding the output directory.
    `force` writes into a directory that holds other files and no state of ours. `names`
    (path → digest name, from a backfill) keeps digests named as across the whole backfill.
    `recheck_published_weeks` (the weekly deployment): every recorded digest's papers, not
    only those of `sources`, are looked at, and papers older than that on arXiv still
    without a published version are asked again (published versions appear months later).
    """
    started = time.monotonic()
    logger = get_run_logger()
    settings = runtime_settings(github=True)  # once per run, at the edge
    # The user's extra proper nouns, read once here (a missing file fails before any lookup).
    terms = pipeline.protected_terms(settings.bibtex_protected_terms) if render else None
    out = Path(output)
    paths = pipeline.discover([Path(s) for s in (sources or ["seeds"])])
    named = {p: (names or {}).get(str(p)) or n for p, n in pipeline.digest_names(paths).items()}
    logger.info("%d digest file(s) from %s", len(paths), ", ".join(sources or ["seeds"]))
    check_output_dir(out, force=force)

    with output_lock(out, wait=lock_wait) if render else contextlib.nullcontext():
        progress = reporter()
        progress("parse", 0, len(paths))
        futures = parse_digest.map([str(p) for p in paths], [named[p] for p in paths])
        for done, _ in enumerate(as_completed(futures), 1):
            progress("parse", done, len(paths))
        outcomes = [f.result() for f in futures]
        state = StateStore.for_output(out)
        pipeline.remember(state, outcomes)
        failed = tuple(o for o in outcomes if o.error is not None)
        for bad in failed:
            logger.warning("digest %s skipped: %s", bad.file,
                           bad.error.message if bad.error else "")
        files = [o.file for o in outcomes if o.digest is not None]
        arxiv = resolve_arxiv(output, files, refresh, settings)
        if arxiv.unavailable:
            # Said in the flow run's own log, which a server keeps (not only on the worker).
            logger.warning("arXiv was unavailable: %s; %d entries stay unresolved and are "
                           "asked again on the next run", arxiv.unavailable,
                           arxiv.statuses.get("error", 0))
        # HF and S2 need arXiv IDs; HF's links add repositories for GitHub to read. A weekly
        # re-check covers every recorded digest (files=None), not only this run's.
        scope = None if recheck_published_weeks is not None else files
        huggingface = read_huggingface(output, scope, settings)
        if huggingface.unavailable:
            logger.warning("Hugging Face was unavailable: %s; its code links are asked "
                           "again on the next run", huggingface.unavailable)
        recheck = recheck_published_weeks * 7 if recheck_published_weeks is not None else None
        semantic_scholar, dblp = find_published(output, scope, recheck, settings)
        for name, stats in (("Semantic Scholar", semantic_scholar), ("dblp", dblp)):
            if stats.unavailable:
                logger.warning("%s was unavailable: %s; published versions are asked again "
                               "on the next run", name, stats.unavailable)
        github = read_github(output, scope, refresh_github, settings)
        if github.unavailable:
            logger.warning("GitHub was unavailable: %s; repository facts are read on the "
                           "next run", github.unavailable)
        rendered = None
        if render:
            issue_citekeys(output)
            rendered = write_outputs(output, settings.bibtex_encoding, terms)

    problems = tuple(p for o in outcomes if o.digest is not None for p in o.digest.problems)
    summary = RunSummary(output=output, digests=tuple(o.file for o in outcomes), failed=failed,
                         problems=problems,
                         arxiv=arxiv, github=github, huggingface=huggingface,
                         semantic_scholar=semantic_scholar, dblp=dblp, outputs=rendered,
                         seconds=round(time.monotonic() - started, 1))
    run = get_run_context().flow_run  # type: ignore[union-attr]
    if run is not None:  # a backfill's parent adds up what its partitions recorded
        RunStore(StateStore.for_output(out)).record(str(run.id), summary.model_dump(mode="json"))
    if render:
        artifacts.publish(summary, out)
    return summary

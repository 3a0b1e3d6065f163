"""The Prefect flow `enrich-backfill`: many digests as many flow runs, for many workers.

The parent splits the digests into batches and starts one run of the `enrich-digests`
partition deployment per batch (`render=False`: each records its results in the shared
`<output>/.state` and writes nothing else). Prefect's work pool hands those runs to whichever
workers are polling it; the parent waits for all of them and then renders the combined outputs
once, under the output lock, from the recorded state — so the files are the same as a
single-machine run over the same digests, however many workers shared the work.

Prefect does the scheduling; this module only partitions and waits. Re-running a backfill
re-uses the child runs of the same parent run (idempotency keys) and skips every lookup the
state already holds.
"""

from __future__ import annotations

import time
from pathlib import Path

from prefect import flow, get_run_logger
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import FlowRun
from prefect.context import get_run_context
from prefect.deployments import run_deployment
from pydantic import Field

from enrich import pipeline
from enrich.pipeline import RenderStats
from enrich.record import Record
from enrich.store.db import StateStore
from enrich.store.lock import output_lock
from enrich.store.runs import RunStore
from flows import artifacts
from flows.enrich_flow import issue_citekeys, write_outputs
from flows.services import runtime_settings
from flows.summary import RunSummary, combine

PARTITION_DEPLOYMENT = "enrich-digests/partition"


class ChildRun(Record):
    name: str
    state: str
    digests: tuple[str, ...]


class BackfillSummary(Record):
    output: str
    batches: int = 0
    runs: tuple[ChildRun, ...] = ()
    outputs: RenderStats | None = None
    seconds: float = 0.0
    failed_runs: tuple[str, ...] = Field(default_factory=tuple)


def partition(paths: list[Path], batch_size: int) -> list[list[str]]:
    """Consecutive batches of `batch_size` digests (absolute paths, so any worker finds them)."""
    size = max(1, batch_size)
    absolute = [str(p.resolve()) for p in paths]
    return [absolute[i:i + size] for i in range(0, len(absolute), size)]


def _wait(run_ids: list[str], poll_seconds: float) -> list[FlowRun]:
    """Poll the child runs until every one is in a final state."""
    with get_client(sync_client=True) as client:
        while True:
            runs = [client.read_flow_run(run_id) for run_id in run_ids]  # type: ignore[arg-type]
            if all(r.state is not None and r.state.is_final() for r in runs):
                return runs
            time.sleep(poll_seconds)


@flow(name="enrich-backfill", log_prints=False)
def enrich_backfill(  # noqa: PLR0917 - flow parameters are passed by name
    sources: list[str] | None = None,
    output: str = "output",
    batch_size: int = 1,
    deployment: str = PARTITION_DEPLOYMENT,
    refresh: bool = False,
    poll_seconds: float = 2.0,
    lock_wait: float = 600.0,
) -> BackfillSummary:
    """Enrich every digest in `sources` with one `deployment` run per `batch_size` digests,
    executed by the work pool's workers, then write the combined outputs into `output`."""
    started = time.monotonic()
    logger = get_run_logger()
    out = Path(output).resolve()
    paths = pipeline.discover([Path(s) for s in (sources or ["seeds"])])
    settings = runtime_settings()  # the user's proper nouns, read once before any partition
    terms = pipeline.protected_terms(settings.bibtex_protected_terms)
    names = {str(p.resolve()): n for p, n in pipeline.digest_names(paths).items()}
    batches = partition(paths, batch_size)
    parent = get_run_context().flow_run  # type: ignore[union-attr]
    parent_id = str(parent.id) if parent is not None else "local"
    logger.info("backfill of %d digest(s) in %d run(s) of %s", len(paths), len(batches),
                deployment)

    children = [
        run_deployment(
            name=deployment,
            parameters={"sources": batch, "output": str(out), "refresh": refresh,
                        "render": False, "names": {p: names[p] for p in batch}},
            timeout=0,  # start it and move on; workers pick it up
            idempotency_key=f"{parent_id}:{index}",
            flow_run_name=f"backfill-{index:04d}-{Path(batch[0]).stem}"[:120],
        )
        for index, batch in enumerate(batches)
    ]
    finished = _wait([str(c.id) for c in children], poll_seconds)
    runs = tuple(ChildRun(name=r.name, state=r.state.type.value if r.state else "UNKNOWN",
                          digests=tuple(Path(s).name for s in batch))
                 for r, batch in zip(finished, batches, strict=True))
    failed = tuple(r.name for r in runs if r.state != "COMPLETED")
    for name in failed:
        logger.error("partition run %s did not complete; its digests are retried when the "
                     "backfill runs again", name)

    with output_lock(out, wait=lock_wait):
        issue_citekeys(str(out))
        rendered = write_outputs(str(out), settings.bibtex_encoding, terms)

    summary = BackfillSummary(output=str(out), batches=len(batches), runs=runs,
                              outputs=rendered, failed_runs=failed,
                              seconds=round(time.monotonic() - started, 1))
    recorded = RunStore(StateStore.for_output(out)).summaries(str(c.id) for c in children)
    artifacts.publish(combine(str(out), (RunSummary.model_validate(v) for v in recorded.values()),
                              digests=tuple(names.values()), outputs=rendered,
                              seconds=summary.seconds), out)
    if failed:
        # The outputs hold everything that finished; the run is still a failure to look at.
        raise RuntimeError(f"{len(failed)} of {len(runs)} partition run(s) did not complete: "
                           + ", ".join(failed))
    return summary

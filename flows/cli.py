"""The `digest-enrich` command line.

    digest-enrich run [SOURCES...] [--output DIR]   the main job, Prefect in embedded mode
    digest-enrich parse FILE...                     parsed digests as JSON on stdout
    digest-enrich render [--output DIR]             rewrite the outputs from the recorded state

`parse` never imports Prefect (it is fast and needs no server); `run` runs the flow in
Prefect's embedded (ephemeral) mode unless PREFECT_API_URL points at a server.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from enrich import __version__
from enrich.errors import DigestEnrichError, DigestError
from enrich.record import to_json

# Prefect's embedded mode is chatty (banners, per-task state lines, telemetry attempts that
# fail without a network). Users of `digest-enrich run` get our summary instead; anything set
# in the environment wins.
QUIET_PREFECT = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    # Our summary says what went wrong; Prefect's own log lines would say it twice.
    "PREFECT_LOGGING_LEVEL": "ERROR",
    "PREFECT_SERVER_LOGGING_LEVEL": "ERROR",
    "PREFECT_LOGGING_EXTRA_LOGGERS": "",
    "PREFECT_CLOUD_ENABLE_ORCHESTRATION_TELEMETRY": "false",
    "PREFECT_TELEMETRY_ENABLE_RESOURCE_METRICS": "false",
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    _configure_logging(args.verbose)
    try:
        code: int = args.handler(args)
    except DigestEnrichError as exc:
        print(f"digest-enrich: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("digest-enrich: interrupted; finished lookups are kept, run again to continue",
              file=sys.stderr)
        return 130
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="digest-enrich",
        description="Turn arXiv digest posts into clean references: arXiv IDs, code, BibTeX.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="show progress (-v) or debug detail (-vv) on stderr")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="enrich the digests and write the outputs")
    run.add_argument("sources", nargs="*", default=["seeds"], metavar="SOURCE",
                     help="digest directories or files (default: seeds)")
    run.add_argument("-o", "--output", default="output", help="output directory")
    run.add_argument("--refresh", action="store_true",
                     help="ask arXiv again even for entries already resolved")
    run.add_argument("--refresh-github", action="store_true",
                     help="re-read repository facts even when they are fresh")
    run.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                     help="wait this long for another run using the output directory")
    run.set_defaults(handler=_run)

    parse = sub.add_parser("parse", help="print parsed digests as JSON")
    parse.add_argument("files", nargs="+", type=Path, metavar="FILE")
    parse.set_defaults(handler=_parse)

    render = sub.add_parser("render", help="rewrite the output files from the recorded state")
    render.add_argument("-o", "--output", default="output", help="output directory")
    render.set_defaults(handler=_render)
    return parser


def _configure_logging(verbose: int) -> None:
    # The run's summary reports what went wrong; -v adds warnings and progress, -vv detail.
    level = logging.ERROR if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    for name in ("enrich", "flows"):
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.addHandler(handler)
        logger.propagate = False


def _parse(args: argparse.Namespace) -> int:
    from enrich.digest.parse import read_digest

    digests, failed = [], 0
    for path in args.files:
        try:
            digest = read_digest(path)
        except DigestError as exc:
            print(f"digest-enrich: {exc}", file=sys.stderr)
            failed += 1
            continue
        for problem in digest.problems:
            print(f"digest-enrich: warning: {problem.where}: {problem.message}",
                  file=sys.stderr)
        digests.append({
            "file": digest.file, "category": digest.category,
            "date": digest.date.isoformat() if digest.date else None,
            "entries": [e.model_dump(mode="json", exclude={"date"}) for e in digest.entries],
        })
    sys.stdout.write(to_json(digests))
    return 1 if failed else 0


def _render(args: argparse.Namespace) -> int:
    from enrich.pipeline import issue_citekeys, render
    from enrich.settings import load_settings
    from enrich.store.db import StateStore
    from enrich.store.lock import output_lock

    out = Path(args.output)
    if not (out / ".state").is_dir():
        print(f"digest-enrich: {out} has no recorded state; run `digest-enrich run` first",
              file=sys.stderr)
        return 1
    with output_lock(out):
        state = StateStore.for_output(out)
        issue_citekeys(state)
        stats = render(out, state, encoding=load_settings().bibtex_encoding)
    print(f"digest-enrich: wrote {len(stats.written)} changed file(s) in {out} "
          f"({stats.papers} papers, {stats.in_bib} in references.bib)")
    return 0


def _run(args: argparse.Namespace) -> int:
    from enrich.store.lock import lock_is_free

    out = Path(args.output)
    if args.wait <= 0 and not lock_is_free(out):
        # Say so before starting Prefect; the flow itself takes the lock for real.
        print(f"digest-enrich: another digest-enrich run is using {out}; wait for it to finish, "
              "use --wait SECONDS, or choose another --output", file=sys.stderr)
        return 1
    for key, value in QUIET_PREFECT.items():
        os.environ.setdefault(key, value)
    from flows.enrich_flow import enrich_digests
    from flows.reaper import reap_embedded_server
    from flows.summary import terminal_text

    with reap_embedded_server():
        summary = enrich_digests(sources=list(args.sources), output=args.output,
                                 refresh=args.refresh, refresh_github=args.refresh_github,
                                 lock_wait=args.wait)
    print(terminal_text(summary))
    # The run completed: exit 0 even when digests failed or papers are unresolved (they are in
    # the summary, report.json and the artifacts); non-zero only when the run itself failed.
    return 0


if __name__ == "__main__":
    sys.exit(main())

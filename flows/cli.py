"""The `digest-enrich` command line.

    digest-enrich run [SOURCES...] [--output DIR]   the main job, Prefect in embedded mode
                                                    (exit codes: `run --help`)
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
from enrich.errors import (
    DigestEnrichError,
    DigestError,
    InputNotFoundError,
    OutputError,
    OutputInUseError,
)
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


# Exit codes: what went wrong, for scripts and schedulers (README, "Exit codes").
EXIT_OK = 0
EXIT_FAILED = 1  # the run failed (an unexpected error), or `parse` met a bad digest
EXIT_USAGE = 2  # argparse's own code for a wrong command line
EXIT_INPUT = 3  # a digest file or directory given does not exist
EXIT_OUTPUT = 4  # the output directory cannot be used
EXIT_BUSY = 5  # another run holds the output directory
EXIT_PREFECT = 6  # the Prefect server named by PREFECT_API_URL does not answer
EXIT_INTERRUPTED = 130


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    _configure_logging(args.verbose)
    try:
        code: int = args.handler(args)
    except DigestEnrichError as exc:
        return _fail(exc, next((c for kind, c in _EXIT_CODES if isinstance(exc, kind)),
                               EXIT_FAILED))
    except KeyboardInterrupt:
        print("digest-enrich: interrupted; finished lookups are kept, run again to continue",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # a bug: one line by default, the traceback with -v
        if args.verbose:
            raise
        return _fail(f"unexpected {type(exc).__name__}: {exc} (run with -v for the details)",
                     EXIT_FAILED)
    return code


def _fail(problem: object, code: int) -> int:
    print(f"digest-enrich: {problem}", file=sys.stderr)
    return code


class PrefectUnreachableError(DigestEnrichError):
    """PREFECT_API_URL names a server that does not answer."""


# Most specific first: OutputInUseError is an OutputError.
_EXIT_CODES: tuple[tuple[type[DigestEnrichError], int], ...] = (
    (InputNotFoundError, EXIT_INPUT), (OutputInUseError, EXIT_BUSY),
    (OutputError, EXIT_OUTPUT), (PrefectUnreachableError, EXIT_PREFECT))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="digest-enrich",
        description="Turn arXiv digest posts into clean references: arXiv IDs, code, BibTeX.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help=VERBOSE_HELP)
    # -v works after the subcommand too (`digest-enrich run -v`).
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS,
                        help=VERBOSE_HELP)
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="enrich the digests and write the outputs",
                         parents=[common], epilog=EXIT_HELP,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("sources", nargs="*", default=["seeds"], metavar="SOURCE",
                     help="digest directories or files (default: seeds)")
    run.add_argument("-o", "--output", default="output", help="output directory")
    run.add_argument("--refresh", action="store_true",
                     help="ask arXiv again even for entries already resolved")
    run.add_argument("--refresh-github", action="store_true",
                     help="re-read repository facts even when they are fresh")
    run.add_argument("--recheck-published", type=float, default=None, metavar="WEEKS",
                     help="ask again about papers older than WEEKS on arXiv that have no "
                          "published version yet (every recorded digest)")
    run.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                     help="wait this long for another run using the output directory")
    run.add_argument("--force", action="store_true",
                     help="write into an output directory that holds other files")
    run.set_defaults(handler=_run)

    parse = sub.add_parser("parse", help="print parsed digests as JSON", parents=[common])
    parse.add_argument("files", nargs="+", type=Path, metavar="FILE")
    parse.set_defaults(handler=_parse)

    render = sub.add_parser("render", help="rewrite the output files from the recorded state",
                            parents=[common])
    render.add_argument("-o", "--output", default="output", help="output directory")
    render.set_defaults(handler=_render)
    return parser


VERBOSE_HELP = "show warnings and progress (-v) or debug detail (-vv) on stderr"
EXIT_HELP = """exit codes:
  0  the run completed (also when papers stay unresolved or a service was down:
     the summary and report.json say so)
  1  the run failed unexpectedly
  2  wrong command line
  3  a digest file or directory given does not exist
  4  the output directory cannot be used (a file, not writable, someone else's files)
  5  another run is using the output directory
  6  PREFECT_API_URL names a Prefect server that does not answer
130  interrupted"""


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
    from enrich.pipeline import issue_citekeys, protected_terms, render
    from enrich.settings import load_settings
    from enrich.store.db import StateStore
    from enrich.store.lock import output_lock

    out = Path(args.output)
    if not (out / ".state").is_dir():
        print(f"digest-enrich: {out} has no recorded state; run `digest-enrich run` first",
              file=sys.stderr)
        return 1
    settings = load_settings()
    terms = protected_terms(settings.bibtex_protected_terms)  # a missing file: exit 3
    with output_lock(out):
        state = StateStore.for_output(out)
        issue_citekeys(state)
        stats = render(out, state, encoding=settings.bibtex_encoding, terms=terms)
    print(f"digest-enrich: wrote {len(stats.written)} changed file(s) in {out} "
          f"({stats.papers} papers, {stats.in_bib} in references.bib)")
    return 0


def _run(args: argparse.Namespace) -> int:
    from enrich.pipeline import discover, protected_terms
    from enrich.settings import load_settings
    from enrich.store.files import check_output_dir
    from enrich.store.lock import lock_is_free

    # Ordinary mistakes are found before Prefect starts, and said in one line.
    discover([Path(s) for s in args.sources])
    protected_terms(load_settings().bibtex_protected_terms)
    out = Path(args.output)
    check_output_dir(out, force=args.force)
    if args.wait <= 0 and not lock_is_free(out):
        # The flow itself takes the lock for real.
        raise OutputInUseError("another digest-enrich run is using this output directory; "
                               "wait for it to finish, use --wait SECONDS, or choose another "
                               "--output", path=str(out))
    for key, value in QUIET_PREFECT.items():
        os.environ.setdefault(key, value)
    _check_prefect_api()
    from flows.enrich_flow import enrich_digests
    from flows.reaper import reap_embedded_server
    from flows.summary import terminal_text

    with reap_embedded_server():
        summary = enrich_digests(sources=list(args.sources), output=args.output,
                                 refresh=args.refresh, refresh_github=args.refresh_github,
                                 lock_wait=args.wait, force=args.force,
                                 recheck_published_weeks=args.recheck_published)
    print(terminal_text(summary))
    # The run completed: exit 0 even when digests failed or papers are unresolved (they are in
    # the summary, report.json and the artifacts); non-zero only when the run itself failed.
    return 0


def _check_prefect_api() -> None:
    """With PREFECT_API_URL set (a profile or the environment), its server must answer."""
    from prefect.client.orchestration import get_client
    from prefect.settings import get_current_settings

    url = get_current_settings().api.url
    if not url:
        return  # the embedded mode
    with get_client(sync_client=True) as client:
        problem = client.api_healthcheck()
    if problem is not None:
        raise PrefectUnreachableError(
            f"PREFECT_API_URL={url} does not answer ({type(problem).__name__}); start that "
            "server (`prefect server start`), or run without one: `prefect config unset "
            "PREFECT_API_URL` (and unset it in the environment)")


if __name__ == "__main__":
    sys.exit(main())

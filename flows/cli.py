"""The `digest-enrich` command line.

    digest-enrich run [SOURCES...] [--output DIR]   the main job, a Prefect flow run
                                                    (exit codes: `run --help`)
    digest-enrich parse FILE...                     parsed digests as JSON on stdout
    digest-enrich render [--output DIR]             rewrite the outputs from the recorded state
    digest-enrich server status|start|stop          the local Prefect server runs use

`parse` and `render` never import Prefect (they are fast and need no server). `run` reports to
the Prefect server named by PREFECT_API_URL when one is configured (and starts nothing);
otherwise to a local server it starts in the background on first use and reuses
(`flows.local_server`); with DIGEST_ENRICH_PREFECT=embedded, to Prefect's own embedded server,
started and stopped by every run. It shows its progress on stderr from the first second.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from enrich import __version__
from enrich.errors import (
    DigestEnrichError,
    DigestError,
    InputNotFoundError,
    OutputError,
    OutputInUseError,
)

if TYPE_CHECKING:
    from enrich.progress import Progress

# Prefect's console output is chatty (banners, per-task state lines, telemetry attempts that
# fail without a network). Users of `digest-enrich run` get our progress and summary instead;
# the run's log still goes to the server (its UI shows it). Anything set in the environment
# wins.
QUIET_PREFECT = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "CRITICAL",
    "PREFECT_SERVER_LOGGING_LEVEL": "ERROR",
    # The core's warnings (a service down, a digest refused) in the run's log, as on workers;
    # from the core's own threads (GitHub's readers) they cannot be, and that is no news.
    "PREFECT_LOGGING_EXTRA_LOGGERS": "enrich",
    "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",
    "PREFECT_CLOUD_ENABLE_ORCHESTRATION_TELEMETRY": "false",
    "PREFECT_TELEMETRY_ENABLE_RESOURCE_METRICS": "false",
}
# Prefect's embedded server (DIGEST_ENRICH_PREFECT=embedded): its 20 s start-up timeout fails
# runs on a loaded machine; automations are of no use to a server that lives for one run.
EMBEDDED_PREFECT = {
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    "PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_ACTIONS_ENABLED": "false",
}
PREFECT_MODE_ENV = "DIGEST_ENRICH_PREFECT"  # server (the default) | embedded


# Exit codes: what went wrong, for scripts and schedulers (README, "Exit codes").
EXIT_OK = 0
EXIT_FAILED = 1  # the run failed (an unexpected error), or `parse` met a bad digest
EXIT_USAGE = 2  # argparse's own code for a wrong command line
EXIT_INPUT = 3  # a digest file or directory given does not exist
EXIT_OUTPUT = 4  # the output directory cannot be used
EXIT_BUSY = 5  # another run holds the output directory
EXIT_PREFECT = 6  # Prefect cannot be reached or started (one line says which and why)
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
    """Prefect cannot be reached or started: PREFECT_API_URL's server, the local server, or
    the embedded one (and the run cannot be recorded without it)."""


class UsageError(DigestEnrichError):
    """A setting that makes no sense (said before anything starts)."""


# Most specific first: OutputInUseError is an OutputError.
_EXIT_CODES: tuple[tuple[type[DigestEnrichError], int], ...] = (
    (InputNotFoundError, EXIT_INPUT), (OutputInUseError, EXIT_BUSY),
    (OutputError, EXIT_OUTPUT), (PrefectUnreachableError, EXIT_PREFECT),
    (UsageError, EXIT_USAGE))


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
    run.add_argument("-q", "--quiet", action="store_true",
                     help="no progress on stderr, only the summary")
    run.set_defaults(handler=_run)

    parse = sub.add_parser("parse", help="print parsed digests as JSON", parents=[common])
    parse.add_argument("files", nargs="+", type=Path, metavar="FILE")
    parse.set_defaults(handler=_parse)

    render = sub.add_parser("render", help="rewrite the output files from the recorded state",
                            parents=[common])
    render.add_argument("-o", "--output", default="output", help="output directory")
    render.set_defaults(handler=_render)

    server = sub.add_parser(
        "server", parents=[common], help="the local Prefect server `run` uses",
        description="The local Prefect server that `digest-enrich run` starts in the background "
                    "on first use (when PREFECT_API_URL is not set) and reuses; it stops by "
                    "itself after DIGEST_ENRICH_SERVER_IDLE_MINUTES (default 30) unused.")
    server.add_argument("action", choices=("status", "start", "stop"),
                        help="status: where it is (exit 1 when not running); start: start it "
                             "now (e.g. for its UI); stop: stop it")
    server.add_argument("--force", action="store_true",
                        help="stop it even while a run uses it")
    server.set_defaults(handler=_server)
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
  6  Prefect cannot be reached or started (PREFECT_API_URL's server, the local
     server, or the embedded one); the line says which, and the log to read
130  interrupted

Prefect: with PREFECT_API_URL set (environment or profile), the run is recorded there and
nothing is started. Otherwise a local Prefect server is started in the background on first
use and reused by later runs; it stops after DIGEST_ENRICH_SERVER_IDLE_MINUTES (default 30)
unused (`digest-enrich server status|stop`). DIGEST_ENRICH_PREFECT=embedded uses Prefect's
embedded server instead, started and stopped by each run (slower, nothing left running)."""


def _configure_logging(verbose: int) -> None:
    # The run's summary reports what went wrong; -v adds warnings and detail, -vv debugging.
    # The handler has its own level: Prefect may lower the loggers' (to send them to the run's
    # log), which must not make the terminal chattier. It writes to stderr as it is at each
    # line, so that a live progress display can place the lines above itself.
    from flows.progress import STDERR

    level = logging.ERROR if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    handler = logging.StreamHandler(STDERR)
    handler.setLevel(level)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    for name in ("enrich", "flows"):
        logger = logging.getLogger(name)
        logger.setLevel(min(level, logging.INFO))
        logger.addHandler(handler)
        logger.propagate = False


def _parse(args: argparse.Namespace) -> int:
    from enrich.digest.parse import read_digest
    from enrich.record import to_json

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
    from enrich.store.files import check_output_dir
    from enrich.store.lock import lock_is_free

    # Ordinary mistakes are found before Prefect starts, and said in one line. Cheaply: the
    # local server starts next and comes up while the rest of the run loads (the flow's own
    # `pipeline.discover` then finds the same sources: this is its test, without the import).
    for source in map(Path, args.sources):
        if not (source.is_dir() or source.is_file()):
            raise InputNotFoundError("no such digest file or directory", path=str(source))
    # A mistake in the user's protected-terms file, too (exit 3): only runs that set it pay
    # for loading the settings and the pipeline here.
    if any(key.upper() == "BIBTEX_PROTECTED_TERMS" for key in os.environ):
        from enrich.pipeline import protected_terms
        from enrich.settings import load_settings

        protected_terms(load_settings().bibtex_protected_terms)
    out = Path(args.output)
    check_output_dir(out, force=args.force)
    if args.wait <= 0 and not lock_is_free(out):
        # The flow itself takes the lock for real.
        raise OutputInUseError("another digest-enrich run is using this output directory; "
                               "wait for it to finish, use --wait SECONDS, or choose another "
                               "--output", path=str(out))
    for key, value in QUIET_PREFECT.items():
        if args.verbose < 2 or key != "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL":
            os.environ.setdefault(key, value)

    from flows.progress import LineProgress, for_terminal

    display = (contextlib.nullcontext(LineProgress(lambda _: None)) if args.quiet
               else for_terminal())
    with display as progress:
        # The local server starts here, before Prefect is imported: it comes up while the
        # flow's modules load.
        prefect = _connect_prefect(progress)
        from flows.enrich_flow import enrich_digests
        from flows.progress import installed
        from flows.summary import terminal_text

        with prefect.ready(progress), installed(progress):
            summary = enrich_digests(sources=list(args.sources), output=args.output,
                                     refresh=args.refresh, refresh_github=args.refresh_github,
                                     lock_wait=args.wait, force=args.force,
                                     recheck_published_weeks=args.recheck_published)
    print(terminal_text(summary))
    # The run completed: exit 0 even when digests failed or papers are unresolved (they are in
    # the summary, report.json and the artifacts); non-zero only when the run itself failed.
    return 0


def _connect_prefect(progress: Progress) -> _PrefectConnection:
    """Which Prefect the run reports to: PREFECT_API_URL's server when one is configured (never
    starting anything then), else the local server (started now if it is not running), or,
    with DIGEST_ENRICH_PREFECT=embedded, Prefect's embedded server."""
    from flows import local_server

    mode = os.environ.get(PREFECT_MODE_ENV, "").strip().lower() or "server"
    if mode not in ("server", "embedded"):
        raise UsageError(f"{PREFECT_MODE_ENV}={mode!r}: say `server` (the default: a local "
                         "server in the background, reused) or `embedded` (Prefect's own, "
                         "one per run)")
    url = local_server.configured_api_url()
    if url == local_server.UNKNOWN:  # a settings file may name one: ask Prefect
        from prefect.settings import get_current_settings

        url = get_current_settings().api.url or None
    if url:
        progress("prefect", 0, None, f"connecting to {url}")
        return _ConfiguredServer(url)
    if mode == "embedded":
        # Before Prefect is imported: it reads its settings once, then.
        for key, value in EMBEDDED_PREFECT.items():
            os.environ.setdefault(key, value)
        progress("prefect", 0, None, "starting Prefect's embedded server (DIGEST_ENRICH_PREFECT"
                                     "=embedded: every run, ~10 s)")
        return _EmbeddedServer()
    try:
        server = local_server.LocalServer(local_server.default_home(),
                                          idle_minutes=local_server.idle_minutes_from())
        timeout = local_server.start_timeout_from()
        attachment = server.attach()
    except (local_server.ServerError, OSError) as exc:
        raise PrefectUnreachableError(f"cannot start the local Prefect server: {exc}") from exc
    progress("prefect", 0, None, "starting a local Prefect server in the background (first "
                                 "run: ~10 s; later runs reuse it)" if attachment.started
             else f"using the local Prefect server at {attachment.state.url}")
    # For this process only; the flow's modules are imported after this.
    os.environ["PREFECT_API_URL"] = attachment.state.api_url
    os.environ[local_server.LOCAL_API_ENV] = attachment.state.api_url
    return _LocalServer(attachment, timeout)


class _PrefectConnection:
    """How a run reaches Prefect; `ready()` waits for it and turns its failures into one line."""

    name = "Prefect"

    @contextlib.contextmanager
    def ready(self, progress: Progress) -> Iterator[None]:
        self.wait(progress)
        try:
            yield
        except DigestEnrichError:
            raise
        except Exception as exc:
            problem = self.failure(exc)
            if problem is None:
                raise
            raise PrefectUnreachableError(problem) from exc

    def wait(self, progress: Progress) -> None:
        """Block until Prefect answers (or raise PrefectUnreachableError)."""

    def failure(self, exc: Exception) -> str | None:
        """What `exc`, raised by the run, says about Prefect; None when it is not Prefect's.
        Here: its API refused a request (a transport error may as well be arXiv's or
        GitHub's, and is Prefect's only when the server no longer answers: subclasses)."""
        if _prefect_client_error(exc, transport=False):
            return (f"{self.name} failed the run: {_one_line(exc)}; finished lookups are kept, "
                    "run again")
        return None


class _ConfiguredServer(_PrefectConnection):
    def __init__(self, url: str) -> None:
        self.url = url
        self.name = f"the Prefect server at PREFECT_API_URL={url}"

    def wait(self, progress: Progress) -> None:
        _check_prefect_api()
        progress("prefect", 1, 1, f"using {self.url}")

    def failure(self, exc: Exception) -> str | None:
        if _prefect_client_error(exc) and not _api_answers():
            return (f"{self.name} stopped answering during the run ({_one_line(exc)}); "
                    "finished lookups are kept, run again when it is back")
        return super().failure(exc)


class _LocalServer(_PrefectConnection):
    def __init__(self, attachment: Any, timeout: float) -> None:
        self.attachment = attachment
        self.timeout = timeout
        self.url = attachment.state.url
        self.name = f"the local Prefect server at {self.url}"

    def wait(self, progress: Progress) -> None:
        from flows.local_server import ServerError

        what = "started" if self.attachment.started else f"at {self.url}"

        def tick(seconds: float) -> None:
            if seconds >= 5:  # a loaded machine: say it is still coming
                progress("prefect", 0, None, f"waiting for the local Prefect server {what} "
                                             f"({seconds:.0f} s)")

        try:
            waited = self.attachment.wait_ready(self.timeout, tick=tick)
        except ServerError as exc:
            raise PrefectUnreachableError(str(exc)) from exc
        if self.attachment.started:
            progress("prefect", 1, 1, f"ready in {waited:.1f} s; its UI: {self.url}")
        else:
            progress("prefect", 1, 1)

    @contextlib.contextmanager
    def ready(self, progress: Progress) -> Iterator[None]:
        from prefect.settings import PREFECT_API_URL, temporary_settings

        # The environment says it too, but only to a Prefect imported after it was set (not
        # when a settings file made us ask Prefect first).
        api = self.attachment.state.api_url
        with self.attachment, temporary_settings({PREFECT_API_URL: api}), \
                super().ready(progress), self._watched():
            yield

    @contextlib.contextmanager
    def _watched(self) -> Iterator[None]:
        """Should the server die during the run (`server stop --force`, the OOM killer), end
        the run at once, in one line: Prefect's client would retry every request for minutes.
        Ended like a kill, which the state is made to survive (finished lookups are kept)."""
        from flows.local_server import last_line

        done = threading.Event()

        def watch() -> None:
            while not done.wait(0.5):
                if not self.attachment.alive():
                    said = last_line(self.attachment.paths.log)
                    line = (f"digest-enrich: {self.name} stopped during the run"
                            f"{f' (its log ends: {said})' if said else ''}; finished lookups "
                            "are kept, run again\n")
                    # Straight to the file: a live display holds sys.stderr (and the cursor).
                    tty = os.isatty(2)
                    os.write(2, (("\n\x1b[?25h" if tty else "") + line).encode())
                    os._exit(EXIT_PREFECT)

        watcher = threading.Thread(target=watch, name="local-server-watch", daemon=True)
        watcher.start()
        try:
            yield
        finally:
            done.set()
            watcher.join()

    def failure(self, exc: Exception) -> str | None:
        from flows.local_server import answers, last_line

        if _prefect_client_error(exc) and not answers(self.attachment.state.api_url):
            return (f"{self.name} stopped during the run ({_one_line(exc)}; its log: "
                    f"{last_line(self.attachment.paths.log) or 'empty'}); finished lookups "
                    "are kept, run again")
        return super().failure(exc)


class _EmbeddedServer(_PrefectConnection):
    name = "Prefect's embedded server"

    @contextlib.contextmanager
    def ready(self, progress: Progress) -> Iterator[None]:
        from prefect.settings import (
            PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS,
            temporary_settings,
        )

        from flows.reaper import reap_embedded_server

        timeout = os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"]
        # Prefect starts it with the flow run; it is stopped at exit, or reaped if killed.
        with temporary_settings({PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS: timeout}), \
                reap_embedded_server(), super().ready(progress):
            yield

    def failure(self, exc: Exception) -> str | None:
        text = str(exc)
        if isinstance(exc, RuntimeError) and "ephemeral Prefect API server" in text:
            timeout = os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "20")
            return (f"{self.name} did not start within {timeout} s "
                    "(PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS); the machine may be "
                    f"overloaded. Without {PREFECT_MODE_ENV}=embedded, runs reuse one local "
                    "server instead")
        return super().failure(exc)


def _prefect_client_error(exc: BaseException, *, transport: bool = True) -> bool:
    """True when `exc` (or what caused it) is Prefect's API refusing a request, or (with
    `transport`) any connection failing — Prefect's client raises httpx's errors as they are."""
    from prefect.exceptions import PrefectHTTPStatusError

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, PrefectHTTPStatusError):
            return True
        # httpx's transport errors (connect, read, timeouts), named: flows/ never imports httpx.
        if transport and (type(current).__module__.startswith(("httpx", "httpcore"))
                          or isinstance(current, (ConnectionError, TimeoutError))):
            return True
        current = current.__cause__ or current.__context__
    return False


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"{type(exc).__name__}: {text[:200]}"


def _api_answers() -> bool:
    from prefect.client.orchestration import get_client

    try:
        with get_client(sync_client=True) as client:
            return client.api_healthcheck() is None
    except Exception:  # any failure to answer is an answer
        return False


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


def _server(args: argparse.Namespace) -> int:
    from flows import local_server

    try:
        server = local_server.LocalServer(local_server.default_home(),
                                          idle_minutes=local_server.idle_minutes_from())
        if args.action == "stop":
            stopped = server.stop(force=args.force)
            print(f"digest-enrich: stopped the local Prefect server at {stopped.url} (pid "
                  f"{stopped.pid})" if stopped else "digest-enrich: no local Prefect server "
                  "is running")
            return 0
        if args.action == "start":
            attachment = server.attach()
            attachment.wait_ready(local_server.start_timeout_from())
            attachment.release()
        state = server.status()
    except local_server.ServerError as exc:
        raise PrefectUnreachableError(str(exc)) from exc
    configured = local_server.configured_api_url()
    if configured and configured != local_server.UNKNOWN:
        print(f"digest-enrich: PREFECT_API_URL={configured}: runs report there, not to the "
              "local server")
    if state is None:
        print(f"digest-enrich: no local Prefect server is running (its home: "
              f"{server.paths.root})")
        return 1
    since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(state.started))
    print(f"digest-enrich: local Prefect server at {state.url} (UI; API {state.api_url}), "
          f"pid {state.pid}, since {since}, "
          f"{'in use by a run' if local_server.in_use(server.paths) else 'idle'}; stops after "
          f"{state.idle_minutes:g} min unused; log {server.paths.log}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

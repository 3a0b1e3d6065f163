"""The exception tree of digest-enrich, drawn once here.

    DigestEnrichError                 root: catch this to catch everything we raise
    ├── DigestError                   bad input; always names the file and (when known) the line
    │   ├── EmptyDigestError          the file has no text at all
    │   ├── BinaryDigestError         the file is not text (NUL bytes, control characters)
    │   ├── DigestEncodingError       the bytes are not UTF-8 (nor UTF-16 with a BOM)
    │   ├── MissingDateError          no `YYYY-MM-DD 更新` line before the first paper
    │   ├── NoEntriesError            a date line, but no papers under it
    │   ├── TruncatedEntryError       the last paper stops before its abstract / PDF line
    │   └── MalformedEntryError       an entry that cannot be read (e.g. authors without a title)
    ├── RemoteError                   a web service did not give a usable answer
    │   ├── ServiceUnavailableError   5xx, timeouts, retries exhausted
    │   │   └── ServiceUnreachableError   no connection at all (DNS, refused): no network
    │   ├── RateLimitedError          quota exhausted; `retry_at` says when it resets
    │   └── BadResponseError          an answer we refuse to trust (malformed, hostile, too big)
    ├── InputNotFoundError            a digest file or directory given does not exist
    └── OutputError                   the output directory cannot be used or written
        └── OutputInUseError          another run holds the output directory's lock

Per-paper problems (not found on arXiv, a missing repository, ...) are *data* on the records,
never exceptions: one bad paper or digest must not stop the others.

Every error pickles (Prefect moves them between threads and processes) and none ever carries a
token: messages are built from URLs without credentials and from our own text only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any


class DigestEnrichError(Exception):
    """Root of every error raised by digest-enrich."""

    def __reduce__(self) -> tuple[Any, ...]:
        # Exceptions with keyword-only context do not pickle by default; keep them portable.
        return (_rebuild, (type(self), self.args, self.__dict__))


def _rebuild(cls: type[DigestEnrichError], args: tuple[Any, ...], state: dict[str, Any]) -> Any:
    err = cls.__new__(cls)
    Exception.__init__(err, *args)
    err.__dict__.update(state)
    return err


class DigestError(DigestEnrichError):
    """A digest file that cannot be read as a digest. Names the file and the line."""

    kind = "digest_error"

    def __init__(self, message: str, *, file: str, line: int | None = None) -> None:
        self.file = file
        self.line = line
        self.message = message
        where = f"{file}:{line}" if line is not None else file
        super().__init__(f"{where}: {message}")


class EmptyDigestError(DigestError):
    """The file is empty or holds only whitespace."""

    kind = "empty"


class BinaryDigestError(DigestError):
    """The file holds binary data rather than text."""

    kind = "binary"


class DigestEncodingError(DigestError):
    """The file's bytes cannot be decoded as UTF-8."""

    kind = "encoding"


class MissingDateError(DigestError):
    """No `YYYY-MM-DD 更新` date line precedes the papers."""

    kind = "missing_date"


class NoEntriesError(DigestError):
    """The digest has a date line but no papers."""

    kind = "no_entries"


class TruncatedEntryError(DigestError):
    """The last entry ends before its abstract or PDF line: the file was cut off."""

    kind = "truncated_entry"


class MalformedEntryError(DigestError):
    """An entry whose parts cannot be told apart (e.g. an `Authors:` line with no title)."""

    kind = "malformed_entry"


URL_IN_MESSAGE = 120


class RemoteError(DigestEnrichError):
    """A web service (arXiv, GitHub) did not give a usable answer."""

    def __init__(self, message: str, *, service: str, url: str | None = None,
                 status: int | None = None, attempts: int = 1) -> None:
        self.service = service
        self.url = url
        self.status = status
        self.attempts = attempts
        self.message = message
        parts = [f"{service}: {message}"]
        if status is not None:
            parts.append(f"HTTP {status}")
        if url:
            # The full URL stays on `.url`; the message shows the endpoint and a short query.
            parts.append(url if len(url) <= URL_IN_MESSAGE else url[:URL_IN_MESSAGE] + "…")
        if attempts > 1:
            parts.append(f"after {attempts} attempts")
        super().__init__(" — ".join(parts))


class ServiceUnavailableError(RemoteError):
    """Unreachable, 5xx, timeouts or transient errors that outlasted the retry budget."""


class ServiceUnreachableError(ServiceUnavailableError):
    """No connection could be made at all (DNS, refused, connect timeout): no network."""


class RateLimitedError(RemoteError):
    """The service's quota is exhausted until `retry_at` (UTC), further away than we wait."""

    def __init__(self, message: str, *, service: str, url: str | None = None,
                 status: int | None = None, attempts: int = 1,
                 retry_at: datetime | None = None) -> None:
        self.retry_at = retry_at
        super().__init__(message, service=service, url=url, status=status, attempts=attempts)


class BadResponseError(RemoteError):
    """An answer we refuse to trust: malformed, truncated, hostile or oversized."""


class InputNotFoundError(DigestEnrichError):
    """A digest file or directory the user named does not exist."""

    def __init__(self, message: str, *, path: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}")


class OutputError(DigestEnrichError):
    """The output directory cannot be used (a file, someone else's folder) or written."""

    def __init__(self, message: str, *, path: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}")


class OutputInUseError(OutputError):
    """Another digest-enrich run holds the output directory."""

"""How a command fails: an exit code a scheduler can act on and one line a person can act on.

Every error a command expects ends in one of these codes (README, "Exit
codes"); anything else is a bug, reported as one line with the traceback
written to a file, never printed.
"""

from __future__ import annotations

import errno
import tempfile
import traceback
from datetime import UTC, datetime
from enum import IntEnum
from pathlib import Path

import duckdb


class ExitCode(IntEnum):
    OK = 0
    UNEXPECTED = 1  # a bug: the line names the file with the traceback
    INPUT_REJECTED = 2  # raw files or settings
    BUILD_FAILED = 3  # dbt build: a model or data test failed
    RUN_IN_PROGRESS = 4  # another run, or a process holding the published file for writing
    MACHINE_REFUSED = 5  # disk full, read-only or missing folder, permission, out of memory


# What the machine said, as OSError numbers and as DuckDB's messages, and what to do.
_REMEDIES = {
    errno.ENOSPC: ("no space left on device", "free disk space (or choose a warehouse on "
                                              "another disk) and run again"),
    errno.EDQUOT: ("disk quota exceeded", "free disk space and run again"),
    errno.EROFS: ("read-only file system", "choose a writable folder (--warehouse, "
                                           "--report-dir, --out) and run again"),
    errno.EACCES: ("permission denied", "make the folder writable for this user or choose "
                                        "another one"),
    errno.EPERM: ("operation not permitted", "make the folder writable for this user or "
                                             "choose another one"),
}
_DUCKDB_MESSAGES = {
    "no space left on device": errno.ENOSPC,
    "read-only file system": errno.EROFS,
    "permission denied": errno.EACCES,
}
OUT_OF_MEMORY_REMEDY = ("raise the limit with RETAIN_DUCKDB_MEMORY_LIMIT (e.g. 12GB), or "
                        "free memory on this machine")


def machine_refusal(error: BaseException) -> str | None:
    """One line saying what the machine refused and what to do, or None when the error
    is not the machine's (a bug, or bad input)."""
    if isinstance(error, OSError) and error.errno in _REMEDIES:
        what, remedy = _REMEDIES[error.errno]
        where = f" ({error.filename})" if error.filename else ""
        return f"{what}{where}: {remedy}"
    if isinstance(error, duckdb.OutOfMemoryException):
        return f"DuckDB ran out of memory: {first_line(error)}; {OUT_OF_MEMORY_REMEDY}"
    if isinstance(error, duckdb.Error):
        message = str(error).lower()
        for text, number in _DUCKDB_MESSAGES.items():
            if text in message:
                what, remedy = _REMEDIES[number]
                return f"{what}: {first_line(error)}; {remedy}"
    return None


def refused_by_others(error: BaseException) -> tuple[ExitCode, str] | None:
    """The exit code and line of an error that the machine or another process caused (a
    lock held, a disk full, a folder read-only, memory out); None for any other error.
    `retain run`'s steps and every other command read their failures through this."""
    # Imported here: retain.publish reads settings and the interface at import.
    from retain.publish import PublishedFileHeldError, RunInProgressError

    if isinstance(error, RunInProgressError | PublishedFileHeldError):
        return ExitCode.RUN_IN_PROGRESS, str(error)
    if is_lock_conflict(error):
        return ExitCode.RUN_IN_PROGRESS, (f"{first_line(error)}; another process holds the "
                                          "file: wait for it to finish (or stop it) and run "
                                          "again")
    refusal = machine_refusal(error)
    return None if refusal is None else (ExitCode.MACHINE_REFUSED, refusal)


def is_lock_conflict(error: BaseException) -> bool:
    """DuckDB refused a file another process holds."""
    return isinstance(error, duckdb.IOException) and "could not set lock" in str(error).lower()


def first_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__


def unexpected_line(error: BaseException, doing: str) -> str:
    """The line for a bug: what failed, and where its traceback is."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = Path(tempfile.gettempdir()) / f"retain-error-{stamp}.txt"
    try:
        path.write_text("".join(traceback.format_exception(error)))
        where = f"traceback in {path}"
    except OSError:
        where = "no traceback file could be written"
    return (f"unexpected error while {doing}: {type(error).__name__}: {first_line(error)} "
            f"({where}; please report it)")

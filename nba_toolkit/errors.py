"""One exception family for everything a user can cause.

Each error carries the exit code the command line returns for it and a plain
message that says what was wrong, where, and what to do. The command line
prints the message; a traceback in front of an operator is a bug.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_BLOCKED = 3
EXIT_BAD_INPUT = 4
EXIT_PLUGIN = 5


class NbaError(Exception):
    """Base of every error the toolkit raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n{self.hint}"

    @property
    def recorded(self) -> str:
        """The message as the ledger and the alerts keep it: never a customer's value (see ``BadInput``)."""
        return self.message


class UsageError(NbaError):
    """The command was asked for something it cannot do as asked (exit 2)."""

    exit_code = EXIT_USAGE


class WeekAwaitsApproval(UsageError):
    """A week is run again while an earlier run of it awaits approval or is still running (exit 2).

    Running a week again is allowed, but never by accident: the earlier run
    is named, with the two ways on (withdraw it, or run next to it on purpose).
    """

    def __init__(self, week: str, pending: list[str]) -> None:
        self.week = week
        self.pending = pending
        runs = ", ".join(pending)
        super().__init__(
            f"{week} already has {'run' if len(pending) == 1 else 'runs'} {runs} awaiting approval; nothing was run",
            hint=f"Export or withdraw it first (`nba-toolkit withdraw {pending[-1]} --reason TEXT`), or run the week "
            "again next to it with `--again`: exporting one run of a week withdraws the others.",
        )


class BadInput(NbaError):
    """A file the operator supplied is unusable (exit 4).

    ``row`` is the 1-based data row (the header does not count), so it matches
    what a spreadsheet shows minus its header line.

    ``value`` is the offending cell, when there is one: the operator sees it on
    the terminal (``message`` then reads "value 'x' is not a number"), but what
    is stored, in the ledger or an alert, is ``recorded``, which says where
    without it. A mis-mapped column can hold names or account numbers, and
    those must not end up in the audit trail or a mailbox.
    """

    exit_code = EXIT_BAD_INPUT

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        column: str | None = None,
        row: int | None = None,
        hint: str | None = None,
        value: object | None = None,
    ) -> None:
        self.file = str(file) if file is not None else None
        self.column = column
        self.row = row
        self.value = value
        where = []
        if self.file:
            where.append(self.file)
        if column is not None:
            where.append(f"column '{column}'")
        if row is not None:
            where.append(f"row {row}")
        place = f"{', '.join(where)}: " if where else ""
        if value is None:
            self._recorded = place + message
            super().__init__(place + message, hint=hint)
        else:
            self._recorded = f"{place}the value {message}"
            super().__init__(f"{place}value {_shown(value)} {message}", hint=hint)

    @property
    def recorded(self) -> str:
        return self._recorded


def _shown(value: object, limit: int = 40) -> str:
    text = str(value)
    return repr(text if len(text) <= limit else text[:limit] + "...")


class CheckBlocked(NbaError):
    """A blocking check failed or crashed, so the run stopped (exit 3)."""

    exit_code = EXIT_BLOCKED

    def __init__(self, message: str, *, run_id: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.run_id = run_id


class PluginError(NbaError):
    """A plugin could not be loaded or misbehaved where it cannot be isolated (exit 5)."""

    exit_code = EXIT_PLUGIN


class DiskFull(NbaError):
    """The disk (or the user's quota) filled up while the toolkit wrote (exit 2).

    Every file is written to a temporary name first and the ledger in a
    transaction, so a full disk leaves the last complete state behind; the
    operator frees space and runs the command again.
    """

    exit_code = EXIT_USAGE


def disk_full(exc: BaseException) -> DiskFull | None:
    """``exc`` as a ``DiskFull`` when it says there was no space left to write, else None."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        where = f" writing {exc.filename}" if exc.filename else ""
    elif isinstance(exc, sqlite3.OperationalError) and "disk is full" in str(exc):
        where = " writing the ledger"
    elif os.strerror(errno.ENOSPC) in str(exc):  # a library's own error around the system's (Polars: Parquet)
        where = ""
    else:
        return None
    return DiskFull(
        f"there was no space left on the disk{where}; nothing half-written was kept",
        hint="Free some space (or ask for a larger quota) and run the command again.",
    )


class ReadOnlyWorkspace(NbaError):
    """The workspace cannot be written, or was opened read-only on purpose (exit 2).

    Reading still works (``status``, ``runs``, ``review``, ``audit verify``):
    an auditor with read access, or anyone with ``--read-only``, sees every
    record without changing one.
    """

    exit_code = EXIT_USAGE


#: how the system says a file or folder may not be written
_NOT_WRITABLE = (errno.EACCES, errno.EPERM, errno.EROFS)


def cannot_write(path: str | Path, why: str) -> ReadOnlyWorkspace:
    """The message for a workspace the user cannot write: what, why, and who can give access."""
    return ReadOnlyWorkspace(
        f"{path} cannot be written ({why}), so nothing was changed",
        hint=f"Ask {_owner(Path(path))} for write access to the workspace, or your administrator if it is on a "
        "read-only disk. To look without changing anything, add --read-only: status, runs, review and audit verify work.",
    )


def not_writable(exc: BaseException) -> ReadOnlyWorkspace | None:
    """``exc`` as a ``ReadOnlyWorkspace`` when the system refused a write, else None."""
    if isinstance(exc, OSError) and exc.errno in _NOT_WRITABLE:
        return cannot_write(exc.filename or "a file of the workspace", exc.strerror or str(exc))
    if isinstance(exc, sqlite3.OperationalError) and "readonly database" in str(exc):
        return cannot_write("the ledger", "it is read-only for you")
    return None


def _owner(path: Path) -> str:
    """Who owns the nearest existing folder of ``path``: the person to ask."""
    for candidate in (path, *path.parents):
        try:
            uid = candidate.stat().st_uid
        except OSError:
            continue
        try:
            import pwd

            return f"{pwd.getpwuid(uid).pw_name} (who owns {candidate})"
        except (ImportError, KeyError):
            return f"the owner of {candidate}"
    return "whoever manages the workspace"

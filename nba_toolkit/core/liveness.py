"""Whether the process working on something is still alive, told by a lock it holds on a file.

A run in flight, an export in flight and a file being written each hold an
operating-system lock on a file for as long as their process works on
them. The kernel releases such a lock the moment the process ends, however
it ends (``kill -9`` and a power cut included), so "the lock is free" means
"nobody is working on this any more". A process id alone cannot say that:
ids are reused, and a process on another session may have the same one.

POSIX uses ``flock`` (one lock per open file, so even the same process
opening the file again sees it held); Windows uses ``msvcrt.locking``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(fd: int) -> bool:
        os.lseek(fd, 0, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

    _PROBE_FLAGS = os.O_RDWR

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)

    _PROBE_FLAGS = os.O_RDONLY


class Hold:
    """A lock this process holds on a lock file until :meth:`release`, or until it dies."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    def release(self) -> None:
        """Remove the lock file, then let go; a process that probes the old file finds nobody there."""
        if self._fd is None:
            return
        self.path.unlink(missing_ok=True)
        try:
            _unlock(self._fd)
        finally:
            os.close(self._fd)
            self._fd = None


def hold(path: Path) -> Hold | None:
    """Take the lock on ``path`` (created if needed); None when another holder has it.

    On a file system without locks the hold is taken unlocked: the work goes
    on, and :func:`is_held` then answers "held", so nothing is ever taken
    away from a process that may be alive.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    if not lock_open_file(fd):
        os.close(fd)
        return None
    return Hold(path, fd)


def lock_open_file(fd: int) -> bool:
    """Lock a file this process has open (a temporary file being written); False when someone else has it."""
    try:
        return _try_lock(fd)
    except OSError:
        return True  # no locks on this file system: see hold()


def is_held(path: Path) -> bool:
    """Whether a living process holds the lock on ``path``; a missing file is held by nobody."""
    try:
        fd = os.open(path, _PROBE_FLAGS)
    except FileNotFoundError:
        return False
    except OSError:
        return True  # cannot look: assume someone is working on it rather than take it away
    try:
        if not _try_lock(fd):
            return True
        _unlock(fd)
        return False
    except OSError:
        return True  # no locks on this file system: assume someone is working on it
    finally:
        os.close(fd)

"""Files written so that a reader never sees half of one, their hashes, and the crash points.

Every file the toolkit writes goes to a temporary file in the same folder,
is flushed to disk, and is then renamed over its final name: a crash, a full
disk or a failing exporter leaves the old state, never a partial file. The
temporary file is named ``.<name>.<pid>.<random>.tmp`` and locked by its
writer while it is written, so a leftover of a writer that died can be told
from a file being written now (:func:`remove_stale_temp_files`).

Crash points (:func:`crash_point`) let the reliability tests stop a real
process at a named step with ``kill -9``, or hold it there, to show that every
step leaves the workspace consistent (docs/architecture.md, "Crash points").

One mode policy: what the toolkit writes is readable by its owner only
(0600, and 0700 for a folder it creates), because most of it holds customer
data (selections, profiles, evidence, analysis files, exports, the ledger).
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from nba_toolkit.core.liveness import is_held, lock_open_file

PRIVATE_FILE = 0o600
PRIVATE_FOLDER = 0o700

#: every named step a test may stop a process at, in the order a weekly run and its export pass them
CRASH_POINTS = (
    "run.begun",
    "run.selection_written",
    "run.finished",
    "export.reserved",
    "export.written",
    "export.renamed",
    "export.recorded",
)

_TEMP_NAME = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[^.]+\.tmp$")


def crash_point(name: str) -> None:
    """Stop here if a test asked for it: ``NBA_TOOLKIT_CRASH_AT=name`` kills the process (SIGKILL).

    ``NBA_TOOLKIT_PAUSE_AT=name`` instead sleeps ``NBA_TOOLKIT_PAUSE_SECONDS``
    (default 5) seconds, so a test can act while the process is held at the
    step. Without either variable this does nothing.
    """
    if os.environ.get("NBA_TOOLKIT_CRASH_AT") == name:
        kill = getattr(signal, "SIGKILL", None)
        if kill is None:  # pragma: no cover - platforms without SIGKILL
            os._exit(137)
        os.kill(os.getpid(), kill)
    if os.environ.get("NBA_TOOLKIT_PAUSE_AT") == name:
        time.sleep(float(os.environ.get("NBA_TOOLKIT_PAUSE_SECONDS", "5")))


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextmanager
def atomic_writer(
    path: Path,
    *,
    mode: int = PRIVATE_FILE,
    overwrite: bool = True,
    before_rename: Callable[[Path], None] | None = None,
) -> Iterator[BinaryIO]:
    """Yield a binary stream; on a clean exit its bytes appear at ``path`` in one step.

    With ``overwrite=False`` an existing file is never replaced (the rename is
    a hard link that fails if the name is taken), which guards exports.
    ``before_rename`` is called with the temporary file once it is on disk;
    if it raises, nothing appears at ``path`` (the export reads its file back
    there). The writer keeps the temporary file locked until it is renamed.
    """
    private_folder(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        lock_open_file(fd)
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
            if before_rename is not None:
                before_rename(Path(tmp))
            if overwrite:
                os.replace(tmp, path)
            else:
                os.link(tmp, path)
                os.unlink(tmp)
        _fsync_dir(path.parent)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def private_folder(folder: Path) -> None:
    """Create ``folder`` (and its parents) if missing; the folder itself owner-only."""
    if not folder.is_dir():
        folder.parent.mkdir(parents=True, exist_ok=True)
        folder.mkdir(mode=PRIVATE_FOLDER, exist_ok=True)
        os.chmod(folder, PRIVATE_FOLDER)  # mkdir's mode is narrowed by the umask, never widened; set it exactly


def atomic_write_bytes(path: Path, data: bytes, *, mode: int = PRIVATE_FILE) -> None:
    with atomic_writer(path, mode=mode) as handle:
        handle.write(data)


def inside(folder: Path, name: str) -> Path:
    """``folder / name``, refused unless it stays directly in ``folder`` (no ``..``, no separators)."""
    path = folder / name
    if path.resolve().parent != folder.resolve() or path.name != name:
        raise ValueError(f"'{name}' would be written outside {folder}")
    return path


def temp_file_writer(path: Path) -> int | None:
    """The process id in an atomic writer's temporary file name, or None if ``path`` is not one."""
    found = _TEMP_NAME.match(path.name)
    return int(found.group("pid")) if found else None


def remove_stale_temp_files(folder: Path) -> list[Path]:
    """Remove the temporary files in ``folder`` whose writer died before renaming them; return them.

    A file still locked by a living writer is left alone.
    """
    if not folder.is_dir():
        return []
    removed = []
    for path in sorted(folder.glob(".*.tmp")):
        if temp_file_writer(path) is not None and path.is_file() and not is_held(path):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)

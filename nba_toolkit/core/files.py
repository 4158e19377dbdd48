"""Files written so that a reader never sees half of one, and their hashes.

Every file the toolkit writes goes to a temporary file in the same folder,
is flushed to disk, and is then renamed over its final name: a crash, a full
disk or a failing exporter leaves the old state, never a partial file.

One mode policy: what the toolkit writes is readable by its owner only
(0600, and 0700 for a folder it creates), because most of it holds customer
data (selections, profiles, evidence, analysis files, exports, the ledger).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

PRIVATE_FILE = 0o600
PRIVATE_FOLDER = 0o700


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextmanager
def atomic_writer(path: Path, *, mode: int = PRIVATE_FILE, overwrite: bool = True) -> Iterator[BinaryIO]:
    """Yield a binary stream; on a clean exit its bytes appear at ``path`` in one step.

    With ``overwrite=False`` an existing file is never replaced (the rename is
    a hard link that fails if the name is taken), which guards exports.
    """
    private_folder(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
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

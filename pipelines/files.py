"""Writing files so that a reader never sees half of one, and locks shared between processes.

Several runs may share one work directory (two terminals, a CI matrix, a benchmark next to a
demo): every write here goes to a uniquely named temporary sibling and is renamed into place
(atomic on one filesystem), and read-modify-write sequences hold a file lock (filelock: an
OS-level lock, so it serialises processes, not only threads).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

TEMP_PREFIX = ".tmp-"


def write_atomically(path: Path, data: str | bytes) -> None:
    """Write `data` to `path` via a unique temporary sibling and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode() if isinstance(data, str) else data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def copy_atomically(source: Path, target: Path) -> None:
    """Copy `source` to `target` via a unique temporary sibling and a rename."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{target.name}.", dir=target.parent)
    os.close(fd)
    try:
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def locked(path: Path, timeout: float = 600) -> Iterator[None]:
    """Hold the inter-process lock file `path` (created if missing) for the block."""
    # imported here: the container-runtime test environment has the demo data (which
    # writes atomically) but not filelock, which only the runner's registry and cache need
    from filelock import FileLock

    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path), timeout=timeout):
        yield

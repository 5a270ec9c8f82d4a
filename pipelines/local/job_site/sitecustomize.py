"""Loaded at start-up by every job the local runner starts (this folder leads the job's
PYTHONPATH): each channel behaves as its own mount, as in a SageMaker container.

SageMaker (and the SDK's local mode) mounts every processing input and output path, and the
training channels and model and output folders, as separate volumes; a rename from one of
them into another, or from the container's own filesystem into one, fails with EXDEV
("Invalid cross-device link"). On this machine they are folders of one sandbox, so without
this a script that renames across them would pass locally and fail in the service.
`os.rename` and `os.replace` (which `pathlib` and `shutil.move` call) refuse such a rename
with the same error; `shutil.move` then copies, exactly as it does across real mounts.
The mount roots arrive as a JSON list in LOCAL_RUNNER_MOUNTS; the host names of a job with
several instances in LOCAL_RUNNER_HOSTS.
"""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Callable
from typing import Any

_MOUNTS = tuple(
    sorted(
        (os.path.realpath(p) for p in json.loads(os.environ.get("LOCAL_RUNNER_MOUNTS", "[]"))),
        key=len,
        reverse=True,
    )
)


def _mount_of(path: Any) -> str:
    """The mount root holding `path` ("" for the container's own filesystem)."""
    full = os.path.realpath(os.fsdecode(path))
    for root in _MOUNTS:
        if full == root or full.startswith(root + os.sep):
            return root
    return ""


def _one_device(original: Callable[..., None]) -> Callable[..., None]:
    def rename(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
        plain = not args and not kwargs  # dir_fd forms are left to the original
        if (
            plain
            and isinstance(src, (str, bytes, os.PathLike))
            and _mount_of(src) != _mount_of(dst)
        ):
            raise OSError(errno.EXDEV, os.strerror(errno.EXDEV), src, None, dst)
        original(src, dst, *args, **kwargs)

    rename.__name__ = original.__name__
    rename.__doc__ = original.__doc__
    return rename


if _MOUNTS:
    os.rename = _one_device(os.rename)
    os.replace = _one_device(os.replace)


# The hosts of an emulated multi-instance job (algo-1, algo-2, ...) are processes of this
# machine: their names resolve to 127.0.0.1, as the cluster's DNS resolves them in SageMaker.
_HOSTS = frozenset(json.loads(os.environ.get("LOCAL_RUNNER_HOSTS", "[]")))

if _HOSTS:
    import socket

    _resolve = socket.gethostbyname

    def _gethostbyname(name: str) -> str:
        return "127.0.0.1" if name in _HOSTS else _resolve(name)

    socket.gethostbyname = _gethostbyname

"""S3 as a folder: s3://bucket/key lives at <workdir>/s3/bucket/key.

Every URI is checked before it becomes a path: a bucket name S3 would accept, and a key
without empty, `.` or `..` segments (a double slash would otherwise make the key absolute and
point outside the work directory). The resolved path must stay under the root. Writes behave
as S3 does: they add or overwrite objects and never delete anything else under the prefix.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

from pipelines.files import TEMP_PREFIX, copy_atomically, write_atomically
from pipelines.limits import s3_uri_problem


class StorageError(ValueError):
    """An S3 location that is malformed or has nothing in it."""


def split(uri: str) -> tuple[str, str]:
    """(bucket, key) of a checked URI."""
    problem = s3_uri_problem(uri)
    if problem:
        raise StorageError(problem)
    bucket, _, key = uri[5:].partition("/")
    return bucket, key


class LocalS3:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def path(self, uri: str) -> Path:
        """The local path of `uri`; refuses anything that would leave the root."""
        bucket, key = split(uri)
        path = (self.root / bucket / key).resolve()
        if not path.is_relative_to(self.root / bucket):
            raise StorageError(f"{uri!r} resolves outside the local bucket folder")
        return path

    def objects(self, uri: str) -> list[tuple[Path, str]]:
        """(local file, name relative to the prefix) for an S3Prefix, like a ListObjects.

        A URI that names one object yields that object under its base name."""
        base = self.path(uri)
        if base.is_file():
            return [(base, base.name)]
        if base.is_dir():
            return sorted(
                (p, p.relative_to(base).as_posix())
                for p in base.rglob("*")
                if p.is_file() and not p.name.startswith(TEMP_PREFIX)
            )
        # a key prefix that is not a whole "folder" name (s3://b/data/part-)
        parent, stem = base.parent, base.name
        if parent.is_dir() and parent.is_relative_to(self.root / split(uri)[0]):
            return sorted(
                (p, p.relative_to(parent).as_posix())
                for p in parent.rglob("*")
                if p.is_file()
                and not p.name.startswith(TEMP_PREFIX)
                and p.relative_to(parent).as_posix().startswith(stem)
            )
        return []

    def download(self, uri: str, target: Path) -> int:
        """Copy everything under `uri` into the folder `target`; return the file count."""
        found = self.objects(uri)
        if not found:
            raise StorageError(f"nothing at {uri}")
        for source, name in found:
            destination = target / name
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, destination)
        return len(found)

    def upload_dir(self, folder: Path, uri: str) -> int:
        """Put every file of `folder` under `uri` (adding or overwriting, as S3 does: nothing
        else under the prefix is touched). Returns the file count."""
        prefix = uri if uri.endswith("/") else f"{uri}/"
        files = sorted(p for p in folder.rglob("*") if p.is_file())
        for path in files:
            self.put_file(path, prefix + path.relative_to(folder).as_posix())
        return len(files)

    def put_file(self, source: Path, uri: str) -> None:
        copy_atomically(source, self._object_path(uri))

    def put_bytes(self, data: bytes, uri: str) -> None:
        write_atomically(self._object_path(uri), data)

    def delete(self, uri: str) -> None:
        """Delete the one object `uri` names (never a prefix)."""
        path = self._object_path(uri)
        path.unlink(missing_ok=True)

    def _object_path(self, uri: str) -> Path:
        path = self.path(uri)
        if uri.endswith("/") or path == self.root / split(uri)[0]:
            raise StorageError(f"{uri!r} names a prefix, not an object")
        if path.is_dir():
            raise StorageError(f"{uri!r} is a prefix holding objects; it cannot be an object too")
        return path

    def fingerprint(self, uri: str) -> str:
        """A digest of every object's name and content under `uri`."""
        digest = hashlib.sha256()
        for path, name in self.objects(uri):
            digest.update(name.encode())
            digest.update(file_digest(path).encode())
        return digest.hexdigest()


def s3_strings(node: Any) -> list[str]:
    """Every s3:// string written out in a JSON document (a definition, a step's arguments)."""
    if isinstance(node, str):
        return [node] if node.startswith("s3://") else []
    if isinstance(node, dict):
        return [u for v in node.values() for u in s3_strings(v)]
    if isinstance(node, list):
        return [u for v in node for u in s3_strings(v)]
    return []


def file_digest(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()

"""S3 as a folder: s3://bucket/key lives at <workdir>/s3/bucket/key."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path


class StorageError(ValueError):
    """An S3 location that is malformed or has nothing in it."""


class LocalS3:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, uri: str) -> Path:
        if not isinstance(uri, str) or not uri.startswith("s3://"):
            raise StorageError(f"{uri!r} is not an s3:// URI")
        bucket, _, key = uri[5:].partition("/")
        if not bucket or ".." in Path(key).parts:
            raise StorageError(f"{uri!r} is not a usable S3 location")
        return self.root / bucket / key

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
                if p.is_file() and not p.name.startswith(".tmp-")
            )
        # a key prefix that is not a whole "folder" name (s3://b/data/part-)
        parent, stem = base.parent, base.name
        if parent.is_dir():
            return sorted(
                (p, p.relative_to(parent).as_posix())
                for p in parent.rglob("*")
                if p.is_file() and p.relative_to(parent).as_posix().startswith(stem)
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

    def upload_dir(self, folder: Path, uri: str) -> None:
        """Replace what is under `uri` with the contents of `folder` (copy, then swap)."""
        target = self.path(uri)
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = target.parent / f".tmp-{target.name}-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(folder, staging)
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)

    def put_file(self, source: Path, uri: str) -> None:
        target = self.path(uri)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".tmp-{target.name}")
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)

    def put_bytes(self, data: bytes, uri: str) -> None:
        target = self.path(uri)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".tmp-{target.name}")
        tmp.write_bytes(data)
        os.replace(tmp, target)

    def fingerprint(self, uri: str) -> str:
        """A digest of every object's name and content under `uri`."""
        digest = hashlib.sha256()
        for path, name in self.objects(uri):
            digest.update(name.encode())
            with path.open("rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
        return digest.hexdigest()

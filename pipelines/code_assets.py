"""Container code as content-addressed S3 objects.

The SDK would upload code while building a definition, under timestamped names, so every
build would differ and SageMaker's step cache would miss after each upsert. Instead each
asset's bytes are built reproducibly here (tarballs with sorted entries, zeroed times and
owners, gzip mtime 0), its S3 key carries the SHA-256 of those bytes, and publishing uploads
only the objects that are not there yet.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
PROCESSING_SCRIPTS = REPO_ROOT / "processing_scripts"
TRAINING_SCRIPTS = REPO_ROOT / "training_scripts"
INFERENCE_DIR = REPO_ROOT / "inference"
NO_CHAMPION_FILE = Path(__file__).resolve().parent / "assets" / "NO_CHAMPION.txt"


@dataclass(frozen=True)
class CodeAsset:
    """What one code location holds: a folder of scripts (staged as separate objects under
    one prefix, mounted as the job's code folder) or a tarball (training's sourcedir)."""

    name: str
    members: tuple[tuple[Path, str], ...]  # (local file, name inside the asset)
    tarball: bool
    subfolder: str = ""  # a folder asset's readable last path part, if any

    @cached_property
    def payload(self) -> bytes:
        """The tarball's bytes; for a folder, the bytes its digest is taken over."""
        return reproducible_tarball(self.members)

    @cached_property
    def digest(self) -> str:
        return hashlib.sha256(self.payload).hexdigest()

    def s3_uri(self, s3_root: str) -> str:
        """Content-addressed: the tarball's key, or the folder's prefix (ending in /)."""
        base = f"{s3_root}/code/{self.digest[:20]}/"
        if self.tarball:
            return f"{base}{self.name}"
        return f"{base}{self.subfolder}/" if self.subfolder else base

    def objects(self, s3_root: str) -> list[tuple[str, bytes]]:
        """(URI, bytes) of every object to stage."""
        if self.tarball:
            return [(self.s3_uri(s3_root), self.payload)]
        return [
            (f"{self.s3_uri(s3_root)}{name}", path.read_bytes())
            for path, name in sorted(self.members, key=lambda m: m[1])
        ]


def reproducible_tarball(members: tuple[tuple[Path, str], ...]) -> bytes:
    """A .tar.gz whose bytes depend only on the files' names and contents."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path, name in sorted(members, key=lambda m: m[1]):
            data = path.read_bytes()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            info.mtime = 0
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0, filename="") as gz:
        gz.write(raw.getvalue())
    return out.getvalue()


@dataclass(frozen=True)
class CodeAssets:
    """Everything the pipeline's containers run, and the no-champion marker (the default
    of ChampionModelDataUri: a processing input must point at an existing object)."""

    processing: CodeAsset
    training: CodeAsset
    no_champion: CodeAsset

    def all(self) -> tuple[CodeAsset, ...]:
        return (self.processing, self.training, self.no_champion)

    def script_digests(self) -> frozenset[str]:
        """SHA-256 of every script a job may run: what the local runner lets a job execute
        unless it is told to allow other commands."""
        return frozenset(
            hashlib.sha256(path.read_bytes()).hexdigest()
            for asset in (self.processing, self.training)
            for path, name in asset.members
            if name.endswith(".py")
        )


def scripts(folder: Path) -> tuple[tuple[Path, str], ...]:
    """Every module of a script folder (its package marker aside: the container runs the
    scripts from their folder, where they import each other as top-level modules)."""
    return tuple((p, p.name) for p in sorted(folder.glob("*.py")) if p.name != "__init__.py")


def code_assets() -> CodeAssets:
    """The scripts of this checkout. The processing scripts share one folder (preprocess
    imports the feature and drift baseline functions); the training source directory also
    carries the inference handler, which train.py copies into the model."""
    return CodeAssets(
        processing=CodeAsset("processing", scripts(PROCESSING_SCRIPTS), tarball=False),
        training=CodeAsset(
            "sourcedir.tar.gz",
            (*scripts(TRAINING_SCRIPTS), (INFERENCE_DIR / "inference.py", "inference.py")),
            tarball=True,
        ),
        no_champion=CodeAsset(
            "no-champion",
            ((NO_CHAMPION_FILE, NO_CHAMPION_FILE.name),),
            tarball=False,
            subfolder="no-champion",
        ),
    )


def split_s3_uri(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def stage_code(assets: CodeAssets, s3_root: str, s3_client: Any, kms_key_id: str = "") -> list[str]:
    """Upload the objects that are not in S3 yet; return the URIs uploaded."""
    from botocore.exceptions import ClientError

    uploaded = []
    for asset in assets.all():
        for uri, body in asset.objects(s3_root):
            bucket, key = split_s3_uri(uri)
            try:
                s3_client.head_object(Bucket=bucket, Key=key)
                continue
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") not in (
                    "404",
                    "NoSuchKey",
                    "NotFound",
                ):
                    raise
            extra: dict[str, str] = {}
            if kms_key_id:
                extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key_id}
            s3_client.put_object(Bucket=bucket, Key=key, Body=body, **extra)
            uploaded.append(uri)
    return uploaded

"""Put the code and the input data where a definition expects them in the local S3 folder.

Staging never deletes what it did not write: the objects it writes under InputDataUri are
recorded in a manifest in the work directory, and a later staging replaces only those. An
InputDataUri that already holds other objects (a user's own files, another prefix's data,
the pipeline's outputs) is refused with nothing changed. Concurrent runs on one work
directory stage under a lock, and identical content is not rewritten, so a run reading its
input never sees it change under it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pipelines.files import locked, write_atomically
from pipelines.local.storage import LocalS3, file_digest, s3_strings, split


class StagingError(ValueError):
    """The input cannot be staged where the definition expects it; nothing was changed."""


def stage_code(definition: dict[str, Any], s3: LocalS3) -> None:
    """Stage this checkout's code objects at every location the definition names for them."""
    from pipelines.code_assets import code_assets

    for asset in code_assets().all():
        marker = f"/code/{asset.digest[:20]}/"
        for uri in (u for u in s3_strings(definition) if marker in u):
            root = uri[: uri.index(marker)]
            for object_uri, body in asset.objects(root):
                if not s3.path(object_uri).is_file():
                    s3.put_bytes(body, object_uri)


def source_files(source: Path) -> dict[str, Path]:
    """{object name under the prefix: local file} for a file or a folder."""
    if source.is_file():
        return {source.name: source}
    if source.is_dir():
        return {
            p.relative_to(source).as_posix(): p
            for p in sorted(source.rglob("*"))
            if p.is_file() and not p.name.startswith(".")
        }
    raise StagingError(f"--input {source}: no such file or folder")


def stage_input(s3: LocalS3, workdir: Path, uri: str, source: Path) -> str:
    """Make the objects under `uri` (InputDataUri) exactly the files of `source`.

    Returns a one-line account of what changed. Raises StagingError, changing nothing, when
    the prefix is a bucket root or holds objects this work directory did not stage there.
    """
    bucket, key = split(uri)
    if not key.strip("/"):
        raise StagingError(
            f"InputDataUri {uri}: a bucket root; staging there would mix the input with "
            "everything else in the bucket. Point it at a prefix, e.g. "
            f"s3://{bucket}/data/"
        )
    prefix = uri if uri.endswith("/") else f"{uri}/"
    files = source_files(source)
    if not files:
        raise StagingError(f"--input {source}: the folder holds no files")
    manifest_path = workdir / "staged" / f"{hashlib.sha256(prefix.encode()).hexdigest()[:24]}.json"
    with locked(workdir / "locks" / "staging.lock"):
        ours = _read_manifest(manifest_path)
        on_disk = {name: file_digest(path) for path, name in s3.objects(prefix)}
        foreign = sorted(n for n, digest in on_disk.items() if digest not in ours.get(n, ()))
        if foreign:
            shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
            raise StagingError(
                f"InputDataUri {prefix} already holds {len(foreign)} object(s) this runner "
                f"did not stage ({shown}); nothing was changed. Point InputDataUri at "
                f"another prefix, or remove them from {s3.path(prefix)}"
            )
        wanted = {name: file_digest(path) for name, path in files.items()}
        removed = sorted(set(on_disk) - set(wanted))
        written = sorted(n for n in wanted if on_disk.get(n) != wanted[n])
        # record first, old and new digests alike: a crash half way leaves only objects the
        # manifest knows (each object is replaced atomically, so it is one or the other)
        interim = {
            n: sorted({*ours.get(n, ()), *([wanted[n]] if n in wanted else [])})
            for n in sorted({*ours, *wanted})
        }
        write_atomically(manifest_path, json.dumps({"uri": prefix, "objects": interim}))
        for name in removed:
            s3.delete(prefix + name)
        for name in written:
            s3.put_file(files[name], prefix + name)
        final = {n: [digest] for n, digest in wanted.items()}
        write_atomically(manifest_path, json.dumps({"uri": prefix, "objects": final}))
    if not written and not removed:
        return f"input at {prefix} unchanged ({len(wanted)} object(s))"
    return f"input staged at {prefix}: {len(written)} object(s) written" + (
        f", {len(removed)} earlier staged object(s) replaced" if removed else ""
    )


def _read_manifest(path: Path) -> dict[str, set[str]]:
    """{object name: the sha256 digests staging wrote there}; an unreadable manifest counts as
    none (so what is there is treated as foreign and left alone)."""
    try:
        objects = json.loads(path.read_text())["objects"]
        return {str(name): {str(d) for d in digests} for name, digests in objects.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}

"""The local runner's step cache: one JSON entry per step and key under <workdir>/cache/.

A job step with CacheConfig enabled is skipped when an earlier run had the same resolved
arguments (the members SageMaker compares, CACHE_KEYS) *and* the same content in every input
(a deliberate difference from SageMaker, which compares arguments only: here "nothing
changed" must mean a hit even though every execution writes to its own prefix). Entries are
written atomically; an unreadable one is reported with its path, ignored and rewritten.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pipelines.files import write_atomically
from pipelines.local.storage import LocalS3

CACHE_KEYS = {
    "Processing": ("AppSpecification", "Environment", "ProcessingInputs"),
    "Training": ("AlgorithmSpecification", "HyperParameters", "InputDataConfig", "Environment"),
    "Transform": (
        "ModelName",
        "TransformInput",
        "DataProcessing",
        "Environment",
        "BatchStrategy",
        "MaxPayloadInMB",
    ),
}


def parse_duration(text: str) -> timedelta:
    """ISO 8601 durations as CacheConfig uses them (P30D, PT1H, P1DT12H, P2W)."""
    match = re.fullmatch(
        r"P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?", text or ""
    )
    if not match or not any(match.groups()):
        return timedelta(days=36500)
    w, d, h, m, s = (int(g) if g else 0 for g in match.groups())
    return timedelta(weeks=w, days=d, hours=h, minutes=m, seconds=s)


def input_uris(kind: str, args: dict[str, Any]) -> list[str]:
    """The S3 locations a job step reads."""
    if kind == "Processing":
        return [i["S3Input"]["S3Uri"] for i in args.get("ProcessingInputs", [])]
    if kind == "Training":
        return [c["DataSource"]["S3DataSource"]["S3Uri"] for c in args.get("InputDataConfig", [])]
    if kind == "Transform":
        return [args["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"]]
    return []


def output_uris(kind: str, properties: dict[str, Any]) -> list[str]:
    """The S3 locations a finished job step wrote (a hit needs them still there)."""
    if kind == "Processing":
        return [
            o["S3Output"]["S3Uri"] for o in properties["ProcessingOutputConfig"]["Outputs"].values()
        ]
    if kind == "Training":
        return [properties["ModelArtifacts"]["S3ModelArtifacts"]]
    return [properties["TransformOutput"]["S3OutputPath"]]


class StepCache:
    def __init__(self, folder: Path, s3: LocalS3, report: Callable[[str], None]) -> None:
        self.folder = folder
        self.s3 = s3
        self.report = report

    def entry_path(self, step: str, kind: str, args: dict[str, Any]) -> Path:
        material: dict[str, Any] = {"type": kind, **{k: args.get(k) for k in CACHE_KEYS[kind]}}
        material["content"] = [self.s3.fingerprint(uri) for uri in input_uris(kind, args)]
        blob = json.dumps(material, sort_keys=True, default=str).encode()
        return self.folder / step / f"{hashlib.sha256(blob).hexdigest()[:32]}.json"

    def lookup(self, step: str, path: Path, expire_after: str) -> dict[str, Any] | None:
        """The cached properties, or None when there is no entry, it is stale, its outputs
        are gone, or it is unreadable (reported with its path; the step runs and rewrites
        it)."""
        if not path.is_file():
            return None
        try:
            entry = json.loads(path.read_text())
            written = datetime.fromisoformat(entry["time"])
            properties: dict[str, Any] = entry["properties"]
            outputs = [str(uri) for uri in entry["outputs"]]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            self.report(
                f"{step}: cache entry {path} is unreadable ({exc}); "
                "ignored, the step runs and rewrites it"
            )
            return None
        if written + parse_duration(expire_after) <= datetime.now(UTC):
            return None
        return properties if all(self.s3.objects(uri) for uri in outputs) else None

    def store(self, path: Path, kind: str, execution: str, properties: dict[str, Any]) -> None:
        entry = {
            "time": datetime.now(UTC).isoformat(),
            "execution": execution,
            "properties": properties,
            "outputs": output_uris(kind, properties),
        }
        write_atomically(path, json.dumps(entry, indent=2))

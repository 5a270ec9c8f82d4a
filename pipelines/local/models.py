"""CreateModel and RegisterModel, emulated: models as JSON files under <workdir>/models/,
versions in the embedded registry (registry.py; an artifact identical to the latest version's
is that version, not a new one).

One deliberate difference from SageMaker: a created model is named after its content, so a
re-run with nothing changed reuses it and its Transform step can hit the cache (SageMaker
names a new model per execution)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pipelines.files import write_atomically
from pipelines.local.jobs import JobFailed
from pipelines.local.registry import Registry
from pipelines.local.storage import LocalS3, file_digest

PACKAGE_PROPERTIES = (
    "ModelPackageArn",
    "ModelPackageVersion",
    "ModelPackageGroupName",
    "ModelApprovalStatus",
)
# not a SageMaker property: the runner's summary says when a model was registered before
ALREADY_REGISTERED = "AlreadyRegistered"


def _require(s3: LocalS3, uri: str, what: str) -> Path:
    path = s3.path(uri)
    if not path.is_file():
        raise JobFailed(f"{what} {uri} does not exist")
    return path


def create_model(
    args: dict[str, Any], s3: LocalS3, folder: Path, pipeline_name: str
) -> dict[str, Any]:
    """CreateModel: the step's properties ({"ModelName"})."""
    container = args["PrimaryContainer"]
    _require(s3, container["ModelDataUrl"], "model data")
    content = s3.fingerprint(container["ModelDataUrl"])
    digest = hashlib.sha256(
        json.dumps({"container": container, "content": content}, sort_keys=True).encode()
    ).hexdigest()[:16]
    name = f"{pipeline_name}-model-{digest}"[:63]
    write_atomically(folder / f"{name}.json", json.dumps(args, indent=2, sort_keys=True))
    return {"ModelName": name}


def load_model(folder: Path, name: str) -> dict[str, Any]:
    path = folder / f"{name}.json"
    if not path.is_file():
        raise JobFailed(f"model {name!r} was not created")
    model: dict[str, Any] = json.loads(path.read_text())
    return model


def register_model(
    args: dict[str, Any], s3: LocalS3, registry: Registry, region: str, execution_id: str
) -> dict[str, Any]:
    """RegisterModel (a versioned package): the step's properties."""
    group = args.get("ModelPackageGroupName")
    if not group:
        raise JobFailed("only versioned model packages (a ModelPackageGroupName) are supported")
    container = args["InferenceSpecification"]["Containers"][0]
    artifact = _require(s3, container["ModelDataUrl"], "model data")
    metrics = {}
    statistics = args.get("ModelMetrics", {}).get("ModelQuality", {}).get("Statistics")
    if statistics:
        metrics = json.loads(_require(s3, statistics["S3Uri"], "model metrics file").read_text())
    package = {
        "ModelApprovalStatus": args.get("ModelApprovalStatus"),
        "InferenceSpecification": args["InferenceSpecification"],
        "ModelMetrics": args.get("ModelMetrics", {}),
        "ModelQualityStatistics": metrics,
        "PipelineExecutionId": execution_id,
        "ModelDataDigest": file_digest(artifact),  # the same artifact is the same version
    }
    entry = registry.register(group, region, package)
    properties = {k: entry[k] for k in PACKAGE_PROPERTIES}
    if entry.get(ALREADY_REGISTERED):
        properties[ALREADY_REGISTERED] = True
    return properties

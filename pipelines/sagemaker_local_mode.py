"""`python -m pipelines.run --mode sagemaker-local`: the same pipeline under the SageMaker
SDK's own local mode, which runs each job in the real SageMaker XGBoost container (Docker).

What differs from the published pipeline, because SDK 3.27.0's local mode requires it:
- RegisterModel is left out: the local executor cannot run it (use the Docker-free runner,
  `--mode local`, for the registry);
- code, input and outputs live under file:// folders in the work directory instead of S3.
Pulling the image needs Docker and, the first time, a login to the SageMaker ECR registry
(AWS credentials).
"""

from __future__ import annotations

import shutil
import subprocess  # nosec B404
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipelines.settings import Settings


class LocalModeUnavailable(RuntimeError):
    """Docker is missing or not running; the message says what to do instead."""


def docker_problem() -> str | None:
    """Why SageMaker local mode cannot run here, or None when Docker answers."""
    docker = shutil.which("docker")
    hint = "; the Docker-free runner needs none: python -m pipelines.run --local"
    if docker is None:
        return "SageMaker local mode needs Docker, and there is no `docker` command on PATH" + hint
    try:
        # A fixed argument list with the docker found on PATH, never a shell (bandit B603).
        result = subprocess.run(  # nosec B603
            [docker, "info"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return (
            f"SageMaker local mode needs a running Docker engine: `docker info` failed ({exc})"
            + hint
        )
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()
        reason = lines[-1] if lines else f"exit status {result.returncode}"
        return (
            f"SageMaker local mode needs a running Docker engine: `docker info` failed: "
            f"{reason}" + hint
        )
    return None


def run_sagemaker_local(
    settings: Settings,
    workdir: Path,
    overrides: dict[str, Any],
    input_path: Path,
    progress: Callable[[str], None],
) -> tuple[str, str, list[dict[str, Any]]]:
    """Build the local-mode variant, hand it to the SDK's local executor, wait for it.

    Returns (status, failure reason, steps as the SDK reports them).
    """
    problem = docker_problem()
    if problem:
        raise LocalModeUnavailable(problem)
    from pipelines import sdk
    from pipelines.code_assets import code_assets
    from pipelines.pipeline import build_pipeline

    root = (workdir / "sagemaker-local").resolve()
    storage = f"file://{root}/store"
    for asset in code_assets().all():
        for uri, body in asset.objects(storage):
            path = Path(uri.removeprefix("file://"))
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(body)
    data = root / "store" / "data"
    shutil.rmtree(data, ignore_errors=True)
    if input_path.is_dir():
        shutil.copytree(input_path, data)
    else:
        data.mkdir(parents=True)
        shutil.copyfile(input_path, data / input_path.name)

    sdk.prepare_environment(settings.region)
    session = sdk.local_pipeline_session(settings.region, settings.bucket_name)
    with sdk.quiet():
        pipeline = build_pipeline(
            settings, session=session, storage_root=storage, register_model=False
        )
    session.create_pipeline(pipeline, settings.description)
    # no registry in local mode, so no champion: the marker staged in the file:// store
    parameters = {
        "InputDataUri": f"file://{data}/",
        "ChampionModelDataUri": code_assets().no_champion.s3_uri(storage),
        **overrides,
    }
    progress(f"SageMaker local mode: starting {pipeline.name} (RegisterModel left out)")
    execution = session.start_pipeline_execution(
        PipelineName=pipeline.name, PipelineParameters=parameters
    )
    described = execution.describe()
    steps = execution.list_steps().get("PipelineExecutionSteps", [])
    for step in reversed(steps):
        reason = f": {step['FailureReason']}" if step.get("FailureReason") else ""
        progress(f"{step['StepName']}: {step['StepStatus']}{reason}")
    status = described.get("PipelineExecutionStatus", "Failed")
    failed = [s for s in steps if s.get("StepStatus") == "Failed"]
    reason = ""
    if failed:
        reason = f"{failed[0]['StepName']}: {failed[0].get('FailureReason', '')}"
    elif status != "Succeeded":
        reason = described.get("FailureReason", "")
    return status, reason, steps

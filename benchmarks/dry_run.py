"""`python -m pipelines.upsert --dry-run` vs a bare import of the SDK modules it uses."""

from __future__ import annotations

import os
import sys
import tempfile

from benchmarks.common import REPO, emit, repeat_side_by_side, run_command

NAME = "dry_run"
SDK_MODULES = (
    "sagemaker.mlops.workflow.pipeline",
    "sagemaker.mlops.workflow.steps",
    "sagemaker.mlops.workflow.condition_step",
    "sagemaker.mlops.workflow.fail_step",
    "sagemaker.mlops.workflow.model_step",
    "sagemaker.mlops.workflow.retry",
    "sagemaker.core.processing",
    "sagemaker.core.transformer",
    "sagemaker.train.model_trainer",
    "sagemaker.serve.model_builder",
    "sagemaker.core.workflow.parameters",
)


def run(quick: bool) -> dict:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", tempfile.gettempdir()),
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    times = 1 if quick else 5
    ours, reference = repeat_side_by_side(
        lambda: run_command([sys.executable, "-m", "pipelines.upsert", "--dry-run"], REPO, env),
        lambda: run_command([sys.executable, "-c", "import " + ", ".join(SDK_MODULES)], REPO, env),
        times,
    )
    return emit(
        NAME,
        ours["median"],
        reference["median"],
        "ratio <= 1.5",
        None if quick else ours["median"] / reference["median"] <= 1.5,
        unit="seconds (median)",
        min=round(ours["min"], 3),
        max=round(ours["max"], 3),
        reference_min=round(reference["min"], 3),
        reference_max=round(reference["max"], 3),
        repetitions=times,
        quick=quick,
    )

"""An execution in MLflow: its parameters, back-test metrics, plots, report and model.

One MLflow run per pipeline execution, in the experiment named after the pipeline, logged
by the process that ran it (the local runner) once the execution is over: the jobs
themselves stay free of MLflow (the XGBoost container does not ship it). The tracking URI
is any MLflow accepts: a database (the local default: SQLite in the work directory, its
artifacts beside it; MLflow 3 refuses new `file:` stores), a server, or SageMaker managed
MLflow's tracking-server ARN (through the sagemaker-mlflow plugin, installed with the
SageMaker SDK).
"""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path
from typing import Any

# metrics of evaluation.json logged, as <prefix>_<name>
BACKTEST_METRICS = ("wape", "mase", "bias", "mape", "rmspe", "rmse", "mae", "r2")


def local_store(workdir: Path) -> tuple[str, Path]:
    """The local default: SQLite in the work directory, artifacts in <workdir>/mlartifacts."""
    return f"sqlite:///{(workdir / 'mlflow.db').resolve()}", workdir / "mlartifacts"


def metrics_of(document: dict[str, Any]) -> dict[str, float]:
    """The figures worth comparing across runs, flat (MLflow metrics are numbers)."""
    evaluation = document.get("evaluation") or {}
    out: dict[str, float] = {}
    for prefix, block in (
        ("backtest", evaluation.get("regression_metrics") or {}),
        ("naive", (evaluation.get("naive_baseline") or {}).get("regression_metrics") or {}),
    ):
        for name in BACKTEST_METRICS:
            value = (block.get(name) or {}).get("value")
            if isinstance(value, (int, float)):
                out[f"{prefix}_{name}"] = float(value)
    intervals = evaluation.get("intervals") or {}
    for name in ("coverage", "weighted_quantile_loss"):
        if isinstance(intervals.get(name), (int, float)):
            out[f"backtest_{name}"] = float(intervals[name])
    for name, value in (document.get("accuracy_after_the_fact") or {}).items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            out[f"after_the_fact_{name}"] = float(value)
    out["seconds"] = float(document.get("seconds") or 0)
    return out


def log_execution(
    uri: str,
    experiment: str,
    document: dict[str, Any],
    parameters: dict[str, Any],
    files: list[Path],
    model: Path | None,
    artifact_root: Path | None = None,
) -> str:
    """Log one execution; returns the MLflow run id. `artifact_root`: where a new
    experiment keeps its artifacts (else the tracking server's default)."""
    with contextlib.redirect_stderr(io.StringIO()):  # MLflow's own start-up chatter
        import mlflow

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    mlflow.set_tracking_uri(uri)
    if artifact_root is not None and mlflow.get_experiment_by_name(experiment) is None:
        mlflow.create_experiment(experiment, artifact_location=artifact_root.resolve().as_uri())
    mlflow.set_experiment(experiment)
    package = document.get("model_package") or {}
    tags = {
        "pipeline.execution_id": str(document.get("execution_id")),
        "pipeline.status": str(document.get("status")),
    }
    if package:
        tags["model_package.arn"] = str(package.get("ModelPackageArn"))
        tags["model_package.version"] = str(package.get("ModelPackageVersion"))
    with mlflow.start_run(run_name=str(document.get("execution_id")), tags=tags) as run:
        mlflow.log_params({k: str(v)[:6000] for k, v in sorted(parameters.items())})
        mlflow.log_metrics(metrics_of(document))
        for path in files:
            mlflow.log_artifact(str(path), artifact_path="report")
        if model is not None and model.is_file():
            mlflow.log_artifact(str(model), artifact_path="model")
        run_id: str = run.info.run_id
    return run_id

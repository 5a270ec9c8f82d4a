"""pipelines/tracking.py: what an execution logs to MLflow, against a file store."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines import run, tracking

DOCUMENT = {
    "execution_id": "local-1",
    "status": "Succeeded",
    "seconds": 41.5,
    "evaluation": {
        "regression_metrics": {"wape": {"value": 0.0732}, "mase": {"value": 0.318}},
        "naive_baseline": {"regression_metrics": {"wape": {"value": 0.1697}}},
        "intervals": {"coverage": 0.819, "weighted_quantile_loss": 0.0474},
    },
    "accuracy_after_the_fact": {"wape": 0.0785, "rows": 3654, "window": ["a", "b"]},
    "model_package": {"ModelPackageArn": "arn:x", "ModelPackageVersion": 3},
}


def test_the_figures_logged_are_flat_numbers() -> None:
    assert tracking.metrics_of(DOCUMENT) == {
        "backtest_wape": 0.0732,
        "backtest_mase": 0.318,
        "naive_wape": 0.1697,
        "backtest_coverage": 0.819,
        "backtest_weighted_quantile_loss": 0.0474,
        "after_the_fact_wape": 0.0785,
        "after_the_fact_rows": 3654.0,
        "seconds": 41.5,
    }


def test_an_execution_is_one_run_with_params_metrics_and_files(tmp_path: Path) -> None:
    import mlflow

    plot = tmp_path / "feature_importance.png"
    plot.write_bytes(b"\x89PNG")
    uri, artifacts = tracking.local_store(tmp_path)
    run_id = tracking.log_execution(
        uri, "store-sales-forecast-dev", DOCUMENT, {"MaxDepth": 8}, [plot], None, artifacts
    )
    logged = mlflow.MlflowClient(uri).get_run(run_id)
    assert logged.info.run_name == "local-1"
    assert logged.data.params == {"MaxDepth": "8"}
    assert logged.data.metrics["backtest_wape"] == 0.0732
    assert logged.data.tags["model_package.version"] == "3"
    experiment = mlflow.MlflowClient(uri).get_experiment(logged.info.experiment_id)
    assert experiment.name == "store-sales-forecast-dev"
    assert (artifacts / logged.info.run_id / "artifacts" / "report" / plot.name).is_file()


def test_the_uri_comes_from_the_flag_then_the_profile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = run.parse_run_args(["--mlflow", "http://127.0.0.1:5000"])
    assert run.mlflow_uri(args, tmp_path) == ("http://127.0.0.1:5000", None)
    assert run.mlflow_uri(run.parse_run_args(["--mlflow"]), tmp_path) == (
        f"sqlite:///{(tmp_path / 'mlflow.db').resolve()}",
        tmp_path / "mlartifacts",
    )
    assert run.mlflow_uri(run.parse_run_args([]), tmp_path) is None
    config = tmp_path / "tracking.toml"
    config.write_text('[tracking]\nmlflow_uri = "http://mlflow.internal:5000"\n')
    args = run.parse_run_args(["--config", str(config)])
    assert run.mlflow_uri(args, tmp_path) == ("http://mlflow.internal:5000", None)

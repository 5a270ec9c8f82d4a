"""processing_scripts/evaluate.py on the real model and test window."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import evaluate
import pytest
from conftest import flatten_steps


@pytest.fixture(scope="module")
def evaluation(prepared: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("evaluation")
    packed = root / "model"
    packed.mkdir()
    with tarfile.open(packed / "model.tar.gz", "w:gz") as tar:  # as SageMaker packs SM_MODEL_DIR
        for item in prepared["model"].iterdir():
            tar.add(item, arcname=item.name)
    out = root / "out"
    assert evaluate.main(["--model-dir", str(packed), "--test-dir", str(prepared["test"]),
                          "--train-dir", str(prepared["train"]), "--output-dir", str(out)]) == 0
    return out


def test_report_shape_and_quality(evaluation: Path) -> None:
    report = json.loads((evaluation / "evaluation.json").read_text())
    metrics = report["regression_metrics"]
    assert set(metrics) == {"mse", "rmse", "mae", "r2", "mape", "wape", "rmspe"}
    for value in metrics.values():
        assert set(value) == {"value", "standard_deviation"}
    # the quality bar: Rossmann holdout (last six weeks, open days) MAPE <= 8.2%
    assert metrics["mape"]["value"] <= 0.082
    naive = report["naive_baseline"]["regression_metrics"]
    assert metrics["mape"]["value"] < 0.6 * naive["mape"]["value"]
    assert report["skill"]["mape_improvement_vs_naive"] > 0.4
    assert report["test_window"] == ["2015-06-20", "2015-07-31"]
    assert report["test_rows"] == 3654


def test_plots_are_written(evaluation: Path) -> None:
    for name in ("predicted_vs_actual.png", "error_by_series.png", "feature_importance.png"):
        data = (evaluation / name).read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 5000
    assert sorted(p.name for p in evaluation.iterdir()) == [
        "error_by_series.png", "evaluation.json", "feature_importance.png",
        "predicted_vs_actual.png"]


@pytest.mark.sdk
def test_condition_paths_exist_in_the_report(evaluation: Path, dev_definition: dict) -> None:
    report = json.loads((evaluation / "evaluation.json").read_text())
    gate = next(s for s in flatten_steps(dev_definition["Steps"]) if s["Type"] == "Condition")
    for condition in gate["Arguments"]["Conditions"]:
        node = report
        for part in condition["LeftValue"]["Std:JsonGet"]["Path"].split("."):
            node = node[part]
        assert isinstance(node, float)


def test_regression_metrics_by_hand() -> None:
    import numpy as np

    m = evaluate.regression_metrics(np.array([100.0, 200.0, 0.0]), np.array([110.0, 180.0, 5.0]))
    assert m["mae"] == pytest.approx(35 / 3)
    assert m["mape"] == pytest.approx((0.1 + 0.1) / 2)  # the zero-sales day is left out
    assert m["wape"] == pytest.approx(35 / 300)
    assert m["rmspe"] == pytest.approx(0.1)


def test_missing_model(tmp_path: Path, prepared: dict[str, Path],
                       capsys: pytest.CaptureFixture[str]) -> None:
    assert evaluate.main(["--model-dir", str(tmp_path), "--test-dir", str(prepared["test"]),
                          "--train-dir", str(prepared["train"]),
                          "--output-dir", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == \
        f"evaluate: error: no model.tar.gz or xgboost-model.ubj in {tmp_path}\n"
    assert list((tmp_path / "out").iterdir()) == []

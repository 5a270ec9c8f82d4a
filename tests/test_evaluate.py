"""processing_scripts/evaluate.py on the real model and test window."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import evaluate
import pandas as pd
import pytest
from conftest import cli_args, flatten_steps


@pytest.fixture(scope="module")
def evaluation(prepared: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("evaluation")
    packed = root / "model"
    packed.mkdir()
    with tarfile.open(packed / "model.tar.gz", "w:gz") as tar:  # as SageMaker packs SM_MODEL_DIR
        for item in prepared["model"].iterdir():
            tar.add(item, arcname=item.name)
    out = root / "out"
    assert (
        evaluate.main(
            cli_args(
                model_dir=packed,
                test_dir=prepared["test"],
                history_dir=prepared["history"],
                output_dir=out,
            )
        )
        == 0
    )
    return out


def test_report_shape_and_quality(evaluation: Path) -> None:
    report = json.loads((evaluation / "evaluation.json").read_text())
    metrics = report["regression_metrics"]
    assert set(metrics) == {
        "mse",
        "rmse",
        "mae",
        "r2",
        "wape",
        "mase",
        "bias",
        "mape",
        "rmspe",
    }
    for value in metrics.values():
        assert set(value) == {"value", "standard_deviation"}
    assert report["metric_rows"]["mape"] == "open days with positive actuals only"
    assert report["metric_rows"]["wape"] == "all open days"
    # the quality bar: the back-test (the six weeks before the demo's held-back six, open
    # days, zero-demand days included) MAPE <= 7.5%
    assert metrics["mape"]["value"] <= 0.075
    naive = report["naive_baseline"]["regression_metrics"]
    assert naive["mase"]["value"] > 0.5 and metrics["mase"]["value"] < 0.6 * naive["mase"]["value"]
    assert metrics["wape"]["value"] < 0.6 * naive["wape"]["value"]
    assert abs(metrics["bias"]["value"]) < 0.05
    assert report["skill"]["wape_improvement_vs_naive"] > 0.4
    # P10-P90 from the validation errors: about 80% of the test actuals fall inside
    intervals = report["intervals"]
    assert intervals["levels"] == [0.1, 0.5, 0.9]
    assert 0.75 <= intervals["coverage"] <= 0.85
    assert 0 < intervals["weighted_quantile_loss"] < metrics["wape"]["value"]
    assert report["test_window"] == ["2015-05-09", "2015-06-19"]
    assert report["test_rows"] == 3427


def test_plots_are_written(evaluation: Path) -> None:
    for name in ("predicted_vs_actual.png", "error_by_series.png", "feature_importance.png"):
        data = (evaluation / name).read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 5000
    assert sorted(p.name for p in evaluation.iterdir()) == [
        "error_by_series.png",
        "evaluation.json",
        "feature_importance.png",
        "predicted_vs_actual.png",
    ]


def json_get_paths(node: object) -> list[str]:
    """Every Std:JsonGet path on the Evaluate step's report in a definition fragment."""
    if isinstance(node, dict):
        found = []
        if "Std:JsonGet" in node and "EvaluationReport" in str(node["Std:JsonGet"]):
            found.append(node["Std:JsonGet"]["Path"])
        return found + [p for v in node.values() for p in json_get_paths(v)]
    if isinstance(node, list):
        return [p for v in node for p in json_get_paths(v)]
    return []


def resolve(report: dict, path: str) -> object:
    node: object = report
    for part in path.split("."):
        assert isinstance(node, dict) and part in node, f"{path}: no {part!r}"
        node = node[part]
    return node


@pytest.mark.sdk
def test_condition_paths_exist_in_the_report(
    evaluation: Path, champion_evaluation: Path, dev_definition: dict
) -> None:
    """What CheckQuality and CheckChampion read resolves, with and without a champion; the
    champion FailStep's paths, which only run when there is one, resolve in that report."""
    conditions = [
        s["Arguments"]["Conditions"]
        for s in flatten_steps(dev_definition["Steps"])
        if s["Name"] in ("CheckQuality", "CheckChampion")
    ]
    messages = [
        s["Arguments"]
        for s in flatten_steps(dev_definition["Steps"])
        if s["Name"] == "ChampionNotBeaten"
    ]
    paths = json_get_paths(conditions)
    assert set(paths) == {
        "quality.value",
        "quality.skill_vs_naive",
        "champion.present",
        "champion.improvement",
    }
    alone = json.loads((evaluation / "evaluation.json").read_text())
    compared = json.loads((champion_evaluation / "evaluation.json").read_text())
    for report in (alone, compared):
        for path in paths:
            assert isinstance(resolve(report, path), int | float)
    for path in json_get_paths(messages):
        resolve(compared, path)


@pytest.fixture(scope="module")
def champion_evaluation(
    evaluation: Path, prepared: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The same model evaluated with itself as the champion (packed as SageMaker stores it)."""
    out = tmp_path_factory.mktemp("champion") / "out"
    packed = evaluation.parent / "model"
    assert (
        evaluate.main(
            cli_args(
                model_dir=packed,
                test_dir=prepared["test"],
                history_dir=prepared["history"],
                champion_dir=packed,
                output_dir=out,
                no_plots=True,
            )
        )
        == 0
    )
    return out


def test_without_a_champion_the_report_says_so(evaluation: Path) -> None:
    report = json.loads((evaluation / "evaluation.json").read_text())
    assert report["champion"] == {
        "present": 0,
        "metric": "wape",
        "improvement": 0.0,
        "summary": "no approved champion: judged on the absolute thresholds alone",
    }


def test_the_champion_is_scored_on_the_same_rows(champion_evaluation: Path) -> None:
    report = json.loads((champion_evaluation / "evaluation.json").read_text())
    champion = report["champion"]
    assert champion["present"] == 1
    assert champion["regression_metrics"] == report["regression_metrics"]
    assert champion["improvement"] == 0.0 and champion["metric"] == "wape"
    assert champion["summary"].endswith(": as good")
    # scored through its back-test model, fitted before the test window
    assert champion["trained_on"] == ["2013-01-01", "2015-03-27"]


def test_the_no_champion_marker_means_no_champion(
    prepared: dict[str, Path], evaluation: Path, tmp_path: Path
) -> None:
    from pipelines.code_assets import code_assets

    [(marker, name)] = code_assets().no_champion.members
    assert name == evaluate.NO_CHAMPION_FILE
    (tmp_path / "champion").mkdir()
    (tmp_path / "champion" / name).write_bytes(marker.read_bytes())
    assert (
        evaluate.main(
            cli_args(
                model_dir=evaluation.parent / "model",
                test_dir=prepared["test"],
                history_dir=prepared["history"],
                champion_dir=tmp_path / "champion",
                output_dir=tmp_path / "out",
                no_plots=True,
            )
        )
        == 0
    )
    report = json.loads((tmp_path / "out" / "evaluation.json").read_text())
    assert report["champion"]["present"] == 0


def test_a_champion_uri_that_is_not_a_model_is_refused(
    prepared: dict[str, Path], evaluation: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "champion").mkdir()
    (tmp_path / "champion" / "notes.txt").write_text("not a model")
    assert (
        evaluate.main(
            cli_args(
                model_dir=evaluation.parent / "model",
                test_dir=prepared["test"],
                history_dir=prepared["history"],
                champion_dir=tmp_path / "champion",
                output_dir=tmp_path / "out",
            )
        )
        == 2
    )
    err = capsys.readouterr().err
    assert err.startswith(
        f"evaluate: error: champion input {tmp_path / 'champion'} holds "
        "neither model.tar.gz nor the no-champion marker NO_CHAMPION.txt"
    )
    assert list((tmp_path / "out").iterdir()) == []


def test_champion_category_codes_are_translated_to_its_own() -> None:
    import numpy as np
    import pandas as pd

    ours = {
        "features": [
            {"name": "StoreType", "type": "categorical", "categories": ["a", "b", "c"]},
            {"name": "Promo", "type": "numeric"},
        ]
    }
    # the champion was trained when only "b" and "c" existed, in another order
    theirs = {
        "features": [
            {"name": "Promo", "type": "numeric"},
            {"name": "StoreType", "type": "categorical", "categories": ["c", "b"]},
        ]
    }
    frame = pd.DataFrame({"StoreType": [0.0, 1.0, 2.0, np.nan], "Promo": [1.0, 0.0, 1.0, 0.0]})
    matrix = evaluate.feature_matrix(frame, theirs, codes_from=ours)
    np.testing.assert_array_equal(matrix[:, 0], [1, 0, 1, 0])
    np.testing.assert_array_equal(matrix[:, 1], [np.nan, 1, 0, np.nan])
    with pytest.raises(
        evaluate.EvaluationError, match=r"the champion model needs feature column\(s\) \['lag_7'\]"
    ):
        evaluate.feature_matrix(
            frame, {"features": [{"name": "lag_7", "type": "numeric"}]}, codes_from=ours
        )


def test_regression_metrics_by_hand() -> None:
    import numpy as np

    m = evaluate.regression_metrics(np.array([100.0, 200.0, 0.0]), np.array([110.0, 180.0, 5.0]))
    assert m["mae"] == pytest.approx(35 / 3)
    assert m["mape"] == pytest.approx((0.1 + 0.1) / 2)  # the zero-sales day is left out
    assert m["wape"] == pytest.approx(35 / 300)  # the zero-demand day counts
    assert m["rmspe"] == pytest.approx(0.1)
    assert m["bias"] == pytest.approx((10 - 20 + 5) / 300)
    scaled = evaluate.regression_metrics(
        np.array([100.0, 0.0]), np.array([110.0, 5.0]), scale=np.array([20.0, np.nan])
    )
    assert scaled["mase"] == pytest.approx(10 / 20)  # a series without a scale is left out


def test_seasonal_naive_and_its_scale_by_hand() -> None:
    """The naive forecast repeats the last observed week before the test window; MASE's
    scale is that week-ago forecast's mean absolute error inside the history."""
    import numpy as np

    days = pd.date_range("2015-01-01", periods=21, freq="D")
    sales = [10.0 * (i % 7) + (0 if i < 7 else 7) for i in range(14)] + [np.nan] * 7
    history = pd.DataFrame({"Store": 1, "Date": days, "Sales": sales}).dropna()
    test = pd.DataFrame({"Store": [1, 1], "Date": [days[14], days[20]], "Sales": [1.0, 2.0]})
    schema = {
        "series_columns": ["Store"],
        "date_column": "Date",
        "target_column": "Sales",
        "windows": {"test": ["2015-01-15", "2015-01-21"]},
    }
    # days[14] is the weekday of days[7] (sales 7), days[20] that of days[13] (67)
    assert evaluate.naive_forecast(history, test, schema).tolist() == [7.0, 67.0]
    assert evaluate.naive_scale(history, test, schema).tolist() == [7.0, 7.0]


def test_interval_coverage_and_quantile_loss_by_hand() -> None:
    import numpy as np

    actual = np.array([100.0, 0.0, 50.0])
    quantiles = {
        0.1: np.array([80.0, 0.0, 60.0]),
        0.5: np.array([100.0, 1.0, 70.0]),
        0.9: np.array([120.0, 2.0, 80.0]),
    }
    q = evaluate.quantile_metrics(actual, quantiles)
    assert q["coverage"] == pytest.approx(2 / 3)  # 50 lies below P10
    assert q["nominal_coverage"] == pytest.approx(0.8)
    # pinball loss at 0.5: 0.5 * (0 + 1 + 20), doubled, over sum(|actual|) = 150
    assert q["quantile_loss"]["0.5"] == pytest.approx(2 * 0.5 * 21 / 150)
    # at 0.1: actual below the forecast costs 0.9 per unit: 0.9 * (0 + 0 + 10)
    assert q["quantile_loss"]["0.1"] == pytest.approx(2 * (0.1 * 20 + 0.9 * 10) / 150)


def test_missing_model(
    tmp_path: Path, prepared: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        evaluate.main(
            cli_args(
                model_dir=tmp_path,
                test_dir=prepared["test"],
                history_dir=prepared["history"],
                output_dir=tmp_path / "out",
            )
        )
        == 2
    )
    assert (
        capsys.readouterr().err
        == f"evaluate: error: no model.tar.gz or xgboost-model.ubj in {tmp_path}\n"
    )
    assert list((tmp_path / "out").iterdir()) == []

"""Drift monitoring: the PSI arithmetic, the baseline drift.py fits on preprocess's reference
rows, drift.py on real Rossmann rows, and the pipeline failing on severe drift when
FailOnSevereDrift=1."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import drift
import pandas as pd
import pytest
from conftest import cli_args, preprocess_into

# ----------------------------------------------------------------------------- arithmetic


def test_psi_matches_the_textbook_formula() -> None:
    expected, actual = [0.5, 0.3, 0.2], [0.2, 0.3, 0.5]
    by_hand = sum((a - e) * math.log(a / e) for e, a in zip(expected, actual, strict=True))
    assert drift.psi(expected, actual) == pytest.approx(by_hand)
    assert drift.psi(expected, expected) == 0.0
    # an empty bin does not make the index infinite
    assert math.isfinite(drift.psi([0.0, 1.0], [0.5, 0.5]))


@pytest.mark.parametrize(
    ("value", "grade"),
    [
        (0.0, "minor"),
        (0.0999, "minor"),
        (0.1, "moderate"),
        (0.25, "moderate"),
        (0.2501, "severe"),
        (3.0, "severe"),
    ],
)
def test_grades_follow_the_legacy_platform(value: float, grade: str) -> None:
    assert drift.grade(value) == grade


def test_numeric_shares_keep_a_bin_for_missing_values() -> None:
    values = pd.Series([1.0, 2.0, 3.0, None])
    assert drift.numeric_shares(values, [1.5, 2.5]) == [0.25, 0.25, 0.25, 0.25]


def test_a_category_unseen_in_the_baseline_counts_as_drift() -> None:
    baseline = {
        "features": {"StoreType_code": {"type": "categorical", "proportions": {"0": 0.5, "1": 0.5}}}
    }
    report = drift.compare(baseline, pd.DataFrame({"StoreType_code": [2.0] * 10}))
    assert report["severe_features"] == ["StoreType_code"]
    assert report["summary"].startswith("StoreType_code (PSI ")


def test_a_feature_the_reference_mostly_lacks_is_not_monitored() -> None:
    """Two years of data: a reference a year back has a one-year lag on few of its rows, and
    a PSI against it would grade the gap, not the data, as severe drift on every run."""
    reference = pd.DataFrame(
        {"Promo": [0.0, 1.0] * 50, "lag_364": [7.0] * 28 + [None] * 72}  # 72% missing
    )
    schema = {
        "features": [{"name": "Promo", "type": "numeric"}, {"name": "lag_364", "type": "numeric"}]
    }
    baseline = drift.build_baseline(reference, schema)
    assert list(baseline["features"]) == ["Promo"]
    assert baseline["unmonitored"] == ["lag_364"] and baseline["sparse"] == {"lag_364": 0.72}
    batch = pd.DataFrame({"Promo": [0.0, 1.0] * 5, "lag_364": [9.0] * 10})
    assert drift.compare(baseline, batch)["severe_features"] == []


def test_a_feature_missing_from_the_batch_is_refused() -> None:
    baseline = {
        "features": {"Promo": {"type": "numeric", "edges": [0.5], "proportions": [0.6, 0.4, 0.0]}}
    }
    with pytest.raises(drift.DriftError, match="no feature column 'Promo'"):
        drift.compare(baseline, pd.DataFrame({"Sales": [1.0]}))


# ------------------------------------------------------------------------- reference window


def test_seasonal_reference_is_the_batch_window_a_year_earlier(rossmann: pd.DataFrame) -> None:
    train = rossmann.assign(Date=pd.to_datetime(rossmann["Date"]))
    train = train[train["Date"] <= "2015-05-08"]
    rows, described = drift.reference_window(
        train, "Date", pd.Timestamp("2015-06-20"), pd.Timestamp("2015-07-31")
    )
    assert described == {
        "mode": "seasonal",
        "start": "2014-06-21",
        "end": "2014-08-01",
        "rows": len(rows),
    }
    assert rows["Date"].min() == pd.Timestamp("2014-06-21")
    assert rows["Date"].min().day_of_week == pd.Timestamp("2015-06-20").day_of_week


def test_seasonal_reference_falls_back_when_the_data_is_shorter_than_a_year(
    rossmann: pd.DataFrame,
) -> None:
    train = rossmann.assign(Date=pd.to_datetime(rossmann["Date"]))
    train = train[train["Date"].between("2015-01-01", "2015-05-08")]
    rows, described = drift.reference_window(
        train, "Date", pd.Timestamp("2015-06-20"), pd.Timestamp("2015-07-31")
    )
    assert len(rows) == len(train)
    assert described["mode"] == "training"
    assert "used the whole window" in described["note"]


def test_unknown_reference_mode_is_refused(rossmann: pd.DataFrame) -> None:
    with pytest.raises(drift.DriftError, match="drift reference must be one of"):
        drift.reference_window(
            rossmann, "Date", pd.Timestamp("2015-06-20"), pd.Timestamp("2015-07-31"), "last-month"
        )


# ------------------------------------------------------------------ drift.py on real rows


def run_drift(
    prepared: dict[str, Path], out: Path, batch: Path | None = None, reference: Path | None = None
) -> dict[str, Any]:
    """drift.py on preprocess's outputs (another batch or reference folder, if given)."""
    args = cli_args(
        schema_dir=prepared["schema"],
        reference_dir=reference or prepared["reference"],
        batch_dir=batch or prepared["batch"],
        output_dir=out,
    )
    assert drift.main(args) == 0
    assert (out / "drift.png").stat().st_size > 0
    return json.loads((out / "drift.json").read_text())


def test_the_batch_of_the_same_period_shows_no_severe_drift(
    prepared: dict[str, Path], tmp_path: Path
) -> None:
    report = run_drift(prepared, tmp_path)
    baseline = json.loads((tmp_path / drift.BASELINE_FILE).read_text())
    assert baseline["reference"]["mode"] == "seasonal"
    assert "Promo" in baseline["features"] and "day_of_week" in baseline["unmonitored"]
    # the batch holds one origin: what it knew there is one value per store, never compared
    assert {"days_ahead", "origin_mean_7"} <= set(baseline["unmonitored"])
    assert report["severe_count"] == 0 and report["summary"] == "none"
    assert report["rows"] == 3654
    assert set(report["features"]) == set(baseline["features"])


def shifted_rossmann(demo: pd.DataFrame) -> pd.DataFrame:
    """TEST-BUILT SHIFT, not real data: the demo input with a promotion on every day of the
    forecast window (its future rows, from 2015-06-20) and sales 50% higher from 2015-04-01,
    so the lags and rolling means the batch carries move too."""
    shifted = demo.copy()
    dates = pd.to_datetime(shifted["Date"])
    shifted.loc[dates >= "2015-06-20", "Promo"] = True
    later = dates >= "2015-04-01"
    shifted["Sales"] = shifted["Sales"].astype("Float64")
    shifted.loc[later, "Sales"] = (shifted.loc[later, "Sales"] * 1.5).round()
    return shifted


@pytest.fixture(scope="module")
def shifted_file(rossmann_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("shifted") / "rossmann_shifted.csv"
    shifted_rossmann(pd.read_csv(rossmann_file)).to_csv(path, index=False)
    return path


def test_shifted_promotions_and_sales_levels_are_graded_severe(
    shifted_file: Path, tmp_path: Path
) -> None:
    dirs = preprocess_into(shifted_file, tmp_path)
    report = run_drift(dirs, tmp_path / "drift")
    severe = set(report["severe_features"])
    assert {"Promo", "roll_mean_28", "lag_42"} <= severe
    assert report["features"]["Promo"]["psi"] > 1
    # the features nobody shifted stay calm
    assert report["features"]["StoreType"]["grade"] == "minor"


def test_the_baseline_in_model_monitors_format(prepared: dict[str, Path], tmp_path: Path) -> None:
    """statistics.json and constraints.json (Model Monitor's data-quality schema) describe
    the same reference rows as the PSI baseline, one entry per model feature."""
    run_drift(prepared, tmp_path)
    schema = json.loads((prepared["schema"] / "history_schema.json").read_text())
    baseline = json.loads((tmp_path / drift.BASELINE_FILE).read_text())
    statistics = json.loads((tmp_path / "statistics.json").read_text())
    constraints = json.loads((tmp_path / "constraints.json").read_text())
    names = [f["name"] for f in schema["features"]]
    assert [f["name"] for f in statistics["features"]] == names
    assert [f["name"] for f in constraints["features"]] == names
    assert statistics["dataset"]["item_count"] == baseline["reference"]["rows"]
    by_name = {f["name"]: f for f in statistics["features"]}
    promo = by_name["Promo"]
    assert promo["inferred_type"] == "Integral"
    numbers = promo["numerical_statistics"]
    assert numbers["min"] == 0 and numbers["max"] == 1 and 0 < numbers["mean"] < 1
    buckets = numbers["distribution"]["kll"]["buckets"]
    assert len(buckets) == 10
    assert sum(b["count"] for b in buckets) == numbers["common"]["num_present"]
    # the KLL sketch: items at level h weigh 2**h, in all about as many values as present
    for feature in statistics["features"]:
        stats = feature["numerical_statistics"]
        sketch = stats["distribution"]["kll"]["sketch"]
        assert sketch["parameters"] == {"c": 0.64, "k": 2048.0}
        weight = sum(len(items) * 2**h for h, items in enumerate(sketch["data"]))
        present = stats["common"]["num_present"]
        assert abs(weight - present) <= 2 ** (len(sketch["data"]) - 1)
        assert max(len(items) for items in sketch["data"]) <= 2048
    lag = next(f for f in constraints["features"] if f["name"] == "lag_364")
    assert lag["inferred_type"] == "Fractional" and 0 < lag["completeness"] <= 1
    assert lag["num_constraints"] == {"is_non_negative": True}
    assert constraints["monitoring_config"]["evaluate_constraints"] == "Enabled"


def test_batch_shards_are_read_as_one_batch(prepared: dict[str, Path], tmp_path: Path) -> None:
    """With several Batch Transform instances preprocess writes batch-000.csv, ...: the drift
    report is the one of the whole batch."""
    rows = (prepared["batch"] / "batch.csv").read_text().splitlines(keepends=True)
    shards = tmp_path / "shards"
    shards.mkdir()
    (shards / "batch-000.csv").write_text("".join(rows[::2]))
    (shards / "batch-001.csv").write_text("".join(rows[1::2]))
    whole = run_drift(prepared, tmp_path / "whole")
    split = run_drift(prepared, tmp_path / "split", batch=shards)
    assert split["rows"] == whole["rows"] == 3654
    assert split["features"] == whole["features"]


def test_reference_shards_give_the_baseline_of_their_union(
    prepared: dict[str, Path], tmp_path: Path
) -> None:
    """Preprocess on several instances writes one reference file per unit of series: the
    baseline fitted on them is the one of all the rows."""
    rows = pd.read_parquet(prepared["reference"] / "reference.parquet")
    shards = tmp_path / "reference"
    shards.mkdir()
    stores = rows["Store"] % 3
    for k in range(3):
        rows[stores == k].to_parquet(shards / f"reference-{k:05d}.parquet", index=False)
    run_drift(prepared, tmp_path / "whole")
    run_drift(prepared, tmp_path / "split", reference=shards)
    whole, split = (
        json.loads((tmp_path / side / drift.BASELINE_FILE).read_text())
        for side in ("whole", "split")
    )
    assert split == whole
    # Model Monitor's statistics: the same counts and ranges (its KLL sketch and float sums
    # depend on the rows' order, which the shards change)
    whole, split = (
        {
            f["name"]: f["numerical_statistics"]
            for f in json.loads((tmp_path / side / "statistics.json").read_text())["features"]
        }
        for side in ("whole", "split")
    )
    assert split.keys() == whole.keys()
    for name, stats in whole.items():
        assert split[name]["common"] == stats["common"]
        assert (split[name]["min"], split[name]["max"]) == (stats["min"], stats["max"])
        assert split[name]["mean"] == pytest.approx(stats["mean"], rel=1e-9)


def test_missing_reference_is_one_clear_error(
    prepared: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = cli_args(
        schema_dir=prepared["schema"],
        reference_dir=tmp_path,
        batch_dir=prepared["batch"],
        output_dir=tmp_path / "out",
    )
    assert drift.main(args) == 2
    err = capsys.readouterr().err
    assert f"drift: error: no reference.parquet (or its shards) in {tmp_path}" in err
    assert not (tmp_path / "out").exists()


# -------------------------------------------------------------------- through the runner


@pytest.mark.sdk
def test_severe_drift_fails_the_execution_when_asked(
    shifted_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pipelines import run

    # the shifted data also hurts accuracy: relax the quality bar so the run reaches drift
    common = [
        "--local",
        "--workdir",
        str(tmp_path),
        "--input",
        str(shifted_file),
        "--json",
        "--param",
        "MaxQualityMetric=10",
        "--param",
        "MinSkillVsNaive=-10",
    ]
    assert run.main([*common]) == 0  # reported, not fatal, by default
    reported = json.loads(capsys.readouterr().out)
    assert {s["name"]: s["status"] for s in reported["steps"]}["SevereDrift"] == "Skipped"

    assert run.main([*common, "--param", "FailOnSevereDrift=1"]) == 1
    result = json.loads(capsys.readouterr().out)
    status = {s["name"]: s["status"] for s in result["steps"]}
    assert status["MonitorDrift"] == "Succeeded" and status["SevereDrift"] == "Failed"
    reason = result["failure_reason"]
    assert reason.startswith("Severe drift (PSI > 0.25) of the batch input")
    assert "Promo (PSI " in reason and "roll_mean_28 (PSI " in reason
    assert "FailOnSevereDrift=1" in reason
    # registration comes after the drift check: a run that fails on drift registers nothing
    assert status["RegisterModel"] == "Skipped" and result["model_package"] is None
    registry = json.loads((tmp_path / "registry" / "registry.json").read_text())
    assert [
        v["ModelPackageVersion"] for v in registry["groups"]["store-sales-forecast"]["versions"]
    ] == [1]

"""Score the trained model on the test window and write evaluation.json plus PNG plots.

evaluation.json follows the model-quality shape SageMaker's model registry displays
(`regression_metrics.<name>.value` / `.standard_deviation`), adds the forecasting metrics
(MAPE, WAPE, RMSPE) and the same metrics for a naive baseline (each series' weekday mean over
the training window) so the model's skill is visible at a glance. Standard deviations are
taken across series: how much the metric varies from one store to the next.

Runs in the SageMaker XGBoost 3.0-5 image as a processing job, or from a shell:

    python processing_scripts/evaluate.py --model-dir out/model --test-dir out/test \
        --history-dir out/history --output-dir out/evaluation [--champion-dir champion/]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb
from features import key_strings  # ships in the same code folder

MODEL_FILE = "xgboost-model.ubj"
SCHEMA_FILE = "feature_schema.json"
BACKTEST_DIR = "backtest"  # the back-test's model inside a model artifact
HISTORY_FILE = "history.parquet"
EVALUATION_FILE = "evaluation.json"
NO_CHAMPION_FILE = "NO_CHAMPION.txt"  # the marker staged at ChampionModelDataUri's default
METRIC_NAMES = ("mse", "rmse", "mae", "r2", "wape", "mase", "bias", "mape", "rmspe")
# The metrics the quality gate may judge (lower is better for each).
QUALITY_METRICS = ("wape", "mase", "mape", "rmspe")
# Over which rows each metric is taken: every open day, except the two ratio metrics, which
# are undefined where the actual is zero.
METRIC_ROWS = {
    **{name: "all open days" for name in METRIC_NAMES},
    "mape": "open days with positive actuals only",
    "rmspe": "open days with positive actuals only",
}


class EvaluationError(ValueError):
    """Missing or unusable model or data: the message names the file."""


def unpack_model(model_dir: Path, into: Path) -> Path:
    """Return a folder holding the model files: model_dir itself, or model.tar.gz unpacked."""
    if (model_dir / MODEL_FILE).is_file():
        return model_dir
    archive = model_dir / "model.tar.gz"
    if not archive.is_file():
        raise EvaluationError(f"no model.tar.gz or {MODEL_FILE} in {model_dir}")
    with tarfile.open(archive) as tar:
        members = [
            m
            for m in tar.getmembers()
            if m.isfile() and not m.name.startswith(("/", "..")) and ".." not in Path(m.name).parts
        ]
        # Python >= 3.10.12 also applies the "data" extraction filter.
        safe: dict[str, Any] = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        # Members filtered above (bandit B202).
        tar.extractall(into, members=members, **safe)  # nosec B202
    if not (into / MODEL_FILE).is_file():
        raise EvaluationError(f"{archive} holds no {MODEL_FILE}")
    return into


def load_model(folder: Path) -> tuple[xgb.Booster, dict[str, Any]]:
    """The back-test's model of an artifact (backtest/), or its only model (an artifact
    trained before the forecast was refit on all history): the one that never saw the
    test window."""
    if (folder / BACKTEST_DIR / MODEL_FILE).is_file():
        folder = folder / BACKTEST_DIR
    booster = xgb.Booster()
    booster.load_model(str(folder / MODEL_FILE))
    schema_path = folder / SCHEMA_FILE
    if not schema_path.is_file():
        raise EvaluationError(f"the model has no {SCHEMA_FILE}")
    return booster, json.loads(schema_path.read_text())


def load_champion(
    champion_dir: Path | None, into: Path
) -> tuple[xgb.Booster, dict[str, Any]] | None:
    """The champion's model and schema, or None: no --champion-dir, or the no-champion
    marker (the default of the pipeline's ChampionModelDataUri)."""
    if champion_dir is None:
        return None
    if (champion_dir / "model.tar.gz").is_file() or (champion_dir / MODEL_FILE).is_file():
        return load_model(unpack_model(champion_dir, into))
    if (champion_dir / NO_CHAMPION_FILE).is_file():
        return None
    raise EvaluationError(
        f"champion input {champion_dir} holds neither model.tar.gz nor the no-champion "
        f"marker {NO_CHAMPION_FILE}: ChampionModelDataUri must be a model artifact's "
        "model.tar.gz URI (or its default, for no champion)"
    )


def feature_matrix(
    frame: pd.DataFrame, schema: dict[str, Any], codes_from: dict[str, Any] | None = None
) -> np.ndarray:
    """The model's feature matrix, in its schema's order.

    `codes_from` is the schema that encoded `frame`, when it is not `schema` itself (the
    champion was trained on another window): category codes are then mapped back to their
    values and on to `schema`'s codes, a value it never saw becoming missing, as at inference.
    """
    names = [f["name"] for f in schema["features"]]
    missing = [n for n in names if n not in frame.columns]
    if missing:
        whose = "the champion model needs" if codes_from else "test data lacks"
        raise EvaluationError(f"{whose} feature column(s) {missing}")
    matrix = frame[names].to_numpy(dtype="float64", copy=True)
    encoded_by = {f["name"]: f.get("categories") for f in (codes_from or schema)["features"]}
    for col, spec in enumerate(schema["features"]):
        ours, theirs = encoded_by.get(spec["name"]), spec.get("categories")
        if spec["type"] != "categorical" or ours is None or ours == theirs:
            continue
        lookup = {value: float(i) for i, value in enumerate(theirs or [])}
        recode = np.array([lookup.get(value, np.nan) for value in ours] + [np.nan])
        values = matrix[:, col]
        index = np.where(np.isnan(values), len(ours), values).astype("int64")
        matrix[:, col] = recode[np.clip(index, 0, len(ours))]
    return matrix.astype("float32")


def predict_sales(
    booster: xgb.Booster,
    frame: pd.DataFrame,
    schema: dict[str, Any],
    codes_from: dict[str, Any] | None = None,
) -> np.ndarray:
    """Predictions on the original sales scale (log1p models learn log1p(sales))."""
    raw = np.asarray(booster.inplace_predict(feature_matrix(frame, schema, codes_from)), "float64")
    values = np.expm1(raw) if schema.get("target_transform", "log1p") == "log1p" else raw
    return np.clip(values, 0, None)


def interval(predicted: np.ndarray, schema: dict[str, Any]) -> dict[float, np.ndarray]:
    """{level: forecast} for the model's quantile levels (P10, P50, P90 by default)."""
    spec = schema.get("intervals") or {"levels": [0.5], "log1p_offsets": [0.0]}
    base = np.log1p(predicted)
    return {
        float(level): np.clip(np.expm1(base + offset), 0, None)
        for level, offset in zip(spec["levels"], spec["log1p_offsets"], strict=True)
    }


def quantile_metrics(actual: np.ndarray, quantiles: dict[float, np.ndarray]) -> dict[str, Any]:
    """Interval coverage (share of actuals between the outer quantiles) and the weighted
    quantile loss, 2 * sum(pinball loss) / sum(|actual|) per level and averaged."""
    total = float(np.sum(np.abs(actual))) or 1.0
    losses = {}
    for level, forecast in quantiles.items():
        diff = actual - forecast
        losses[f"{level:g}"] = float(
            2 * np.sum(np.maximum(level * diff, (level - 1) * diff)) / total
        )
    low, high = quantiles[min(quantiles)], quantiles[max(quantiles)]
    return {
        "levels": sorted(quantiles),
        "coverage": float(np.mean((actual >= low) & (actual <= high))),
        "nominal_coverage": max(quantiles) - min(quantiles),
        "weighted_quantile_loss": float(np.mean(list(losses.values()))),
        "quantile_loss": losses,
    }


def regression_metrics(
    actual: np.ndarray, predicted: np.ndarray, scale: np.ndarray | None = None
) -> dict[str, float]:
    """Point metrics over all rows; MAPE and RMSPE over positive actuals only. MASE divides
    each row's absolute error by its series' in-sample seasonal-naive error (`scale`)."""
    error = predicted - actual
    mse = float(np.mean(error**2))
    variance = float(np.var(actual))
    positive = actual > 0
    ratio = error[positive] / actual[positive]
    total = float(np.sum(np.abs(actual)))
    scaled = np.abs(error) / scale if scale is not None else np.array([])
    scaled = scaled[np.isfinite(scaled)]
    return {
        "mse": mse,
        "rmse": float(np.sqrt(mse)),
        "mae": float(np.mean(np.abs(error))),
        "r2": float(1 - mse / variance) if variance > 0 else 0.0,
        "wape": float(np.sum(np.abs(error)) / total) if total else 0.0,
        "mase": float(np.mean(scaled)) if scaled.size else 0.0,
        "bias": float(np.sum(error) / total) if total else 0.0,
        "mape": float(np.mean(np.abs(ratio))) if positive.any() else 0.0,
        "rmspe": float(np.sqrt(np.mean(ratio**2))) if positive.any() else 0.0,
    }


def metrics_report(
    actual: np.ndarray, predicted: np.ndarray, series: pd.Series, scale: np.ndarray | None = None
) -> dict[str, dict[str, float]]:
    """{"metric": {"value", "standard_deviation"}} with the deviation across series."""
    overall = regression_metrics(actual, predicted, scale)
    per_series = pd.DataFrame(
        [
            regression_metrics(actual[idx], predicted[idx], None if scale is None else scale[idx])
            for idx in series.groupby(series).indices.values()
        ]
    )
    return {
        name: {
            "value": overall[name],
            "standard_deviation": float(per_series[name].std(ddof=0)) if len(per_series) else 0.0,
        }
        for name in METRIC_NAMES
    }


def before(history: pd.DataFrame, schema: dict[str, Any], day: str) -> pd.DataFrame:
    """The history rows before `day` (the test window's start): what a forecast made then
    could know."""
    dates = pd.to_datetime(history[schema["date_column"]])
    return history.loc[dates < pd.Timestamp(day)].assign(_date=dates, _dow=dates.dt.day_of_week)


@dataclass
class NaiveFacts:
    """What the seasonal naive and MASE's scale take from the history before the test
    window, per series: made shard by shard (each holds whole series), so the history is
    never in memory at once."""

    by_dow: pd.Series  # (keys..., weekday) -> the last observed value on that weekday
    by_series: pd.Series  # keys -> the last observed value
    scale: pd.Series  # keys -> mean absolute one-week seasonal-naive error
    total: float  # sum and count of the observed values (the fallback's mean)
    count: int


def naive_facts(history: pd.DataFrame, schema: dict[str, Any]) -> NaiveFacts:
    keys, target = schema["series_columns"], schema["target_column"]
    known = before(history, schema, schema["windows"]["test"][0]).sort_values("_date")
    week_ago = known[[*keys, "_date", target]].assign(_date=known["_date"] + pd.Timedelta(days=7))
    pairs = known[[*keys, "_date", target]].merge(
        week_ago, on=[*keys, "_date"], suffixes=("", "_week_ago")
    )
    errors = (pairs[target] - pairs[f"{target}_week_ago"]).abs()
    return NaiveFacts(
        by_dow=known.groupby([*keys, "_dow"])[target].last(),
        by_series=known.groupby(keys)[target].last(),
        scale=errors.groupby([pairs[k] for k in keys]).mean(),
        total=float(known[target].sum()),
        count=int(known[target].count()),
    )


def merge_naive(parts: list[NaiveFacts]) -> NaiveFacts:
    """One NaiveFacts of several shards' (whose series are disjoint, as preprocess writes)."""
    if len(parts) == 1:
        return parts[0]
    merged = NaiveFacts(
        by_dow=pd.concat([p.by_dow for p in parts]),
        by_series=pd.concat([p.by_series for p in parts]),
        scale=pd.concat([p.scale for p in parts]),
        total=sum(p.total for p in parts),
        count=sum(p.count for p in parts),
    )
    if merged.by_series.index.has_duplicates:
        raise EvaluationError("history shards share series: each must hold whole series")
    return merged


def _facts(history: pd.DataFrame | NaiveFacts, schema: dict[str, Any]) -> NaiveFacts:
    return history if isinstance(history, NaiveFacts) else naive_facts(history, schema)


def naive_forecast(
    history: pd.DataFrame | NaiveFacts, test: pd.DataFrame, schema: dict[str, Any]
) -> np.ndarray:
    """Seasonal naive, on the very rows the model is scored on: each series' last observed
    value on the same weekday before the test window (its last observed value, then the
    overall mean, where it has none)."""
    facts = _facts(history, schema)
    keys, date = schema["series_columns"], schema["date_column"]
    scored = test[[*keys, date]].assign(_dow=pd.to_datetime(test[date]).dt.day_of_week)
    scored = scored.join(facts.by_dow.rename("_by_dow"), on=[*keys, "_dow"])
    scored = scored.join(facts.by_series.rename("_by_series"), on=keys)
    mean = facts.total / facts.count if facts.count else float("nan")
    guess = scored["_by_dow"].fillna(scored["_by_series"]).fillna(mean)
    return guess.to_numpy(dtype="float64")


def naive_scale(
    history: pd.DataFrame | NaiveFacts, test: pd.DataFrame, schema: dict[str, Any]
) -> np.ndarray:
    """Per test row, its series' mean absolute seasonal-naive (one week) error in the
    history before the test window: MASE's denominator (NaN where the series has none)."""
    scale = _facts(history, schema).scale
    rows = test[schema["series_columns"]].join(
        scale.where(scale > 0).rename("_scale"), on=schema["series_columns"]
    )
    return rows["_scale"].to_numpy(dtype="float64")


def quality_report(
    model_metrics: dict[str, dict[str, float]],
    naive_metrics: dict[str, dict[str, float]],
    name: str,
) -> dict[str, Any]:
    """The "quality" block the CheckQuality condition reads: the chosen metric, its value
    and its skill over the seasonal naive (1 - model / naive; > 0 is better)."""
    value, naive = model_metrics[name]["value"], naive_metrics[name]["value"]
    return {
        "metric": name,
        "label": name.upper(),
        "value": value,
        "naive_value": naive,
        "skill_vs_naive": 1 - value / naive if naive > 0 else 0.0,
        "rows": METRIC_ROWS[name],
    }


def champion_report(
    model_metrics: dict[str, dict[str, float]],
    actual: np.ndarray,
    series: pd.Series,
    scale: np.ndarray,
    test: pd.DataFrame,
    schema: dict[str, Any],
    champion: tuple[xgb.Booster, dict[str, Any]] | None,
    name: str = "wape",
) -> dict[str, Any]:
    """The "champion" block the CheckChampion condition reads. Always has `present` and
    `improvement` (relative, in the gate's metric `name`: (champion - model) / champion;
    > 0 is better), so the condition's JSON paths resolve whether or not there is a
    champion. The champion is scored through its own back-test model: its forecast model
    has seen this test window."""
    if champion is None:
        return {
            "present": 0,
            "metric": name,
            "improvement": 0.0,
            "summary": "no approved champion: judged on the absolute thresholds alone",
        }
    booster, champion_schema = champion
    predicted = predict_sales(booster, test, champion_schema, codes_from=schema)
    metrics = metrics_report(actual, predicted, series, scale)
    ours, theirs = model_metrics[name]["value"], metrics[name]["value"]
    improvement = (theirs - ours) / theirs if theirs > 0 else 0.0
    trained = champion_schema.get("windows", {}).get("train", [])
    return {
        "present": 1,
        "metric": name,
        "regression_metrics": metrics,
        "improvement": improvement,
        "trained_on": trained,
        "summary": f"back-test {name.upper()} {ours:.4f} vs champion {theirs:.4f}: "
        + (
            f"{abs(improvement):.1%} {'better' if improvement > 0 else 'worse'}"
            if improvement
            else "as good"
        ),
    }


def evaluate(
    booster: xgb.Booster,
    schema: dict[str, Any],
    test: pd.DataFrame,
    history: pd.DataFrame | NaiveFacts,
    champion: tuple[xgb.Booster, dict[str, Any]] | None = None,
    quality_metric: str = "wape",
) -> tuple[dict[str, Any], np.ndarray]:
    """The evaluation report (what evaluation.json holds) and the test predictions.

    `booster` is the back-test's model (fitted before the test window); `history` holds
    every observed row (or what `naive_facts` took from it), from which the naive baseline
    and MASE's scale take what preceded the test window."""
    target = schema["target_column"]
    actual = test[target].to_numpy(dtype="float64")
    series = key_strings(test, schema["series_columns"])
    predicted = predict_sales(booster, test, schema)
    facts = _facts(history, schema)
    naive = naive_forecast(facts, test, schema)
    scale = naive_scale(facts, test, schema)
    model_metrics = metrics_report(actual, predicted, series, scale)
    naive_metrics = metrics_report(actual, naive, series, scale)
    report = {
        "regression_metrics": model_metrics,
        "metric_rows": METRIC_ROWS,
        "intervals": quantile_metrics(actual, interval(predicted, schema)),
        "naive_baseline": {
            "description": "seasonal naive: each series' last observed value on the same "
            "weekday before the test window",
            "regression_metrics": naive_metrics,
        },
        "skill": {
            f"{name}_improvement_vs_naive": 1
            - model_metrics[name]["value"] / naive_metrics[name]["value"]
            for name in ("mape", "wape", "rmspe", "mase")
            if naive_metrics[name]["value"] > 0
        },
        "quality": quality_report(model_metrics, naive_metrics, quality_metric),
        "champion": champion_report(
            model_metrics, actual, series, scale, test, schema, champion, quality_metric
        ),
        "test_window": schema["windows"]["test"],
        "test_rows": len(test),
        "zero_actuals": int(np.sum(actual == 0)),
        "series": int(series.nunique()),
    }
    return report, predicted


def write_plots(
    test: pd.DataFrame,
    predicted: np.ndarray,
    schema: dict[str, Any],
    booster: xgb.Booster,
    folder: Path,
) -> list[str]:
    """Predicted vs actual for a few series, error by series, feature importance."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys, date, target = schema["series_columns"], schema["date_column"], schema["target_column"]
    frame = test[[*keys, date, target]].copy()
    frame["prediction"] = predicted
    frame["series"] = key_strings(frame, keys)
    frame[date] = pd.to_datetime(frame[date])
    written = []

    top = frame.groupby("series")[target].sum().sort_values(ascending=False).index[:4]
    fig, axes = plt.subplots(len(top), 1, figsize=(10, 2.6 * len(top)), sharex=True, squeeze=False)
    for ax, name in zip(axes[:, 0], top, strict=False):
        part = frame[frame["series"] == name].sort_values(date)
        ax.plot(part[date], part[target], marker=".", label="actual")
        ax.plot(part[date], part["prediction"], marker=".", label="predicted")
        ax.set_title(f"{'/'.join(keys)} {name}")
        ax.legend(loc="upper right")
    fig.tight_layout()
    fig.savefig(folder / "predicted_vs_actual.png", dpi=80)
    plt.close(fig)
    written.append("predicted_vs_actual.png")

    positive = frame[frame[target] > 0]
    ape = (positive["prediction"] - positive[target]).abs() / positive[target]
    by_series = ape.groupby(positive["series"]).mean().sort_values()
    fig, ax = plt.subplots(figsize=(10, 4))
    ax.bar(range(len(by_series)), by_series.to_numpy() * 100)
    ax.set_ylabel("MAPE %")
    ax.set_xlabel(f"{'/'.join(keys)} (sorted)")
    ax.set_title("Test MAPE by series")
    fig.tight_layout()
    fig.savefig(folder / "error_by_series.png", dpi=80)
    plt.close(fig)
    written.append("error_by_series.png")

    gain = booster.get_score(importance_type="gain")
    ranked = sorted(gain.items(), key=lambda kv: kv[1])[-20:]
    fig, ax = plt.subplots(figsize=(8, 6))
    ax.barh([k for k, _ in ranked], [v for _, v in ranked])
    ax.set_title("Feature importance (gain)")
    fig.tight_layout()
    fig.savefig(folder / "feature_importance.png", dpi=80)
    plt.close(fig)
    written.append("feature_importance.png")
    return written


def shard_paths(directory: Path, name: str) -> list[Path]:
    """`name` (test.parquet) or every shard of it preprocess wrote (test-00000.parquet, ...,
    one per unit of the data)."""
    stem = name.rpartition(".")[0]
    pattern = re.compile(rf"{re.escape(stem)}(-\d{{5}})?(-\d{{3}})?\.parquet")
    found = directory.iterdir() if directory.is_dir() else ()
    paths = sorted(p for p in found if pattern.fullmatch(p.name))
    if not paths:
        raise EvaluationError(f"no {name} (or its shards {stem}-NNNNN.parquet) in {directory}")
    return paths


def read_parquet(directory: Path, name: str, columns: list[str] | None = None) -> pd.DataFrame:
    """Every shard of `name` as one frame; only `columns`, if given."""
    paths = shard_paths(directory, name)
    frames = [pd.read_parquet(p, columns=columns) for p in paths]
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    if frame.empty:
        raise EvaluationError(f"{', '.join(map(str, paths))}: no rows")
    return frame


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Evaluate the model on the test window.")
    parser.add_argument(
        "--model-dir",
        default="/opt/ml/processing/input/model",
        help="folder with model.tar.gz (or the unpacked model files)",
    )
    parser.add_argument("--test-dir", default="/opt/ml/processing/input/test")
    parser.add_argument(
        "--history-dir",
        default="/opt/ml/processing/input/history",
        help="preprocess's history output (history.parquet or its shards): the naive "
        "baseline's and MASE's past",
    )
    parser.add_argument(
        "--champion-dir",
        type=Path,
        default=None,
        help="the champion's model.tar.gz (or the no-champion marker) to "
        "compare with; default: no champion",
    )
    parser.add_argument("--output-dir", default="/opt/ml/processing/evaluation")
    parser.add_argument(
        "--quality-metric",
        choices=QUALITY_METRICS,
        default="wape",
        help="the metric the quality gate and the champion comparison judge",
    )
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    output = Path(args.output_dir)
    output.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".evaluate.", dir=output))
    try:
        try:
            booster, schema = load_model(unpack_model(Path(args.model_dir), work / "model"))
            test = read_parquet(Path(args.test_dir), "test.parquet")
            keys = [*schema["series_columns"], schema["date_column"], schema["target_column"]]
            history = merge_naive(
                [
                    naive_facts(pd.read_parquet(path, columns=keys), schema)
                    for path in shard_paths(Path(args.history_dir), HISTORY_FILE)
                ]
            )
            champion = load_champion(args.champion_dir, work / "champion")
            report, predicted = evaluate(
                booster, schema, test, history, champion, args.quality_metric
            )
        except (EvaluationError, xgb.core.XGBoostError) as exc:
            print(f"evaluate: error: {exc}", file=sys.stderr)
            return 2
        staged = work / "out"
        staged.mkdir()
        if not args.no_plots:
            report["plots"] = write_plots(test, predicted, schema, booster, staged)
        (staged / EVALUATION_FILE).write_text(json.dumps(report, indent=2, sort_keys=True))
        for child in staged.iterdir():
            os.replace(child, output / child.name)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    m, n = report["regression_metrics"], report["naive_baseline"]["regression_metrics"]
    q = report["intervals"]
    print(
        f"evaluate: back-test over {report['test_rows']} open days "
        f"({report['zero_actuals']} with zero demand): WAPE {m['wape']['value']:.4f} "
        f"(naive {n['wape']['value']:.4f}), MASE {m['mase']['value']:.3f} "
        f"(naive {n['mase']['value']:.3f}), bias {m['bias']['value']:+.4f}; on positive "
        f"actuals MAPE {m['mape']['value']:.4f} (naive {n['mape']['value']:.4f}), "
        f"RMSPE {m['rmspe']['value']:.4f}; P{q['levels'][0] * 100:g}-P{q['levels'][-1] * 100:g} "
        f"coverage {q['coverage']:.3f}, weighted quantile loss {q['weighted_quantile_loss']:.4f}"
    )
    gate = report["quality"]
    print(
        f"evaluate: quality gate metric {gate['label']} {gate['value']:.4f}, skill vs the "
        f"seasonal naive {gate['skill_vs_naive']:.3f}"
    )
    print(f"evaluate: champion: {report['champion']['summary']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Compare the batch input with the training baseline: Population Stability Index per feature.

PSI = sum over bins of (actual - expected) * ln(actual / expected), with the bins fitted here
on the reference rows that preprocess chose from the history (numeric: deciles plus a bin
for missing values; categorical: each category plus missing). Graded as the legacy sales
platform did: minor < 0.1, moderate 0.1 to 0.25, severe > 0.25. The baseline is fitted in
this one job from every unit's reference rows (preprocess may run on several instances),
and written beside drift.json (a PropertyFile the pipeline's CheckDrift condition reads) and
drift.png (the most shifted features), with the same baseline in Model Monitor's format
(statistics.json, constraints.json) that the registered model carries.

    python processing_scripts/drift.py --schema-dir out/schema --reference-dir out/reference \
        --batch-dir out/batch --output-dir out/drift
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

BASELINE_FILE = "drift_baseline.json"
SCHEMA_FILE = "feature_schema.json"
HISTORY_SCHEMA_FILE = "history_schema.json"  # the forecast's features: what the batch holds
BATCH_FILE = "batch.csv"
DRIFT_FILE = "drift.json"
# The same baseline in Model Monitor's data-quality format, registered with the model
MONITOR_STATISTICS_FILE = "statistics.json"
MONITOR_CONSTRAINTS_FILE = "constraints.json"
MODERATE, SEVERE = 0.1, 0.25
EPSILON = 1e-4  # floor for empty bins, so ln() stays finite
MAX_REFERENCE_MISSING = 0.5  # a feature missing on more of the reference rows is unmonitored
REFERENCE_MODES = ("seasonal", "training")
SEASON = pd.Timedelta(days=364)  # 52 weeks: the same weekdays one year earlier


class DriftError(ValueError):
    """Missing or unusable baseline or batch input."""


def numeric_baseline(values: pd.Series, bins: int = 10) -> dict[str, Any]:
    """Decile edges fitted on the training values and the share of rows in each bin."""
    present = values.dropna().to_numpy(dtype="float64")
    edges = (
        np.unique(np.quantile(present, np.linspace(0, 1, bins + 1)[1:-1]))
        if present.size
        else np.array([])
    )
    return {
        "type": "numeric",
        "edges": edges.tolist(),
        "proportions": numeric_shares(values, edges.tolist()),
    }


def numeric_shares(values: pd.Series, edges: list[float]) -> list[float]:
    """Shares per bin (below the first edge, ..., above the last), then the missing share."""
    array = values.to_numpy(dtype="float64")
    missing = np.isnan(array)
    counts = np.bincount(
        np.searchsorted(edges, array[~missing], side="right"), minlength=len(edges) + 1
    )
    total = max(len(array), 1)
    return [*(counts / total).tolist(), float(missing.sum() / total)]


def categorical_baseline(values: pd.Series) -> dict[str, Any]:
    return {"type": "categorical", "proportions": categorical_shares(values)}


def categorical_shares(values: pd.Series) -> dict[str, float]:
    keys = values.map(
        lambda v: "missing" if pd.isna(v) else str(int(v)) if float(v).is_integer() else str(v)
    )
    return {str(k): float(v) for k, v in keys.value_counts(normalize=True).sort_index().items()}


def reference_rule(
    rows: int,
    days: int,
    seasonal_rows: int,
    first: pd.Timestamp,
    last: pd.Timestamp,
    batch_start: pd.Timestamp,
    batch_end: pd.Timestamp,
    mode: str = "seasonal",
) -> dict[str, Any]:
    """Which history rows the baseline is fitted on, from counts alone (preprocess sums
    them over every unit of the data, so every instance picks the same rows).

    "seasonal" (the default): the batch window's own calendar weeks one year (52 weeks, so
    weekdays align) earlier. Sales data is seasonal: a six-week summer window compared with a
    whole multi-year training window shows holidays and sales levels "drifting" every year,
    and an alarm that always rings is ignored. Falls back to the whole training window when
    the data does not reach a year back (fewer reference rows than half the batch window's).
    "training": the whole training window. `rows` and `days`: the history's rows and
    distinct days; `seasonal_rows`: its rows in the seasonal window."""
    if mode not in REFERENCE_MODES:
        raise DriftError(f"drift reference must be one of {list(REFERENCE_MODES)}, got {mode!r}")
    whole = {"mode": "training", "start": _day(first), "end": _day(last), "rows": rows}
    if mode == "training":
        return whole
    start, end = batch_start - SEASON, batch_end - SEASON
    batch_days = (batch_end - batch_start).days + 1
    expected = rows / max(days, 1) * batch_days  # rows in a window that long
    if seasonal_rows < expected / 2:
        return {
            **whole,
            "note": f"seasonal reference {_day(start)}..{_day(end)} has "
            f"{seasonal_rows} training rows; used the whole window",
        }
    return {"mode": "seasonal", "start": _day(start), "end": _day(end), "rows": seasonal_rows}


def reference_window(
    train: pd.DataFrame,
    date_column: str,
    batch_start: pd.Timestamp,
    batch_end: pd.Timestamp,
    mode: str = "seasonal",
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The training rows the baseline is fitted on (see `reference_rule`), and which."""
    dates = pd.to_datetime(train[date_column])
    start, end = batch_start - SEASON, batch_end - SEASON
    in_season = (dates >= start) & (dates <= end)
    described = reference_rule(
        len(train),
        dates.nunique(),
        int(in_season.sum()),
        dates.min(),
        dates.max(),
        batch_start,
        batch_end,
        mode,
    )
    return (train.loc[in_season] if described["mode"] == "seasonal" else train), described


def _day(value: pd.Timestamp) -> str:
    return pd.Timestamp(value).strftime("%Y-%m-%d")


def build_baseline(
    train: pd.DataFrame,
    schema: dict[str, Any],
    unmonitored: tuple[str, ...] = (),
    reference: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The baseline preprocess writes: one entry per monitored feature, fitted on the
    reference rows (see `reference_window`). `unmonitored` features (calendar parts: a
    forecast window is another time by construction, so they would always drift) are
    listed, not binned; so are features most reference rows lack (a one-year lag on two
    years of data, in a reference a year back), whose PSI would measure only the gap."""
    features = {}
    sparse: dict[str, float] = {}
    for spec in schema["features"]:
        if spec["name"] in unmonitored:
            continue
        column = train[spec["name"]]
        missing = float(column.isna().mean()) if len(column) else 1.0
        if missing > MAX_REFERENCE_MISSING:  # a mostly empty reference: PSI would be noise
            sparse[spec["name"]] = round(missing, 4)
            continue
        features[spec["name"]] = (
            categorical_baseline(column)
            if spec["type"] == "categorical"
            else numeric_baseline(column)
        )
    return {
        "rows": len(train),
        "features": features,
        "unmonitored": [*unmonitored, *sparse],
        # features left unmonitored because most reference rows lack them (their share)
        "sparse": sparse,
        "reference": reference or {"mode": "training", "rows": len(train)},
        "grades": {"moderate": MODERATE, "severe": SEVERE},
    }


def monitor_files(reference: pd.DataFrame, schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The reference rows in Model Monitor's data-quality format: statistics.json and
    constraints.json, what Studio shows for a registered model and what a DataQuality
    monitoring schedule compares captured data with.

    Every feature the model receives is described as a number (the CSV an endpoint captures
    carries the encoded values), with the ten equal-width buckets Model Monitor
    materialises and a KLL sketch of the values (`kll_sketch`)."""
    features, constraints = [], []
    for spec in schema["features"]:
        values = reference[spec["name"]].to_numpy(dtype="float64")
        present = values[~np.isnan(values)]
        kind = "Integral" if present.size and np.all(np.mod(present, 1) == 0) else "Fractional"
        stats: dict[str, Any] = {
            "common": {"num_present": int(present.size), "num_missing": int(np.isnan(values).sum())}
        }
        if present.size:
            counts, edges = np.histogram(present, bins=10)
            stats.update(
                mean=float(present.mean()),
                sum=float(present.sum()),
                std_dev=float(present.std()),
                min=float(present.min()),
                max=float(present.max()),
                distribution={
                    "kll": {
                        "buckets": [
                            {"lower_bound": float(lo), "upper_bound": float(hi), "count": int(n)}
                            for lo, hi, n in zip(edges[:-1], edges[1:], counts, strict=True)
                        ],
                        "sketch": kll_sketch(present),
                    }
                },
            )
        features.append(
            {"name": spec["name"], "inferred_type": kind, "numerical_statistics": stats}
        )
        constraints.append(
            {
                "name": spec["name"],
                "inferred_type": kind,
                "completeness": float(present.size / max(values.size, 1)),
                "num_constraints": {
                    "is_non_negative": bool(not present.size or present.min() >= 0)
                },
            }
        )
    return {
        MONITOR_STATISTICS_FILE: {
            "version": 0.0,
            "dataset": {"item_count": len(reference)},
            "features": features,
        },
        MONITOR_CONSTRAINTS_FILE: {
            "version": 0.0,
            "features": constraints,
            "monitoring_config": {
                "evaluate_constraints": "Enabled",
                "emit_metrics": "Enabled",
                "datatype_check_threshold": 1.0,
                "domain_content_threshold": 1.0,
                "distribution_constraints": {
                    "perform_comparison": "Enabled",
                    "comparison_threshold": 0.1,
                    "comparison_method": "Robust",
                },
            },
        },
    }


KLL_K, KLL_C = 2048, 0.64  # Model Monitor's sketch size and shrinking factor


def kll_sketch(values: np.ndarray) -> dict[str, Any]:
    """A KLL quantile sketch of `values` in Model Monitor's layout: one list of items per
    compactor level, an item at level h standing for 2**h values.

    Built in one pass over the sorted values rather than by streaming compactions: the
    values go to the lowest level h at which n / 2**h items fit in KLL_K, taking every
    2**h-th value from a deterministic offset. That is what a sketch that had compacted
    everything to level h would hold, with the same rank error bound."""
    ordered = np.sort(values)
    level = 0
    while ordered.size / 2**level > KLL_K:
        level += 1
    step = 2**level
    kept = ordered[step // 2 :: step] if step > 1 else ordered
    return {
        "parameters": {"c": KLL_C, "k": float(KLL_K)},
        "data": [[] for _ in range(level)] + [kept.tolist()],
    }


def psi(expected: list[float], actual: list[float]) -> float:
    e = np.clip(np.asarray(expected, dtype="float64"), EPSILON, None)
    a = np.clip(np.asarray(actual, dtype="float64"), EPSILON, None)
    return float(np.sum((a - e) * np.log(a / e)))


def grade(value: float) -> str:
    return "severe" if value > SEVERE else "moderate" if value >= MODERATE else "minor"


def compare(baseline: dict[str, Any], batch: pd.DataFrame) -> dict[str, Any]:
    """PSI and grade per feature, the severe ones named, a one-line summary."""
    results: dict[str, dict[str, Any]] = {}
    psis: dict[str, float] = {}
    for name, spec in baseline["features"].items():
        if name not in batch.columns:
            raise DriftError(f"the batch input has no feature column {name!r}")
        if spec["type"] == "numeric":
            value = psi(spec["proportions"], numeric_shares(batch[name], spec["edges"]))
        else:
            actual = categorical_shares(batch[name])
            keys = sorted(set(spec["proportions"]) | set(actual))
            value = psi(
                [spec["proportions"].get(k, 0.0) for k in keys], [actual.get(k, 0.0) for k in keys]
            )
        psis[name] = round(value, 6)
        results[name] = {"psi": psis[name], "grade": grade(value)}
    ranked = sorted(psis, key=psis.__getitem__, reverse=True)
    severe = [n for n in ranked if results[n]["grade"] == "severe"]
    moderate = [n for n in ranked if results[n]["grade"] == "moderate"]
    summary = ", ".join(f"{n} (PSI {results[n]['psi']:.3f})" for n in severe) or "none"
    return {
        "features": results,
        "severe_features": severe,
        "severe_count": len(severe),
        "moderate_features": moderate,
        "max_psi": psis[ranked[0]] if ranked else 0.0,
        "summary": summary,
        "rows": len(batch),
        "unmonitored": baseline.get("unmonitored", []),
        "reference": baseline.get("reference", {}),
        "thresholds": {"moderate": MODERATE, "severe": SEVERE},
    }


def batch_files(batch_file: str = BATCH_FILE) -> re.Pattern[str]:
    """The names of the batch input: batch.csv, or its shards batch-000.csv, ... (one per
    Batch Transform instance), batch-00007.csv, ... (one per unit of the data); preprocess
    writes them, drift reads them."""
    stem, _, suffix = batch_file.rpartition(".")
    return re.compile(rf"{re.escape(stem)}(-\d{{5}})?(-\d{{3}})?\.{re.escape(suffix)}")


def read_batch(batch_dir: Path, schema: dict[str, Any]) -> pd.DataFrame:
    """batch.csv, or its shards batch-000.csv, ...: no header; series keys, date, then the
    features in schema order."""
    stem, _, suffix = BATCH_FILE.rpartition(".")
    pattern = batch_files()
    found = batch_dir.iterdir() if batch_dir.is_dir() else ()
    paths = sorted(p for p in found if pattern.fullmatch(p.name))
    if not paths:
        raise DriftError(f"no {BATCH_FILE} (or {stem}-NNN.{suffix} shards) in {batch_dir}")
    names = [
        *schema["series_columns"],
        schema["date_column"],
        *[f["name"] for f in schema["features"]],
    ]
    frames = [pd.read_csv(p, header=None, names=names) for p in paths if p.stat().st_size]
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if frame.empty:
        raise DriftError(f"{', '.join(str(p) for p in paths)}: no rows")
    return frame


def write_chart(report: dict[str, Any], path: Path, top: int = 15) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    items = sorted(report["features"].items(), key=lambda kv: kv[1]["psi"])[-top:]
    colours = {"minor": "tab:green", "moderate": "tab:orange", "severe": "tab:red"}
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(items) + 1.5))
    ax.barh(
        [k for k, _ in items],
        [v["psi"] for _, v in items],
        color=[colours[v["grade"]] for _, v in items],
    )
    for x in (MODERATE, SEVERE):
        ax.axvline(x, color="grey", linestyle="--", linewidth=1)
    ax.set_xlabel("Population Stability Index (batch input vs training window)")
    ax.set_title("Most shifted features")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def read_reference(reference_dir: Path, schema: dict[str, Any]) -> pd.DataFrame:
    """The reference rows, every shard preprocess wrote (reference.parquet, or one per unit
    of the data: reference-00000.parquet, ...), only the monitored features' columns."""
    pattern = re.compile(r"reference(-\d{5})?(-\d{3})?\.parquet")
    found = reference_dir.iterdir() if reference_dir.is_dir() else ()
    paths = sorted(p for p in found if pattern.fullmatch(p.name))
    if not paths:
        raise DriftError(f"no reference.parquet (or its shards) in {reference_dir}")
    columns = [f["name"] for f in schema["features"]]
    frames = [pd.read_parquet(p, columns=columns) for p in paths]
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def baseline_files(reference: pd.DataFrame, schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """drift_baseline.json and Model Monitor's statistics.json and constraints.json, fitted
    on the reference rows of every unit (so one job sees them all)."""
    from features import ORIGIN_FEATURES, calendar_features  # ship in the same code folder

    # calendar parts are deterministic in the date: a new window always "drifts"; and a
    # batch holds one origin, so what it knew there is one value per series, not a
    # distribution the reference's rows (each seen from its own origin) can be compared with
    calendar = tuple(calendar_features(pd.Series(pd.to_datetime(["2000-01-01"]))).columns)
    unmonitored = (*calendar, *ORIGIN_FEATURES)
    described = schema.get("drift_reference") or {"mode": "training", "rows": len(reference)}
    return {
        BASELINE_FILE: build_baseline(reference, schema, unmonitored, reference=described),
        **monitor_files(reference, schema),
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Measure drift of the batch input (PSI).")
    parser.add_argument(
        "--schema-dir",
        default="/opt/ml/processing/input/schema",
        help="folder with preprocess's history_schema.json (the forecast's features)",
    )
    parser.add_argument(
        "--reference-dir",
        default="/opt/ml/processing/input/reference",
        help="folder with preprocess's reference rows (reference.parquet or its shards)",
    )
    parser.add_argument("--batch-dir", default="/opt/ml/processing/input/batch")
    parser.add_argument("--output-dir", default="/opt/ml/processing/drift")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        path = Path(args.schema_dir) / HISTORY_SCHEMA_FILE
        if not path.is_file():
            raise DriftError(f"no {HISTORY_SCHEMA_FILE} in {args.schema_dir}")
        schema = json.loads(path.read_text())
        documents = baseline_files(read_reference(Path(args.reference_dir), schema), schema)
        report = compare(documents[BASELINE_FILE], read_batch(Path(args.batch_dir), schema))
    except DriftError as exc:
        print(f"drift: error: {exc}", file=sys.stderr)
        return 2
    output = Path(args.output_dir)
    output.mkdir(parents=True, exist_ok=True)
    staged = Path(tempfile.mkdtemp(prefix=".drift.", dir=output))
    try:
        write_chart(report, staged / "drift.png")
        (staged / DRIFT_FILE).write_text(json.dumps(report, indent=2, sort_keys=True))
        for file, document in documents.items():
            (staged / file).write_text(json.dumps(document, sort_keys=True))
        for child in staged.iterdir():
            os.replace(child, output / child.name)
    finally:
        shutil.rmtree(staged, ignore_errors=True)
    print(
        f"drift: {report['severe_count']} severe, {len(report['moderate_features'])} moderate "
        f"of {len(report['features'])} features; severe: {report['summary']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Accuracy after the fact: a forecast scored against the actuals that arrived later.

The back-test in evaluation.json says how good the model should be; this says how good its
forecast of the days ahead was, once their sales are known (as the legacy platform
monitored it). Pure functions over two tables; the local runner prints the result for the
demo's held-back six weeks, and any caller can pass its own actuals.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


class AccuracyError(ValueError):
    """The actuals cannot be read or share no rows with the forecast."""


def read_table(path: Path) -> pd.DataFrame:
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(path)
        return pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise AccuracyError(f"actuals {path}: cannot be read: {exc}") from None


def read_forecast(files: list[Path], keys: list[str], columns: list[str]) -> pd.DataFrame:
    """Batch Transform's output files (no header: keys, date, then the quantiles)."""
    frames = [
        pd.read_csv(f, header=None, names=[*keys, *columns]) for f in files if f.stat().st_size
    ]
    if not frames:
        raise AccuracyError("the forecast has no rows")
    return pd.concat(frames, ignore_index=True)


def score(
    forecast: pd.DataFrame,
    actuals: pd.DataFrame,
    keys: list[str],
    target: str,
    columns: tuple[str, str, str],
) -> dict[str, Any]:
    """WAPE, bias, MAPE over positive actuals and the interval's coverage on the forecast
    rows that have an actual. `keys` are the series keys plus the date; `columns` the
    forecast's (low, median, high) quantile columns."""
    missing = [c for c in [*keys, target] if c not in actuals.columns]
    if missing:
        raise AccuracyError(
            f"the actuals lack column(s) {missing}; they have {list(actuals.columns)}"
        )
    date = keys[-1]
    left = forecast.assign(**{date: pd.to_datetime(forecast[date])})
    right = actuals[[*keys, target]].assign(**{date: pd.to_datetime(actuals[date])})
    for key in keys[:-1]:  # "25" and 25 are one store
        left[key], right[key] = left[key].astype(str), right[key].astype(str)
    joined = left.merge(right.dropna(subset=[target]), on=keys, how="inner")
    if joined.empty:
        raise AccuracyError("no forecast row has an actual (different keys or dates)")
    low, median, high = columns
    actual = joined[target].to_numpy(dtype="float64")
    predicted = joined[median].to_numpy(dtype="float64")
    total = float(np.abs(actual).sum()) or 1.0
    positive = actual > 0
    dates = joined[date]
    return {
        "rows": len(joined),
        "forecast_rows": len(forecast),
        "window": [f"{dates.min():%Y-%m-%d}", f"{dates.max():%Y-%m-%d}"],
        "wape": float(np.abs(predicted - actual).sum() / total),
        "bias": float((predicted - actual).sum() / total),
        "mape_positive_actuals": float(
            np.mean(np.abs(predicted[positive] - actual[positive]) / actual[positive])
        )
        if positive.any()
        else None,
        "interval": [low, high],
        "coverage": float(
            np.mean((actual >= joined[low].to_numpy()) & (actual <= joined[high].to_numpy()))
        ),
    }


def describe(result: dict[str, Any]) -> str:
    """One line for the run's summary."""
    mape = result["mape_positive_actuals"]
    low, high = result["interval"]
    return (
        f"accuracy after the fact ({result['window'][0]}..{result['window'][1]}, "
        f"{result['rows']} of {result['forecast_rows']} forecast rows have actuals): "
        f"WAPE {result['wape']:.4f}, bias {result['bias']:+.4f}"
        + (f", MAPE {mape:.4f} (positive actuals)" if mape is not None else "")
        + f", {low.upper()}-{high.upper()} coverage {result['coverage']:.3f}"
    )

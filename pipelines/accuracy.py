"""Accuracy after the fact: a forecast scored against the actuals that arrived later.

The back-test in evaluation.json says how good the model should be; this says how good its
forecast of the days ahead was, once their sales are known (as the legacy platform
monitored it). Pure functions over two tables; the local runner prints the result for the
demo's held-back six weeks, and any caller can pass its own actuals.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from pipelines.settings import Settings


class AccuracyError(ValueError):
    """The actuals cannot be read or share no rows with the forecast."""


def read_table(path: Path) -> pd.DataFrame:
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(path)
        return pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise AccuracyError(f"actuals {path}: cannot be read: {exc}") from None


@dataclass(frozen=True)
class Forecast:
    """Batch Transform's forecast, read once, with the settings' names for its columns, and
    the held-back actuals when there are any (scored, and drawn in the report)."""

    frame: pd.DataFrame
    keys: list[str]  # the series keys, then the date
    columns: tuple[str, str, str]  # the (low, median, high) quantile columns
    target: str
    actuals: pd.DataFrame | None

    @classmethod
    def read(cls, files: list[Path], settings: Settings, actuals: Path | None) -> Forecast:
        keys = [*settings.data.series_columns, settings.data.date_column]
        columns = settings.forecast.columns
        frames = [
            pd.read_csv(f, header=None, names=[*keys, *columns]) for f in files if f.stat().st_size
        ]
        frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        known = read_table(actuals) if actuals is not None else None
        return cls(frame, keys, columns, settings.data.target_column, known)

    def score(self) -> dict[str, Any]:
        if self.frame.empty:
            raise AccuracyError("the forecast has no rows")
        if self.actuals is None:
            raise AccuracyError("no actuals to score the forecast against")
        return score(self.frame, self.actuals, self.keys, self.target, self.columns)

    def known(self) -> pd.DataFrame | None:
        """The actuals' keys and target, dates as text like the forecast's (for plotting)."""
        if self.actuals is None or not set([*self.keys, self.target]) <= set(self.actuals):
            return None
        known = self.actuals[[*self.keys, self.target]].copy()
        date = self.keys[-1]
        known[date] = known[date].astype(str)
        return known


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

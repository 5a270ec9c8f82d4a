"""Turn raw store-day sales into leakage-free forecasting features and time-based splits.

Runs in the SageMaker XGBoost 3.0-5 image (Python 3.10, pandas 2.2) as a processing job, under
SageMaker local mode, under the project's local runner, and from a shell:

    python processing_scripts/preprocess.py --input-dir data/ --train-dir out/train ...

Every path arrives as an argument (defaults are the SageMaker container paths). The functions
are pure; `main` does the file I/O, writes each output under a temporary name and renames it
only when everything succeeded, so a failed run leaves no partial result behind.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from drift import (  # ships in the same code folder
    BASELINE_FILE,
    REFERENCE_MODES,
    batch_files,
    build_baseline,
    monitor_files,
    reference_window,
)

SCHEMA_VERSION = 1
TARGET_TRANSFORM = "log1p"
DATA_SUFFIXES = (".csv", ".parquet", ".pq")
SERIES_ID = "__series_id"
HISTORY_FILE = "history.parquet"  # every observed row, with the forecast's features
HISTORY_SCHEMA_FILE = "history_schema.json"


class DataError(ValueError):
    """Bad input data: the message names the file, column or row."""


@dataclass(frozen=True)
class ColumnConfig:
    """Which columns mean what. Defaults are the Rossmann names (known_columns: the command
    line's default is Rossmann's, the pipeline passes the profile's)."""

    date_column: str = "Date"
    series_columns: tuple[str, ...] = ("Store",)
    target_column: str = "Sales"
    open_column: str | None = "Open"
    categorical_columns: tuple[str, ...] | None = None
    numeric_columns: tuple[str, ...] | None = None
    ignore_columns: tuple[str, ...] = ()
    # covariates known ahead of time (a promotion calendar, holidays): used on the day itself
    # and its neighbours. Any other covariate that changes within a series is observed only
    # after the fact and used only lagged by at least the horizon.
    known_columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class Windows:
    """Inclusive date windows of the time-based split."""

    train_start: pd.Timestamp
    train_end: pd.Timestamp
    validation_start: pd.Timestamp
    validation_end: pd.Timestamp
    test_start: pd.Timestamp
    test_end: pd.Timestamp

    def as_json(self) -> dict[str, list[str]]:
        fmt = "%Y-%m-%d"
        return {
            "train": [self.train_start.strftime(fmt), self.train_end.strftime(fmt)],
            "validation": [self.validation_start.strftime(fmt), self.validation_end.strftime(fmt)],
            "test": [self.test_start.strftime(fmt), self.test_end.strftime(fmt)],
        }


@dataclass
class FeatureFrames:
    """What preprocess produces, before anything is written."""

    train: pd.DataFrame
    validation: pd.DataFrame
    test: pd.DataFrame
    batch: pd.DataFrame
    schema: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    # the forecast's fit: all history up to the origin (the final model trains on it)
    history: pd.DataFrame = field(default_factory=pd.DataFrame)
    history_schema: dict[str, Any] = field(default_factory=dict)
    baseline: dict[str, Any] = field(default_factory=dict)
    # the baseline in Model Monitor's format: {file name: document}
    monitor: dict[str, dict[str, Any]] = field(default_factory=dict)


# --------------------------------------------------------------------------- reading


def list_data_files(path: Path) -> list[Path]:
    """One file, or the CSV/Parquet files of a folder (recursively), sorted by name."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise DataError(f"input {path}: no such file or folder")
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in DATA_SUFFIXES)
    if not files:
        raise DataError(f"input {path}: no .csv or .parquet files in this folder")
    kinds = {"csv" if p.suffix.lower() == ".csv" else "parquet" for p in files}
    if len(kinds) > 1:
        raise DataError(f"input {path}: mixes CSV and Parquet files; put one format in a folder")
    return files


def read_data(path: Path) -> pd.DataFrame:
    """Read one file or a folder of CSV or Parquet files into one frame."""
    frames = []
    for file in list_data_files(path):
        try:
            if file.suffix.lower() == ".csv":
                # utf-8-sig strips a BOM; the C parser accepts Windows line endings.
                frame = pd.read_csv(file, encoding="utf-8-sig", low_memory=False)
            else:
                frame = pd.read_parquet(file)
        except pd.errors.EmptyDataError as exc:
            raise DataError(f"{file}: the file is empty") from exc
        except (pd.errors.ParserError, UnicodeDecodeError, OSError, ValueError) as exc:
            raise DataError(f"{file}: cannot be read: {exc}") from exc
        if frame.empty:
            raise DataError(f"{file}: has a header but no rows")
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


# --------------------------------------------------------------------------- validation


def validate(raw: pd.DataFrame, cols: ColumnConfig) -> tuple[pd.DataFrame, list[str]]:
    """Check the schema and return a clean frame (parsed dates, numeric target) plus notes.
    Rows with an empty target stay: `split_horizon` tells the future from gaps.

    Raises DataError naming the column and the first offending row.
    """
    notes: list[str] = []
    # each required column and the setting that names it ([data] in the profile or a
    # --config file; the same name as a flag of this script)
    required = {cols.date_column: "date_column"}
    required.update({c: "series_columns" for c in cols.series_columns})
    required[cols.target_column] = "target_column"
    if cols.open_column:
        required[cols.open_column] = "open_column"
    missing = [c for c in required if c not in raw.columns]
    if missing:
        settings = sorted({required[c] for c in missing})
        raise DataError(
            f"missing required column(s) {missing}; the data has {list(raw.columns)} "
            f"(set {', '.join(f'[data] {s}' for s in settings)} in a --config file to your "
            "data's names)"
        )
    frame = raw.copy()
    dates, zone_note = parse_dates(frame[cols.date_column], cols.date_column)
    if zone_note:
        notes.append(zone_note)
    bad = dates.isna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            f"column {cols.date_column!r}: unparsable date {frame[cols.date_column].iloc[row]!r} "
            f"at row {row + 1}"
        )
    frame[cols.date_column] = dates.dt.normalize()
    target = pd.to_numeric(frame[cols.target_column], errors="coerce")
    non_numeric = target.isna() & frame[cols.target_column].notna()
    if non_numeric.any():
        row = int(np.flatnonzero(non_numeric.to_numpy())[0])
        raise DataError(
            f"column {cols.target_column!r}: non-numeric value "
            f"{frame[cols.target_column].iloc[row]!r} at row {row + 1}"
        )
    negative = target < 0
    if negative.any():
        row = int(np.flatnonzero(negative.to_numpy())[0])
        raise DataError(
            f"column {cols.target_column!r}: negative value {target.iloc[row]} at row {row + 1}"
        )
    infinite = np.isinf(target.to_numpy(dtype="float64", na_value=np.nan))
    if infinite.any():
        row = int(np.flatnonzero(infinite)[0])
        value = frame[cols.target_column].iloc[row]
        shown = repr(value) if isinstance(value, str) else str(value)
        raise DataError(
            f"column {cols.target_column!r}: value {shown} at row {row + 1} is not a finite number"
        )
    frame[cols.target_column] = target.astype("float64")
    if target.isna().all():
        raise DataError(f"column {cols.target_column!r} is empty on every row: no history")
    for column in cols.series_columns:
        if frame[column].isna().any():
            row = int(np.flatnonzero(frame[column].isna().to_numpy())[0])
            raise DataError(f"column {column!r}: empty series key at row {row + 1}")
    keys = [*cols.series_columns, cols.date_column]
    dup = frame.duplicated(subset=keys, keep=False)
    if dup.any():
        row = int(np.flatnonzero(dup.to_numpy())[0])
        example = {k: str(frame[k].iloc[row]) for k in keys}
        raise DataError(
            f"{int(dup.sum())} rows share the same series and date, e.g. {example} "
            f"(first at row {row + 1})"
        )
    if cols.open_column:
        frame[cols.open_column] = pd.to_numeric(frame[cols.open_column], errors="coerce")
    return frame, notes


_ZONE = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$")


def parse_dates(values: pd.Series, column: str) -> tuple[pd.Series, str]:
    """Dates of any common format (unparsable ones become NaT, reported by the caller), and
    a note when some carried a UTC offset.

    A value with an offset is read as the calendar day it names where it was written: sales
    are daily per store, so "2015-03-29T00:00:00+02:00" is 29 March whatever the offset,
    and a year of one zone's data (two offsets across daylight saving time) or stores in
    several zones parse without a conversion that would move rows to another day."""
    if pd.api.types.is_datetime64_any_dtype(values):  # Parquet timestamps: one zone at most
        zone = getattr(values.dt, "tz", None)
        return (values.dt.tz_localize(None) if zone is not None else values), ""
    text = values.astype("string").str.strip()
    zoned = text.str.contains(_ZONE, na=False)
    note = ""
    if zoned.any():
        offsets = sorted(text[zoned].str.extract(f"({_ZONE.pattern})", expand=False).unique())
        shown = ", ".join(offsets[:4]) + (", ..." if len(offsets) > 4 else "")
        note = (
            f"column {column!r}: {int(zoned.sum())} value(s) carry a UTC offset ({shown}); "
            "each is read as the calendar day it names"
        )
        text = text.str.replace(_ZONE, "", regex=True)
    return pd.to_datetime(text, errors="coerce", format="mixed"), note


def infer_roles(frame: pd.DataFrame, cols: ColumnConfig) -> tuple[list[str], list[str], list[str]]:
    """Split the covariates into numeric and categorical, and list the ignored ones."""
    reserved = {
        cols.date_column,
        cols.target_column,
        SERIES_ID,
        *cols.series_columns,
        *cols.ignore_columns,
    }
    if cols.open_column:
        reserved.add(cols.open_column)
    candidates = [c for c in frame.columns if c not in reserved]
    explicit = (cols.categorical_columns or ()) + (cols.numeric_columns or ())
    unknown = [c for c in explicit if c not in frame.columns]
    if unknown:
        raise DataError(f"configured covariate column(s) {unknown} are not in the data")
    categorical: list[str] = list(cols.categorical_columns or ())
    numeric: list[str] = list(cols.numeric_columns or ())
    ignored: list[str] = [c for c in cols.ignore_columns if c in frame.columns]
    both_given = cols.categorical_columns is not None and cols.numeric_columns is not None
    for column in candidates:
        if column in categorical or column in numeric:
            continue
        if both_given:
            ignored.append(column)
            continue
        values = frame[column]
        if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
            numeric.append(column)
        elif values.nunique(dropna=True) <= 1000:
            categorical.append(column)
        else:
            ignored.append(column)
    return numeric, categorical, ignored


# --------------------------------------------------------------------------- horizon and windows


@dataclass(frozen=True)
class Horizon:
    """The days to forecast: after the forecast origin (the last day with an observed
    target), from the input's own future rows or, without any, from the calendar."""

    origin: pd.Timestamp
    first: pd.Timestamp
    last: pd.Timestamp
    source: str  # "input": rows with an empty target and known covariates; "calendar"

    def as_json(self) -> dict[str, str]:
        fmt = "%Y-%m-%d"
        return {
            "origin": self.origin.strftime(fmt),
            "first": self.first.strftime(fmt),
            "last": self.last.strftime(fmt),
            "source": self.source,
        }


def split_horizon(
    frame: pd.DataFrame, cols: ColumnConfig, horizon: int
) -> tuple[pd.DataFrame, pd.DataFrame, Horizon, list[str]]:
    """(observed rows, future rows, the horizon, notes).

    Rows with an empty target after the last observed day are the future the planner asks
    for; up to `horizon` days of them are forecast (lags no closer than the horizon cannot
    reach further). An empty target on or before that day is a gap in the history."""
    date, target = cols.date_column, cols.target_column
    observed = frame[target].notna()
    origin = frame.loc[observed, date].max()
    after = frame[date] > origin
    last = origin + pd.Timedelta(days=horizon)
    notes: list[str] = []
    gaps = int((~observed & ~after).sum())
    if gaps:
        notes.append(
            f"dropped {gaps} row(s) with an empty {target!r} on or before "
            f"{origin:%Y-%m-%d}, the last day with an observed {target!r}"
        )
    beyond = after & (frame[date] > last)
    if beyond.any():
        notes.append(
            f"{int(beyond.sum())} future row(s) after {last:%Y-%m-%d} are beyond the "
            f"{horizon}-day horizon and are not forecast"
        )
    future = frame.loc[after & ~beyond]
    source = "input" if len(future) else "calendar"
    first = future[date].min() if len(future) else origin + pd.Timedelta(days=1)
    return (
        frame.loc[observed].reset_index(drop=True),
        future.reset_index(drop=True),
        Horizon(origin, first, last if source == "calendar" else future[date].max(), source),
        notes,
    )


def static_columns(frame: pd.DataFrame, columns: list[str]) -> list[str]:
    """The columns that never change within a series (store type, region): known ahead."""
    if frame.empty:
        return []
    counts = frame.groupby(SERIES_ID)[columns].nunique(dropna=False).max()
    return [c for c in columns if counts[c] <= 1]


def calendar_future(
    observed: pd.DataFrame, cols: ColumnConfig, horizon: Horizon, static: list[str]
) -> pd.DataFrame:
    """The next horizon days of every series seen in the final `horizon` days before the
    origin, carrying only what is known of them: keys and static columns."""
    date = cols.date_column
    span = (horizon.last - horizon.origin).days
    recent = observed[observed[date] > horizon.origin - pd.Timedelta(days=span)]
    latest = recent.sort_values(date).groupby(SERIES_ID, sort=True).tail(1)
    days = pd.date_range(horizon.first, horizon.last, freq="D")
    carried = latest[[*cols.series_columns, SERIES_ID, *static]].reset_index(drop=True)
    future = carried.loc[carried.index.repeat(len(days))].reset_index(drop=True)
    future[date] = np.tile(days.to_numpy(), len(carried))
    future[cols.target_column] = np.nan
    if cols.open_column:
        future[cols.open_column] = np.nan  # unknown: counted as open
    return future


def resolve_windows(
    dates: pd.Series, horizon: int, validation_start: str | None, test_start: str | None
) -> Windows:
    """Test = the last `horizon` observed days unless given; validation = the `horizon` days
    before it."""
    first, last = dates.min(), dates.max()
    test = pd.Timestamp(test_start) if test_start else last - pd.Timedelta(days=horizon - 1)
    validation = (
        pd.Timestamp(validation_start) if validation_start else test - pd.Timedelta(days=horizon)
    )
    if not first < validation < test <= last:
        raise DataError(
            f"windows do not fit the observed data ({first:%Y-%m-%d}..{last:%Y-%m-%d}): "
            f"validation starts {validation:%Y-%m-%d}, test starts {test:%Y-%m-%d}"
        )
    return Windows(
        train_start=first,
        train_end=validation - pd.Timedelta(days=1),
        validation_start=validation,
        validation_end=test - pd.Timedelta(days=1),
        test_start=test,
        test_end=last,
    )


# --------------------------------------------------------------------------- features

# A history feature (lag, rolling statistic) is built only when at least this share of the
# training rows has it: a one-year lag on little more than a year of data is mostly missing.
MIN_FEATURE_COVERAGE = 0.5


def lag_days(horizon: int) -> list[int]:
    """Lags no closer than the horizon: the horizon itself, the next four same-weekday lags
    at or beyond it, and one year (364 days keeps the weekday)."""
    first_weekly = -(-horizon // 7) * 7
    lags = {horizon, *(first_weekly + 7 * k for k in range(4)), 364}
    return sorted(lag for lag in lags if lag >= horizon)


class DayGrid:
    """Values laid out as (every day) x (series) matrices, looked up again row by row.

    Lags and rolling windows become shifts of a matrix, so gaps in the data (missing days)
    are handled by the calendar, not by row order.
    """

    def __init__(self, frame: pd.DataFrame, cols: ColumnConfig) -> None:
        self.frame, self.cols = frame, cols
        dates = frame[cols.date_column]
        self.index = pd.date_range(dates.min(), dates.max(), freq="D")
        self.series = pd.Index(sorted(frame[SERIES_ID].unique()))
        self.day_pos = (dates - self.index[0]).dt.days.to_numpy()
        self.series_pos = self.series.get_indexer(frame[SERIES_ID])

    def matrix(self, values: pd.Series) -> pd.DataFrame:
        grid = np.full((len(self.index), len(self.series)), np.nan)
        grid[self.day_pos, self.series_pos] = values.to_numpy(dtype="float64")
        return pd.DataFrame(grid, index=self.index, columns=self.series)

    def at_rows(self, matrices: dict[str, pd.DataFrame]) -> pd.DataFrame:
        return pd.DataFrame(
            {name: m.to_numpy()[self.day_pos, self.series_pos] for name, m in matrices.items()},
            index=self.frame.index,
        )


def history_features(
    grid: DayGrid, demand: pd.Series, horizon: int, cutoff: pd.Timestamp
) -> pd.DataFrame:
    """Target lags and rolling statistics per series, each using only days at least
    `horizon` days before the row and strictly before `cutoff`.

    `demand` is the target where it is demand: missing on closed days (so they do not drag
    the statistics down) and where unobserved; a zero on an open day is a zero."""
    target = demand.where(grid.frame[grid.cols.date_column] < cutoff)
    wide = grid.matrix(np.log1p(target))
    out: dict[str, pd.DataFrame] = {}
    for lag in lag_days(horizon):
        out[f"lag_{lag}"] = wide.shift(lag)
    base = wide.shift(horizon)
    for window in (7, 28, 91):
        rolled = base.rolling(window, min_periods=max(2, window // 4))
        out[f"roll_mean_{window}"] = rolled.mean()
        if window == 28:
            out[f"roll_std_{window}"] = rolled.std()
    first_weekly = -(-horizon // 7) * 7
    weekly = [wide.shift(first_weekly + 7 * k) for k in range(4)]
    out["same_weekday_mean_4"] = sum(w.fillna(0) for w in weekly) / sum(
        w.notna().astype(float) for w in weekly
    ).replace(0, np.nan)
    return grid.at_rows(out)


def observed_features(grid: DayGrid, columns: list[str], horizon: int) -> pd.DataFrame:
    """Covariates known only after the day (footfall, revenue, a competitor's price seen
    later): their value `horizon` days earlier, as far back as a forecast can look."""
    out = {
        f"{column}_lag_{horizon}": grid.matrix(
            pd.to_numeric(grid.frame[column], errors="coerce")
        ).shift(horizon)
        for column in columns
    }
    return grid.at_rows(out)


def schedule_features(grid: DayGrid, cols: ColumnConfig, numeric: list[str]) -> pd.DataFrame:
    """What is known ahead of time around each day: the covariates of the day before and
    after (a promotion starting tomorrow), and the distance to the nearest closed day (stores
    sell more just before and after a closure)."""
    frame = grid.frame
    out: dict[str, pd.DataFrame] = {}
    for column in numeric:
        values = grid.matrix(pd.to_numeric(frame[column], errors="coerce"))
        out[f"{column}_prev_day"] = values.shift(1)
        out[f"{column}_next_day"] = values.shift(-1)
    if cols.open_column:
        closed = grid.matrix((frame[cols.open_column].fillna(1) == 0).astype(float))
        day = pd.DataFrame(
            np.repeat(np.arange(len(grid.index), dtype="float64")[:, None], len(grid.series), 1),
            index=closed.index,
            columns=closed.columns,
        )
        closed_day = day.where(closed == 1)
        out["days_since_closed"] = (day - closed_day.ffill()).clip(upper=60)
        out["days_until_closed"] = (closed_day.bfill() - day).clip(upper=60)
    return grid.at_rows(out)


def calendar_features(dates: pd.Series) -> pd.DataFrame:
    """Calendar parts that the model can learn seasonality from."""
    iso = dates.dt.isocalendar()
    return pd.DataFrame(
        {
            "day_of_week": dates.dt.day_of_week.astype("float64"),
            "day_of_month": dates.dt.day.astype("float64"),
            "day_of_year": dates.dt.day_of_year.astype("float64"),
            "week_of_year": iso["week"].astype("float64").to_numpy(),
            "month": dates.dt.month.astype("float64"),
            "year": dates.dt.year.astype("float64"),
            "days_to_month_end": (dates.dt.days_in_month - dates.dt.day).astype("float64"),
        },
        index=dates.index,
    )


def series_encodings(
    frame: pd.DataFrame, cols: ColumnConfig, demand: pd.Series, fit: pd.Series
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Series-level target statistics (log scale) fitted on the `fit` rows only."""
    log_target = np.log1p(demand)
    usable = fit & demand.notna()
    weekday = frame[cols.date_column].dt.day_of_week
    train = pd.DataFrame(
        {"s": frame.loc[usable, SERIES_ID], "dow": weekday[usable], "y": log_target[usable]}
    )
    series_mean = train.groupby("s")["y"].mean()
    series_dow = train.groupby(["s", "dow"])["y"].mean()
    global_mean = float(train["y"].mean()) if len(train) else 0.0
    encoded = pd.DataFrame(index=frame.index)
    encoded["series_mean_log_target"] = frame[SERIES_ID].map(series_mean).astype("float64")
    pairs = pd.MultiIndex.from_arrays([frame[SERIES_ID], weekday])
    encoded["series_weekday_mean_log_target"] = series_dow.reindex(pairs).to_numpy()
    fitted = {"global_mean_log_target": global_mean, "series_count": int(series_mean.size)}
    return encoded, fitted


def fit_categories(values: pd.Series) -> list[str]:
    """Category map fitted on the training window: sorted distinct values as strings."""
    return sorted(values.dropna().astype(str).unique().tolist())


def encode_categories(values: pd.Series, categories: list[str]) -> pd.Series:
    """Integer codes in the fitted order; a value never seen in training becomes missing."""
    lookup = {value: float(i) for i, value in enumerate(categories)}
    as_text = values.astype("string")
    return as_text.map(lookup).astype("float64")


# A known-ahead column whose same-day rank correlation with the target exceeds this is
# reported as a likely leak (a same-day outcome such as revenue or footfall).
LEAK_CORRELATION = 0.9


@dataclass(frozen=True)
class Roles:
    """What each column is to the model (decided once, for the back-test and the forecast)."""

    numeric: list[str]  # known ahead, used on the day
    categorical: list[str]
    ignored: list[str]
    known_ahead: bool  # future covariates are known: day-before/after and closure features
    observed: list[str] = field(default_factory=list)  # numeric, used lagged by the horizon


@dataclass
class FeatureSet:
    """One fit of the features: the back-test's (fitted on the training window) or the
    forecast's (fitted on all history)."""

    features: pd.DataFrame
    specs: list[dict[str, Any]]
    encodings: dict[str, Any]
    notes: list[str]
    history_columns: list[str]


def engineer(
    frame: pd.DataFrame,
    grid: DayGrid,
    cols: ColumnConfig,
    roles: Roles,
    demand: pd.Series,
    horizon: int,
    fit: pd.Series,
    cutoff: pd.Timestamp,
) -> FeatureSet:
    """Every feature of every row, with category maps and encodings fitted on `fit` rows
    and target history cut at `cutoff`."""
    history = history_features(grid, demand, horizon, cutoff)
    if roles.observed:
        history = pd.concat([history, observed_features(grid, roles.observed, horizon)], axis=1)
    parts = [calendar_features(frame[cols.date_column]), history]
    if roles.known_ahead:
        parts.append(schedule_features(grid, cols, roles.numeric))
    encoded, fitted = series_encodings(frame, cols, demand, fit)
    parts.append(encoded)
    covariates = pd.DataFrame(index=frame.index)
    for column in roles.numeric:
        covariates[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    notes: list[str] = []
    category_maps: dict[str, list[str]] = {}
    for column in [*cols.series_columns, *roles.categorical]:
        categories = fit_categories(frame.loc[fit, column])
        category_maps[column] = categories
        name = column if column not in cols.series_columns else f"{column}_code"
        covariates[name] = encode_categories(frame[column], categories)
        new = sorted(set(frame.loc[~fit, column].dropna().astype(str)) - set(categories))
        if new:
            notes.append(f"column {column!r}: value(s) {new[:5]} unseen in training are missing")
    features = pd.concat([covariates, *parts], axis=1)
    specs: list[dict[str, Any]] = []
    for column in features.columns:
        source = column[: -len("_code")] if column.endswith("_code") else column
        if source in category_maps:
            specs.append(
                {
                    "name": column,
                    "type": "categorical",
                    "source": source,
                    "categories": category_maps[source],
                }
            )
        else:
            specs.append({"name": column, "type": "numeric"})
    return FeatureSet(features, specs, fitted, notes, list(history.columns))


def sparse_history(features: FeatureSet, rows: pd.Series) -> list[str]:
    """History features that most of `rows` (the training rows) lack."""
    coverage = features.features.loc[rows, features.history_columns].notna().mean()
    return [name for name in features.history_columns if coverage[name] < MIN_FEATURE_COVERAGE]


def without(features: FeatureSet, names: list[str]) -> FeatureSet:
    kept = [s for s in features.specs if s["name"] not in names]
    return FeatureSet(
        features.features.drop(columns=names),
        kept,
        features.encodings,
        features.notes,
        [c for c in features.history_columns if c not in names],
    )


def decide_roles(
    observed: pd.DataFrame, cols: ColumnConfig, future_given: bool, notes: list[str]
) -> Roles:
    """Covariate roles; without future rows only what is static per series stays (a
    promotion next month is unknown when the input does not say)."""
    numeric, categorical, ignored = infer_roles(observed, cols)
    if ignored:
        notes.append(f"ignored column(s) {ignored}")
    absent = [c for c in cols.known_columns if c not in observed.columns]
    if absent:
        raise DataError(
            f"known-ahead column(s) {absent} ([data] known_columns, --known-columns) are not "
            f"in the data; it has {[c for c in observed.columns if c != SERIES_ID]}"
        )
    static = set(static_columns(observed, [*numeric, *categorical]))
    known = set(cols.known_columns) | static
    after = [c for c in numeric if c not in known]  # seen only after the fact
    unknown_categories = [c for c in categorical if c not in known]
    numeric = [c for c in numeric if c in known]
    categorical = [c for c in categorical if c in known]
    if after:
        notes.append(
            f"column(s) {after} change over time and are not in [data] known_columns: used "
            "only as they were a horizon earlier"
        )
    if unknown_categories:
        notes.append(
            f"ignored column(s) {unknown_categories}: categories that change over time and "
            "are not known ahead ([data] known_columns)"
        )
    ignored = ignored + unknown_categories
    if future_given:
        return Roles(numeric, categorical, ignored, known_ahead=True, observed=after)
    dropped = [c for c in [*numeric, *categorical] if c not in static]
    notes.append(
        "the input has no future rows (an empty target after the last observed day, with the "
        "covariates known ahead): the horizon is the next days of the calendar, forecast from "
        "calendar, history and per-series columns only"
        + (f"; left out {dropped}, unknown for the future" if dropped else "")
    )
    return Roles(
        [c for c in numeric if c in static],
        [c for c in categorical if c in static],
        ignored + dropped,
        known_ahead=False,
        observed=after,
    )


def leak_warnings(frame: pd.DataFrame, cols: ColumnConfig, numeric: list[str]) -> list[str]:
    """Known-ahead columns that track the target on the same day too closely to be known
    ahead (|Spearman rank correlation| > LEAK_CORRELATION on the training rows)."""
    notes = []
    target = frame[cols.target_column]
    for column in numeric:
        values = pd.to_numeric(frame[column], errors="coerce")
        both = values.notna() & target.notna()
        if both.sum() < 10 or values[both].nunique() < 3:
            continue
        correlation = values[both].rank().corr(target[both].rank())
        if abs(correlation) > LEAK_CORRELATION:
            notes.append(
                f"warning: column {column!r} predicts {cols.target_column!r} on the same day "
                f"suspiciously well (rank correlation {correlation:.2f}): if it is only known "
                "after the day (revenue, footfall), take it out of [data] known_columns"
            )
    return notes


def open_days(frame: pd.DataFrame, cols: ColumnConfig) -> pd.Series:
    """True where the series trades: an open flag of 0 marks a closed day; missing counts
    as open."""
    if not cols.open_column:
        return pd.Series(True, index=frame.index)
    return pd.to_numeric(frame[cols.open_column], errors="coerce").fillna(1) != 0


def build_features(
    raw: pd.DataFrame,
    cols: ColumnConfig,
    horizon: int,
    validation_start: str | None = None,
    test_start: str | None = None,
    drift_reference: str = "seasonal",
    zero_means_closed: bool = False,
) -> FeatureFrames:
    """Validate, engineer features and split by date. Pure: no file I/O.

    Two fits of the same features: the back-test's (train, validation, test; fitted on the
    training window, as a forecast made at the test window's start would be) and the
    forecast's (all history up to the origin, and the future rows it forecasts)."""
    if horizon < 1:
        raise DataError(f"horizon must be at least 1 day, got {horizon}")
    frame, notes = validate(raw, cols)
    frame[SERIES_ID] = (
        frame[list(cols.series_columns)].astype(str).agg("|".join, axis=1)
        if len(cols.series_columns) > 1
        else frame[cols.series_columns[0]].astype(str)
    )
    observed, future, span, horizon_notes = split_horizon(frame, cols, horizon)
    notes += horizon_notes
    roles = decide_roles(observed, cols, span.source == "input", notes)
    if span.source == "calendar":
        future = calendar_future(observed, cols, span, [*roles.numeric, *roles.categorical])
    frame = (
        pd.concat([observed, future], ignore_index=True)
        .sort_values([*cols.series_columns, cols.date_column])
        .reset_index(drop=True)
    )
    dates = frame[cols.date_column]
    is_future = dates > span.origin
    windows = resolve_windows(dates[~is_future], horizon, validation_start, test_start)
    trading = open_days(frame, cols)
    usable = trading & frame[cols.target_column].notna()
    if zero_means_closed:
        usable &= frame[cols.target_column] != 0
    demand = frame[cols.target_column].where(usable)
    train_mask = usable & (dates <= windows.train_end)
    counts = frame.loc[train_mask].groupby(SERIES_ID).size()
    short = sorted(set(frame[SERIES_ID]) - set(counts[counts >= horizon].index))
    if short:
        notes.append(
            f"{len(short)} series have fewer than {horizon} training rows (e.g. {short[:3]}); "
            "their history features are mostly missing"
        )

    grid = DayGrid(frame, cols)
    backtest = engineer(frame, grid, cols, roles, demand, horizon, train_mask, windows.test_start)
    forecast = engineer(
        frame, grid, cols, roles, demand, horizon, usable, span.origin + pd.Timedelta(days=1)
    )
    sparse = sparse_history(backtest, train_mask)
    if sparse:
        notes.append(
            f"left out {sparse}: fewer than {MIN_FEATURE_COVERAGE:.0%} of the training rows "
            "reach that far back"
        )
        backtest, forecast = without(backtest, sparse), without(forecast, sparse)
    notes += backtest.notes
    notes += leak_warnings(frame.loc[train_mask], cols, roles.numeric)

    key_frame = frame[[*cols.series_columns, cols.date_column]]
    target = frame[[cols.target_column]]

    def rows(features: FeatureSet, mask: pd.Series) -> pd.DataFrame:
        return pd.concat([key_frame, target, features.features], axis=1).loc[mask]

    def window(start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        return rows(backtest, usable & (dates >= start) & (dates <= end)).reset_index(drop=True)

    train = window(windows.train_start, windows.train_end)
    validation = window(windows.validation_start, windows.validation_end)
    test = window(windows.test_start, windows.test_end)
    for name, part in (("train", train), ("validation", validation), ("test", test)):
        if part.empty:
            raise DataError(f"the {name} window {windows.as_json()[name]} has no usable rows")
    history = rows(forecast, usable).reset_index(drop=True)
    batch = (
        pd.concat([key_frame, forecast.features], axis=1)
        .loc[is_future & trading]
        .reset_index(drop=True)
    )
    if batch.empty:
        raise DataError(f"no open day to forecast in {span.first:%Y-%m-%d}..{span.last:%Y-%m-%d}")

    schema: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "date_column": cols.date_column,
        "series_columns": list(cols.series_columns),
        "target_column": cols.target_column,
        "open_column": cols.open_column,
        "zero_means_closed": zero_means_closed,
        "target_transform": TARGET_TRANSFORM,
        "horizon_days": horizon,
        "windows": windows.as_json(),
        "forecast": span.as_json(),
        "features": backtest.specs,
        "columns": {
            "numeric": roles.numeric,
            "categorical": roles.categorical,
            "observed": roles.observed,
            "ignored": roles.ignored,
        },
        "encodings": backtest.encodings,
        "rows": {
            "train": len(train),
            "validation": len(validation),
            "test": len(test),
            "history": len(history),
            "batch": len(batch),
        },
        "notes": notes,
    }
    history_schema = {
        **schema,
        "fit": "forecast",
        "windows": {"train": [windows.as_json()["train"][0], span.as_json()["origin"]]},
        "backtest_windows": windows.as_json(),
        "features": forecast.specs,
        "encodings": forecast.encodings,
    }
    schema["fit"] = "backtest"
    reference, described = reference_window(
        history, cols.date_column, span.first, span.last, drift_reference
    )
    calendar = tuple(calendar_features(dates.iloc[:1]).columns)
    return FeatureFrames(
        train,
        validation,
        test,
        batch,
        schema,
        notes,
        history=history,
        history_schema=history_schema,
        # calendar parts are deterministic in the date: a new window always "drifts"
        baseline=build_baseline(
            reference, history_schema, unmonitored=calendar, reference=described
        ),
        monitor=monitor_files(reference, history_schema),
    )


# --------------------------------------------------------------------------- writing


def batch_file_names(batch_file: str, shards: int) -> list[str]:
    """batch.csv for one Batch Transform instance; batch-000.csv, batch-001.csv, ... for more
    (Batch Transform hands whole S3 objects to its instances: one file keeps all but one
    instance idle)."""
    if shards == 1:
        return [batch_file]
    stem, _, suffix = batch_file.rpartition(".")
    return [f"{stem}-{i:03d}.{suffix}" for i in range(shards)]


def batch_shards(batch: pd.DataFrame, series_columns: list[str], shards: int) -> list[pd.DataFrame]:
    """The batch rows split into `shards` parts by series (each series whole, in its order),
    series dealt round-robin in sorted order so the parts are about equal and reproducible."""
    if shards == 1:
        return [batch]
    ranks = batch.groupby(series_columns, sort=True, observed=True).ngroup()
    shards = max(1, min(shards, int(ranks.max()) + 1 if len(ranks) else 1))  # none empty
    return [batch.loc[ranks.to_numpy() % shards == i] for i in range(shards)]


def write_outputs(
    frames: FeatureFrames,
    targets: dict[str, Path],
    batch_file: str,
    schema_file: str,
    files: dict[str, str],
    shards: int = 1,
) -> None:
    """Write every output, then rename each file into place; on any error, write nothing.

    Each file is staged in a hidden folder *inside* its own output directory: SageMaker
    mounts every processing output path as its own volume, so a rename from beside it (or
    from another output) fails with EXDEV. Files of an earlier run with the same names, and
    batch files of an earlier shard count, are replaced; nothing else is touched."""
    staged: list[tuple[Path, Path]] = []
    try:
        for name, directory in targets.items():
            directory.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=".staging.", dir=directory))
            staged.append((tmp, directory))
            if name == "batch":
                frame = frames.batch.copy()
                date = frames.schema["date_column"]
                frame[date] = frame[date].dt.strftime("%Y-%m-%d")
                parts = batch_shards(frame, frames.schema["series_columns"], shards)
                for part, file in zip(parts, batch_file_names(batch_file, len(parts)), strict=True):
                    part.to_csv(tmp / file, header=False, index=False, na_rep="")
            else:
                getattr(frames, name).to_parquet(tmp / files[name], index=False)
            if name == "train":
                (tmp / schema_file).write_text(json.dumps(frames.schema, indent=2, sort_keys=True))
                # the forecast's fit travels with the back-test's: Train fits both models
                frames.history.to_parquet(tmp / HISTORY_FILE, index=False)
                (tmp / HISTORY_SCHEMA_FILE).write_text(
                    json.dumps(frames.history_schema, indent=2, sort_keys=True)
                )
                # the drift baseline of the training features travels with the schema
                (tmp / BASELINE_FILE).write_text(json.dumps(frames.baseline, sort_keys=True))
                for file, document in frames.monitor.items():
                    (tmp / file).write_text(json.dumps(document, sort_keys=True))
        batch_name = batch_files(batch_file)
        for tmp, directory in staged:
            if directory == targets.get("batch"):  # an earlier run's shards
                written = {p.name for p in tmp.iterdir()}
                for old in directory.iterdir():
                    if batch_name.fullmatch(old.name) and old.name not in written:
                        old.unlink()
            for child in tmp.iterdir():
                os.replace(child, directory / child.name)
    finally:
        for tmp, _ in staged:
            shutil.rmtree(tmp, ignore_errors=True)


def _date_or_auto(value: str) -> str | None:
    return None if value.strip().lower() in ("", "auto") else value.strip()


def _columns(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Validate raw sales data, build forecasting features, split by date."
    )
    parser.add_argument(
        "--input-dir",
        default="/opt/ml/processing/input/data",
        help="a CSV/Parquet file or a folder of them",
    )
    parser.add_argument("--train-dir", default="/opt/ml/processing/train")
    parser.add_argument("--validation-dir", default="/opt/ml/processing/validation")
    parser.add_argument("--test-dir", default="/opt/ml/processing/test")
    parser.add_argument("--batch-dir", default="/opt/ml/processing/batch")
    parser.add_argument(
        "--batch-shards",
        type=int,
        default=1,
        help="batch input files to write, one per Batch Transform instance",
    )
    parser.add_argument(
        "--horizon",
        type=int,
        default=42,
        help="forecast horizon in days; no feature looks closer than this",
    )
    parser.add_argument(
        "--validation-start",
        default="auto",
        help="first validation day (YYYY-MM-DD); auto: horizon days before test",
    )
    parser.add_argument(
        "--test-start",
        default="auto",
        help="first test day (YYYY-MM-DD); auto: the last horizon days",
    )
    parser.add_argument("--date-column", default="Date")
    parser.add_argument("--series-columns", default="Store", help="comma-separated key columns")
    parser.add_argument("--target-column", default="Sales")
    parser.add_argument(
        "--open-column",
        default="Open",
        help="rows where this is 0 are closed days; empty to disable",
    )
    parser.add_argument(
        "--categorical-columns",
        default=None,
        help="comma-separated; default: inferred from the data",
    )
    parser.add_argument(
        "--numeric-columns", default=None, help="comma-separated; default: inferred from the data"
    )
    parser.add_argument("--ignore-columns", default="", help="comma-separated")
    parser.add_argument(
        "--known-columns",
        default="Promo,SchoolHoliday,Promo2",
        help="comma-separated covariates known ahead of time (used on the day); any other "
        "that changes within a series is used only lagged by the horizon",
    )
    parser.add_argument(
        "--zero-means-closed",
        action="store_true",
        help="a zero target marks a closed day (for data without an open column); by "
        "default a zero on an open day is demand",
    )
    parser.add_argument(
        "--drift-reference",
        choices=REFERENCE_MODES,
        default="seasonal",
        help="training rows the drift baseline is fitted on: the batch "
        "window's weeks one year earlier (seasonal) or all of them",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cols = ColumnConfig(
        date_column=args.date_column,
        series_columns=_columns(args.series_columns),
        target_column=args.target_column,
        open_column=args.open_column or None,
        categorical_columns=None
        if args.categorical_columns is None
        else _columns(args.categorical_columns),
        numeric_columns=None if args.numeric_columns is None else _columns(args.numeric_columns),
        ignore_columns=_columns(args.ignore_columns),
        known_columns=_columns(args.known_columns),
    )
    try:
        if not cols.series_columns:
            raise DataError("--series-columns must name at least one column")
        if not 1 <= args.batch_shards <= 999:
            raise DataError(f"--batch-shards must be between 1 and 999, got {args.batch_shards}")
        raw = read_data(Path(args.input_dir))
        frames = build_features(
            raw,
            cols,
            args.horizon,
            _date_or_auto(args.validation_start),
            _date_or_auto(args.test_start),
            args.drift_reference,
            args.zero_means_closed,
        )
    except DataError as exc:
        print(f"preprocess: error: {exc}", file=sys.stderr)
        return 2
    write_outputs(
        frames,
        {
            "train": Path(args.train_dir),
            "validation": Path(args.validation_dir),
            "test": Path(args.test_dir),
            "batch": Path(args.batch_dir),
        },
        batch_file="batch.csv",
        shards=args.batch_shards,
        schema_file="feature_schema.json",
        files={
            "train": "train.parquet",
            "validation": "validation.parquet",
            "test": "test.parquet",
        },
    )
    rows, span = frames.schema["rows"], frames.schema["forecast"]
    print(
        f"preprocess: {len(frames.schema['features'])} features; rows train={rows['train']} "
        f"validation={rows['validation']} test={rows['test']} history={rows['history']}; "
        f"back-test windows {json.dumps(frames.schema['windows'])}"
    )
    print(
        f"preprocess: forecast {rows['batch']} rows, {span['first']}..{span['last']} after "
        f"the origin {span['origin']} ("
        + ("future rows of the input" if span["source"] == "input" else "from the calendar")
        + ")"
    )
    for note in frames.notes:
        print(f"preprocess: note: {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The features: pure functions from one unit of whole series to its feature columns.

Every feature of a row depends only on its own series (lags, rolling statistics and
encodings by series over a calendar grid) or on facts fitted over the whole data set and
handed in (category maps): so a unit of series yields the same rows whichever instance
builds it, alone or next to any other units. preprocess.py decides those facts (the plan)
and calls these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

SERIES_ID = "__series_id"
# how a training row's days ahead of its notional origin are drawn (a hash key of its own,
# so the draw is independent of preprocess's hash sample of the rows for the bins)
LEAD_HASH_KEY = "days-ahead-draw."
# (origin, last day): rows after the origin up to the last day are forecast from it
ForecastWindow = tuple[pd.Timestamp, pd.Timestamp]
# what a forecast knows at its origin (see origin_features); the means are over these days
ORIGIN_MEANS = (7, 28)
ORIGIN_FEATURES = (
    "days_ahead",
    *(f"origin_mean_{days}" for days in ORIGIN_MEANS),
    "origin_same_weekday",
)


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
    history_columns: list[str]


def series_ids(frame: pd.DataFrame, cols: ColumnConfig) -> pd.Series:
    """One text key per series: the key columns' values joined by "|"."""
    return key_strings(frame, list(cols.series_columns))


def key_strings(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    """The `columns`' values of each row as text joined by "|", joined once per distinct
    key rather than per row (9.4M rows may be 10,000 series)."""
    if len(columns) == 1:
        return frame[columns[0]].astype(str)
    keys = frame[columns]
    codes = keys.groupby(columns, sort=False, dropna=False).ngroup().to_numpy()
    first_rows = keys.loc[~pd.Series(codes).duplicated().to_numpy()]
    texts = first_rows.astype(str).agg("|".join, axis=1).to_numpy()
    return pd.Series(texts[codes], index=frame.index, dtype=object)


def row_hashes(frame: pd.DataFrame, columns: list[str], hash_key: str) -> np.ndarray:
    """A uint64 per row from its `columns`' values, the same under pandas 2 and 3: a date
    is hashed as its day number, since pandas 3 parses dates to microseconds and pandas 2
    (the container's) to nanoseconds, one day as two different integers, so hashing the
    values as they are would draw other rows locally than on SageMaker. Text (`str` in
    pandas 3, `object` in 2) hashes alike in both."""
    values = {
        name: (
            frame[name].to_numpy().astype("datetime64[D]").astype("int64")
            if pd.api.types.is_datetime64_any_dtype(frame[name])
            else frame[name].to_numpy()
        )
        for name in columns
    }
    table = pd.DataFrame(values, index=frame.index)
    return pd.util.hash_pandas_object(table, index=False, hash_key=hash_key).to_numpy()


def open_days(frame: pd.DataFrame, cols: ColumnConfig) -> pd.Series:
    """True where the series trades: an open flag of 0 marks a closed day; missing counts
    as open."""
    if not cols.open_column:
        return pd.Series(True, index=frame.index)
    return pd.to_numeric(frame[cols.open_column], errors="coerce").fillna(1) != 0


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


def days_ahead(
    frame: pd.DataFrame, cols: ColumnConfig, horizon: int, windows: list[ForecastWindow]
) -> pd.Series:
    """How many days after its forecast origin each row lies (1 on the day after).

    A row in one of `windows` (the back-test's validation and test windows, the forecast's
    future) counts from that window's origin, as it is forecast. Any other row is a training
    row, seen as if forecast from an origin 1..horizon days before it, drawn by a hash of
    its series and date (the same whichever instance, and pandas, builds it: `row_hashes`):
    so the model learns, from every lead alike, how much the last days before an origin
    still tell."""
    dates = frame[cols.date_column]
    hashed = row_hashes(frame, [SERIES_ID, cols.date_column], LEAD_HASH_KEY)
    lead = pd.Series((hashed % np.uint64(horizon)).astype("int64") + 1, index=frame.index)
    for origin, last in windows:
        inside = (dates > origin) & (dates <= last)
        lead[inside] = (dates[inside] - origin).dt.days
    return lead


def history_features(
    grid: DayGrid, demand: pd.Series, horizon: int, cutoff: pd.Timestamp, lead: pd.Series
) -> pd.DataFrame:
    """Target lags and rolling statistics per series, each using only days at least
    `horizon` days before the row and strictly before `cutoff`; and the same series' last
    days before the row's forecast origin, `lead` days before it (see `days_ahead`).

    `demand` is the target where it is demand: missing on closed days (so they do not drag
    the statistics down) and where unobserved; a zero on an open day is a zero."""
    target = demand.where(grid.frame[grid.cols.date_column] < cutoff)
    wide = grid.matrix(np.log1p(target))
    return pd.concat(
        [lagged_features(grid, wide, horizon), origin_features(grid, wide, lead)], axis=1
    )


def origin_features(grid: DayGrid, wide: pd.DataFrame, lead: pd.Series) -> pd.DataFrame:
    """What a forecast made at the row's origin knows last: the mean (log scale) of the
    week and of the four weeks up to the origin, and the latest same weekday at or before
    it, with the lead itself. The fixed lags reach only `horizon` days back, which for the
    forecast's first days leaves the weeks just before the origin unused."""
    ahead = lead.to_numpy(dtype="int64")
    at_origin = grid.day_pos - ahead
    same_weekday = grid.day_pos - 7 * (-(-ahead // 7))
    rolled = {n: wide.rolling(n, min_periods=max(2, n // 4)).mean() for n in ORIGIN_MEANS}

    def look_up(matrix: pd.DataFrame, days: np.ndarray) -> np.ndarray:
        found = matrix.to_numpy()[np.clip(days, 0, None), grid.series_pos]
        return np.where(days >= 0, found, np.nan)

    return pd.DataFrame(
        {
            "days_ahead": ahead.astype("float64"),
            **{f"origin_mean_{n}": look_up(mean, at_origin) for n, mean in rolled.items()},
            "origin_same_weekday": look_up(wide, same_weekday),
        },
        index=grid.frame.index,
    )


def lagged_features(grid: DayGrid, wide: pd.DataFrame, horizon: int) -> pd.DataFrame:
    """The log target's lags and rolling statistics, `horizon` days back or more."""
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


# days: how far a distance to a closure, or into and out of a covariate's run, is told apart
# (runs: two weeks, so the school holidays' dates moving from one year to the next do not
# read as drift of the whole holiday)
CLOSURE_CAP = 60
RUN_CAP = 14


def day_numbers(grid: DayGrid) -> pd.DataFrame:
    """Each grid cell's day number (0 on the grid's first day), for distances in days."""
    days = np.arange(len(grid.index), dtype="float64")[:, None]
    return pd.DataFrame(np.repeat(days, len(grid.series), 1), index=grid.index, columns=grid.series)


def run_features(values: pd.DataFrame, day: pd.DataFrame, name: str) -> dict[str, pd.DataFrame]:
    """Where each day sits in its run of one value of a known-ahead column: the days since
    the value last changed (1 on its first day) and until it next changes (1 on its last):
    the third day of a promotion, a week before the school holidays end. A run that meets a
    missing value (the calendar's or a series' first or last day, a gap) has no known start
    or end: told as RUN_CAP, "long ago" or "not soon", so the edge of the data is no event."""
    known = values.notna()
    before, after = values.shift(1), values.shift(-1)
    unknown = float(10 * RUN_CAP)
    starts = day.where(known & before.notna() & values.ne(before))
    starts = starts.mask(known & before.isna(), day - unknown)
    ends = day.where(known & after.notna() & values.ne(after))
    ends = ends.mask(known & after.isna(), day + unknown)
    return {
        f"{name}_run_day": (day - starts.ffill() + 1).where(known).clip(upper=RUN_CAP),
        f"{name}_days_to_change": (ends.bfill() - day + 1).where(known).clip(upper=RUN_CAP),
    }


def schedule_features(grid: DayGrid, cols: ColumnConfig, numeric: list[str]) -> pd.DataFrame:
    """What is known ahead of time around each day: the covariates of the day before and
    after (a promotion starting tomorrow) and where the day sits in the covariate's run (its
    third day, two days before it ends), and the distance to the nearest closed day (stores
    sell more just before and after a closure)."""
    frame = grid.frame
    day = day_numbers(grid)
    out: dict[str, pd.DataFrame] = {}
    for column in numeric:
        values = grid.matrix(pd.to_numeric(frame[column], errors="coerce"))
        out[f"{column}_prev_day"] = values.shift(1)
        out[f"{column}_next_day"] = values.shift(-1)
        out.update(run_features(values, day, column))
    if cols.open_column:
        closed = grid.matrix((frame[cols.open_column].fillna(1) == 0).astype(float))
        closed_day = day.where(closed == 1)
        out["days_since_closed"] = (day - closed_day.ffill()).clip(upper=CLOSURE_CAP)
        out["days_until_closed"] = (closed_day.bfill() - day).clip(upper=CLOSURE_CAP)
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
) -> pd.DataFrame:
    """Series-level target statistics (log scale) fitted on the `fit` rows only: exact per
    unit, since a unit holds each of its series whole."""
    log_target = np.log1p(demand)
    usable = fit & demand.notna()
    weekday = frame[cols.date_column].dt.day_of_week
    train = pd.DataFrame(
        {"s": frame.loc[usable, SERIES_ID], "dow": weekday[usable], "y": log_target[usable]}
    )
    series_mean = train.groupby("s")["y"].mean()
    series_dow = train.groupby(["s", "dow"])["y"].mean()
    encoded = pd.DataFrame(index=frame.index)
    encoded["series_mean_log_target"] = frame[SERIES_ID].map(series_mean).astype("float64")
    pairs = pd.MultiIndex.from_arrays([frame[SERIES_ID], weekday])
    encoded["series_weekday_mean_log_target"] = series_dow.reindex(pairs).to_numpy()
    return encoded


def encode_categories(values: pd.Series, categories: list[str]) -> pd.Series:
    """Integer codes in the fitted order; a value never seen in training becomes missing."""
    lookup = {value: float(i) for i, value in enumerate(categories)}
    as_text = values.astype("string")
    return as_text.map(lookup).astype("float64")


def category_features(cols: ColumnConfig, roles: Roles) -> dict[str, str]:
    """{feature name: source column} of the category codes: series keys as <key>_code."""
    return {
        (c if c not in cols.series_columns else f"{c}_code"): c
        for c in [*cols.series_columns, *roles.categorical]
    }


def engineer(
    frame: pd.DataFrame,
    grid: DayGrid,
    cols: ColumnConfig,
    roles: Roles,
    demand: pd.Series,
    horizon: int,
    fit: pd.Series,
    cutoff: pd.Timestamp,
    lead: pd.Series,
    categories: dict[str, list[str]],
) -> FeatureSet:
    """Every feature of every row: category codes from the data set's maps, encodings
    fitted on `fit` rows, target history cut at `cutoff` and seen from `lead` days ahead."""
    history = history_features(grid, demand, horizon, cutoff, lead)
    if roles.observed:
        history = pd.concat([history, observed_features(grid, roles.observed, horizon)], axis=1)
    parts = [calendar_features(frame[cols.date_column]), history]
    if roles.known_ahead:
        parts.append(schedule_features(grid, cols, roles.numeric))
    parts.append(series_encodings(frame, cols, demand, fit))
    covariates = pd.DataFrame(index=frame.index)
    for column in roles.numeric:
        covariates[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    for name, source in category_features(cols, roles).items():
        covariates[name] = encode_categories(frame[source], categories.get(source, []))
    features = pd.concat([covariates, *parts], axis=1)
    return FeatureSet(features, list(history.columns))


def feature_specs(
    names: list[str], cols: ColumnConfig, roles: Roles, categories: dict[str, list[str]]
) -> list[dict[str, Any]]:
    """The schema's feature list: each name, its type and, for codes, the category map."""
    coded = category_features(cols, roles)
    return [
        {"name": n, "type": "categorical", "source": coded[n], "categories": categories[coded[n]]}
        if n in coded
        else {"name": n, "type": "numeric"}
        for n in names
    ]

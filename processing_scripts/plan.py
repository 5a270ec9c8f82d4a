"""The plan: what every unit's features need from the whole data set, decided alike on
every instance.

Preprocess on several instances builds each unit of series on one of them, but some facts
need all the data: the forecast origin and the windows, the columns' roles (numeric,
categorical, known ahead, observed), the category maps, which history features are dense
enough, the encodings' global mean, the drift reference's weeks, the totals. Each is made of
exactly mergeable parts - a survey of every unit (value sets, first and last days, empty
targets per day), then a fit of every unit given the survey's decisions (sums, counts and
value sets) - so that the plan, and the schemas written from it, come out byte for byte the
same whichever instance computes them and however the series are cut into units. With one
unit it is what a single pass over the frame would decide.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from drift import REFERENCE_MODES, SEASON, reference_rule  # ships in the same code folder
from features import (  # ships in the same code folder
    SERIES_ID,
    ColumnConfig,
    DayGrid,
    ForecastWindow,
    Roles,
    days_ahead,
    engineer,
    feature_specs,
    history_features,
    observed_features,
    open_days,
)

SCHEMA_VERSION = 1
TARGET_TRANSFORM = "log1p"
# A history feature (lag, rolling statistic) is built only when at least this share of the
# training rows has it: a one-year lag on little more than a year of data is mostly missing.
MIN_FEATURE_COVERAGE = 0.5
# A known-ahead column whose same-day rank correlation with the target exceeds this is
# reported as a likely leak (a same-day outcome such as revenue or footfall).
LEAK_CORRELATION = 0.9
MAX_CATEGORIES = 1000  # a text column with more distinct values is ignored, not encoded


class DataError(ValueError):
    """Bad input data: the message names the file, column or row."""


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


def zone_note(column: str, count: int, offsets: set[str]) -> str:
    shown = sorted(offsets)
    listed = ", ".join(shown[:4]) + (", ..." if len(shown) > 4 else "")
    return (
        f"column {column!r}: {count} value(s) carry a UTC offset ({listed}); "
        "each is read as the calendar day it names"
    )


# --------------------------------------------------------------------------- the plan, 1: survey
#
# What decides the windows and the columns' roles, from the observed rows of every unit.


@dataclass
class Survey:
    """Facts of one unit (or, merged, of the data set) that are combined exactly."""

    columns: list[str]
    numeric: set[str]  # columns of a numeric or boolean type (in every unit)
    distinct: dict[str, set[str]]  # other columns: observed values, up to MAX_CATEGORIES + 1
    changing: set[str]  # columns whose value changes within some series (observed rows)
    first_day: pd.Timestamp  # first and last day with an observed target
    last_day: pd.Timestamp
    empty_days: dict[pd.Timestamp, int]  # rows with an empty target, per day
    zoned: int = 0
    offsets: set[str] = field(default_factory=set)


def reserved_columns(cols: ColumnConfig) -> set[str]:
    reserved = {
        cols.date_column,
        cols.target_column,
        SERIES_ID,
        *cols.series_columns,
        *cols.ignore_columns,
    }
    if cols.open_column:
        reserved.add(cols.open_column)
    return reserved


def survey(frame: pd.DataFrame, cols: ColumnConfig, zone: tuple[int, set[str]]) -> Survey:
    """What one validated unit says about the roles and the calendar."""
    date, target = cols.date_column, cols.target_column
    observed = frame.loc[frame[target].notna()]
    candidates = [c for c in frame.columns if c not in reserved_columns(cols)]
    numeric = {
        c
        for c in candidates
        if pd.api.types.is_bool_dtype(frame[c]) or pd.api.types.is_numeric_dtype(frame[c])
    }
    distinct = {
        c: set(observed[c].dropna().astype(str).unique()[: MAX_CATEGORIES + 1])
        for c in candidates
        if c not in numeric
    }
    changing: set[str] = set()
    if len(observed) and candidates:
        counts = observed.groupby(SERIES_ID)[candidates].nunique(dropna=False).max()
        changing = {c for c in candidates if counts[c] > 1}
    empty = frame.loc[frame[target].isna(), date].value_counts()
    return Survey(
        columns=[c for c in frame.columns if c != SERIES_ID],
        numeric=numeric,
        distinct=distinct,
        changing=changing,
        first_day=observed[date].min(),
        last_day=observed[date].max(),
        empty_days={pd.Timestamp(k): int(v) for k, v in empty.items()},
        zoned=zone[0],
        offsets=zone[1],
    )


def merge_surveys(parts: list[Survey]) -> Survey:
    first = parts[0]
    columns = list(first.columns) + [
        c for p in parts[1:] for c in p.columns if c not in first.columns
    ]
    numeric = set.intersection(*(p.numeric for p in parts))
    distinct: dict[str, set[str]] = {}
    for part in parts:
        for column, values in part.distinct.items():
            distinct.setdefault(column, set()).update(values)
    for column in {c for p in parts for c in p.numeric} - numeric:  # text in some unit
        distinct.setdefault(column, set()).add("")
    empty: dict[pd.Timestamp, int] = {}
    for part in parts:
        for day, count in part.empty_days.items():
            empty[day] = empty.get(day, 0) + count
    days = [p for p in parts if pd.notna(p.last_day)]
    return Survey(
        columns=columns,
        numeric=numeric,
        distinct=distinct,
        changing=set().union(*(p.changing for p in parts)),
        first_day=min(p.first_day for p in days) if days else pd.NaT,
        last_day=max(p.last_day for p in days) if days else pd.NaT,
        empty_days=empty,
        zoned=sum(p.zoned for p in parts),
        offsets=set().union(*(p.offsets for p in parts)),
    )


def infer_roles(facts: Survey, cols: ColumnConfig) -> tuple[list[str], list[str], list[str]]:
    """Split the covariates into numeric and categorical, and list the ignored ones."""
    reserved = reserved_columns(cols)
    candidates = [c for c in facts.columns if c not in reserved]
    explicit = (cols.categorical_columns or ()) + (cols.numeric_columns or ())
    unknown = [c for c in explicit if c not in facts.columns]
    if unknown:
        raise DataError(f"configured covariate column(s) {unknown} are not in the data")
    categorical: list[str] = list(cols.categorical_columns or ())
    numeric: list[str] = list(cols.numeric_columns or ())
    ignored: list[str] = [c for c in cols.ignore_columns if c in facts.columns]
    both_given = cols.categorical_columns is not None and cols.numeric_columns is not None
    for column in candidates:
        if column in categorical or column in numeric:
            continue
        if both_given:
            ignored.append(column)
        elif column in facts.numeric:
            numeric.append(column)
        elif len(facts.distinct.get(column, ())) <= MAX_CATEGORIES:
            categorical.append(column)
        else:
            ignored.append(column)
    return numeric, categorical, ignored


def decide_roles(facts: Survey, cols: ColumnConfig, future_given: bool, notes: list[str]) -> Roles:
    """Covariate roles; without future rows only what is static per series stays (a
    promotion next month is unknown when the input does not say)."""
    numeric, categorical, ignored = infer_roles(facts, cols)
    if ignored:
        notes.append(f"ignored column(s) {ignored}")
    absent = [c for c in cols.known_columns if c not in facts.columns]
    if absent:
        raise DataError(
            f"known-ahead column(s) {absent} ([data] known_columns, --known-columns) are not "
            f"in the data; it has {facts.columns}"
        )
    static = {c for c in [*numeric, *categorical] if c not in facts.changing}
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


@dataclass(frozen=True)
class PlanSettings:
    """What the step's arguments choose: the columns, the horizon, the windows' first days
    (None: the last horizon days, and the horizon before them), the drift reference, and
    whether a zero target means closed."""

    cols: ColumnConfig
    horizon: int
    validation_start: str | None = None
    test_start: str | None = None
    drift_reference: str = "seasonal"
    zero_means_closed: bool = False


@dataclass(frozen=True)
class Decisions:
    """The settings and what the survey decided: the same on every instance."""

    cols: ColumnConfig
    horizon: int
    zero_means_closed: bool
    drift_reference: str
    span: Horizon
    windows: Windows
    roles: Roles
    notes: tuple[str, ...]

    def forecast_windows(self, fit: str) -> list[ForecastWindow]:
        """The windows a fit forecasts, each from the day before it: the back-test's
        validation and test windows (the early-stopped model forecasts the one, the
        back-test's model the other), the forecast's future after its origin."""
        day = pd.Timedelta(days=1)
        if fit == "backtest":
            w = self.windows
            return [(w.validation_start - day, w.validation_end), (w.test_start - day, w.test_end)]
        return [(self.span.origin, self.span.last)]


def resolve_windows(
    first: pd.Timestamp,
    last: pd.Timestamp,
    horizon: int,
    validation_start: str | None,
    test_start: str | None,
) -> Windows:
    """Test = the last `horizon` observed days unless given; validation = the `horizon` days
    before it."""
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


def decide(facts: Survey, chosen: PlanSettings) -> Decisions:
    """The forecast origin, the horizon's days and the windows, and the columns' roles.

    Rows with an empty target after the last observed day are the future the planner asks
    for; up to `horizon` days of them are forecast (lags no closer than the horizon cannot
    reach further). An empty target on or before that day is a gap in the history."""
    cols, horizon, drift_reference = chosen.cols, chosen.horizon, chosen.drift_reference
    if horizon < 1:
        raise DataError(f"horizon must be at least 1 day, got {horizon}")
    if drift_reference not in REFERENCE_MODES:
        raise DataError(
            f"drift reference must be one of {list(REFERENCE_MODES)}, got {drift_reference!r}"
        )
    target = cols.target_column
    if pd.isna(facts.last_day):
        raise DataError(f"column {target!r} is empty on every row: no history")
    notes = [zone_note(cols.date_column, facts.zoned, facts.offsets)] if facts.zoned else []
    origin = facts.last_day
    last = origin + pd.Timedelta(days=horizon)
    gaps = sum(n for day, n in facts.empty_days.items() if day <= origin)
    beyond = sum(n for day, n in facts.empty_days.items() if day > last)
    future_days = sorted(day for day in facts.empty_days if origin < day <= last)
    if gaps:
        notes.append(
            f"dropped {gaps} row(s) with an empty {target!r} on or before "
            f"{origin:%Y-%m-%d}, the last day with an observed {target!r}"
        )
    if beyond:
        notes.append(
            f"{beyond} future row(s) after {last:%Y-%m-%d} are beyond the "
            f"{horizon}-day horizon and are not forecast"
        )
    if future_days:
        span = Horizon(origin, future_days[0], future_days[-1], "input")
    else:
        span = Horizon(origin, origin + pd.Timedelta(days=1), last, "calendar")
    roles = decide_roles(facts, cols, span.source == "input", notes)
    windows = resolve_windows(
        facts.first_day, origin, horizon, chosen.validation_start, chosen.test_start
    )
    return Decisions(
        cols, horizon, chosen.zero_means_closed, drift_reference, span, windows, roles, tuple(notes)
    )


# --------------------------------------------------------------------------- the plan, 2: fit
#
# Given the decisions, what the features are fitted on, summed over every unit.


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


@dataclass
class UnitRows:
    """One unit's observed and future rows in (series, date) order, with the masks that
    say what each row is."""

    frame: pd.DataFrame
    dates: pd.Series
    is_future: pd.Series
    trading: pd.Series
    usable: pd.Series  # trading, with an observed target: demand (zeros included)
    demand: pd.Series  # the target where usable
    train: pd.Series  # usable rows of the training window

    def window(self, start: pd.Timestamp, end: pd.Timestamp) -> pd.Series:
        return self.usable & (self.dates >= start) & (self.dates <= end)


def unit_rows(frame: pd.DataFrame, d: Decisions) -> UnitRows:
    cols, span = d.cols, d.span
    date, target = cols.date_column, cols.target_column
    observed = frame.loc[frame[target].notna()].reset_index(drop=True)
    if span.source == "calendar":
        future = calendar_future(observed, cols, span, [*d.roles.numeric, *d.roles.categorical])
    else:
        future = frame.loc[(frame[date] > span.origin) & (frame[date] <= span.last)]
    rows = (
        pd.concat([observed, future], ignore_index=True)
        .sort_values([*cols.series_columns, date])
        .reset_index(drop=True)
    )
    dates = rows[date]
    trading = open_days(rows, cols)
    usable = trading & rows[target].notna()
    if d.zero_means_closed:
        usable &= rows[target] != 0
    return UnitRows(
        rows,
        dates,
        dates > span.origin,
        trading,
        usable,
        rows[target].where(usable),
        usable & (dates <= d.windows.train_end),
    )


def leads(rows: UnitRows, d: Decisions, fit: str) -> pd.Series:
    """Each row's days ahead of its forecast origin in `fit` (see features.days_ahead)."""
    return days_ahead(rows.frame, d.cols, d.horizon, d.forecast_windows(fit))


def history_columns(rows: UnitRows, d: Decisions, cutoff: pd.Timestamp) -> pd.DataFrame:
    """The target's (and observed covariates') history features in the back-test's fit:
    what may be too sparse."""
    grid = DayGrid(rows.frame, d.cols)
    history = history_features(grid, rows.demand, d.horizon, cutoff, leads(rows, d, "backtest"))
    if d.roles.observed:
        history = pd.concat([history, observed_features(grid, d.roles.observed, d.horizon)], axis=1)
    return history


@dataclass
class Fit:
    """What one unit adds to the fits of the data set (sums, counts and value sets)."""

    rows: dict[str, int]
    short: int  # series with fewer training rows than the horizon
    short_examples: list[str]
    categories: dict[str, dict[str, set[str]]]  # fit -> column -> values on its rows
    unseen: dict[str, set[str]]  # column -> values outside the training rows
    log_sum: dict[str, float]  # fit -> sum of log1p(target) over its rows
    log_rows: dict[str, int]
    series: dict[str, int]  # fit -> series with rows in it
    coverage: dict[str, int]  # history feature -> training rows that have it
    leaks: dict[str, tuple[float, int]]  # known-ahead column -> (rank correlation, rows)
    history_days: set[pd.Timestamp]
    history_first: pd.Timestamp
    history_last: pd.Timestamp
    seasonal_rows: int
    names: list[str]  # every feature, in order, before sparse ones are left out


def fit_unit(frame: pd.DataFrame, d: Decisions) -> Fit:
    cols, w = d.cols, d.windows
    rows = unit_rows(frame, d)
    fits = {"backtest": rows.train, "forecast": rows.usable}
    coded = [*cols.series_columns, *d.roles.categorical]
    categories = {
        fit: {c: set(rows.frame.loc[mask, c].dropna().astype(str).unique()) for c in coded}
        for fit, mask in fits.items()
    }
    unseen = {c: set(rows.frame.loc[~rows.train, c].dropna().astype(str).unique()) for c in coded}
    counts = rows.frame.loc[rows.train].groupby(SERIES_ID).size()
    short = sorted(set(rows.frame[SERIES_ID].unique()) - set(counts[counts >= d.horizon].index))
    history = history_columns(rows, d, w.test_start)
    coverage = {c: int(history.loc[rows.train, c].notna().sum()) for c in history.columns}
    log_target = np.log1p(rows.demand)
    history_dates = rows.dates[rows.usable]
    season = (d.span.first - SEASON, d.span.last - SEASON)
    return Fit(
        rows={
            "train": int(rows.train.sum()),
            "validation": int(rows.window(w.validation_start, w.validation_end).sum()),
            "test": int(rows.window(w.test_start, w.test_end).sum()),
            "history": int(rows.usable.sum()),
            "batch": int((rows.is_future & rows.trading).sum()),
        },
        short=len(short),
        short_examples=short[:3],
        categories=categories,
        unseen=unseen,
        log_sum={f: float(log_target[m].sum()) for f, m in fits.items()},
        log_rows={f: int((m & rows.demand.notna()).sum()) for f, m in fits.items()},
        series={f: int(rows.frame.loc[m, SERIES_ID].nunique()) for f, m in fits.items()},
        coverage=coverage,
        leaks=leak_correlations(rows.frame.loc[rows.train], cols, d.roles.numeric),
        history_days=set(history_dates.unique()),
        history_first=history_dates.min(),
        history_last=history_dates.max(),
        seasonal_rows=int(((history_dates >= season[0]) & (history_dates <= season[1])).sum()),
        names=feature_names(rows, d),
    )


def feature_names(rows: UnitRows, d: Decisions) -> list[str]:
    """The feature columns in order, from the features of the unit's first series."""
    first = (rows.frame[SERIES_ID] == rows.frame[SERIES_ID].iloc[0]).to_numpy()
    sample = UnitRows(*(part.loc[first].reset_index(drop=True) for part in vars(rows).values()))
    grid = DayGrid(sample.frame, d.cols)
    built = engineer(
        sample.frame,
        grid,
        d.cols,
        d.roles,
        sample.demand,
        d.horizon,
        sample.train,
        d.windows.test_start,
        leads(sample, d, "backtest"),
        {},
    )
    return list(built.features.columns)


def leak_correlations(
    train: pd.DataFrame, cols: ColumnConfig, numeric: list[str]
) -> dict[str, tuple[float, int]]:
    """Each known-ahead column's same-day Spearman rank correlation with the target on the
    training rows, with the rows it was measured on."""
    found = {}
    target = train[cols.target_column]
    for column in numeric:
        values = pd.to_numeric(train[column], errors="coerce")
        both = values.notna() & target.notna()
        if both.sum() < 10 or values[both].nunique() < 3:
            continue
        found[column] = (float(values[both].rank().corr(target[both].rank())), int(both.sum()))
    return found


# --------------------------------------------------------------------------- the plan, 3: merge


@dataclass(frozen=True)
class Plan:
    """Everything a unit's features need from the whole data set."""

    decisions: Decisions
    units: int
    categories: dict[str, dict[str, list[str]]]  # fit -> column -> sorted values
    encodings: dict[str, dict[str, Any]]  # fit -> the schema's "encodings"
    names: list[str]  # the features, sparse ones left out
    sparse: list[str]
    rows: dict[str, int]
    notes: list[str]
    reference: dict[str, Any]  # the drift reference rows: which, and how many

    def schema(self, fit: str = "backtest") -> dict[str, Any]:
        """feature_schema.json (the back-test's fit) or history_schema.json (the
        forecast's): identical bytes from every instance."""
        d = self.decisions
        cols, windows, span = d.cols, d.windows.as_json(), d.span.as_json()
        document: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "date_column": cols.date_column,
            "series_columns": list(cols.series_columns),
            "target_column": cols.target_column,
            "open_column": cols.open_column,
            "zero_means_closed": d.zero_means_closed,
            "target_transform": TARGET_TRANSFORM,
            "horizon_days": d.horizon,
            "windows": windows,
            "forecast": span,
            "features": feature_specs(self.names, cols, d.roles, self.categories[fit]),
            "columns": {
                "numeric": d.roles.numeric,
                "categorical": d.roles.categorical,
                "observed": d.roles.observed,
                "ignored": d.roles.ignored,
            },
            "encodings": self.encodings[fit],
            "rows": self.rows,
            "notes": self.notes,
            "fit": fit,
            "units": self.units,
            "drift_reference": self.reference,
        }
        if fit == "forecast":
            document["windows"] = {"train": [windows["train"][0], span["origin"]]}
            document["backtest_windows"] = windows
        return document


def merge_fits(d: Decisions, fits: list[Fit], units: int) -> Plan:
    cols, notes = d.cols, list(d.notes)
    rows = {k: sum(f.rows[k] for f in fits) for k in fits[0].rows}
    for name in ("train", "validation", "test"):
        if not rows[name]:
            raise DataError(f"the {name} window {d.windows.as_json()[name]} has no usable rows")
    if not rows["batch"]:
        raise DataError(
            f"no open day to forecast in {d.span.first:%Y-%m-%d}..{d.span.last:%Y-%m-%d}"
        )
    short = sum(f.short for f in fits)
    if short:
        examples = sorted(s for f in fits for s in f.short_examples)[:3]
        notes.append(
            f"{short} series have fewer than {d.horizon} training rows (e.g. {examples}); "
            "their history features are mostly missing"
        )
    coverage = {
        c: sum(f.coverage[c] for f in fits) / max(rows["train"], 1) for c in fits[0].coverage
    }
    sparse = [c for c, share in coverage.items() if share < MIN_FEATURE_COVERAGE]
    if sparse:
        notes.append(
            f"left out {sparse}: fewer than {MIN_FEATURE_COVERAGE:.0%} of the training rows "
            "reach that far back"
        )
    categories = {
        fit: {
            c: sorted(set().union(*(f.categories[fit][c] for f in fits)))
            for c in fits[0].categories[fit]
        }
        for fit in ("backtest", "forecast")
    }
    for column, fitted in categories["backtest"].items():
        new = sorted(set().union(*(f.unseen[column] for f in fits)) - set(fitted))
        if new:
            notes.append(f"column {column!r}: value(s) {new[:5]} unseen in training are missing")
    for column in d.roles.numeric:
        measured = [f.leaks[column] for f in fits if column in f.leaks]
        if not measured:
            continue
        correlation = max((c for c, _ in measured), key=abs)  # one unit: exact
        if abs(correlation) > LEAK_CORRELATION:
            notes.append(
                f"warning: column {column!r} predicts {cols.target_column!r} on the same day "
                f"suspiciously well (rank correlation {correlation:.2f}): if it is only known "
                "after the day (revenue, footfall), take it out of [data] known_columns"
            )
    encodings = {
        fit: {
            "global_mean_log_target": (
                sum(f.log_sum[fit] for f in fits) / n
                if (n := sum(f.log_rows[fit] for f in fits))
                else 0.0
            ),
            "series_count": sum(f.series[fit] for f in fits),
        }
        for fit in ("backtest", "forecast")
    }
    names = fits[0].names
    if any(f.names != names for f in fits):
        raise DataError("units disagree on the feature columns: a covariate's type differs")
    days = [f for f in fits if f.history_days]
    reference = reference_rule(
        rows["history"],
        len(set().union(*(f.history_days for f in fits))),
        sum(f.seasonal_rows for f in fits),
        min(f.history_first for f in days),
        max(f.history_last for f in days),
        d.span.first,
        d.span.last,
        d.drift_reference,
    )
    return Plan(
        d,
        units,
        categories,
        encodings,
        [n for n in names if n not in sparse],
        sparse,
        rows,
        notes,
        reference,
    )

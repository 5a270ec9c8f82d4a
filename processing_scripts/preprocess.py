"""Turn raw store-day sales into leakage-free forecasting features and time-based splits.

Runs in the SageMaker XGBoost 3.0-5 image (Python 3.10, pandas 2.2) as a processing job on
one or several instances, under SageMaker local mode, under the project's local runner, and
from a shell:

    python processing_scripts/preprocess.py --input-dir data/ --train-dir out/train ...

The data set is read as units: groups of input files that together hold whole series (a
file per hash partition of the series keys, as `pipelines.data stage` writes it, is one unit
each; one big file is one unit). First every instance reads every unit (`--scan-dir`, all
of the input) to decide the facts that need the whole data set - the forecast origin and
the windows, the columns' roles, category maps, which history features are dense enough,
the totals: plan.py - so all instances decide alike; then it builds the features of its own units
(`--input-dir`, the share ShardedByS3Key gave it), one unit in memory at a time, and writes
them as shards that the next steps read.

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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from drift import REFERENCE_MODES  # these ship in the same code folder
from features import SERIES_ID, ColumnConfig, DayGrid, engineer, row_hashes, series_ids
from plan import (
    DataError,
    Plan,
    PlanSettings,
    decide,
    fit_unit,
    leads,
    merge_fits,
    merge_surveys,
    survey,
    unit_rows,
)

__all__ = ["ColumnConfig", "DataError", "build_features", "main", "read_data"]

DATA_SUFFIXES = (".csv", ".parquet", ".pq")
# What preprocess writes (each dataset one file per unit and part: see shard_names)
TRAIN_FILE = "train.parquet"
VALIDATION_FILE = "validation.parquet"
TEST_FILE = "test.parquet"
HISTORY_FILE = "history.parquet"  # every observed row, with the forecast's features
REFERENCE_FILE = "reference.parquet"  # the history rows the drift baseline is fitted on
BATCH_FILE = "batch.csv"  # the forecast's rows, the Batch Transform input
SCHEMA_FILE = "feature_schema.json"  # the back-test's features
HISTORY_SCHEMA_FILE = "history_schema.json"  # the forecast's features
# Beside the schemas, a sample of each unit's train and history rows: every training host
# cuts its histogram bins from all units' samples, so the bins are the same on every host
# and for any instance count (a sketch of each host's own rows would differ by host).
BINS_TRAIN_FILE = "bins_train.parquet"
BINS_HISTORY_FILE = "bins_history.parquet"
BIN_SAMPLE_ROWS = 200_000  # about this many rows over all units, chosen by a hash of the row
BIN_HASH_KEY = "bin-sample-rows."  # its hash key (16 bytes), not the days-ahead draw's


@dataclass
class FeatureFrames:
    """What preprocess produces for one unit, before anything is written."""

    train: pd.DataFrame
    validation: pd.DataFrame
    test: pd.DataFrame
    batch: pd.DataFrame
    # the forecast's fit: all history up to the origin (the final model trains on it)
    history: pd.DataFrame
    # the history rows the drift baseline is fitted on (MonitorDrift fits it over all units)
    reference: pd.DataFrame
    schema: dict[str, Any] = field(default_factory=dict)
    history_schema: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


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


def read_file(file: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """One CSV or Parquet file (only `columns`, if given)."""
    try:
        if file.suffix.lower() == ".csv":
            # utf-8-sig strips a BOM; the C parser accepts Windows line endings.
            frame = pd.read_csv(file, encoding="utf-8-sig", low_memory=False, usecols=columns)
        else:
            frame = pd.read_parquet(file, columns=columns)
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"{file}: the file is empty") from exc
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, ValueError, KeyError) as exc:
        raise DataError(f"{file}: cannot be read: {exc}") from exc
    if frame.empty:
        raise DataError(f"{file}: has a header but no rows")
    return frame


def read_data(path: Path) -> pd.DataFrame:
    """Read one file or a folder of CSV or Parquet files into one frame."""
    frames = [read_file(file) for file in list_data_files(path)]
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


# --------------------------------------------------------------------------- units


@dataclass(frozen=True)
class Unit:
    """Input files that together hold whole series: what is built in one piece."""

    index: int
    files: tuple[str, ...]  # relative to the input folder, sorted


def relative_names(root: Path, files: list[Path]) -> list[str]:
    return [f.name if root.is_file() else f.relative_to(root).as_posix() for f in files]


def find_units(root: Path, cols: ColumnConfig) -> list[Unit]:
    """Group the input's files so that no series spans two units (files sharing a series
    join one unit). A file per hash partition of the keys is a unit of its own."""
    files = list_data_files(root)
    names = relative_names(root, files)
    if len(files) == 1:
        return [Unit(0, (names[0],))]
    parent = list(range(len(files)))

    def top(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[str, int] = {}
    keys = list(cols.series_columns)
    for i, file in enumerate(files):
        try:
            frame = read_file(file, keys)
        except DataError:
            require_columns(read_file(file), cols, file)  # names the missing column
            raise
        for series in series_ids(frame, cols).unique():
            if series in owner:
                parent[top(i)] = top(owner[series])
            else:
                owner[series] = i
    groups: dict[int, list[str]] = {}
    for i, name in enumerate(names):
        groups.setdefault(top(i), []).append(name)
    ordered = sorted(groups.values(), key=lambda g: names.index(g[0]))
    return [Unit(k, tuple(g)) for k, g in enumerate(ordered)]


def own_units(units: list[Unit], local: Path, scan: Path) -> list[Unit]:
    """The units this instance builds: those whose files arrived in its own input (with
    ShardedByS3Key, its share of the objects). A unit split between instances cannot be
    built by either: its series would be cut."""
    if local.resolve() == scan.resolve():
        return units
    present = set(relative_names(local, list_data_files(local))) if _has_data(local) else set()
    mine = []
    for unit in units:
        here = [f for f in unit.files if f in present]
        if here and len(here) < len(unit.files):
            raise DataError(
                f"files {list(unit.files)} share series but this instance received only "
                f"{here}: with more than one processing instance each input file must hold "
                "whole series (stage the data with `python -m pipelines.data stage`, which "
                "partitions it by a hash of the series keys, or use ProcessingInstanceCount=1)"
            )
        if here:
            mine.append(unit)
    return mine


def _has_data(folder: Path) -> bool:
    return folder.is_file() or (
        folder.is_dir()
        and any(p.is_file() and p.suffix.lower() in DATA_SUFFIXES for p in folder.rglob("*"))
    )


def read_unit(root: Path, unit: Unit) -> pd.DataFrame:
    files = [root] if root.is_file() else [root / name for name in unit.files]
    frames = [read_file(f) for f in files]
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


# --------------------------------------------------------------------------- validation


def require_columns(raw: pd.DataFrame, cols: ColumnConfig, where: Path | None = None) -> None:
    """Raise DataError naming each required column the data lacks and its setting."""
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
            (f"{where}: " if where else "")
            + f"missing required column(s) {missing}; the data has {list(raw.columns)} "
            f"(set {', '.join(f'[data] {s}' for s in settings)} in a --config file to your "
            "data's names)"
        )


def validate(raw: pd.DataFrame, cols: ColumnConfig) -> tuple[pd.DataFrame, tuple[int, set[str]]]:
    """Check the schema and return a clean frame (parsed dates, numeric target, the series
    key in SERIES_ID) and the dates that carried a UTC offset (how many, which offsets).
    Rows with an empty target stay: the plan tells the future from gaps.

    Raises DataError naming the column and the first offending row.
    """
    require_columns(raw, cols)
    frame = raw.copy()
    dates, zoned, offsets = parse_dates(frame[cols.date_column])
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
    frame[SERIES_ID] = series_ids(frame, cols)
    return frame, (zoned, offsets)


_ZONE = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$")
# Sales days outside these years are a misread cell, not a date (dateutil reads "-1" as the
# year -1, which no later step can even print)
DATE_RANGE = (pd.Timestamp("1900-01-01"), pd.Timestamp("2199-12-31"))


def parse_dates(values: pd.Series) -> tuple[pd.Series, int, set[str]]:
    """Dates of any common format (unparsable ones, and any outside DATE_RANGE, become NaT,
    reported by the caller), and how many carried a UTC offset, and which.

    A value with an offset is read as the calendar day it names where it was written: sales
    are daily per store, so "2015-03-29T00:00:00+02:00" is 29 March whatever the offset,
    and a year of one zone's data (two offsets across daylight saving time) or stores in
    several zones parse without a conversion that would move rows to another day."""
    zoned, offsets = 0, set()
    if pd.api.types.is_datetime64_any_dtype(values):  # Parquet timestamps: one zone at most
        zone = getattr(values.dt, "tz", None)
        parsed = values.dt.tz_localize(None) if zone is not None else values
    else:
        text = values.astype("string").str.strip()
        has_zone = text.str.contains(_ZONE, na=False)
        if has_zone.any():
            offsets = set(text[has_zone].str.extract(f"({_ZONE.pattern})", expand=False).unique())
            text = text.str.replace(_ZONE, "", regex=True)
        zoned = int(has_zone.sum())
        parsed = pd.to_datetime(text, errors="coerce", format="mixed")
    return parsed.where(parsed.between(*DATE_RANGE)), zoned, offsets


# --------------------------------------------------------------------------- building


def build_unit(frame: pd.DataFrame, plan: Plan) -> FeatureFrames:
    """The features of one validated unit: the back-test's fit (train, validation, test;
    fitted on the training window, as a forecast made at the test window's start would be)
    and the forecast's (all history up to the origin, and the future rows it forecasts)."""
    d = plan.decisions
    cols, w = d.cols, d.windows
    rows = unit_rows(frame, d)
    grid = DayGrid(rows.frame, cols)

    def features(fit: str, mask: pd.Series, cutoff: pd.Timestamp) -> pd.DataFrame:
        built = engineer(
            rows.frame,
            grid,
            cols,
            d.roles,
            rows.demand,
            d.horizon,
            mask,
            cutoff,
            leads(rows, d, fit),
            plan.categories[fit],
        )
        out = built.features.drop(columns=plan.sparse)
        if list(out.columns) != plan.names:  # a feature added in one place only
            raise AssertionError(f"features {list(out.columns)} != the plan's {plan.names}")
        return out

    backtest = features("backtest", rows.train, w.test_start)
    forecast = features("forecast", rows.usable, d.span.origin + pd.Timedelta(days=1))
    keys = rows.frame[[*cols.series_columns, cols.date_column]]
    target = rows.frame[[cols.target_column]]

    def window(start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        mask = rows.window(start, end)
        return pd.concat([keys, target, backtest], axis=1).loc[mask].reset_index(drop=True)

    history = pd.concat([keys, target, forecast], axis=1).loc[rows.usable].reset_index(drop=True)
    reference = history
    if plan.reference["mode"] == "seasonal":
        dates = history[cols.date_column]
        start, end = pd.Timestamp(plan.reference["start"]), pd.Timestamp(plan.reference["end"])
        reference = history.loc[(dates >= start) & (dates <= end)].reset_index(drop=True)
    return FeatureFrames(
        train=window(w.train_start, w.train_end),
        validation=window(w.validation_start, w.validation_end),
        test=window(w.test_start, w.test_end),
        batch=pd.concat([keys, forecast], axis=1)
        .loc[rows.is_future & rows.trading]
        .reset_index(drop=True),
        history=history,
        reference=reference,
        schema=plan.schema("backtest"),
        history_schema=plan.schema("forecast"),
        notes=plan.notes,
    )


def build_features(
    raw: pd.DataFrame,
    cols: ColumnConfig,
    horizon: int,
    validation_start: str | None = None,
    test_start: str | None = None,
    drift_reference: str = "seasonal",
    zero_means_closed: bool = False,
) -> FeatureFrames:
    """Validate, engineer features and split by date, for data held in one frame (one
    unit). Pure: no file I/O."""
    loaded = validate(raw, cols)
    chosen = PlanSettings(
        cols, horizon, validation_start, test_start, drift_reference, zero_means_closed
    )
    return build_unit(loaded[0], make_plan(lambda _: loaded, [Unit(0, ("<frame>",))], chosen))


def make_plan(
    load: Callable[[Unit], tuple[pd.DataFrame, tuple[int, set[str]]]],
    units: list[Unit],
    chosen: PlanSettings,
    progress: Callable[[str], None] = print,
) -> Plan:
    """The plan over every unit: a survey pass, then a fit pass (each one unit in memory)."""
    surveys = []
    for unit in units:
        frame, zone = load(unit)
        surveys.append(survey(frame, chosen.cols, zone))
    decisions = decide(merge_surveys(surveys), chosen)
    fits = []
    for unit in units:
        fits.append(fit_unit(load(unit)[0], decisions))
    if len(units) > 1:
        progress(f"preprocess: planned over {len(units)} units of whole series")
    return merge_fits(decisions, fits, len(units))


# --------------------------------------------------------------------------- writing


def shard_names(file: str, unit: int, units: int, parts: int) -> list[str]:
    """A dataset's file names for one unit: train.parquet for the only unit in one part;
    train-000.parquet, ... for its parts; train-00007.parquet (and train-00007-000.parquet,
    ...) for unit 7 of several. The next steps read every name of the pattern."""
    stem, _, suffix = file.rpartition(".")
    unit_part = f"-{unit:05d}" if units > 1 else ""
    if parts == 1:
        return [f"{stem}{unit_part}.{suffix}"]
    return [f"{stem}{unit_part}-{i:03d}.{suffix}" for i in range(parts)]


def shard_pattern(file: str) -> re.Pattern[str]:
    """Every name `shard_names` gives `file`."""
    stem, _, suffix = file.rpartition(".")
    return re.compile(rf"{re.escape(stem)}(-\d{{5}})?(-\d{{3}})?\.{re.escape(suffix)}")


def bin_sample(frame: pd.DataFrame, keys: list[str], units: int) -> pd.DataFrame:
    """About BIN_SAMPLE_ROWS / units of `frame`'s rows, chosen by a hash of the series keys
    and date: the same rows whichever instance builds the unit."""
    every = max(1, -(-len(frame) * units // BIN_SAMPLE_ROWS))
    if every == 1:
        return frame.reset_index(drop=True)
    chosen = row_hashes(frame, keys, BIN_HASH_KEY) % np.uint64(every) == 0
    return frame[chosen].reset_index(drop=True)


def split_by_series(
    frame: pd.DataFrame, series_columns: list[str], parts: int
) -> list[pd.DataFrame]:
    """The rows split into `parts` by series (each series whole, in its order), series dealt
    round-robin in sorted order so the parts are about equal and reproducible; never more
    parts than series."""
    if parts == 1 or frame.empty:
        return [frame]
    ranks = frame.groupby(series_columns, sort=True, observed=True).ngroup().to_numpy()
    parts = max(1, min(parts, int(ranks.max()) + 1))
    return [frame.loc[ranks % parts == i] for i in range(parts)]


@dataclass(frozen=True)
class Targets:
    """The output folders and how many parts each unit's datasets are cut into."""

    folders: dict[str, Path]  # train, validation, test, history, reference, batch, schema
    training_parts: int = 1  # train, validation and history: one per training instance
    batch_parts: int = 1  # one batch file per Batch Transform instance


FILES = {
    "train": TRAIN_FILE,
    "validation": VALIDATION_FILE,
    "test": TEST_FILE,
    "history": HISTORY_FILE,
    "reference": REFERENCE_FILE,
    "batch": BATCH_FILE,
}
# the sharded files each output holds: a new run removes those of another layout
SHARDED_FILES: dict[str, tuple[str, ...]] = {
    **{name: (file,) for name, file in FILES.items()},
    "schema": (BINS_TRAIN_FILE, BINS_HISTORY_FILE),
}


class Outputs:
    """Stage every file in a hidden folder inside its own output folder; `commit` renames
    them into place and removes the files of an earlier run's other shard layout; leaving
    without commit removes the staging and writes nothing.

    Staging sits *inside* each output folder: SageMaker mounts every processing output path
    as its own volume, so a rename from beside it (or from another output) fails with
    EXDEV."""

    def __init__(self, targets: Targets) -> None:
        self.targets = targets
        self.staged: dict[str, Path] = {}
        self.written = 0

    def __enter__(self) -> Outputs:
        for name, folder in self.targets.folders.items():
            folder.mkdir(parents=True, exist_ok=True)
            self.staged[name] = Path(tempfile.mkdtemp(prefix=".staging.", dir=folder))
        return self

    def __exit__(self, *exc: object) -> None:
        for tmp in self.staged.values():
            shutil.rmtree(tmp, ignore_errors=True)

    def unit(self, unit: int, units: int, frames: FeatureFrames) -> None:
        """Write one unit's datasets as shards, and its sample for the bins."""
        t = self.targets
        series = frames.schema["series_columns"]
        for name in ("train", "validation", "test", "history", "reference", "batch"):
            frame = getattr(frames, name)
            wanted = t.batch_parts if name == "batch" else t.training_parts
            per_unit = -(-wanted // units) if name not in ("test", "reference") else 1
            parts = split_by_series(frame, series, per_unit)
            for part, file in zip(
                parts, shard_names(FILES[name], unit, units, len(parts)), strict=True
            ):
                if name == "batch":
                    part = part.copy()
                    date = frames.schema["date_column"]
                    part[date] = part[date].dt.strftime("%Y-%m-%d")
                    part.to_csv(self.staged[name] / file, header=False, index=False, na_rep="")
                else:
                    part.to_parquet(self.staged[name] / file, index=False)
        self.bins(unit, units, frames)
        self.written += 1

    def bins(self, unit: int, units: int, frames: FeatureFrames) -> None:
        """One unit's sample of train and history rows, into the schema output."""
        keys = [*frames.schema["series_columns"], frames.schema["date_column"]]
        for name, file in (("train", BINS_TRAIN_FILE), ("history", BINS_HISTORY_FILE)):
            sample = bin_sample(getattr(frames, name), keys, units)
            sample.to_parquet(self.staged["schema"] / shard_names(file, unit, units, 1)[0])

    def schemas(self, plan: Plan) -> None:
        for fit, file in (("backtest", SCHEMA_FILE), ("forecast", HISTORY_SCHEMA_FILE)):
            text = json.dumps(plan.schema(fit), indent=2, sort_keys=True)
            (self.staged["schema"] / file).write_text(text)

    def commit(self) -> None:
        for name, tmp in self.staged.items():
            folder = self.targets.folders[name]
            written = {p.name for p in tmp.iterdir()}
            for pattern in map(shard_pattern, SHARDED_FILES.get(name, ())):
                for old in folder.iterdir():
                    if pattern.fullmatch(old.name) and old.name not in written:
                        old.unlink()
            for child in tmp.iterdir():
                os.replace(child, folder / child.name)


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
        help="a CSV/Parquet file or a folder of them: this instance's share of the input",
    )
    parser.add_argument(
        "--scan-dir",
        default=None,
        help="all of the input, which every instance reads to plan alike (default: the "
        "input dir, for one instance)",
    )
    parser.add_argument("--train-dir", default="/opt/ml/processing/train")
    parser.add_argument("--validation-dir", default="/opt/ml/processing/validation")
    parser.add_argument("--test-dir", default="/opt/ml/processing/test")
    parser.add_argument("--history-dir", default="/opt/ml/processing/history")
    parser.add_argument("--reference-dir", default="/opt/ml/processing/reference")
    parser.add_argument("--schema-dir", default="/opt/ml/processing/schema")
    parser.add_argument("--batch-dir", default="/opt/ml/processing/batch")
    parser.add_argument(
        "--batch-shards",
        type=int,
        default=1,
        help="batch input files to write, one per Batch Transform instance",
    )
    parser.add_argument(
        "--train-shards",
        type=int,
        default=1,
        help="train, validation and history files to write, one per training instance",
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
    local = Path(args.input_dir)
    scan = Path(args.scan_dir) if args.scan_dir else local
    targets = Targets(
        {
            "train": Path(args.train_dir),
            "validation": Path(args.validation_dir),
            "test": Path(args.test_dir),
            "history": Path(args.history_dir),
            "reference": Path(args.reference_dir),
            "batch": Path(args.batch_dir),
            "schema": Path(args.schema_dir),
        },
        training_parts=args.train_shards,
        batch_parts=args.batch_shards,
    )
    try:
        if not cols.series_columns:
            raise DataError("--series-columns must name at least one column")
        for flag, value in (
            ("--batch-shards", args.batch_shards),
            ("--train-shards", args.train_shards),
        ):
            if not 1 <= value <= 999:
                raise DataError(f"{flag} must be between 1 and 999, got {value}")
        units = find_units(scan, cols)
        mine = own_units(units, local, scan)
        loaded: dict[int, tuple[pd.DataFrame, tuple[int, set[str]]]] = {}

        def load(unit: Unit) -> tuple[pd.DataFrame, tuple[int, set[str]]]:
            """A unit read and validated; the last one is kept (one unit: read once)."""
            if unit.index not in loaded:
                loaded.clear()
                loaded[unit.index] = validate(read_unit(scan, unit), cols)
            return loaded[unit.index]

        chosen = PlanSettings(
            cols,
            args.horizon,
            _date_or_auto(args.validation_start),
            _date_or_auto(args.test_start),
            args.drift_reference,
            args.zero_means_closed,
        )
        plan = make_plan(load, units, chosen)
        with Outputs(targets) as out:
            for number, unit in enumerate(mine, start=1):
                # one unit's frames at a time: built, written, then let go
                out.unit(unit.index, len(units), build_unit(load(unit)[0], plan))
                if len(units) > 1:
                    shown = list(unit.files)
                    print(f"preprocess: built unit {unit.index} ({number}/{len(mine)}): {shown}")
            out.schemas(plan)
            out.commit()
    except DataError as exc:
        print(f"preprocess: error: {exc}", file=sys.stderr)
        return 2
    rows, span = plan.rows, plan.decisions.span.as_json()
    share = (
        "" if len(mine) == len(units) else f" (this instance: {len(mine)} of {len(units)} units)"
    )
    print(
        f"preprocess: {len(plan.names)} features; rows train={rows['train']} "
        f"validation={rows['validation']} test={rows['test']} history={rows['history']}; "
        f"back-test windows {json.dumps(plan.decisions.windows.as_json())}{share}"
    )
    print(
        f"preprocess: forecast {rows['batch']} rows, {span['first']}..{span['last']} after "
        f"the origin {span['origin']} ("
        + ("future rows of the input" if span["source"] == "input" else "from the calendar")
        + ")"
    )
    for note in plan.notes:
        print(f"preprocess: note: {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

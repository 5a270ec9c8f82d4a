"""This pipeline's forecast vs AutoGluon-TimeSeries on the demo's held-back six weeks.

Optional (`pip install -e ".[autogluon]"`, not installed by CI, not in the default run):
`python -m benchmarks autogluon_vs`. Both forecast 2015-06-20..07-31 from the history up to
2015-06-19 with the same known covariates (open flag, promotions, school holidays) and the
stores' static attributes, and are scored on the same rows, the open days, against the real
held-back sales: MAPE (positive actuals) and WAPE. Ours: preprocess, then what Train does,
timed: early stopping, the back-test's refit on train + validation and the refit on all
history, each on the bins cut from preprocess's sample. AutoGluon: its medium_quality
preset without the pretrained (Chronos) models, which would need a download, on the daily
series with closed days as zero sales and the open flag as a known covariate.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.common import bin_sample, emit

NAME = "autogluon_vs"
# AutoGluon 1.6's medium_quality preset ("light" hyperparameters) without its two pretrained
# models, Chronos-2 and Toto-2 (configs/hyperparameter_presets.py), which need a download
MEDIUM_QUALITY: dict[str, dict[str, Any]] = {
    "SeasonalNaive": {},
    "ETS": {},
    "Theta": {},
    "RecursiveTabular": {},
    "DirectTabular": {},
}
QUICK: dict[str, dict[str, Any]] = {"SeasonalNaive": {}, "DirectTabular": {}}


def ours(given: pd.DataFrame, quick: bool) -> tuple[pd.DataFrame, float]:
    """The registered model's forecast (keys, date, forecast) and its fit seconds."""
    from pipelines.settings import load_settings
    from processing_scripts import evaluate, preprocess
    from training_scripts import train

    known = load_settings("dev").data.known_columns
    frames = preprocess.build_features(
        given, preprocess.ColumnConfig(known_columns=known), horizon=42
    )
    hp = train.Hyperparameters(num_round=30) if quick else train.Hyperparameters()
    threads = os.cpu_count() or 1
    samples = [
        bin_sample(frames.train, frames.schema),
        bin_sample(frames.history, frames.history_schema),
    ]
    started = time.perf_counter()
    bins = train.cuts(samples[0], frames.schema, "train", hp)
    _, report = train.train(
        frames.train, frames.validation, frames.schema, hp, threads=threads, log_every=0, cuts=bins
    )
    bins = train.cuts(samples[1], frames.history_schema, "history", hp)
    booster, _, _ = train.fit_forecast(
        frames.history, frames.history_schema, hp, threads, report["best_iteration"] + 1, cuts=bins
    )
    seconds = time.perf_counter() - started
    forecast = frames.batch[["Store", "Date"]].assign(
        Date=frames.batch["Date"].dt.strftime("%Y-%m-%d")
    )
    forecast["forecast"] = evaluate.predict_sales(booster, frames.batch, frames.history_schema)
    return forecast, seconds


def fit_autogluon(given: pd.DataFrame, quick: bool) -> tuple[pd.DataFrame, float]:
    from autogluon.timeseries import TimeSeriesDataFrame, TimeSeriesPredictor

    known = ["Open", "Promo", "SchoolHoliday"]
    frame = given.assign(
        item_id=given["Store"].astype(str),
        timestamp=pd.to_datetime(given["Date"]),
        target=given["Sales"].astype("float64"),
        **{c: given[c].astype("float64") for c in known},
    )
    static = (
        given.drop_duplicates("Store")
        .assign(item_id=lambda f: f["Store"].astype(str))
        .set_index("item_id")[["StoreType", "Assortment", "State", "Promo2"]]
        .astype({"Promo2": "float64"})
    )
    columns = ["item_id", "timestamp", "target", *known]
    history = frame[frame["target"].notna()][columns]
    future = frame[frame["target"].isna()][["item_id", "timestamp", *known]]
    data = TimeSeriesDataFrame.from_data_frame(history, static_features_df=static.reset_index())
    folder = tempfile.mkdtemp(prefix="autogluon-")  # its models are pickles: never in the tree
    started = time.perf_counter()
    predictor = TimeSeriesPredictor(
        prediction_length=42,
        target="target",
        known_covariates_names=known,
        eval_metric="WAPE",
        freq="D",
        path=folder,
        verbosity=0,
    ).fit(
        data,
        hyperparameters=QUICK if quick else MEDIUM_QUALITY,
        random_seed=0,
    )
    seconds = time.perf_counter() - started
    try:
        predicted = predictor.predict(
            data, known_covariates=TimeSeriesDataFrame.from_data_frame(future)
        ).reset_index()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    out = pd.DataFrame(
        {
            "Store": predicted["item_id"].astype("int64"),
            "Date": predicted["timestamp"].dt.strftime("%Y-%m-%d"),
            "forecast": predicted["mean"].clip(lower=0).to_numpy(),
        }
    )
    return out, seconds


def scores(forecast: pd.DataFrame, actuals: pd.DataFrame, rows: pd.DataFrame) -> dict[str, Any]:
    """MAPE (positive actuals) and WAPE on `rows` (the open future days)."""
    joined = rows.merge(actuals, on=["Store", "Date"]).merge(forecast, on=["Store", "Date"])
    actual = joined["Sales"].to_numpy(dtype="float64")
    predicted = joined["forecast"].to_numpy(dtype="float64")
    positive = actual > 0
    return {
        "rows": len(joined),
        "mape": float(np.mean(np.abs(predicted[positive] - actual[positive]) / actual[positive])),
        "wape": float(np.abs(predicted - actual).sum() / np.abs(actual).sum()),
    }


def run(quick: bool) -> dict:
    import importlib.util

    if importlib.util.find_spec("autogluon") is None:
        raise RuntimeError("autogluon_vs needs AutoGluon-TimeSeries: pip install -e '.[autogluon]'")
    from pipelines.demo_data import demo_frames

    given, actuals = demo_frames()
    if quick:
        stores = sorted(given["Store"].unique())[:5]
        given, actuals = given[given["Store"].isin(stores)], actuals[actuals["Store"].isin(stores)]
    future = given[given["Sales"].isna()]
    rows = future.loc[future["Open"].astype(bool), ["Store", "Date"]]
    mine, my_seconds = ours(given, quick)
    theirs, their_seconds = fit_autogluon(given, quick)
    a, b = scores(mine, actuals, rows), scores(theirs, actuals, rows)
    mape_ratio, wape_ratio = a["mape"] / b["mape"], a["wape"] / b["wape"]
    time_ratio = my_seconds / their_seconds
    return emit(
        NAME,
        a["mape"],
        b["mape"],
        "our MAPE and WAPE <= 0.85 x AutoGluon's, at <= 0.10 x its fit time",
        None if quick else (mape_ratio <= 0.85 and wape_ratio <= 0.85 and time_ratio <= 0.10),
        unit="MAPE (positive actuals), held-back six weeks",
        wape=round(a["wape"], 6),
        reference_wape=round(b["wape"], 6),
        wape_ratio=round(wape_ratio, 4),
        seconds=round(my_seconds, 2),
        reference_seconds=round(their_seconds, 2),
        time_ratio=round(time_ratio, 4),
        rows=a["rows"],
        reference_model="AutoGluon-TimeSeries medium_quality, no pretrained models",
        quick=quick,
    )

"""train.py with the pipeline's default hyperparameters vs the legacy platform's
scikit-learn GradientBoostingRegressor(200 trees, depth 7, lr 0.05): same features from
preprocess on the demo input, same log1p target, same back-test window (the six weeks
before the held-back six). Also reports the P10-P90 interval's coverage on that window and
the weighted quantile loss.

Both final models learn from the same rows: train.py uses the validation window for early
stopping and then refits on train + validation (its default), so the legacy model is fitted
on train + validation too."""

from __future__ import annotations

import time

import numpy as np

from benchmarks.common import emit, fit_and_score, rossmann_features

NAME = "train_vs_legacy"


def run(quick: bool) -> dict:
    from sklearn.ensemble import GradientBoostingRegressor

    from processing_scripts import evaluate
    from training_scripts import train

    frames = rossmann_features(quick)
    schema = frames.schema
    names = [f["name"] for f in schema["features"]]
    actual = frames.test["Sales"].to_numpy(dtype="float64")

    hp = train.Hyperparameters(num_round=30) if quick else train.Hyperparameters()
    report, ours_seconds, ours = fit_and_score(frames, hp)

    legacy = GradientBoostingRegressor(
        n_estimators=10 if quick else 200, max_depth=7, learning_rate=0.05, random_state=42
    )
    import pandas as pd

    seen = (
        pd.concat([frames.train, frames.validation], ignore_index=True)
        if hp.refit
        else frames.train
    )
    x_train = seen[names].to_numpy(dtype="float32")
    x_test = frames.test[names].to_numpy(dtype="float32")
    # scikit-learn's GradientBoostingRegressor takes no missing values: the legacy
    # platform filled them with -1.
    x_train, x_test = np.nan_to_num(x_train, nan=-1.0), np.nan_to_num(x_test, nan=-1.0)
    start = time.perf_counter()
    legacy.fit(x_train, np.log1p(seen["Sales"].to_numpy(dtype="float64")))
    legacy_seconds = time.perf_counter() - start
    predicted = np.clip(np.expm1(legacy.predict(x_test)), 0, None)
    reference = evaluate.regression_metrics(actual, predicted)

    mape_ratio = ours["mape"] / reference["mape"]
    time_ratio = ours_seconds / legacy_seconds
    covered = 0.75 <= ours["coverage"] <= 0.85
    return emit(
        NAME,
        ours["mape"],
        reference["mape"],
        "our MAPE <= 0.9 x legacy MAPE, our training time <= 0.10 x legacy time, and "
        "P10-P90 coverage 0.75-0.85",
        None if quick else (mape_ratio <= 0.9 and time_ratio <= 0.10 and covered),
        unit="test MAPE (positive actuals)",
        wape=round(ours["wape"], 6),
        reference_wape=round(reference["wape"], 6),
        coverage=round(ours["coverage"], 4),
        weighted_quantile_loss=round(ours["weighted_quantile_loss"], 6),
        time_ratio=round(time_ratio, 4),
        seconds=round(ours_seconds, 3),
        reference_seconds=round(legacy_seconds, 3),
        trees=report["best_iteration"] + 1,
        rmspe=round(ours["rmspe"], 6),
        reference_rmspe=round(reference["rmspe"], 6),
        fit_rows=len(seen),
        test_rows=len(frames.test),
        refit_on_validation=bool(hp.refit),
        quick=quick,
    )

"""Train the XGBoost sales model: SageMaker XGBoost framework script mode.

The SageMaker training toolkit runs `python train.py --num_round 1000 --max_depth 8 ...` with
the channels in SM_CHANNEL_TRAIN / SM_CHANNEL_VALIDATION and the model directory in
SM_MODEL_DIR; the same command works from a shell with explicit `--train`, `--validation` and
`--model-dir`. Two models come out of one setting: the back-test's (early stopping on the
validation window, then optionally refit on train + validation; under backtest/, what
Evaluate scores) and the forecast's (the same tree count refit on all history up to the
forecast origin, from the train channel's history.parquet; at the top, what is registered
and served), with the forecast interval fitted on the early-stopped model's validation
errors. Models are saved in XGBoost's own UBJSON format next to the feature schema that
inference enforces. Metric lines (`validation-mape=...`) are what the pipeline's metric
definitions parse from the log.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb

MODEL_FILE = "xgboost-model.ubj"
INFERENCE_MODULE = "inference.py"  # shipped next to this script, copied into model/code/
SCHEMA_FILE = "feature_schema.json"
TRAIN_FILE = "train.parquet"
VALIDATION_FILE = "validation.parquet"
HISTORY_FILE = "history.parquet"  # all history, with the forecast's features
HISTORY_SCHEMA_FILE = "history_schema.json"
BACKTEST_DIR = "backtest"  # the back-test's model inside the model folder, for Evaluate
OBJECTIVES = ("squarederror", "tweedie", "poisson")


class TrainingError(ValueError):
    """Bad channel data or hyperparameters: the message names which."""


@dataclass(frozen=True)
class Hyperparameters:
    """The tunable knobs, with the defaults the pipeline's parameters also use."""

    num_round: int = 1000
    max_depth: int = 8
    eta: float = 0.05
    subsample: float = 0.8
    colsample_bytree: float = 0.5
    min_child_weight: float = 5.0
    early_stopping_rounds: int = 50
    max_bin: int = 128
    # 1: after early stopping picks the number of trees, fit the final model on train +
    # validation (the most recent weeks are the most informative for a forecast).
    refit: int = 1
    # squarederror on log1p(target); tweedie or poisson on the target itself (intermittent
    # demand, many zero days)
    objective: str = "squarederror"
    interval_low: float = 0.1  # the forecast interval's quantile levels
    interval_high: float = 0.9
    seed: int = 42

    def check(self) -> None:
        """Reject values XGBoost would accept silently or fail on obscurely."""
        rules = [
            ("num_round", 1 <= self.num_round <= 100_000, "between 1 and 100000"),
            ("max_depth", 1 <= self.max_depth <= 20, "between 1 and 20"),
            ("eta", 0 < self.eta <= 1, "in (0, 1]"),
            ("subsample", 0 < self.subsample <= 1, "in (0, 1]"),
            ("colsample_bytree", 0 < self.colsample_bytree <= 1, "in (0, 1]"),
            ("min_child_weight", 0 <= self.min_child_weight <= 1e6, "between 0 and 1e6"),
            (
                "early_stopping_rounds",
                0 <= self.early_stopping_rounds <= 100_000,
                "between 0 and 100000",
            ),
            ("max_bin", 2 <= self.max_bin <= 1024, "between 2 and 1024"),
            ("refit", self.refit in (0, 1), "0 or 1"),
            ("objective", self.objective in OBJECTIVES, f"one of {list(OBJECTIVES)}"),
            ("interval_low", 0 < self.interval_low < 0.5, "in (0, 0.5)"),
            ("interval_high", 0.5 < self.interval_high < 1, "in (0.5, 1)"),
        ]
        for name, ok, expected in rules:
            if not ok:
                value = getattr(self, name)
                raise TrainingError(
                    f"hyperparameter {name}={value} is out of range: expected {expected}"
                )

    @property
    def target_transform(self) -> str:
        """How the booster's output maps to the target: log1p for squared error on the log
        scale; none for tweedie and poisson, which predict the mean demand itself."""
        return "log1p" if self.objective == "squarederror" else "none"

    def xgboost_params(self, threads: int) -> dict[str, Any]:
        objective = {
            "squarederror": ("reg:squarederror", "rmse"),
            "tweedie": ("reg:tweedie", "tweedie-nloglik@1.5"),
            "poisson": ("count:poisson", "poisson-nloglik"),
        }[self.objective]
        return {
            "objective": objective[0],
            "eval_metric": objective[1],
            "tree_method": "hist",
            "max_depth": self.max_depth,
            "eta": self.eta,
            "subsample": self.subsample,
            "colsample_bytree": self.colsample_bytree,
            "min_child_weight": self.min_child_weight,
            "max_bin": self.max_bin,
            "seed": self.seed,
            "nthread": threads,
        }


def load_channel(directory: Path, file_name: str, channel: str) -> pd.DataFrame:
    """Read one channel's Parquet file; the message names the channel when it is unusable."""
    if not directory.is_dir():
        raise TrainingError(f"channel {channel!r}: folder {directory} does not exist")
    path = directory / file_name
    if not path.is_file():
        found = sorted(p.name for p in directory.iterdir())
        raise TrainingError(f"channel {channel!r}: no {file_name} in {directory} (found {found})")
    frame = pd.read_parquet(path)
    if frame.empty:
        raise TrainingError(f"channel {channel!r}: {path} has no rows")
    return frame


def load_schema(directory: Path, file_name: str = SCHEMA_FILE) -> dict[str, Any]:
    path = directory / file_name
    if not path.is_file():
        raise TrainingError(f"channel 'train': no {file_name} in {directory}")
    schema: dict[str, Any] = json.loads(path.read_text())
    return schema


def matrix(
    frame: pd.DataFrame, schema: dict[str, Any], channel: str, transform: str = "log1p"
) -> xgb.DMatrix:
    """Features in schema order and the (log1p-transformed) target as a DMatrix."""
    names = [f["name"] for f in schema["features"]]
    missing = [n for n in names if n not in frame.columns]
    if missing:
        raise TrainingError(f"channel {channel!r}: feature column(s) {missing} are missing")
    target = frame[schema["target_column"]].to_numpy(dtype="float64")
    return xgb.DMatrix(
        frame[names].to_numpy(dtype="float32"),
        label=np.log1p(target) if transform == "log1p" else target,
        feature_names=names,
        nthread=-1,
    )


def to_target(raw: np.ndarray, transform: str) -> np.ndarray:
    """The booster's output on the target's scale, never negative."""
    values = np.asarray(raw, dtype="float64")
    return np.clip(np.expm1(values) if transform == "log1p" else values, 0, None)


def interval_offsets(actual: np.ndarray, predicted: np.ndarray, hp: Hyperparameters) -> dict:
    """The forecast interval as quantiles of out-of-sample errors on the log1p scale.

    The errors are the early-stopped model's on the validation window, which it has not
    seen and which lies one horizon ahead of its training data, as the forecast does
    (split conformal prediction). On the log scale one offset fits stores of every size;
    P10 = expm1(log1p(P50) + offset_low). The offsets are clipped at 0 so that
    P10 <= P50 <= P90 always holds."""
    errors = np.log1p(actual) - np.log1p(predicted)
    low, high = np.quantile(errors, [hp.interval_low, hp.interval_high])
    return {
        "levels": [hp.interval_low, 0.5, hp.interval_high],
        "log1p_offsets": [min(float(low), 0.0), 0.0, max(float(high), 0.0)],
        "method": "quantiles of the early-stopped model's log1p errors on the validation "
        f"window ({len(errors)} rows)",
    }


def sales_metrics(actual: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """MAPE and RMSPE over days with positive sales (a ratio to zero is undefined), WAPE
    over all days."""
    positive = actual > 0
    ratio = (actual[positive] - predicted[positive]) / actual[positive]
    total = float(np.sum(np.abs(actual)))
    return {
        "mape": float(np.mean(np.abs(ratio))) if positive.any() else float("nan"),
        "rmspe": float(np.sqrt(np.mean(ratio**2))) if positive.any() else float("nan"),
        "wape": float(np.sum(np.abs(predicted - actual)) / total) if total else float("nan"),
    }


def train(
    train_frame: pd.DataFrame,
    validation_frame: pd.DataFrame,
    schema: dict[str, Any],
    hp: Hyperparameters,
    threads: int,
    log_every: int = 50,
) -> tuple[xgb.Booster, dict[str, Any]]:
    """The back-test's model: fit with early stopping on validation, cut at the best
    iteration, or (refit=1) that many trees fitted on train + validation.

    The reported validation metrics, and the forecast interval's offsets, are always those
    of the early-stopped model, which has not seen the validation rows."""
    hp.check()
    transform = hp.target_transform
    dtrain = matrix(train_frame, schema, "train", transform)
    dvalid = matrix(validation_frame, schema, "validation", transform)
    started = time.perf_counter()
    booster = xgb.train(
        hp.xgboost_params(threads),
        dtrain,
        num_boost_round=hp.num_round,
        # Only the validation set is scored each round: scoring train too costs ~10%.
        evals=[(dvalid, "validation")],
        early_stopping_rounds=hp.early_stopping_rounds or None,
        verbose_eval=log_every,
    )
    seconds = time.perf_counter() - started
    best = booster.best_iteration if hp.early_stopping_rounds else hp.num_round - 1
    booster = booster[: best + 1]
    actual = validation_frame[schema["target_column"]].to_numpy(dtype="float64")
    predicted = to_target(booster.predict(dvalid), transform)
    metrics: dict[str, Any] = sales_metrics(actual, predicted)
    metrics["intervals"] = interval_offsets(actual, predicted, hp)
    if hp.refit:
        started = time.perf_counter()
        both = matrix(
            pd.concat([train_frame, validation_frame], ignore_index=True),
            schema,
            "train+validation",
            transform,
        )
        booster = xgb.train(hp.xgboost_params(threads), both, num_boost_round=best + 1)
        seconds += time.perf_counter() - started
    metrics.update(
        {"best_iteration": int(best), "fit_seconds": seconds, "refit_on_validation": bool(hp.refit)}
    )
    return booster, metrics


def fit_forecast(
    history: pd.DataFrame, schema: dict[str, Any], hp: Hyperparameters, threads: int, trees: int
) -> tuple[xgb.Booster, float]:
    """The model that forecasts: the back-test's settings and tree count, fitted on all
    history up to the forecast origin (the back-test's test window included)."""
    started = time.perf_counter()
    data = matrix(history, schema, "train (history)", hp.target_transform)
    booster = xgb.train(hp.xgboost_params(threads), data, num_boost_round=trees)
    return booster, time.perf_counter() - started


def model_schema(schema: dict[str, Any], hp: Hyperparameters, intervals: dict) -> dict:
    """The schema saved with a model: preprocess's, plus how to read the booster's output."""
    return {**schema, "target_transform": hp.target_transform, "intervals": intervals}


def save_model(
    models: dict[str, tuple[xgb.Booster, dict[str, Any]]],
    report: dict[str, Any],
    model_dir: Path,
) -> None:
    """Write the forecast's model and schema (at the top, where the serving container and
    the handler look) and the back-test's (under backtest/), the training report and the
    handler. Everything is written to a temporary folder inside model_dir first (a rename
    from anywhere else would cross the model volume's mount)."""
    model_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".model.", dir=model_dir))
    try:
        for folder, (booster, schema) in models.items():
            target = tmp / folder
            target.mkdir(exist_ok=True)
            booster.save_model(str(target / MODEL_FILE))
            (target / SCHEMA_FILE).write_text(json.dumps(schema, indent=2, sort_keys=True))
        (tmp / "training_report.json").write_text(json.dumps(report, indent=2, sort_keys=True))
        handler = Path(__file__).with_name(INFERENCE_MODULE)
        if handler.is_file():
            # The serving container loads SAGEMAKER_PROGRAM from /opt/ml/model/code, so the
            # model artifact carries its own handler (works under network isolation too).
            (tmp / "code").mkdir()
            shutil.copyfile(handler, tmp / "code" / INFERENCE_MODULE)
        for child in tmp.iterdir():
            target = model_dir / child.name
            if target.is_dir():
                shutil.rmtree(target)
            os.replace(child, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def parse_args(argv: list[str] | None) -> tuple[argparse.Namespace, Hyperparameters]:
    defaults = Hyperparameters()
    parser = argparse.ArgumentParser(description="Train the XGBoost sales forecasting model.")
    parser.add_argument(
        "--train", default=os.environ.get("SM_CHANNEL_TRAIN", "/opt/ml/input/data/train")
    )
    parser.add_argument(
        "--validation",
        default=os.environ.get("SM_CHANNEL_VALIDATION", "/opt/ml/input/data/validation"),
    )
    parser.add_argument("--model-dir", default=os.environ.get("SM_MODEL_DIR", "/opt/ml/model"))
    parser.add_argument(
        "--threads",
        type=int,
        default=int(os.environ.get("SM_NUM_CPUS", "0")),
        help="XGBoost threads; 0 means all cores",
    )
    for name, value in asdict(defaults).items():
        parser.add_argument(
            f"--{name}", f"--{name.replace('_', '-')}", dest=name, type=type(value), default=value
        )
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        # The toolkit may pass hyperparameters of its own (sagemaker_*); say so, don't fail.
        print(f"train: ignoring unknown arguments {unknown}", file=sys.stderr)
    hp = Hyperparameters(**{name: getattr(args, name) for name in asdict(defaults)})
    return args, hp


def main(argv: list[str] | None = None) -> int:
    try:
        args, hp = parse_args(argv)
    except SystemExit as exc:  # argparse already printed which argument has the wrong type
        return int(exc.code or 2)
    try:
        hp.check()
        train_dir = Path(args.train)
        schema = load_schema(train_dir, SCHEMA_FILE)
        history_schema = load_schema(train_dir, HISTORY_SCHEMA_FILE)
        train_frame = load_channel(train_dir, TRAIN_FILE, "train")
        history = load_channel(train_dir, HISTORY_FILE, "train")
        validation_frame = load_channel(Path(args.validation), VALIDATION_FILE, "validation")
        threads = args.threads or (os.cpu_count() or 1)
        backtest, metrics = train(train_frame, validation_frame, schema, hp, threads)
        trees = metrics["best_iteration"] + 1
        forecast, seconds = fit_forecast(history, history_schema, hp, threads, trees)
    except TrainingError as exc:
        print(f"train: error: {exc}", file=sys.stderr)
        return 2
    print(f"validation-mape={metrics['mape']:.6f}")
    print(f"validation-rmspe={metrics['rmspe']:.6f}")
    print(f"validation-wape={metrics['wape']:.6f}")
    print(f"best-iteration={metrics['best_iteration']}")
    report = {
        "hyperparameters": asdict(hp),
        "validation": metrics,
        "forecast_fit_seconds": seconds,
        "xgboost_version": xgb.__version__,
        "rows": {
            "train": len(train_frame),
            "validation": len(validation_frame),
            "history": len(history),
        },
    }
    intervals = metrics["intervals"]
    save_model(
        {
            ".": (forecast, model_schema(history_schema, hp, intervals)),
            BACKTEST_DIR: (backtest, model_schema(schema, hp, intervals)),
        },
        report,
        Path(args.model_dir),
    )
    print(
        f"train: saved {MODEL_FILE} ({trees} trees, fitted on {len(history)} rows of history "
        f"in {seconds:.1f}s; back-test model {metrics['fit_seconds']:.1f}s) to {args.model_dir}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

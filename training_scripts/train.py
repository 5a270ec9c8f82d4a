"""Train the XGBoost sales model: SageMaker XGBoost framework script mode.

The SageMaker training toolkit runs `python train.py --num_round 1000 --max_depth 8 ...` with
the channels in SM_CHANNEL_TRAIN / SM_CHANNEL_VALIDATION and the model directory in
SM_MODEL_DIR; the same command works from a shell with explicit `--train`, `--validation` and
`--model-dir`. The model is saved in XGBoost's own UBJSON format next to the feature schema
that inference enforces. Metric lines (`validation-mape=...`) are what the pipeline's metric
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
    seed: int = 42

    def check(self) -> None:
        """Reject values XGBoost would accept silently or fail on obscurely."""
        rules = [
            ("num_round", 1 <= self.num_round <= 100_000, "between 1 and 100000"),
            ("max_depth", 1 <= self.max_depth <= 20, "between 1 and 20"),
            ("eta", 0 < self.eta <= 1, "in (0, 1]"),
            ("subsample", 0 < self.subsample <= 1, "in (0, 1]"),
            ("colsample_bytree", 0 < self.colsample_bytree <= 1, "in (0, 1]"),
            ("min_child_weight", self.min_child_weight >= 0, "at least 0"),
            ("early_stopping_rounds", self.early_stopping_rounds >= 0, "at least 0"),
            ("max_bin", 2 <= self.max_bin <= 1024, "between 2 and 1024"),
            ("refit", self.refit in (0, 1), "0 or 1"),
        ]
        for name, ok, expected in rules:
            if not ok:
                value = getattr(self, name)
                raise TrainingError(
                    f"hyperparameter {name}={value} is out of range: expected {expected}"
                )

    def xgboost_params(self, threads: int) -> dict[str, Any]:
        return {
            "objective": "reg:squarederror",
            "eval_metric": "rmse",
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


def load_schema(directory: Path) -> dict[str, Any]:
    path = directory / SCHEMA_FILE
    if not path.is_file():
        raise TrainingError(f"channel 'train': no {SCHEMA_FILE} in {directory}")
    schema: dict[str, Any] = json.loads(path.read_text())
    return schema


def matrix(frame: pd.DataFrame, schema: dict[str, Any], channel: str) -> xgb.DMatrix:
    """Features in schema order and the log1p target as a DMatrix."""
    names = [f["name"] for f in schema["features"]]
    missing = [n for n in names if n not in frame.columns]
    if missing:
        raise TrainingError(f"channel {channel!r}: feature column(s) {missing} are missing")
    target = frame[schema["target_column"]].to_numpy(dtype="float64")
    return xgb.DMatrix(
        frame[names].to_numpy(dtype="float32"),
        label=np.log1p(target),
        feature_names=names,
        nthread=-1,
    )


def sales_metrics(actual: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """MAPE and RMSPE on the sales scale, over days with positive sales."""
    positive = actual > 0
    ratio = (actual[positive] - predicted[positive]) / actual[positive]
    return {
        "mape": float(np.mean(np.abs(ratio))),
        "rmspe": float(np.sqrt(np.mean(ratio**2))),
    }


def train(
    train_frame: pd.DataFrame,
    validation_frame: pd.DataFrame,
    schema: dict[str, Any],
    hp: Hyperparameters,
    threads: int,
    log_every: int = 50,
) -> tuple[xgb.Booster, dict[str, Any]]:
    """Fit with early stopping on validation; return the booster cut at its best iteration,
    or (refit=1) a booster with that many trees fitted on train + validation.

    The reported validation metrics are always those of the early-stopped model, which has
    not seen the validation rows."""
    hp.check()
    dtrain = matrix(train_frame, schema, "train")
    dvalid = matrix(validation_frame, schema, "validation")
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
    predicted = np.expm1(booster.predict(dvalid))
    metrics = sales_metrics(validation_frame[schema["target_column"]].to_numpy(), predicted)
    if hp.refit:
        started = time.perf_counter()
        both = matrix(
            pd.concat([train_frame, validation_frame], ignore_index=True),
            schema,
            "train+validation",
        )
        booster = xgb.train(hp.xgboost_params(threads), both, num_boost_round=best + 1)
        seconds += time.perf_counter() - started
    metrics.update(
        {"best_iteration": int(best), "fit_seconds": seconds, "refit_on_validation": bool(hp.refit)}
    )
    return booster, metrics


def save_model(
    booster: xgb.Booster, schema: dict[str, Any], report: dict[str, Any], model_dir: Path
) -> None:
    """Write model, schema and training report, replacing the folder's content atomically
    enough for a job: everything is written to a temporary folder first."""
    model_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".model.", dir=model_dir))
    try:
        booster.save_model(str(tmp / MODEL_FILE))
        (tmp / SCHEMA_FILE).write_text(json.dumps(schema, indent=2, sort_keys=True))
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
        schema = load_schema(Path(args.train))
        train_frame = load_channel(Path(args.train), TRAIN_FILE, "train")
        validation_frame = load_channel(Path(args.validation), VALIDATION_FILE, "validation")
        booster, metrics = train(
            train_frame, validation_frame, schema, hp, threads=args.threads or (os.cpu_count() or 1)
        )
    except TrainingError as exc:
        print(f"train: error: {exc}", file=sys.stderr)
        return 2
    print(f"validation-mape={metrics['mape']:.6f}")
    print(f"validation-rmspe={metrics['rmspe']:.6f}")
    print(f"best-iteration={metrics['best_iteration']}")
    report = {
        "hyperparameters": asdict(hp),
        "validation": metrics,
        "xgboost_version": xgb.__version__,
        "rows": {"train": len(train_frame), "validation": len(validation_frame)},
    }
    save_model(booster, schema, report, Path(args.model_dir))
    print(
        f"train: saved {MODEL_FILE} ({metrics['best_iteration'] + 1} trees, "
        f"{metrics['fit_seconds']:.1f}s) to {args.model_dir}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

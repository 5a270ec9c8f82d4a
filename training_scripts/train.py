"""Train the XGBoost sales model: SageMaker XGBoost framework script mode.

The SageMaker training toolkit runs `python train.py --num_round 1000 --max_depth 8 ...` with
the channels in SM_CHANNEL_TRAIN / _VALIDATION / _HISTORY (preprocess's shards; with
ShardedByS3Key this host's share) / _SCHEMA and the model directory in SM_MODEL_DIR; the
same command works from a shell with explicit `--train`, `--validation`, `--history`,
`--schema` and `--model-dir`. Two models come out of one setting: the back-test's (early
stopping on the validation window, then optionally refit on train + validation; under
backtest/, what Evaluate scores) and the forecast's (the same tree count refit on all history
up to the forecast origin; at the top, what is registered and served), with the forecast
interval fitted on the early-stopped model's validation errors. Each is fitted from a
QuantileDMatrix fed in batches of BATCH_ROWS, and with several hosts (SM_HOSTS) through
XGBoost's collective (cluster.py): the first host writes the model. Models are saved in
XGBoost's own UBJSON format next to the feature schema that inference enforces. Metric
lines (`validation-mape=...`) are what the pipeline's metric definitions parse from the log.
"""

from __future__ import annotations

import sys

if __name__ == "__main__":
    # xgboost imports scikit-learn at import time when it is installed, as in the XGBoost
    # container, for its sklearn estimators, which this script does not use: 50 MB and most
    # of a second of CPU on every training host. Not when imported (tests, benchmarks).
    sys.modules.setdefault("sklearn", None)  # type: ignore[arg-type]  # None: "not installed"

import argparse
import functools
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import xgboost as xgb
from cluster import Cluster, Hosts, join  # ships in the same source directory

MODEL_FILE = "xgboost-model.ubj"
INFERENCE_MODULE = "inference.py"  # shipped next to this script, copied into model/code/
SCHEMA_FILE = "feature_schema.json"
TRAIN_FILE = "train.parquet"
VALIDATION_FILE = "validation.parquet"
HISTORY_FILE = "history.parquet"  # all history, with the forecast's features
HISTORY_SCHEMA_FILE = "history_schema.json"
# preprocess's sample of every unit's rows, beside the schemas: the histogram bins are cut
# from it on every host alike, so one host and several train on the same bins
BINS_TRAIN_FILE = "bins_train.parquet"
BINS_HISTORY_FILE = "bins_history.parquet"
BACKTEST_DIR = "backtest"  # the back-test's model inside the model folder, for Evaluate
OBJECTIVES = ("squarederror", "tweedie", "poisson")


ALONE = Cluster(0, 1)  # one host: no collective


class TrainingError(ValueError):
    """Bad channel data or hyperparameters: the message names which."""


@dataclass(frozen=True)
class Hyperparameters:
    """The tunable knobs, with the defaults the pipeline's parameters also use."""

    num_round: int = 1000
    max_depth: int = 10
    eta: float = 0.05
    subsample: float = 0.8
    colsample_bytree: float = 0.8
    min_child_weight: float = 100.0
    early_stopping_rounds: int = 50
    max_bin: int = 32
    # 1: after early stopping picks the number of trees, fit the back-test's model again on
    # train + validation: then the back-test scores what the forecast does (a model fitted on
    # everything up to its window's origin), not a model six weeks older.
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


# One shard's rows in batches, read when the matrix is built: the host holds one batch's
# frame beside the quantised matrix, never a shard's (or every shard's) frame at once.
Chunk = Callable[[], Iterator[pd.DataFrame]]
BATCH_ROWS = 65_536


def shard_files(directory: Path, file_name: str, channel: str) -> list[Path]:
    """`file_name` (train.parquet) or every shard of it preprocess wrote (train-000.parquet,
    ..., train-00007.parquet, ...) in the channel's folder: with ShardedByS3Key this host's
    share. None at all is an empty share (the host sits out when distributed)."""
    if not directory.is_dir():
        raise TrainingError(f"channel {channel!r}: folder {directory} does not exist")
    stem = file_name.rpartition(".")[0]
    pattern = re.compile(rf"{re.escape(stem)}(-\d{{5}})?(-\d{{3}})?\.parquet")
    return sorted(p for p in directory.iterdir() if pattern.fullmatch(p.name))


def read_shard(path: Path, columns: list[str]) -> Iterator[pd.DataFrame]:
    """One shard's `columns`, BATCH_ROWS at a time (an empty shard: one empty frame).

    Batches, and handing pyarrow's allocator back what it decoded each into (it keeps its
    buffers for reuse), keep a host's memory to its matrix: reading a 170,000-row shard
    whole held about 0.2 GB more, whatever the data's size."""
    shard = pq.ParquetFile(path)
    missing = [c for c in columns if c not in shard.schema_arrow.names]
    if missing:
        raise TrainingError(f"{path.name}: column(s) {missing} are missing")
    if shard.metadata.num_rows == 0:
        yield shard.schema_arrow.empty_table().select(columns).to_pandas()
        return
    for batch in shard.iter_batches(batch_size=BATCH_ROWS, columns=columns):
        frame = batch.to_pandas()
        del batch
        pa.default_memory_pool().release_unused()
        yield frame


def chunks(paths: list[Path], columns: list[str]) -> list[Chunk]:
    """Readers of the shards' `columns`, each called when its shard is wanted."""
    return [functools.partial(read_shard, path, columns) for path in paths]


def in_memory(frame: pd.DataFrame) -> Chunk:
    """A frame already read, as a chunk."""
    return lambda: iter([frame])


def _parts(data: pd.DataFrame | list[Chunk]) -> list[Chunk]:
    return data if isinstance(data, list) else [in_memory(data)]


def load_frame(parts: list[Chunk], channel: str) -> pd.DataFrame:
    frames = [frame for read in parts for frame in read()]
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    if frame.empty:
        raise TrainingError(f"channel {channel!r}: no rows")
    return frame


def load_schema(directory: Path, file_name: str = SCHEMA_FILE) -> dict[str, Any]:
    path = directory / file_name
    if not path.is_file():
        raise TrainingError(f"channel 'schema': no {file_name} in {directory}")
    schema: dict[str, Any] = json.loads(path.read_text())
    return schema


class _Shards(xgb.DataIter):
    """Feeds a QuantileDMatrix the shards batch by batch (XGBoost reads them three times:
    to count, to quantise, to index by column)."""

    def __init__(self, parts: list[Chunk], names: list[str], target: str, transform: str):
        self.parts, self.names, self.target, self.transform = parts, names, target, transform
        self.batches = self._batches()
        self.rows = 0
        super().__init__(release_data=True)

    def _batches(self) -> Iterator[pd.DataFrame]:
        return (frame for read in self.parts for frame in read())

    def next(self, input_data: Callable[..., None]) -> bool:
        frame = next(self.batches, None)
        if frame is None:
            return False
        missing = [n for n in self.names if n not in frame.columns]
        if missing:
            raise TrainingError(f"feature column(s) {missing} are missing")
        label = frame[self.target].to_numpy(dtype="float64")
        input_data(
            data=frame[self.names].to_numpy(dtype="float32"),
            label=np.log1p(label) if self.transform == "log1p" else label,
            feature_names=self.names,
        )
        self.rows += len(frame)
        return True

    def reset(self) -> None:
        self.batches = self._batches()
        self.rows = 0


def matrix(
    data: pd.DataFrame | list[Chunk],
    schema: dict[str, Any],
    channel: str,
    transform: str = "log1p",
    max_bin: int = 256,
    ref: xgb.QuantileDMatrix | None = None,
) -> xgb.QuantileDMatrix:
    """Features in schema order and the (log1p-transformed) target, quantised for `hist`
    (bins from `ref`, the training matrix, for an evaluation set)."""
    parts = _parts(data)
    names = [f["name"] for f in schema["features"]]
    source = _Shards(parts, names, schema["target_column"], transform)
    try:
        return xgb.QuantileDMatrix(source, max_bin=max_bin, ref=ref, nthread=-1)
    except TrainingError as exc:
        raise TrainingError(f"channel {channel!r}: {exc}") from None


def cuts(
    sample: pd.DataFrame | list[Chunk], schema: dict[str, Any], channel: str, hp: Hyperparameters
) -> xgb.QuantileDMatrix:
    """The histogram bins cut from `sample` (preprocess's sample of every unit), as a
    one-row matrix: the sample's own matrix holds its ~200,000 rows quantised, which a host
    need not carry through training."""
    names = [f["name"] for f in schema["features"]]
    full = matrix(sample, schema, f"{channel} bins", hp.target_transform, hp.max_bin)
    return xgb.QuantileDMatrix(
        np.full((1, len(names)), np.nan, dtype="float32"),
        ref=full,
        feature_names=names,
        max_bin=hp.max_bin,
    )


def bins(
    paths: list[Path], schema: dict[str, Any], channel: str, hp: Hyperparameters
) -> xgb.QuantileDMatrix | None:
    """The bins every host cuts alike, from preprocess's sample of every unit (built before
    the host joins the collective, so nothing is merged); None without a sample: each
    matrix then sketches its own rows, as XGBoost does by default."""
    if not paths:
        return None
    columns = [schema["target_column"], *(f["name"] for f in schema["features"])]
    return cuts(chunks(paths, columns), schema, channel, hp)


def to_target(raw: np.ndarray, transform: str) -> np.ndarray:
    """The booster's output on the target's scale, never negative."""
    values = np.asarray(raw, dtype="float64")
    return np.clip(np.expm1(values) if transform == "log1p" else values, 0, None)


def interval_offsets(errors: np.ndarray, hp: Hyperparameters) -> dict:
    """The forecast interval as quantiles of out-of-sample errors on the log1p scale
    (`errors`: log1p(actual) - log1p(predicted), every host's).

    The errors are the early-stopped model's on the validation window, which it has not
    seen and which lies one horizon ahead of its training data, as the forecast does
    (split conformal prediction). On the log scale one offset fits stores of every size;
    P10 = expm1(log1p(P50) + offset_low). The offsets are clipped at 0 so that
    P10 <= P50 <= P90 always holds."""
    low, high = np.quantile(errors, [hp.interval_low, hp.interval_high])
    return {
        "levels": [hp.interval_low, 0.5, hp.interval_high],
        "log1p_offsets": [min(float(low), 0.0), 0.0, max(float(high), 0.0)],
        "method": "quantiles of the early-stopped model's log1p errors on the validation "
        f"window ({len(errors)} rows)",
    }


def sales_sums(actual: np.ndarray, predicted: np.ndarray) -> list[float]:
    """What the validation metrics are made of, summable across hosts: positive days,
    sum |ratio| and ratio^2 over them, sum |error| and |actual| over all days."""
    positive = actual > 0
    ratio = (actual[positive] - predicted[positive]) / actual[positive]
    return [
        float(positive.sum()),
        float(np.sum(np.abs(ratio))),
        float(np.sum(ratio**2)),
        float(np.sum(np.abs(predicted - actual))),
        float(np.sum(np.abs(actual))),
    ]


def sales_metrics(sums: list[float]) -> dict[str, float]:
    """MAPE and RMSPE over days with positive sales (a ratio to zero is undefined), WAPE
    over all days."""
    positive, abs_ratio, squared_ratio, abs_error, total = sums
    return {
        "mape": abs_ratio / positive if positive else float("nan"),
        "rmspe": float(np.sqrt(squared_ratio / positive)) if positive else float("nan"),
        "wape": abs_error / total if total else float("nan"),
    }


def train(
    train_data: pd.DataFrame | list[Chunk],
    validation_frame: pd.DataFrame,
    schema: dict[str, Any],
    hp: Hyperparameters,
    threads: int,
    log_every: int = 50,
    cluster: Cluster = ALONE,
    cuts: xgb.QuantileDMatrix | None = None,
) -> tuple[xgb.Booster, dict[str, Any]]:
    """The back-test's model: fit with early stopping on validation, cut at the best
    iteration, or (refit=1) that many trees fitted on train + validation. `train_data` is
    a frame or this host's shards; in a cluster every host calls this on its own rows.

    The reported validation metrics, and the forecast interval's offsets, are always those
    of the early-stopped model, which has not seen the validation rows (every host's).
    `cuts`: the bins (see `bins`); None, the training rows' own sketch."""
    hp.check()
    transform = hp.target_transform
    parts = _parts(train_data)
    dtrain = matrix(parts, schema, "train", transform, hp.max_bin, ref=cuts)
    dvalid = matrix(validation_frame, schema, "validation", transform, hp.max_bin, ref=dtrain)
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
    metrics: dict[str, Any] = sales_metrics(cluster.allreduce_sum(sales_sums(actual, predicted)))
    errors = cluster.gather(np.log1p(actual) - np.log1p(predicted))
    metrics["intervals"] = interval_offsets(errors, hp)
    rows = {"train": float(dtrain.num_row()), "validation": float(len(validation_frame))}
    del dtrain, dvalid
    if hp.refit:
        started = time.perf_counter()
        both = matrix(
            [*parts, in_memory(validation_frame)],
            schema,
            "train+validation",
            transform,
            hp.max_bin,
            ref=cuts,
        )
        booster = xgb.train(hp.xgboost_params(threads), both, num_boost_round=best + 1)
        seconds += time.perf_counter() - started
    totals = cluster.allreduce_sum(list(rows.values()))
    metrics.update(
        {
            "best_iteration": int(best),
            "fit_seconds": seconds,
            "refit_on_validation": bool(hp.refit),
            "rows": {name: int(n) for name, n in zip(rows, totals, strict=True)},
            "hosts": cluster.size,
        }
    )
    return booster, metrics


def fit_forecast(
    history: pd.DataFrame | list[Chunk],
    schema: dict[str, Any],
    hp: Hyperparameters,
    threads: int,
    trees: int,
    cluster: Cluster = ALONE,
    cuts: xgb.QuantileDMatrix | None = None,
) -> tuple[xgb.Booster, float, int]:
    """The model that forecasts: the back-test's settings and tree count, fitted on all
    history up to the forecast origin (the back-test's test window included). Returns it,
    the fit's seconds and the history's rows (every host's)."""
    started = time.perf_counter()
    data = matrix(_parts(history), schema, "history", hp.target_transform, hp.max_bin, ref=cuts)
    booster = xgb.train(hp.xgboost_params(threads), data, num_boost_round=trees)
    rows = int(cluster.allreduce_sum([float(data.num_row())])[0])
    return booster, time.perf_counter() - started, rows


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
    parser.add_argument(
        "--history",
        default=os.environ.get("SM_CHANNEL_HISTORY", "/opt/ml/input/data/history"),
        help="all history up to the forecast origin, with the forecast's features",
    )
    parser.add_argument(
        "--schema",
        default=os.environ.get("SM_CHANNEL_SCHEMA", "/opt/ml/input/data/schema"),
        help="preprocess's feature_schema.json and history_schema.json",
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
    except SystemExit as exc:  # --help, or argparse printed which argument is wrong
        return int(exc.code or 0)
    hosts = Hosts.from_environment()
    try:
        hp.check()
        schema = load_schema(Path(args.schema), SCHEMA_FILE)
        history_schema = load_schema(Path(args.schema), HISTORY_SCHEMA_FILE)
        needed = [schema["target_column"], *(f["name"] for f in schema["features"])]
        found = {
            channel: shard_files(Path(folder), file, channel)
            for channel, folder, file in (
                ("train", args.train, TRAIN_FILE),
                ("validation", args.validation, VALIDATION_FILE),
                ("history", args.history, HISTORY_FILE),
            )
        }
        has_data = bool(found["train"])
        if not has_data and not hosts.distributed:
            raise TrainingError(f"channel 'train': no {TRAIN_FILE} (or its shards) in {args.train}")
        for channel in ("validation", "history"):
            if has_data and not found[channel]:
                raise TrainingError(
                    f"channel {channel!r}: no {channel}.parquet (or its shards) in "
                    f"{getattr(args, channel)}, though this host received training rows: "
                    "give the training job no more instances than preprocess wrote shards"
                )
        threads = args.threads or (os.cpu_count() or 1)
        # before joining the collective: every host cuts the same bins from the same sample
        sample = functools.partial(shard_files, Path(args.schema), channel="schema")
        train_cuts = bins(sample(BINS_TRAIN_FILE), schema, "train", hp) if has_data else None
        history_cuts = (
            bins(sample(BINS_HISTORY_FILE), history_schema, "history", hp) if has_data else None
        )
        with join(hosts, has_data) as cluster:
            validation = load_frame(chunks(found["validation"], needed), "validation")
            backtest, metrics = train(
                chunks(found["train"], needed),
                validation,
                schema,
                hp,
                threads,
                cluster=cluster,
                cuts=train_cuts,
            )
            del validation
            trees = metrics["best_iteration"] + 1
            forecast_columns = [
                schema["target_column"],
                *(f["name"] for f in history_schema["features"]),
            ]
            forecast, seconds, history_rows = fit_forecast(
                chunks(found["history"], forecast_columns),
                history_schema,
                hp,
                threads,
                trees,
                cluster,
                history_cuts,
            )
    except TrainingError as exc:
        print(f"train: error: {exc}", file=sys.stderr)
        return 2
    print(f"validation-mape={metrics['mape']:.6f}")
    print(f"validation-rmspe={metrics['rmspe']:.6f}")
    print(f"validation-wape={metrics['wape']:.6f}")
    print(f"best-iteration={metrics['best_iteration']}")
    if not cluster.is_master:
        print(f"train: host {hosts.current} done; the first host writes the model")
        return 0
    rows = {**metrics.pop("rows"), "history": history_rows}
    report = {
        "hyperparameters": asdict(hp),
        "validation": metrics,
        "forecast_fit_seconds": seconds,
        "xgboost_version": xgb.__version__,
        "rows": rows,
        "hosts": list(hosts.hosts),
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
    where = f" on {cluster.size} hosts" if cluster.size > 1 else ""
    print(
        f"train: saved {MODEL_FILE} ({trees} trees, fitted on {history_rows} rows of history "
        f"in {seconds:.1f}s{where}; back-test model {metrics['fit_seconds']:.1f}s) to "
        f"{args.model_dir}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

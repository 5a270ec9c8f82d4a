"""The container scripts and the pipeline agree on paths, file names and defaults."""

from __future__ import annotations

import re
from dataclasses import asdict

import drift
import evaluate
import preprocess
import pytest
import train

import inference
from pipelines import contract
from pipelines import settings as settings_module
from pipelines.parameter_specs import SPECS, Spec
from pipelines.settings import load_settings


def test_preprocess_defaults_are_the_container_paths() -> None:
    args = preprocess.parse_args([])
    assert args.input_dir == contract.RAW_DATA_DIR
    folders = (
        args.train_dir,
        args.validation_dir,
        args.test_dir,
        args.history_dir,
        args.reference_dir,
        args.schema_dir,
        args.batch_dir,
    )
    assert folders == (
        contract.TRAIN_DIR,
        contract.VALIDATION_DIR,
        contract.TEST_DIR,
        contract.HISTORY_DIR,
        contract.REFERENCE_DIR,
        contract.SCHEMA_DIR,
        contract.BATCH_DIR,
    )
    settings = load_settings("dev")
    assert args.horizon == settings.parameters.forecast_horizon_days
    assert args.date_column == settings.data.date_column
    assert args.series_columns == ",".join(settings.data.series_columns)
    assert args.known_columns == ",".join(settings.data.known_columns)
    assert args.target_column == settings.data.target_column


def test_evaluate_defaults_are_the_container_paths() -> None:
    args = evaluate.parse_args([])
    assert (args.model_dir, args.test_dir, args.history_dir, args.output_dir) == (
        contract.MODEL_INPUT_DIR,
        contract.EVAL_TEST_DIR,
        contract.EVAL_HISTORY_DIR,
        contract.EVALUATION_DIR,
    )
    assert evaluate.EVALUATION_FILE == contract.EVALUATION_FILE


def test_file_names_agree() -> None:
    assert train.MODEL_FILE == evaluate.MODEL_FILE == inference.MODEL_FILE == contract.MODEL_FILE
    assert (
        train.SCHEMA_FILE
        == evaluate.SCHEMA_FILE
        == inference.SCHEMA_FILE
        == contract.FEATURE_SCHEMA_FILE
    )
    assert (
        (train.TRAIN_FILE, train.VALIDATION_FILE)
        == (
            preprocess.TRAIN_FILE,
            preprocess.VALIDATION_FILE,
        )
        == (contract.TRAIN_FILE, contract.VALIDATION_FILE)
    )
    assert (preprocess.TEST_FILE, preprocess.REFERENCE_FILE, preprocess.BATCH_FILE) == (
        contract.TEST_FILE,
        contract.REFERENCE_FILE,
        contract.BATCH_FILE,
    )
    assert preprocess.SCHEMA_FILE == contract.FEATURE_SCHEMA_FILE
    # the bins' sample travels in the schema output, to every training host
    assert (train.BINS_TRAIN_FILE, train.BINS_HISTORY_FILE) == (
        preprocess.BINS_TRAIN_FILE,
        preprocess.BINS_HISTORY_FILE,
    )
    assert (
        train.HISTORY_FILE
        == preprocess.HISTORY_FILE
        == evaluate.HISTORY_FILE
        == contract.HISTORY_FILE
    )
    assert (
        train.HISTORY_SCHEMA_FILE
        == preprocess.HISTORY_SCHEMA_FILE
        == drift.HISTORY_SCHEMA_FILE
        == contract.HISTORY_SCHEMA_FILE
    )
    assert train.BACKTEST_DIR == evaluate.BACKTEST_DIR == contract.BACKTEST_DIR
    assert train.INFERENCE_MODULE == contract.INFERENCE_PROGRAM


def test_shard_names_are_what_every_reader_reads() -> None:
    """preprocess's shard names (one unit, its parts, several units, their parts) are read
    by train.py, evaluate.py and drift.py alike, and nothing else is."""
    names = [
        *preprocess.shard_names(contract.TRAIN_FILE, 0, 1, 1),
        *preprocess.shard_names(contract.TRAIN_FILE, 0, 1, 3),
        *preprocess.shard_names(contract.TRAIN_FILE, 7, 12, 1),
        *preprocess.shard_names(contract.TRAIN_FILE, 7, 12, 2),
    ]
    assert names == [
        "train.parquet",
        "train-000.parquet",
        "train-001.parquet",
        "train-002.parquet",
        "train-00007.parquet",
        "train-00007-000.parquet",
        "train-00007-001.parquet",
    ]
    pattern = preprocess.shard_pattern(contract.TRAIN_FILE)
    assert all(pattern.fullmatch(n) for n in names)
    assert not any(pattern.fullmatch(n) for n in ("train.parquet.tmp", "train-1.parquet"))
    batch = preprocess.shard_names(contract.BATCH_FILE, 3, 5, 2)
    assert all(drift.batch_files().fullmatch(n) for n in batch)


def test_hyperparameter_defaults_agree_with_the_profile() -> None:
    settings = load_settings("dev")
    script = asdict(train.Hyperparameters())
    script.pop("seed")
    # the forecast's shape is per profile ([forecast]), passed as fixed hyperparameters
    forecast = {name: script.pop(name) for name in ("objective", "interval_low", "interval_high")}
    assert settings.parameters.hyperparameters.model_dump() == script
    assert forecast == {
        "objective": settings.forecast.objective,
        "interval_low": settings.forecast.interval[0],
        "interval_high": settings.forecast.interval[1],
    }
    assert train.OBJECTIVES == settings_module.OBJECTIVES
    # the gate's metrics, and the forecast's column names the container writes and the
    # pipeline reads back (Batch Transform's output, pipelines.data predictions)
    assert evaluate.QUALITY_METRICS == contract.QUALITY_METRICS
    low, high = settings.forecast.interval
    names = tuple(inference.quantile_name(level) for level in (low, 0.5, high))
    assert names == settings.forecast.columns == ("p10", "p50", "p90")


def test_metric_regexes_match_what_train_prints() -> None:
    import re

    printed = (
        "[10]\tvalidation-rmse:0.10815\nvalidation-mape=0.077712\n"
        "validation-rmspe=0.104324\nbest-iteration=238\n"
    )
    found = {name: re.findall(regex, printed) for name, regex in contract.METRIC_DEFINITIONS}
    assert found == {
        "validation:rmse": ["0.10815"],
        "validation:mape": ["0.077712"],
        "validation:rmspe": ["0.104324"],
        "best_iteration": ["238"],
    }


def test_drift_defaults_are_the_container_paths() -> None:
    args = drift.parse_args([])
    assert (args.schema_dir, args.reference_dir, args.batch_dir, args.output_dir) == (
        contract.SCHEMA_INPUT_DIR,
        contract.REFERENCE_INPUT_DIR,
        contract.BATCH_INPUT_DIR,
        contract.DRIFT_DIR,
    )
    assert (drift.BASELINE_FILE, drift.DRIFT_FILE, drift.BATCH_FILE) == (
        contract.DRIFT_BASELINE_FILE,
        contract.DRIFT_FILE,
        contract.BATCH_FILE,
    )
    assert (drift.MONITOR_STATISTICS_FILE, drift.MONITOR_CONSTRAINTS_FILE) == (
        contract.MONITOR_STATISTICS_FILE,
        contract.MONITOR_CONSTRAINTS_FILE,
    )


def test_the_parameter_table_is_the_definitions_parameters(dev_definition: dict) -> None:
    """Names, order and types of the definition's parameters are the table's rows."""
    declared = [(p["Name"], p["Type"]) for p in dev_definition["Parameters"]]
    assert declared == [(s.name, s.kind) for s in SPECS]


@pytest.mark.parametrize("spec", [s for s in SPECS if s.hyperparameter], ids=lambda s: str(s.name))
def test_train_py_checks_agree_with_the_table(spec: Spec) -> None:
    """train.py (in the container, without this package) refuses exactly what the table
    refuses: each bound is accepted, the value just past it is refused."""
    step = 1 if spec.kind == "Integer" else 1e-9
    cast = int if spec.kind == "Integer" else float

    def accepted(value: float) -> bool:
        try:
            train.Hyperparameters(**{spec.hyperparameter: cast(value)}).check()
        except train.TrainingError:
            return False
        return True

    low = spec.low + (step if spec.low_open else 0)
    assert spec.low is not None and spec.high is not None
    assert accepted(low) and not accepted(low - step if not spec.low_open else spec.low)
    assert accepted(spec.high) and not accepted(spec.high + step)
    assert spec.in_range(low) and spec.in_range(spec.high)
    assert not spec.in_range(spec.high + step)


@pytest.mark.parametrize("name", ["Eta", "MaxQualityMetric", "MinChildWeight", "NumRound"])
def test_settings_and_overrides_use_the_tables_bounds(name: str) -> None:
    """A value past a bound is refused the same way in a profile and in --param."""
    from pipelines.parameter_specs import BY_NAME
    from pipelines.parameters import ParameterError, coerce_overrides
    from pipelines.settings import SettingsError, load_settings

    spec = BY_NAME[name]
    assert spec.high is not None
    past = spec.high + (1 if spec.kind == "Integer" else 0.5)
    path = spec.setting.split(".")
    override: dict = {}
    node = override
    for part in path[:-1]:
        node = node.setdefault(part, {})
    node[path[-1]] = int(past) if spec.kind == "Integer" else past
    with pytest.raises(SettingsError):
        load_settings("dev", override)
    with pytest.raises(ParameterError, match=re.escape(f"out of range {spec.range_text()}")):
        coerce_overrides([{"Name": name, "Type": spec.kind}], [f"{name}={past}"])

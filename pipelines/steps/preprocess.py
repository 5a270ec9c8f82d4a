"""Preprocess: validate raw data, build features, split train/validation/test/batch."""

from __future__ import annotations

from typing import Any

from pipelines import contract
from pipelines.sdk import as_text
from pipelines.steps.common import (
    BuildContext,
    cache_config,
    job_retry_policies,
    mount_input,
    mount_output,
    run_script,
)

# Each output, the folder the script writes it to and the flag that names that folder.
OUTPUTS = (
    (contract.OUTPUT_TRAIN, contract.TRAIN_DIR, "--train-dir"),
    (contract.OUTPUT_VALIDATION, contract.VALIDATION_DIR, "--validation-dir"),
    (contract.OUTPUT_TEST, contract.TEST_DIR, "--test-dir"),
    (contract.OUTPUT_HISTORY, contract.HISTORY_DIR, "--history-dir"),
    (contract.OUTPUT_REFERENCE, contract.REFERENCE_DIR, "--reference-dir"),
    (contract.OUTPUT_SCHEMA, contract.SCHEMA_DIR, "--schema-dir"),
    (contract.OUTPUT_BATCH, contract.BATCH_DIR, "--batch-dir"),
)


def data_arguments(ctx: BuildContext) -> list[str]:
    """The column settings, passed explicitly so the script never guesses the schema."""
    data = ctx.settings.data
    args = [
        "--date-column",
        data.date_column,
        "--series-columns",
        ",".join(data.series_columns),
        "--target-column",
        data.target_column,
        "--open-column",
        data.open_column or "",
    ]
    if data.categorical_columns is not None:
        args += ["--categorical-columns", ",".join(data.categorical_columns)]
    if data.numeric_columns is not None:
        args += ["--numeric-columns", ",".join(data.numeric_columns)]
    if data.ignore_columns:
        args += ["--ignore-columns", ",".join(data.ignore_columns)]
    args += ["--known-columns", ",".join(data.known_columns)]
    if ctx.settings.forecast.zero_means_closed:
        args.append("--zero-means-closed")
    return args


def build_preprocess_step(ctx: BuildContext) -> Any:
    from sagemaker.mlops.workflow.steps import ProcessingStep

    p = ctx.params
    step_args = run_script(
        ctx,
        "preprocess.py",
        "preprocess",
        mounts=[
            # this instance's files (whole series each), and all of them to plan alike
            mount_input(
                "data", p.input_data_uri, contract.RAW_DATA_DIR, "--input-dir", ctx.sharded
            ),
            mount_input("scan", p.input_data_uri, contract.SCAN_DIR, "--scan-dir"),
            *(
                mount_output(ctx, contract.PREPROCESS, name, path, flag)
                for name, path, flag in OUTPUTS
            ),
        ],
        arguments=[
            "--batch-shards",  # one file per transform instance: each gets whole objects
            as_text(p.transform_instance_count),
            "--train-shards",  # one file per training instance (ShardedByS3Key channels)
            as_text(p.training_instance_count),
            "--horizon",
            as_text(p.forecast_horizon_days),
            "--validation-start",
            p.validation_start_date,
            "--test-start",
            p.test_start_date,
            *data_arguments(ctx),
        ],
    )
    return ProcessingStep(
        name=contract.PREPROCESS,
        display_name="Preprocess-Sales-Data",
        description=(
            "Validates the raw store-day sales, builds calendar, promotion, closure and "
            "lagged-sales features no closer than the forecast horizon, splits the history "
            "by date into train, validation and test (the back-test), and writes the days "
            "after the last observed one as the batch-forecast input; each instance builds "
            "its own files of whole series, planned over all of them alike."
        ),
        step_args=step_args,
        cache_config=cache_config(ctx),
        retry_policies=job_retry_policies(),
    )

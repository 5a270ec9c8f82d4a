"""MonitorDrift and CheckDrift: compare the batch input with the training baseline (PSI) and,
when FailOnSevereDrift=1, fail the execution on severe drift, naming the features."""

from __future__ import annotations

from typing import Any

from pipelines import contract
from pipelines.steps.common import (
    BuildContext,
    cache_config,
    job_retry_policies,
    mount_input,
    mount_output,
    output_uri,
    run_script,
)


def drift_property_file() -> Any:
    from sagemaker.core.workflow.properties import PropertyFile

    return PropertyFile(
        name=contract.DRIFT_PROPERTY_FILE,
        output_name=contract.OUTPUT_DRIFT,
        path=contract.DRIFT_FILE,
    )


def build_monitor_step(ctx: BuildContext, preprocess: Any, report: Any) -> Any:
    """MonitorDrift needs only Preprocess's outputs (the batch input and the reference rows
    the baseline is fitted on), so it runs beside Train, and its gate can come before
    anything is registered. One instance: the baseline is fitted over every unit's rows."""
    from sagemaker.mlops.workflow.steps import ProcessingStep

    step_args = run_script(
        ctx,
        "drift.py",
        "drift",
        mounts=[
            mount_input(
                "schema",
                output_uri(preprocess, contract.OUTPUT_SCHEMA),
                contract.SCHEMA_INPUT_DIR,
                "--schema-dir",
            ),
            mount_input(
                "reference",
                output_uri(preprocess, contract.OUTPUT_REFERENCE),
                contract.REFERENCE_INPUT_DIR,
                "--reference-dir",
            ),
            mount_input(
                "batch",
                output_uri(preprocess, contract.OUTPUT_BATCH),
                contract.BATCH_INPUT_DIR,
                "--batch-dir",
            ),
            mount_output(
                ctx,
                contract.MONITOR_DRIFT,
                contract.OUTPUT_DRIFT,
                contract.DRIFT_DIR,
                "--output-dir",
            ),
        ],
        arguments=[],
        instance_count=1,
    )
    return ProcessingStep(
        name=contract.MONITOR_DRIFT,
        display_name="Monitor-Input-Drift",
        description=(
            "Population Stability Index of every monitored feature of the batch input against "
            "the baseline it fits on the history's reference weeks (minor < 0.1, moderate "
            "0.1-0.25, severe > 0.25); writes drift.json, a chart of the most shifted "
            "features and the baseline (also in Model Monitor's format, registered with the "
            "model)."
        ),
        step_args=step_args,
        property_files=[report],
        cache_config=cache_config(ctx),
        retry_policies=job_retry_policies(),
    )


def build_drift_gate(ctx: BuildContext, report: Any, if_steps: list[Any]) -> Any:
    """CheckDrift: its if-branch (`if_steps`: register, create the model, forecast) runs only
    when the drift is acceptable, so a run that ends Failed on drift has registered nothing."""
    from sagemaker.core.workflow.conditions import ConditionEquals, ConditionOr
    from sagemaker.core.workflow.functions import Join, JsonGet
    from sagemaker.mlops.workflow.condition_step import ConditionStep
    from sagemaker.mlops.workflow.fail_step import FailStep

    def get(path: str) -> Any:
        return JsonGet(step_name=contract.MONITOR_DRIFT, property_file=report, json_path=path)

    fail = FailStep(
        name=contract.DRIFT_FAIL,
        display_name="Fail-Severe-Input-Drift",
        description="Stops the execution: the batch input drifted severely and "
        "FailOnSevereDrift is 1.",
        error_message=Join(
            on="",
            values=[
                "Severe drift (PSI > 0.25) of the batch input against the training baseline in: ",
                get(contract.SEVERE_SUMMARY_JSON_PATH),
                " (FailOnSevereDrift=1; set it to 0 to report drift without failing)",
            ],
        ),
    )
    return ConditionStep(
        name=contract.CHECK_DRIFT,
        display_name="Check-Input-Drift",
        description="Passes unless FailOnSevereDrift is 1 and some feature drifted severely.",
        conditions=[
            ConditionOr(
                conditions=[
                    ConditionEquals(left=ctx.params.fail_on_severe_drift, right=0),
                    ConditionEquals(left=get(contract.SEVERE_COUNT_JSON_PATH), right=0),
                ]
            )
        ],
        if_steps=if_steps,
        else_steps=[fail],
    )

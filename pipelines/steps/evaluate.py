"""Evaluate: score the test window, write evaluation.json (a PropertyFile) and plots."""

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


def evaluation_property_file() -> Any:
    from sagemaker.core.workflow.properties import PropertyFile

    return PropertyFile(
        name=contract.EVALUATION_PROPERTY_FILE,
        output_name=contract.OUTPUT_EVALUATION,
        path=contract.EVALUATION_FILE,
    )


def build_evaluate_step(ctx: BuildContext, preprocess: Any, train: Any, report: Any) -> Any:
    from sagemaker.mlops.workflow.steps import ProcessingStep

    step_args = run_script(
        ctx,
        "evaluate.py",
        "evaluate",
        mounts=[
            mount_input(
                "model",
                train.properties.ModelArtifacts.S3ModelArtifacts,
                contract.MODEL_INPUT_DIR,
                "--model-dir",
            ),
            mount_input(
                "test",
                output_uri(preprocess, contract.OUTPUT_TEST),
                contract.EVAL_TEST_DIR,
                "--test-dir",
            ),
            mount_input(
                "history",
                output_uri(preprocess, contract.OUTPUT_HISTORY),
                contract.EVAL_HISTORY_DIR,
                "--history-dir",
            ),
            mount_input(
                "champion",
                ctx.params.champion_model_data_uri,
                contract.CHAMPION_INPUT_DIR,
                "--champion-dir",
            ),
            mount_output(
                ctx,
                contract.EVALUATE,
                contract.OUTPUT_EVALUATION,
                contract.EVALUATION_DIR,
                "--output-dir",
            ),
        ],
        arguments=[
            "--quality-metric",
            ctx.params.quality_metric,
        ],
        instance_count=1,  # the metrics need every test row: one job reads every shard
    )
    return ProcessingStep(
        name=contract.EVALUATE,
        display_name="Evaluate-On-Test-Window",
        description=(
            "Scores the back-test's model on the test window (the last observed days) on the "
            "sales scale: WAPE, MASE, bias, MAPE and RMSPE over positive actuals, the P10-P90 "
            "interval's coverage; next to a seasonal naive on the same rows and the champion "
            "(ChampionModelDataUri), if any; writes evaluation.json and plots."
        ),
        step_args=step_args,
        property_files=[report],
        cache_config=cache_config(ctx),
        retry_policies=job_retry_policies(),
    )

"""Evaluate: score the test window, write evaluation.json (a PropertyFile) and plots."""

from __future__ import annotations

from typing import Any

from pipelines import contract
from pipelines.steps.common import (
    BuildContext,
    cache_config,
    job_retry_policies,
    processing_input,
    processing_output,
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

    outputs = preprocess.properties.ProcessingOutputConfig.Outputs

    step_args = run_script(
        ctx,
        "evaluate.py",
        "evaluate",
        inputs=[
            processing_input(
                "model", train.properties.ModelArtifacts.S3ModelArtifacts, contract.MODEL_INPUT_DIR
            ),
            processing_input(
                "test", outputs[contract.OUTPUT_TEST].S3Output.S3Uri, contract.EVAL_TEST_DIR
            ),
            processing_input(
                "history",
                outputs[contract.OUTPUT_HISTORY].S3Output.S3Uri,
                contract.EVAL_HISTORY_DIR,
            ),
            processing_input(
                "champion", ctx.params.champion_model_data_uri, contract.CHAMPION_INPUT_DIR
            ),
        ],
        outputs=[
            processing_output(
                ctx, contract.EVALUATE, contract.OUTPUT_EVALUATION, contract.EVALUATION_DIR
            )
        ],
        arguments=[
            "--model-dir",
            contract.MODEL_INPUT_DIR,
            "--test-dir",
            contract.EVAL_TEST_DIR,
            "--history-dir",
            contract.EVAL_HISTORY_DIR,
            "--champion-dir",
            contract.CHAMPION_INPUT_DIR,
            "--output-dir",
            contract.EVALUATION_DIR,
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

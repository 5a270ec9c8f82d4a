"""CheckQuality: register and forecast only when the test metrics meet the thresholds."""

from __future__ import annotations

from typing import Any

from pipelines import contract
from pipelines.steps.common import BuildContext


def metric(report: Any, json_path: str) -> Any:
    from sagemaker.core.workflow.functions import JsonGet

    return JsonGet(step_name=contract.EVALUATE, property_file=report, json_path=json_path)


def build_fail_step(ctx: BuildContext, report: Any) -> Any:
    from sagemaker.core.workflow.functions import Join
    from sagemaker.mlops.workflow.fail_step import FailStep

    p = ctx.params
    return FailStep(
        name=contract.FAIL,
        display_name="Fail-Below-Quality-Bar",
        description="Stops the execution: the model did not meet the metric thresholds.",
        error_message=Join(
            on="",
            values=[
                "Model not registered: test MAPE ",
                metric(report, contract.MAPE_JSON_PATH),
                " (threshold MaxTestMape ",
                p.max_test_mape,
                "), test RMSPE ",
                metric(report, contract.RMSPE_JSON_PATH),
                " (threshold MaxTestRmspe ",
                p.max_test_rmspe,
                "); both must be at or below their threshold.",
            ],
        ),
    )


def build_quality_gate(ctx: BuildContext, report: Any, if_steps: list[Any],
                       else_steps: list[Any]) -> Any:
    from sagemaker.core.workflow.conditions import ConditionLessThanOrEqualTo
    from sagemaker.mlops.workflow.condition_step import ConditionStep

    p = ctx.params
    return ConditionStep(
        name=contract.CHECK_QUALITY,
        display_name="Check-Model-Quality",
        description=(
            "Passes when the test MAPE and RMSPE in evaluation.json are at or below the "
            "MaxTestMape and MaxTestRmspe parameters."
        ),
        conditions=[
            ConditionLessThanOrEqualTo(left=metric(report, contract.MAPE_JSON_PATH),
                                       right=p.max_test_mape),
            ConditionLessThanOrEqualTo(left=metric(report, contract.RMSPE_JSON_PATH),
                                       right=p.max_test_rmspe),
        ],
        if_steps=if_steps,
        else_steps=else_steps,
    )

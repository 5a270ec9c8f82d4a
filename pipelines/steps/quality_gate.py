"""The two gates on evaluation.json: CheckQuality (the chosen metric's threshold and the
skill over the seasonal naive) and, inside it,
CheckChampion (beat the latest Approved model by MinImprovement). Each has its own FailStep,
so a failed execution says which rule stopped it and by how much."""

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
        description="Stops the execution: the back-test did not meet the quality bar.",
        error_message=Join(
            on="",
            values=[
                "Model not registered: back-test ",
                metric(report, contract.QUALITY_METRIC_JSON_PATH),
                " ",
                metric(report, contract.QUALITY_VALUE_JSON_PATH),
                " (threshold MaxQualityMetric ",
                p.max_quality_metric,
                "), skill vs the seasonal naive ",
                metric(report, contract.QUALITY_SKILL_JSON_PATH),
                " (minimum MinSkillVsNaive ",
                p.min_skill_vs_naive,
                "); both must hold.",
            ],
        ),
    )


def build_quality_gate(
    ctx: BuildContext, report: Any, if_steps: list[Any], else_steps: list[Any]
) -> Any:
    from sagemaker.core.workflow.conditions import (
        ConditionGreaterThanOrEqualTo,
        ConditionLessThanOrEqualTo,
    )
    from sagemaker.mlops.workflow.condition_step import ConditionStep

    p = ctx.params
    return ConditionStep(
        name=contract.CHECK_QUALITY,
        display_name="Check-Model-Quality",
        description=(
            "Passes when the back-test's QualityMetric in evaluation.json is at or below "
            "MaxQualityMetric and its skill over the seasonal naive (1 - metric / naive's) "
            "is at least MinSkillVsNaive."
        ),
        conditions=[
            ConditionLessThanOrEqualTo(
                left=metric(report, contract.QUALITY_VALUE_JSON_PATH), right=p.max_quality_metric
            ),
            ConditionGreaterThanOrEqualTo(
                left=metric(report, contract.QUALITY_SKILL_JSON_PATH), right=p.min_skill_vs_naive
            ),
        ],
        if_steps=if_steps,
        else_steps=else_steps,
    )


def build_champion_fail_step(ctx: BuildContext, report: Any) -> Any:
    from sagemaker.core.workflow.functions import Join
    from sagemaker.mlops.workflow.fail_step import FailStep

    return FailStep(
        name=contract.CHAMPION_FAIL,
        display_name="Fail-Champion-Not-Beaten",
        description="Stops the execution: the model does not beat the approved champion by "
        "MinImprovement.",
        error_message=Join(
            on="",
            values=[
                "Model not registered: champion rule: ",
                metric(report, contract.CHAMPION_SUMMARY_JSON_PATH),
                "; relative improvement ",
                metric(report, contract.CHAMPION_IMPROVEMENT_JSON_PATH),
                " is below MinImprovement ",
                ctx.params.min_improvement,
                " (champion: the model at ChampionModelDataUri, the latest Approved version).",
            ],
        ),
    )


def build_champion_gate(ctx: BuildContext, report: Any, if_steps: list[Any]) -> Any:
    from sagemaker.core.workflow.conditions import (
        ConditionEquals,
        ConditionGreaterThanOrEqualTo,
        ConditionOr,
    )
    from sagemaker.mlops.workflow.condition_step import ConditionStep

    return ConditionStep(
        name=contract.CHECK_CHAMPION,
        display_name="Check-Against-Champion",
        description=(
            "Passes when there is no approved champion, or when the back-test's "
            "QualityMetric is lower than the champion's by at least MinImprovement "
            "(relative; 0: as good)."
        ),
        conditions=[
            ConditionOr(
                conditions=[
                    ConditionEquals(
                        left=metric(report, contract.CHAMPION_PRESENT_JSON_PATH), right=0
                    ),
                    ConditionGreaterThanOrEqualTo(
                        left=metric(report, contract.CHAMPION_IMPROVEMENT_JSON_PATH),
                        right=ctx.params.min_improvement,
                    ),
                ]
            )
        ],
        if_steps=if_steps,
        else_steps=[build_champion_fail_step(ctx, report)],
    )

"""CheckChampionUri: refuse a ChampionModelDataUri that names no model, before Evaluate.

The CLIs translate "none" (or nothing) into the parameter's default, the no-champion marker.
A person starting a run in Studio's form has no such translation: "none" or an emptied field
would reach Evaluate's processing input and fail the job with an S3 validation error that
names neither the parameter nor what to type. This gate fails the execution first, saying
both.
"""

from __future__ import annotations

from typing import Any

from pipelines import contract
from pipelines.steps.common import BuildContext

NO_CHAMPION_SPELLINGS = ["", "none", "None", "NONE", "null"]


def build_champion_uri_gate(ctx: BuildContext, else_steps: list[Any]) -> Any:
    """The gate; `else_steps` (Evaluate and what follows it) run when the URI is usable."""
    from sagemaker.core.workflow.conditions import ConditionEquals, ConditionOr
    from sagemaker.core.workflow.functions import Join
    from sagemaker.mlops.workflow.condition_step import ConditionStep
    from sagemaker.mlops.workflow.fail_step import FailStep

    uri = ctx.params.champion_model_data_uri
    fail = FailStep(
        name=contract.CHAMPION_URI_FAIL,
        display_name="Fail-Champion-Uri-Not-A-Model",
        description="Stops the execution: ChampionModelDataUri names no model artifact.",
        error_message=Join(
            on="",
            values=[
                "ChampionModelDataUri '",
                uri,
                "' is not a model artifact: keep its default (",
                uri.default_value,
                ") for no champion, or give a model.tar.gz URI.",
            ],
        ),
    )
    return ConditionStep(
        name=contract.CHECK_CHAMPION_URI,
        display_name="Check-Champion-Uri",
        description="Fails the execution when ChampionModelDataUri is 'none' or empty, as "
        "typed in Studio's run form; otherwise Evaluate runs.",
        # Equals under Or, not ConditionIn: the SDK writes In as QueryValue/Values, which
        # the published schema does not have
        conditions=[
            ConditionOr(
                conditions=[ConditionEquals(left=uri, right=v) for v in NO_CHAMPION_SPELLINGS]
            )
        ],
        if_steps=[fail],
        else_steps=else_steps,
    )

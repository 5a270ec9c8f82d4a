"""RegisterModel and CreateModel: two ModelSteps over the trained model artifact."""

from __future__ import annotations

from typing import Any

from pipelines import contract
from pipelines.steps.common import BuildContext, api_retry_policies, network, output_uri

# The serving container imports SAGEMAKER_PROGRAM from SAGEMAKER_SUBMIT_DIRECTORY; train.py
# puts the handler at code/inference.py inside model.tar.gz, unpacked to /opt/ml/model.
SERVING_ENV = {
    "SAGEMAKER_PROGRAM": contract.INFERENCE_PROGRAM,
    "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
}
CONTENT_TYPES = ["text/csv", "application/json", "application/jsonlines"]
RESPONSE_TYPES = ["text/csv", "application/json", "application/jsonlines"]


def _model_builder(ctx: BuildContext, train: Any) -> Any:
    from sagemaker.serve.model_builder import ModelBuilder

    return ModelBuilder(
        s3_model_data_url=train.properties.ModelArtifacts.S3ModelArtifacts,
        image_uri=ctx.image_uri,
        role_arn=ctx.role,
        sagemaker_session=ctx.session,
        env_vars=dict(SERVING_ENV),
        network=network(ctx, "model"),
    )


def output_file(step: Any, output: str, file: str) -> Any:
    """The S3 URI of `file` in a processing step's output `output` (a Join, resolved at run
    time)."""
    from sagemaker.core.workflow.functions import Join

    return Join(on="/", values=[output_uri(step, output), file])


def build_register_step(ctx: BuildContext, monitor: Any, train: Any, evaluate: Any) -> Any:
    from sagemaker.core.model_metrics import MetricsSource, ModelMetrics
    from sagemaker.mlops.workflow.model_step import ModelStep

    p = ctx.params

    def metrics(step: Any, output: str, file: str) -> Any:
        return MetricsSource(
            s3_uri=output_file(step, output, file), content_type="application/json"
        )

    step_args = _model_builder(ctx, train).register(
        model_package_group_name=ctx.settings.model_package_group,
        content_types=CONTENT_TYPES,
        response_types=RESPONSE_TYPES,
        inference_instances=list(ctx.settings.instances.inference_types),
        transform_instances=[p.transform_instance_type],
        approval_status=p.model_approval_status,
        model_metrics=ModelMetrics(
            model_statistics=metrics(
                evaluate, contract.OUTPUT_EVALUATION, contract.EVALUATION_FILE
            ),
            # the drift baseline in Model Monitor's format, which Studio shows (MonitorDrift
            # fits it, and writes it beside its PSI baseline and drift.json)
            model_data_statistics=metrics(
                monitor, contract.OUTPUT_DRIFT, contract.MONITOR_STATISTICS_FILE
            ),
            model_data_constraints=metrics(
                monitor, contract.OUTPUT_DRIFT, contract.MONITOR_CONSTRAINTS_FILE
            ),
        ),
        description="XGBoost store-day sales model; metrics from the test window.",
    )
    return ModelStep(
        name=contract.REGISTER_MODEL,
        display_name="Register-Model-Version",
        description=(
            "Registers the model in the model package group with its evaluation metrics and "
            "the approval status chosen for this run."
        ),
        step_args=step_args,
        retry_policies=api_retry_policies(),
    )


def build_registered_gate(ctx: BuildContext, train: Any, register: Any) -> Any:
    """CheckAlreadyRegistered: RegisterModel runs unless the trained model is the very
    artifact the group's latest version holds (RegisteredModelDataUri). A re-run with
    unchanged inputs takes Train from the step cache, with the same artifact URI, and would
    otherwise add a copy of that version on every run. (Equals with RegisterModel in the
    else branch: the published definition schema has no Not condition.)"""
    from sagemaker.core.workflow.conditions import ConditionEquals
    from sagemaker.mlops.workflow.condition_step import ConditionStep

    return ConditionStep(
        name=contract.CHECK_REGISTERED,
        display_name="Check-Model-Already-Registered",
        description="Registers the model unless it is the artifact of the latest version "
        "(RegisteredModelDataUri), which a re-run served from the step cache trains again.",
        conditions=[
            ConditionEquals(
                left=train.properties.ModelArtifacts.S3ModelArtifacts,
                right=ctx.params.registered_model_data_uri,
            )
        ],
        if_steps=[],
        else_steps=[register],
    )


def build_create_model_step(ctx: BuildContext, train: Any, after: list[Any]) -> Any:
    """CreateModel, after `after` (the registration check: the forecast follows it)."""
    from sagemaker.mlops.workflow.model_step import ModelStep

    return ModelStep(
        name=contract.CREATE_MODEL,
        display_name="Create-SageMaker-Model",
        description="Creates the SageMaker Model that the batch forecast runs.",
        step_args=_model_builder(ctx, train).build(),
        retry_policies=api_retry_policies(),
        depends_on=after or None,
    )

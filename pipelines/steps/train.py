"""Train: XGBoost framework container in script mode running training_scripts/train.py."""

from __future__ import annotations

import json
from typing import Any

from pipelines import contract
from pipelines.sdk import as_text
from pipelines.steps.common import (
    BuildContext,
    cache_config,
    execution_uri,
    job_retry_policies,
    kms_key,
    network,
    output_uri,
)

# The source directory travels as an input channel rather than an S3 URL the container would
# download itself: that also works under network isolation.
CODE_CHANNEL = "code"
SUBMIT_DIRECTORY = f"/opt/ml/input/data/{CODE_CHANNEL}/sourcedir.tar.gz"


def build_train_step(ctx: BuildContext, preprocess: Any) -> Any:
    from sagemaker.core.shapes import MetricDefinition, S3DataSource, StoppingCondition
    from sagemaker.core.training.configs import Compute, InputData, OutputDataConfig
    from sagemaker.mlops.workflow.steps import TrainingStep
    from sagemaker.train.model_trainer import ModelTrainer

    p = ctx.params
    hyperparameters = {name: as_text(value) for name, value in p.hyperparameters().items()}
    forecast = ctx.settings.forecast  # per profile, not per run
    hyperparameters.update(
        objective=forecast.objective,
        interval_low=str(forecast.interval[0]),
        interval_high=str(forecast.interval[1]),
    )
    # JSON-encoded, as the framework estimators always passed them: the training toolkit
    # JSON-decodes every hyperparameter, and SageMaker local mode requires these two encoded.
    hyperparameters.update(
        sagemaker_program=json.dumps(contract.TRAINING_PROGRAM),
        sagemaker_submit_directory=json.dumps(SUBMIT_DIRECTORY),
    )
    trainer = ModelTrainer(
        training_image=ctx.image_uri,
        role=ctx.role,
        sagemaker_session=ctx.session,
        base_job_name="train",
        compute=Compute(
            instance_type=p.training_instance_type,
            instance_count=p.training_instance_count,
            volume_kms_key_id=kms_key(ctx),
        ),
        networking=network(ctx, "training"),
        stopping_condition=StoppingCondition(
            max_runtime_in_seconds=ctx.settings.max_runtime_seconds
        ),
        hyperparameters=hyperparameters,
        output_data_config=OutputDataConfig(
            s3_output_path=execution_uri(ctx, contract.TRAIN),
            kms_key_id=kms_key(ctx),
        ),
    ).with_metric_definitions(
        [MetricDefinition(name=name, regex=regex) for name, regex in contract.METRIC_DEFINITIONS]
    )

    def channel(name: str, output: str, distribution: str) -> Any:
        return InputData(
            channel_name=name,
            data_source=S3DataSource(
                s3_data_type="S3Prefix",
                s3_uri=output_uri(preprocess, output),
                s3_data_distribution_type=distribution,
            ),
        )

    step_args = trainer.train(
        input_data_config=[
            # each host its share of the shards (preprocess writes one per training
            # instance); every host the schemas
            channel(contract.CHANNEL_TRAIN, contract.OUTPUT_TRAIN, ctx.sharded),
            channel(contract.CHANNEL_VALIDATION, contract.OUTPUT_VALIDATION, ctx.sharded),
            channel(contract.CHANNEL_HISTORY, contract.OUTPUT_HISTORY, ctx.sharded),
            channel(contract.CHANNEL_SCHEMA, contract.OUTPUT_SCHEMA, "FullyReplicated"),
            InputData(
                channel_name=CODE_CHANNEL,
                data_source=ctx.code_uri(ctx.assets.training),
            ),
        ]
    )
    return TrainingStep(
        name=contract.TRAIN,
        display_name="Train-XGBoost-Model",
        description=(
            "Back-test: fits XGBoost with early stopping on the validation window (and the "
            "interval from its errors there); then refits that setting on all history. Saves "
            "both models, their feature schemas and the inference handler. On several "
            "instances each trains on its shards through XGBoost's collective."
        ),
        step_args=step_args,
        cache_config=cache_config(ctx),
        retry_policies=job_retry_policies(),
    )

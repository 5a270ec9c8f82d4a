"""Wiring only: parameters + step builders -> one SageMaker Pipeline.

`definition(settings)` is the contract between publishing and running: built offline with no
AWS call, and byte-identical for the same code and settings in any process.
"""

from __future__ import annotations

import json
from typing import Any

from pipelines.code_assets import code_assets
from pipelines.settings import Settings, SettingsError


def build_pipeline(
    settings: Settings, session: Any = None, storage_root: str = "", register_model: bool = True
) -> Any:
    """The sagemaker Pipeline object for these settings.

    Args:
        session: a PipelineSession; default: an offline one (no AWS call).
        storage_root: where code and outputs live; default the profile's s3://bucket/prefix
            (SageMaker local mode passes a file:// folder).
        register_model: False leaves RegisterModel out (SageMaker local mode cannot run it).
    """
    from pipelines import sdk

    sdk.prepare_environment(settings.region)
    from sagemaker.core import image_uris
    from sagemaker.mlops.workflow.pipeline import Pipeline

    from pipelines.parameters import build_parameters
    from pipelines.steps.batch_transform import build_batch_transform_step
    from pipelines.steps.champion_uri_gate import build_champion_uri_gate
    from pipelines.steps.common import BuildContext
    from pipelines.steps.drift import build_drift_gate, build_monitor_step, drift_property_file
    from pipelines.steps.evaluate import build_evaluate_step, evaluation_property_file
    from pipelines.steps.model import (
        build_create_model_step,
        build_register_step,
        build_registered_gate,
    )
    from pipelines.steps.preprocess import build_preprocess_step
    from pipelines.steps.quality_gate import (
        build_champion_gate,
        build_fail_step,
        build_quality_gate,
    )
    from pipelines.steps.train import build_train_step

    try:
        image_uri = image_uris.retrieve(
            "xgboost", region=settings.region, version=settings.xgboost_image_version
        )
    except ValueError as exc:  # a region or version this SDK has no XGBoost image for
        raise SettingsError(
            f"setting 'region': {settings.region!r} has no SageMaker XGBoost "
            f"{settings.xgboost_image_version} image that this SDK knows of "
            f"({str(exc).split('. ')[0]})"
        ) from None
    ctx = BuildContext(
        settings=settings,
        params=build_parameters(settings),
        session=session or sdk.offline_session(settings.region, settings.bucket_name),
        assets=code_assets(),
        image_uri=image_uri,
        storage_root=storage_root or settings.s3_root,
        register_model=register_model,
    )
    report = evaluation_property_file()
    preprocess = build_preprocess_step(ctx)
    train = build_train_step(ctx, preprocess)
    evaluate = build_evaluate_step(ctx, preprocess, train, report)
    drift_report = drift_property_file()
    monitor = build_monitor_step(ctx, preprocess, drift_report)
    # Every gate that can fail the execution (quality, champion, drift) comes before
    # RegisterModel: a run that ends Failed has registered nothing.
    register = (
        [build_registered_gate(ctx, train, build_register_step(ctx, monitor, train, evaluate))]
        if ctx.register_model
        else []
    )
    create_model = build_create_model_step(ctx, train, after=register)
    transform = build_batch_transform_step(ctx, preprocess, create_model)
    drift_gate = build_drift_gate(ctx, drift_report, if_steps=[*register, create_model, transform])
    champion_gate = build_champion_gate(ctx, report, if_steps=[drift_gate])
    gate = build_quality_gate(
        ctx, report, if_steps=[champion_gate], else_steps=[build_fail_step(ctx, report)]
    )
    return Pipeline(
        name=settings.pipeline_name,
        parameters=ctx.params.all(),
        steps=[preprocess, train, monitor, build_champion_uri_gate(ctx, [evaluate, gate])],
        sagemaker_session=ctx.session,
        mlflow_config=mlflow_config(settings),
    )


def mlflow_config(settings: Settings) -> Any:
    """SageMaker managed MLflow for the executions, when tracking.mlflow_uri is a tracking
    server's ARN (any other URI is for the local runner only): None otherwise, and the
    definition is unchanged."""
    uri = settings.tracking.mlflow_uri
    if not (uri.startswith("arn:") and ":mlflow-tracking-server/" in uri):
        return None
    from sagemaker.core.shapes import MlflowConfig

    return MlflowConfig(mlflow_resource_arn=uri, mlflow_experiment_name=settings.pipeline_name)


def definition(settings: Settings) -> str:
    """The pipeline definition JSON: sorted keys, two-space indent, trailing newline."""
    from pipelines import sdk

    with sdk.quiet():
        raw = build_pipeline(settings).definition()
    return canonical_json(sdk.drop_empty_model_metrics(json.loads(raw)))


def canonical_json(document: Any) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"

"""BatchTransform: forecast the batch input; output rows carry the keys next to the forecast."""

from __future__ import annotations

from typing import Any

from pipelines import contract
from pipelines.steps.common import (
    BuildContext,
    cache_config,
    execution_uri,
    job_retry_policies,
    kms_key,
    output_uri,
)


def data_processing(ctx: BuildContext) -> dict[str, str]:
    """Batch input rows are `<series keys>, <date>, <features...>`: the model sees only the
    features; the output joins each input row with its answer (P10, P50, P90) and keeps
    keys, date and the three quantiles."""
    n_keys = len(ctx.settings.data.series_columns) + 1
    answer = len(ctx.settings.forecast.columns)
    keep = ",".join([*(str(i) for i in range(n_keys)), *(str(-i) for i in range(answer, 0, -1))])
    return {
        "input_filter": f"$[{n_keys}:]",
        "join_source": "Input",
        "output_filter": f"$[{keep}]",
    }


def build_batch_transform_step(ctx: BuildContext, preprocess: Any, create_model: Any) -> Any:
    from sagemaker.core.transformer import Transformer

    from pipelines.sdk import transform_step

    p = ctx.params
    transformer = Transformer(
        model_name=create_model.properties.ModelName,
        instance_type=p.transform_instance_type,
        instance_count=ctx.settings.instances.transform_count,  # see sdk.transform_step
        strategy="MultiRecord",
        max_payload=6,
        assemble_with="Line",
        accept="text/csv",
        output_path=execution_uri(ctx, contract.BATCH_TRANSFORM),
        output_kms_key=kms_key(ctx),
        volume_kms_key=kms_key(ctx),
        base_transform_job_name="forecast",
        sagemaker_session=ctx.session,
    )
    step_args = transformer.transform(
        data=output_uri(preprocess, contract.OUTPUT_BATCH),
        content_type="text/csv",
        split_type="Line",
        **data_processing(ctx),
    )
    return transform_step(
        p.transform_instance_count,
        name=contract.BATCH_TRANSFORM,
        display_name="Batch-Forecast",
        description=(
            "Forecasts every open store-day after the last observed one; each output row "
            "holds the series key, the date and the forecast sales at P10, P50 and P90."
        ),
        step_args=step_args,
        cache_config=cache_config(ctx),
        retry_policies=job_retry_policies(),
    )

"""What every step builder needs: settings, parameters, session, code, and shared policies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipelines.code_assets import CodeAssets
from pipelines.parameters import PipelineParameters
from pipelines.settings import Settings


@dataclass(frozen=True)
class BuildContext:
    """Inputs shared by the step builders; built once per definition."""

    settings: Settings
    params: PipelineParameters
    session: Any  # sagemaker PipelineSession (offline)
    assets: CodeAssets
    image_uri: str

    @property
    def role(self) -> str:
        return self.settings.role_arn or PLACEHOLDER_ROLE_ARN


# When no role is configured (for example `upsert --dry-run` on a fresh machine) the definition
# still needs a RoleArn. This is the AWS documentation's example account; publishing refuses
# to run without a real role.
PLACEHOLDER_ROLE_ARN = "arn:aws:iam::123456789012:role/SageMakerPipelineExecutionRole"


def execution_uri(ctx: BuildContext, *parts: str) -> Any:
    """s3://bucket/prefix/executions/<execution id>/<parts...>.

    Output locations carry the execution id so runs never overwrite each other. SageMaker's
    cache key for processing and training jobs excludes output locations, so caching still
    works, and a cache hit points at the earlier execution's (intact) outputs.
    """
    from sagemaker.core.workflow.execution_variables import ExecutionVariables
    from sagemaker.core.workflow.functions import Join

    return Join(
        on="/",
        values=[f"{ctx.settings.s3_root}/executions", ExecutionVariables.PIPELINE_EXECUTION_ID,
                *parts],
    )


def cache_config(ctx: BuildContext) -> Any:
    from sagemaker.mlops.workflow.steps import CacheConfig

    return CacheConfig(enable_caching=True, expire_after=ctx.settings.cache_expire_after)


def job_retry_policies() -> list[Any]:
    """Retry what is worth retrying: API throttling and service faults, and the job-level
    capacity, internal and resource-limit errors, with exponential backoff."""
    from sagemaker.mlops.workflow.retry import (
        SageMakerJobExceptionTypeEnum,
        SageMakerJobStepRetryPolicy,
        StepExceptionTypeEnum,
        StepRetryPolicy,
    )

    return [
        StepRetryPolicy(
            exception_types=[StepExceptionTypeEnum.THROTTLING, StepExceptionTypeEnum.SERVICE_FAULT],
            interval_seconds=10,
            backoff_rate=2.0,
            max_attempts=5,
        ),
        SageMakerJobStepRetryPolicy(
            exception_types=[
                SageMakerJobExceptionTypeEnum.CAPACITY_ERROR,
                SageMakerJobExceptionTypeEnum.INTERNAL_ERROR,
                SageMakerJobExceptionTypeEnum.RESOURCE_LIMIT,
            ],
            interval_seconds=60,
            backoff_rate=2.0,
            max_attempts=3,
        ),
    ]


def api_retry_policies() -> list[Any]:
    """For steps that only call an API (register, create model)."""
    return job_retry_policies()[:1]


def processing_network(ctx: BuildContext) -> Any:
    """NetworkConfig for processing jobs, or None when no security setting asks for one."""
    from sagemaker.core.network import NetworkConfig

    sec = ctx.settings.security
    if not (sec.uses_vpc or sec.network_isolation or sec.inter_container_encryption):
        return None
    return NetworkConfig(
        enable_network_isolation=sec.network_isolation or None,
        security_group_ids=list(sec.security_group_ids) or None,
        subnets=list(sec.subnets) or None,
        encrypt_inter_container_traffic=sec.inter_container_encryption or None,
    )


def kms_key(ctx: BuildContext) -> str | None:
    return ctx.settings.security.kms_key_id or None

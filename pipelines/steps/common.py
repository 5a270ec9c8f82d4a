"""What every step builder needs: settings, parameters, session, code, and shared policies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pipelines.code_assets import CodeAsset, CodeAssets
from pipelines.parameters import PipelineParameters
from pipelines.settings import PLACEHOLDER_ROLE_ARN, Settings


@dataclass(frozen=True)
class BuildContext:
    """Inputs shared by the step builders; built once per definition."""

    settings: Settings
    params: PipelineParameters
    session: Any  # sagemaker PipelineSession (offline), or a local-mode session
    assets: CodeAssets
    image_uri: str
    storage_root: str  # s3://bucket/prefix, or file:///... for SageMaker local mode
    register_model: bool = True  # SageMaker local mode cannot run a RegisterModel step

    def code_uri(self, asset: CodeAsset) -> Any:
        if self.storage_root.startswith("file://"):
            # SageMaker local mode mounts file:// inputs: give it the asset's folder
            from pipelines.sdk import local_file_uri

            return local_file_uri(asset.s3_uri(self.storage_root).rsplit("/", 1)[0] + "/")
        return asset.s3_uri(self.storage_root)

    @property
    def sharded(self) -> str:
        """How an input each instance takes its own share of is distributed: ShardedByS3Key,
        except in SageMaker local mode, which refuses it (and runs one instance anyway)."""
        return "FullyReplicated" if self.storage_root.startswith("file://") else "ShardedByS3Key"

    @property
    def role(self) -> str:
        return self.settings.role_arn or PLACEHOLDER_ROLE_ARN


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
        values=[f"{ctx.storage_root}/executions", ExecutionVariables.PIPELINE_EXECUTION_ID, *parts],
    )


def output_uri(step: Any, output: str) -> Any:
    """The S3 prefix a processing step's output `output` was uploaded to (a property
    reference, resolved at run time)."""
    return step.properties.ProcessingOutputConfig.Outputs[output].S3Output.S3Uri


def processing_input(
    name: str, uri: Any, local_path: str, distribution: str = "FullyReplicated"
) -> Any:
    """A processing job input: the S3 prefix `uri` copied to `local_path` before the script
    runs; every object to every instance, or (ShardedByS3Key) each object to one of them."""
    from sagemaker.core.shapes import ProcessingInput, ProcessingS3Input

    return ProcessingInput(
        input_name=name,
        s3_input=ProcessingS3Input(
            s3_uri=uri,
            local_path=local_path,
            s3_data_type="S3Prefix",
            s3_input_mode="File",
            s3_data_distribution_type=distribution,
        ),
    )


def processing_output(ctx: BuildContext, step: str, name: str, local_path: str) -> Any:
    """A processing job output: `local_path` uploaded at the end of the job to the
    execution's folder <step>/<name> (see execution_uri)."""
    from sagemaker.core.shapes import ProcessingOutput, ProcessingS3Output

    return ProcessingOutput(
        output_name=name,
        s3_output=ProcessingS3Output(
            s3_uri=execution_uri(ctx, step, name), local_path=local_path, s3_upload_mode="EndOfJob"
        ),
    )


@dataclass(frozen=True)
class Mount:
    """A folder a processing script reads or writes, declared once: the job's input or
    output and the `--flag folder` pair that names the folder to the script."""

    channel: Any  # a ProcessingInput or a ProcessingOutput
    flag: str
    path: str
    is_input: bool

    @property
    def argv(self) -> tuple[str, str]:
        return self.flag, self.path


def mount_input(
    name: str, uri: Any, path: str, flag: str, distribution: str = "FullyReplicated"
) -> Mount:
    return Mount(processing_input(name, uri, path, distribution), flag, path, True)


def mount_output(ctx: BuildContext, step: str, name: str, path: str, flag: str) -> Mount:
    return Mount(processing_output(ctx, step, name, path), flag, path, False)


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


def network(ctx: BuildContext, job: Literal["processing", "training", "model"]) -> Any:
    """The security settings' network for a `processing`, `training` or `model` job, in the
    SDK's type for it (NetworkConfig, Networking); None when no setting asks for one. A
    model has no traffic between containers to encrypt."""
    sec = ctx.settings.security
    encrypt = sec.inter_container_encryption and job != "model"
    if not (sec.uses_vpc or sec.network_isolation or encrypt):
        return None
    common: dict[str, Any] = {
        "subnets": list(sec.subnets) or None,
        "security_group_ids": list(sec.security_group_ids) or None,
        "enable_network_isolation": sec.network_isolation or None,
    }
    if job == "processing":
        from sagemaker.core.network import NetworkConfig

        return NetworkConfig(**common, encrypt_inter_container_traffic=encrypt or None)
    from sagemaker.core.training.configs import Networking

    if job == "training":
        return Networking(**common, enable_inter_container_traffic_encryption=encrypt or None)
    return Networking(**common)


def kms_key(ctx: BuildContext) -> str | None:
    return ctx.settings.security.kms_key_id or None


CODE_DIR = "/opt/ml/processing/input/code"


def run_script(
    ctx: BuildContext,
    script: str,
    base_job_name: str,
    mounts: list[Mount],
    arguments: list[Any],
    instance_count: Any = None,
) -> Any:
    """Processing job arguments that run one of our scripts with python3, on
    ProcessingInstanceCount instances unless `instance_count` says otherwise: the `mounts`
    become the job's inputs and outputs and the script's first arguments, then `arguments`.

    The job ScriptProcessor would describe (a `code` input and a `python3 <script>`
    entrypoint), with the whole processing-scripts folder as the code input, built on the
    base Processor because ScriptProcessor uploads any code that is not already an s3://
    URI, even in local mode.
    """
    from sagemaker.core.processing import Processor

    p = ctx.params
    processor = Processor(
        role=ctx.role,
        image_uri=ctx.image_uri,
        entrypoint=["python3", f"{CODE_DIR}/{script}"],
        instance_type=p.processing_instance_type,
        instance_count=p.processing_instance_count if instance_count is None else instance_count,
        volume_kms_key=kms_key(ctx),
        output_kms_key=kms_key(ctx),
        max_runtime_in_seconds=ctx.settings.max_runtime_seconds,
        base_job_name=base_job_name,
        sagemaker_session=ctx.session,
        network_config=network(ctx, "processing"),
    )
    code = processing_input("code", ctx.code_uri(ctx.assets.processing), CODE_DIR)
    return processor.run(
        inputs=[*(m.channel for m in mounts if m.is_input), code],
        outputs=[m.channel for m in mounts if not m.is_input],
        arguments=[*(arg for m in mounts for arg in m.argv), *arguments],
    )

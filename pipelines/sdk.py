"""The one place for SageMaker Python SDK 3.27.0 workarounds.

Each function names the defect it works around, by its number here:

1. Importing `sagemaker.mlops.workflow` creates a boto3 client at import time and needs a
   region: `prepare_environment` sets one before any SDK import.
2. `Session.default_bucket()` calls HeadBucket/CreateBucket even when a bucket was given:
   `offline_session` sets the bucket without calling it.
3. ModelTrainer calls IAM to validate the role: SAGEMAKER_VALIDATE_ROLE=false turns it off.
4. Hyperparameters are a str->str map but Parameters are passed through raw: `as_text`.
5. `Transformer` validates `instance_count` as a plain int (pydantic), so a ParameterInteger
   is refused: `transform_step` builds the step with the default and puts the parameter
   back into TransformResources.InstanceCount.
6. ProcessingStep and TransformStep construct a `LocalSagemakerClient()` (a whole
   LocalSession with new boto3 clients, about 0.2 s each) only to read one method's
   __name__: `prepare_environment` gives that module a stand-in that answers the names
   without building a session. Only those two name lookups use it.
7. SDK 3.27.0 has two LocalPipelineSession classes: the one in sagemaker.core is a
   PipelineSession (needed to build steps from step_args) but cannot create or start a
   pipeline; the one in sagemaker.mlops can, but is not a PipelineSession.
   `local_pipeline_session` returns a session that is both. ModelBuilder.build() then
   decorates `sagemaker_client._user_agent_creator`, which the local client lacks; the
   session's local client gets an inert one (local mode sends no user-agent header).
8. Processor.run() uploads every input that is not an s3:// URI to S3, even file://
   inputs in local mode; only pipeline variables are left alone. `local_file_uri` wraps a
   file:// URI in a one-element Join, which the local executor resolves to the same string.
9. Telemetry sends requests from background threads while a definition is built; opting
   out needs an SDK config file, which makes building several times slower. Building a
   definition is our own offline computation, so `prepare_environment` replaces the sender
   with a no-op.
10. A RegisterModel's ModelMetrics carries empty "Bias" and "Explainability" objects when
   only model quality and data quality are given, so the registered package lists two
   metric reports with nothing in them: `drop_empty_model_metrics` removes them.

The definition is built with a boto3 session holding inert static credentials: nothing in
the build sends a request, and no credential lookup (environment, files, instance metadata)
happens, so `--dry-run` behaves the same on a laptop with no AWS set up and in CI.
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Iterator
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sagemaker.core.workflow.pipeline_context import PipelineSession

# Used only to build definitions; never sent anywhere (no request is made with them).
_INERT = "offline-build"
_INERT_CREDENTIALS = {"aws_access_key_id": _INERT, "aws_secret_access_key": _INERT}


def prepare_environment(region: str) -> None:
    """Set what the SDK needs before it is imported (defects 1, 3, 6, 9)."""
    os.environ.setdefault("AWS_DEFAULT_REGION", region)
    os.environ.setdefault("SAGEMAKER_VALIDATE_ROLE", "false")
    from sagemaker.core.telemetry import telemetry_logging

    telemetry_logging._send_telemetry_request = _no_telemetry
    from sagemaker.mlops.workflow import steps

    if not isinstance(steps.LocalSagemakerClient, _MethodNames):
        steps.LocalSagemakerClient = _MethodNames(steps.LocalSagemakerClient)


class _MethodNames:
    """Called like the client class; its instances hand out the class's unbound methods,
    which is all `steps.py` needs (their __name__)."""

    def __init__(self, cls: type) -> None:
        self._cls = cls

    def __call__(self) -> _MethodNames:
        return self

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cls, name)


def _no_telemetry(*_args: Any, **_kwargs: Any) -> None:
    return None


def offline_session(region: str, bucket: str) -> PipelineSession:
    """A PipelineSession that builds step arguments without any AWS call (defect 2)."""
    import boto3
    from sagemaker.core.workflow.pipeline_context import PipelineSession

    boto_session = boto3.Session(region_name=region, **_INERT_CREDENTIALS)
    session = PipelineSession(boto_session=boto_session, default_bucket=bucket)
    session._default_bucket = bucket
    return session


def as_text(value: Any) -> Any:
    """A pipeline variable rendered as a string expression, for str->str maps (defect 4)."""
    to_string = getattr(value, "to_string", None)
    return to_string() if callable(to_string) else str(value)


def transform_step(instance_count: Any, **kwargs: Any) -> Any:
    """A TransformStep whose instance count is the pipeline parameter (defect 5)."""
    from sagemaker.mlops.workflow.steps import TransformStep

    class _TransformStep(TransformStep):
        @property
        def arguments(self) -> Any:
            request = super().arguments
            request["TransformResources"]["InstanceCount"] = instance_count
            return request

    return _TransformStep(**kwargs)


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Mute the SDK's informational logging and its "No Wait, No Logs" warning while a
    definition is built: they are expected, and would bury the CLI's own output."""
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Running within a PipelineSession")
            yield
    finally:
        logging.disable(previous)


def local_pipeline_session(region: str, bucket: str) -> Any:
    """A session for SageMaker's own local mode (Docker) that can build and run a pipeline
    (defect 7). Local mode still needs Docker and, to pull the image, ECR access."""
    import boto3
    from sagemaker.core.workflow.pipeline_context import LocalPipelineSession as Building
    from sagemaker.mlops.local.local_pipeline_session import LocalPipelineSession as Running

    class _LocalPipelineSession(Running, Building):
        pass

    session = _LocalPipelineSession(
        boto_session=boto3.Session(region_name=region), default_bucket=bucket
    )
    session._default_bucket = bucket
    if not hasattr(session.sagemaker_client, "_user_agent_creator"):
        session.sagemaker_client._user_agent_creator = SimpleNamespace(to_string=lambda: "")
    return session


def local_file_uri(uri: str) -> Any:
    """A file:// location that Processor.run() leaves alone in local mode (defect 8)."""
    from sagemaker.core.workflow.functions import Join

    return Join(on="", values=[uri])


def drop_empty_model_metrics(document: dict[str, Any]) -> dict[str, Any]:
    """The definition without the empty metric objects of RegisterModel steps (defect 10)."""

    def walk(steps: list[dict[str, Any]]) -> None:
        for step in steps:
            metrics = step.get("Arguments", {}).get("ModelMetrics")
            if step.get("Type") == "RegisterModel" and isinstance(metrics, dict):
                for key in [k for k, v in metrics.items() if v == {}]:
                    del metrics[key]
            if step.get("Type") == "Condition":
                walk(step["Arguments"].get("IfSteps", []) + step["Arguments"].get("ElseSteps", []))

    walk(document.get("Steps", []))
    return document

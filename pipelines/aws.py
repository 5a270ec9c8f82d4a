"""boto3 clients with botocore's standard retry mode, and one-line explanations of failures."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipelines.settings import Settings

MAX_ATTEMPTS = 8


def session(region: str) -> Any:
    import boto3

    return boto3.Session(region_name=region)


def client(boto_session: Any, service: str) -> Any:
    """A client that retries throttling and transient errors with backoff (standard mode)."""
    from botocore.config import Config

    return boto_session.client(
        service,
        config=Config(retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS}),
    )


def with_default_bucket(settings: Settings, boto_session: Any, create: bool = True) -> Settings:
    """`settings` with its bucket named: the configured one, else the SageMaker SDK's default
    bucket (sagemaker-<region>-<caller's account>, or the SDK config file's DefaultS3Bucket).

    With `create`, the SDK's own `default_bucket()` also creates the bucket when it is missing
    and refuses one of that name owned by another account; without, only the name is looked up
    (STS GetCallerIdentity), for commands that must not create anything."""
    if settings.bucket:
        return settings
    from botocore.exceptions import ClientError

    from pipelines import sdk
    from pipelines.settings import SettingsError

    sdk.prepare_environment(settings.region)
    from sagemaker.core.helper.session_helper import Session

    with sdk.quiet():
        sagemaker_session = Session(boto_session=boto_session)
        try:
            if create:
                name: str = sagemaker_session.default_bucket()
            else:  # the SDK keeps the config file's bucket here until default_bucket() makes it
                name = sagemaker_session._default_bucket_name_override or (
                    sagemaker_session.generate_default_sagemaker_bucket_name(boto_session)
                )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("403", "AccessDenied"):
                raise
            raise SettingsError(
                "the SageMaker SDK's default bucket is not yours to use (owned by another "
                "account, or access denied): pass --bucket, or set bucket in the profile "
                "or a --config file"
            ) from None
    return settings.model_copy(update={"bucket": name})


def explain(exc: BaseException, offline_hint: str = "") -> str | None:
    """One line saying what went wrong with an AWS call, or None if `exc` is not an AWS error.

    `offline_hint` ends the no-credentials message (upsert: "; --dry-run needs none")."""
    from botocore.exceptions import (
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
        PartialCredentialsError,
    )

    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return (
            "no AWS credentials found: configure them (aws configure, AWS_PROFILE, or "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)" + offline_hint
        )
    if isinstance(exc, NoRegionError):
        return "no AWS region: set region in the profile or pass --region"
    if isinstance(exc, EndpointConnectionError):
        return f"cannot reach AWS ({exc.kwargs.get('endpoint_url')}): check the network and region"
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code, message = error.get("Code", "Error"), error.get("Message", "")
        operation = getattr(exc, "operation_name", "the AWS call")
        if code in ("ExpiredToken", "ExpiredTokenException", "RequestExpired"):
            return f"the AWS credentials have expired ({operation}): refresh them and retry"
        if code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation"):
            return f"access denied on {operation}: {message}"
        if code in ("ResourceLimitExceeded", "LimitExceededException"):
            return (
                f"a service quota is reached on {operation}: {message}; ask for an increase in "
                "the Service Quotas console"
            )
        if code in (
            "ThrottlingException",
            "Throttling",
            "TooManyRequestsException",
            "SlowDown",
            "RequestLimitExceeded",
        ):
            return f"AWS kept throttling {operation} after {MAX_ATTEMPTS} attempts; retry later"
        return f"{operation} failed: {code}: {message}"
    return None

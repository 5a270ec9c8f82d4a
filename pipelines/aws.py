"""boto3 clients with botocore's standard retry mode, and one-line explanations of failures."""

from __future__ import annotations

from typing import Any

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

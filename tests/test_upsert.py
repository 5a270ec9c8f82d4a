"""`python -m pipelines.upsert` against moto, which stands in for SageMaker, S3 and STS.

moto records pipelines but accepts any definition, so the definition itself is checked in
test_definition.py (schema and content); here it is the publishing behaviour that is tested.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from conftest import ROLE
from moto import mock_aws

from pipelines import upsert
from pipelines.code_assets import code_assets

BUCKET = "sagemaker-eu-west-1-123456789012"  # the SDK's default bucket in moto's account
NAME = "store-sales-forecast-dev"


@pytest.fixture
def aws() -> Iterator[dict]:
    with mock_aws(config={"core": {"reset_boto3_session": False}}):
        s3 = boto3.client("s3", region_name="eu-west-1")
        s3.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        sm = boto3.client("sagemaker", region_name="eu-west-1")
        yield {"s3": s3, "sm": sm}


def count_updates(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record UpdatePipeline calls made by any client the CLI creates."""
    calls: list[str] = []
    original = upsert.publish

    def spying_publish(settings, definition, sm, s3):  # type: ignore[no-untyped-def]
        sm.meta.events.register(
            "before-call.sagemaker.UpdatePipeline", lambda **_: calls.append("UpdatePipeline")
        )
        return original(settings, definition, sm, s3)

    monkeypatch.setattr(upsert, "publish", spying_publish)
    return calls


def test_create_then_update_then_no_op(
    aws: dict, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    updates = count_updates(monkeypatch)
    assert upsert.main(["--role-arn", ROLE]) == 0
    out, err = capsys.readouterr()
    arn = out.strip()
    assert arn.endswith(f":pipeline/{NAME}")
    assert "created" in err
    described = aws["sm"].describe_pipeline(PipelineName=NAME)
    assert json.loads(described["PipelineDefinition"])["Steps"][0]["Name"] == "Preprocess"
    assert described["RoleArn"] == ROLE
    # code staged under content-addressed keys
    keys = {o["Key"] for o in aws["s3"].list_objects_v2(Bucket=BUCKET)["Contents"]}
    root = f"s3://{BUCKET}/store-sales-forecast-dev"
    assert {
        uri.removeprefix(f"s3://{BUCKET}/")
        for a in code_assets().all()
        for uri, _ in a.objects(root)
    } == keys

    assert upsert.main(["--role-arn", ROLE]) == 0
    assert "unchanged" in capsys.readouterr().err
    assert updates == []

    assert upsert.main(["--role-arn", ROLE, "--description", "a new description"]) == 0
    assert "updated" in capsys.readouterr().err
    assert updates == ["UpdatePipeline"]
    assert (
        aws["sm"].describe_pipeline(PipelineName=NAME)["PipelineDescription"] == "a new description"
    )


def test_code_is_uploaded_only_when_missing(aws: dict, capsys: pytest.CaptureFixture[str]) -> None:
    assert upsert.main(["--role-arn", ROLE]) == 0
    # 5 processing scripts, the training tarball, the no-champion marker
    assert capsys.readouterr().err.count("staged s3://") == 7
    assert upsert.main(["--role-arn", ROLE]) == 0
    assert "staged" not in capsys.readouterr().err


def test_tags_from_profile_and_command_line(aws: dict, capsys: pytest.CaptureFixture[str]) -> None:
    assert upsert.main(["--role-arn", ROLE, "--tag", "team=forecasting", "--tag", "cost=42"]) == 0
    arn = capsys.readouterr().out.strip()
    tags = {t["Key"]: t["Value"] for t in aws["sm"].list_tags(ResourceArn=arn)["Tags"]}
    assert tags == {
        "environment": "dev",
        "project": "store-sales-forecast",
        "team": "forecasting",
        "cost": "42",
    }


def test_start_with_overrides(aws: dict, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        upsert.main(
            [
                "--role-arn",
                ROLE,
                "--start",
                "--param",
                "MaxDepth=6",
                "--param",
                "MaxQualityMetric=0.1",
                "--param",
                "ModelApprovalStatus=Approved",
            ]
        )
        == 0
    )
    execution = capsys.readouterr().out.strip().splitlines()[-1]
    params = aws["sm"].list_pipeline_parameters_for_execution(PipelineExecutionArn=execution)
    assert {p["Name"]: p["Value"] for p in params["PipelineParameters"]} == {
        "MaxDepth": "6",
        "MaxQualityMetric": "0.1",
        "ModelApprovalStatus": "Approved",
    }


def register(sm, status: str, model_data: str) -> str:  # type: ignore[no-untyped-def]
    """A model package version in moto's registry (standing in for SageMaker's)."""
    arn: str = sm.create_model_package(
        ModelPackageGroupName="store-sales-forecast",
        ModelApprovalStatus=status,
        InferenceSpecification={
            "Containers": [{"Image": "xgboost:3.0-5", "ModelDataUrl": model_data}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
    )["ModelPackageArn"]
    return arn


def started_parameters(
    aws: dict, capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[dict[str, str], str]:
    assert upsert.main(["--role-arn", ROLE, "--start", *extra]) == 0
    out, err = capsys.readouterr()
    params = aws["sm"].list_pipeline_parameters_for_execution(
        PipelineExecutionArn=out.strip().splitlines()[-1]
    )["PipelineParameters"]
    return {p["Name"]: p["Value"] for p in params}, err


def test_start_passes_the_latest_approved_version_as_champion(
    aws: dict, capsys: pytest.CaptureFixture[str]
) -> None:
    sm = aws["sm"]
    params, err = started_parameters(aws, capsys)  # no group yet: no champion
    assert "ChampionModelDataUri" not in params and "champion: none" in err

    sm.create_model_package_group(ModelPackageGroupName="store-sales-forecast")
    register(sm, "Approved", "s3://models/v1/model.tar.gz")
    second = register(sm, "Approved", "s3://models/v2/model.tar.gz")
    register(sm, "PendingManualApproval", "s3://models/v3/model.tar.gz")
    register(sm, "Rejected", "s3://models/v4/model.tar.gz")
    params, err = started_parameters(aws, capsys)
    # the champion is the latest Approved; the latest of any status (Rejected v4) is what a
    # model served from the step cache would be a copy of
    assert params == {
        "ChampionModelDataUri": "s3://models/v2/model.tar.gz",
        "RegisteredModelDataUri": "s3://models/v4/model.tar.gz",
    }
    assert f"champion: version 2 ({second})" in err

    # the person's choice wins; "none" means the default (the no-champion marker)
    params, _ = started_parameters(
        aws, capsys, "--param", "ChampionModelDataUri=s3://models/v1/model.tar.gz"
    )
    assert params == {
        "ChampionModelDataUri": "s3://models/v1/model.tar.gz",
        "RegisteredModelDataUri": "s3://models/v4/model.tar.gz",
    }
    params, _ = started_parameters(aws, capsys, "--param", "ChampionModelDataUri=none")
    assert params == {"RegisteredModelDataUri": "s3://models/v4/model.tar.gz"}


def test_start_and_wait_reports_success(aws: dict, capsys: pytest.CaptureFixture[str]) -> None:
    assert upsert.main(["--role-arn", ROLE, "--start", "--wait", "--poll-seconds", "0"]) == 0
    assert "execution Succeeded" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("param", "message"),
    [
        ("NoSuchThing=1", "--param NoSuchThing: no such parameter"),
        ("MaxDepth=deep", "--param MaxDepth='deep': expected an integer value"),
        ("MaxQualityMetric=-1", "--param MaxQualityMetric=-1: out of range"),
        ("ModelApprovalStatus=Maybe", "choose one of ['Approved', 'Rejected'"),
        (
            "QualityMetric=accuracy",
            "--param QualityMetric='accuracy': choose one of ['wape', 'mase', 'mape', 'rmspe']",
        ),
        ("MinImprovement=2", "--param MinImprovement=2: out of range [-1, 1]"),
        ("MaxDepth", "expected NAME=VALUE"),
        ("ValidationStartDate=garbage", "'garbage' is not a date like 2015-06-20, or 'auto'"),
        ("TestStartDate=2015-02-30", "'2015-02-30' is not a date like 2015-06-20"),
        (
            "TrainingInstanceType=ml.m5.huge",
            "--param TrainingInstanceType: instance type 'ml.m5.huge' is not a value SageMaker "
            "accepts here (e.g. ml.m5.large",
        ),
        (
            "TransformInstanceType=ml.t3.medium",  # a processing type, not a transform one
            "instance type 'ml.t3.medium' is not a value SageMaker accepts here",
        ),
        ("InputDataUri=s3//bucket/data", "'s3//bucket/data' is not an s3:// URI"),
        ("InputDataUri=s3://bucket//data", "the key has an empty, '.' or '..' segment"),
        ("ChampionModelDataUri=s3://x/m.tar.gz", "'x' is not a valid S3 bucket name"),
    ],
)
def test_rejected_overrides_make_no_aws_call(
    param: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # No mock_aws here: any AWS call would fail with a connection error, not this message.
    assert upsert.main(["--role-arn", ROLE, "--start", "--param", param]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1


def test_diff(aws: dict, capsys: pytest.CaptureFixture[str]) -> None:
    assert upsert.main(["--diff"]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert upsert.main(["--role-arn", ROLE]) == 0
    capsys.readouterr()
    assert upsert.main(["--diff", "--role-arn", ROLE]) == 0
    assert capsys.readouterr().out.startswith("no changes")
    # without a role given, the deployed pipeline's role is the one compared with
    assert upsert.main(["--diff"]) == 0
    assert capsys.readouterr().out.startswith("no changes")
    assert upsert.main(["--diff", "--role-arn", ROLE, "--bucket", "another-bucket"]) == 0
    diff = capsys.readouterr().out
    assert diff.startswith(f"--- {NAME} (deployed)\n+++ {NAME} (new)\n")
    removed = [line[1:].strip() for line in diff.splitlines() if line.startswith("-  ")]
    added = [line[1:].strip() for line in diff.splitlines() if line.startswith("+  ")]
    assert '"s3://sagemaker-eu-west-1-123456789012/store-sales-forecast-dev/executions",' in removed
    assert '"s3://another-bucket/store-sales-forecast-dev/executions",' in added


def test_publish_needs_a_role(capsys: pytest.CaptureFixture[str]) -> None:
    with mock_aws(config={"core": {"reset_boto3_session": False}}):
        assert upsert.main([]) == 2
        assert "publishing needs the pipeline's execution role" in capsys.readouterr().err
        assert buckets() == []  # refused before anything was created


def test_role_from_environment(
    aws: dict, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SAGEMAKER_PIPELINE_ROLE_ARN", ROLE)
    assert upsert.main([]) == 0
    assert aws["sm"].describe_pipeline(PipelineName=NAME)["RoleArn"] == ROLE


def test_no_credentials(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for var in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    assert upsert.main(["--role-arn", ROLE]) == 1
    err = capsys.readouterr().err
    assert err == (
        "upsert: error: no AWS credentials found: configure them (aws configure, "
        "AWS_PROFILE, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY); --dry-run needs "
        "none\n"
    )


def test_access_denied_is_one_line(
    aws: dict, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from botocore.exceptions import ClientError

    def deny(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        # stands in for IAM refusing s3:PutObject on the bucket
        raise ClientError(
            {"Error": {"Code": "AccessDenied", "Message": "not allowed"}}, "PutObject"
        )

    monkeypatch.setattr(upsert, "publish", deny)
    assert upsert.main(["--role-arn", ROLE]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"bucket: {BUCKET} (the SageMaker SDK's default)",
        "upsert: error: access denied on PutObject: not allowed",
    ]


def buckets() -> list[str]:
    return [b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"]]


def test_publishing_creates_the_sdks_default_bucket(capsys: pytest.CaptureFixture[str]) -> None:
    """A profile that names no bucket publishes into sagemaker-<region>-<account>, the
    SageMaker SDK's convention, created on first use (moto's empty account here)."""
    with mock_aws(config={"core": {"reset_boto3_session": False}}):
        assert buckets() == []
        assert upsert.main(["--role-arn", ROLE]) == 0
        assert f"bucket: {BUCKET} (the SageMaker SDK's default)" in capsys.readouterr().err
        assert buckets() == [BUCKET]
        keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=BUCKET)["Contents"]]
        assert keys and all(k.startswith(f"{NAME}/code/") for k in keys)
        described = boto3.client("sagemaker").describe_pipeline(PipelineName=NAME)
        assert f'"s3://{BUCKET}/{NAME}/data/"' in described["PipelineDefinition"]


def test_a_named_bucket_is_used_as_it_is(capsys: pytest.CaptureFixture[str]) -> None:
    with mock_aws(config={"core": {"reset_boto3_session": False}}):
        boto3.client("s3").create_bucket(
            Bucket="team-forecasts", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        assert upsert.main(["--role-arn", ROLE, "--bucket", "team-forecasts"]) == 0
        assert "bucket:" not in capsys.readouterr().err
        assert buckets() == ["team-forecasts"]  # the SDK's default was not created


def test_a_default_bucket_owned_by_another_account_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """S3 answers 403 when sagemaker-<region>-<account> exists in another account (the SDK
    asks with ExpectedBucketOwner); moto has no second owner, so a hook stands in for S3."""

    def forbidden(**_kwargs):  # type: ignore[no-untyped-def]
        from botocore.exceptions import ClientError

        raise ClientError({"Error": {"Code": "403", "Message": "Forbidden"}}, "HeadBucket")

    with mock_aws(config={"core": {"reset_boto3_session": False}}):
        boto3.client("s3").create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        from pipelines import aws

        opened = aws.session

        def session(region: str):  # type: ignore[no-untyped-def]
            boto_session = opened(region)
            boto_session.events.register("before-call.s3.HeadBucket", forbidden)
            return boto_session

        monkeypatch.setattr(aws, "session", session)
        assert upsert.main(["--role-arn", ROLE]) == 2
        assert capsys.readouterr().err == (
            "upsert: error: the SageMaker SDK's default bucket is not yours to use (owned by "
            "another account, or access denied): pass --bucket, or set bucket in the profile "
            "or a --config file\n"
        )
        assert boto3.client("sagemaker").list_pipelines()["PipelineSummaries"] == []


def test_diff_creates_no_bucket(capsys: pytest.CaptureFixture[str]) -> None:
    with mock_aws(config={"core": {"reset_boto3_session": False}}):
        assert upsert.main(["--diff"]) == 1
        assert f"bucket: {BUCKET}" in capsys.readouterr().err
        assert buckets() == []


def test_dry_run_names_the_roles_default_bucket(capsys: pytest.CaptureFixture[str]) -> None:
    """Offline, the default bucket is the one the SDK would give the role's account."""
    role = "arn:aws:iam::210987654321:role/Forecasts"
    assert upsert.main(["--dry-run", "--role-arn", role, "--region", "us-east-2"]) == 0
    out, err = capsys.readouterr()
    assert '"s3://sagemaker-us-east-2-210987654321/store-sales-forecast-dev/data/"' in out
    assert err == (
        "bucket: sagemaker-us-east-2-210987654321, the SageMaker SDK's default for the role's "
        "account; publishing names your account's (or pass --bucket)\n"
    )


def test_dry_run_to_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "out" / "definition.json"
    assert upsert.main(["--dry-run", "--output", str(target), "--bucket", BUCKET]) == 0
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"wrote {target}\n"
    assert json.loads(target.read_text())["Version"] == "2020-12-01"
    assert [p.name for p in target.parent.iterdir()] == ["definition.json"]


def test_bad_setting_names_setting_and_source(capsys: pytest.CaptureFixture[str]) -> None:
    assert upsert.main(["--dry-run", "--profile", "qa"]) == 2
    assert "unknown profile 'qa'" in capsys.readouterr().err
    assert upsert.main(["--dry-run", "--role-arn", "arn:aws:iam::12:role/x"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("upsert: error: command line: setting 'role_arn':")


class FailingExecution:
    """Stands in for SageMaker reporting an execution whose Train step failed (moto always
    reports Succeeded and cannot list execution steps)."""

    def __init__(self) -> None:
        self.polls = 0

    def describe_pipeline_execution(self, PipelineExecutionArn: str) -> dict:
        self.polls += 1
        if self.polls < 2:
            return {"PipelineExecutionStatus": "Executing"}
        return {"PipelineExecutionStatus": "Failed", "FailureReason": "Step failure"}

    def get_paginator(self, name: str) -> object:
        steps = [
            {
                "StepName": "Train",
                "StepStatus": "Failed" if self.polls >= 2 else "Executing",
                "FailureReason": "AlgorithmError: train: error: channel 'validation': no rows",
            },
            {"StepName": "Preprocess", "StepStatus": "Succeeded"},
        ]

        class Pages:
            def paginate(self, **_: object) -> list[dict]:
                return [{"PipelineExecutionSteps": steps}]

        return Pages()


def test_wait_reports_the_failed_step(capsys: pytest.CaptureFixture[str]) -> None:
    status, reason = upsert.wait_for_execution(FailingExecution(), "arn:execution", 0)
    assert status == "Failed"
    assert (
        reason == "step Train failed: AlgorithmError: train: error: channel 'validation': no rows"
    )
    progress = capsys.readouterr().err
    assert "  Train: Executing\n" in progress and "  Train: Failed\n" in progress


def test_wait_failure_exits_non_zero(
    aws: dict, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real_wait = upsert.wait_for_execution
    monkeypatch.setattr(
        upsert, "wait_for_execution", lambda sm, arn, poll: real_wait(FailingExecution(), arn, 0)
    )
    assert upsert.main(["--role-arn", ROLE, "--start", "--wait"]) == 1
    assert "execution Failed: step Train failed: AlgorithmError" in capsys.readouterr().err


def test_throttling_after_retries_is_one_line() -> None:
    from botocore.exceptions import ClientError

    from pipelines import aws

    error = ClientError(
        {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "UpdatePipeline"
    )
    assert aws.explain(error) == "AWS kept throttling UpdatePipeline after 8 attempts; retry later"
    expired = ClientError(
        {"Error": {"Code": "ExpiredTokenException", "Message": "x"}}, "DescribePipeline"
    )
    assert (
        aws.explain(expired)
        == "the AWS credentials have expired (DescribePipeline): refresh them and retry"
    )
    client = aws.client(aws.session("eu-west-1"), "sagemaker")
    assert client.meta.config.retries == {"mode": "standard", "total_max_attempts": 8}


def test_unknown_region_is_one_line_even_offline(capsys: pytest.CaptureFixture[str]) -> None:
    assert upsert.main(["--dry-run", "--region", "xx-east-9"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "upsert: error: setting 'region': 'xx-east-9' has no SageMaker XGBoost 3.0-5 image "
        "that this SDK knows of (Unsupported region: xx-east-9)\n"
    )


def test_execution_display_name_fits_the_api(aws: dict) -> None:
    import re

    from pipelines.limits import shape

    limit = shape("PipelineExecutionName")
    for name in ("p", "store-sales-forecast-dev", "a" * 256, "a" * 74 + "-b" * 20):
        display = upsert.execution_display_name(name)
        assert len(display) <= limit["max"] == 82
        assert re.fullmatch(limit["pattern"], display), display
        assert display.endswith("-upsert")


def test_prod_is_not_published_without_encryption_and_a_vpc(
    aws: dict, capsys: pytest.CaptureFixture[str]
) -> None:
    prod = ["--profile", "prod", "--role-arn", ROLE, "--bucket", BUCKET]
    assert upsert.main(prod) == 2
    assert capsys.readouterr().err == (
        "upsert: error: profile 'prod' requires a KMS key and a VPC (security.required): set "
        "security.kms_key_id, security.subnets, security.security_group_ids in "
        "pipelines/profiles/prod.toml, or pass --kms-key-id --subnet --security-group\n"
    )
    assert aws["sm"].list_pipelines()["PipelineSummaries"] == []  # nothing published
    key = "arn:aws:kms:eu-west-1:123456789012:key/0000-test"
    secured = [*prod, "--kms-key-id", key, "--subnet", "subnet-1", "--security-group", "sg-1"]
    assert upsert.main(secured) == 0
    published = json.loads(
        aws["sm"].describe_pipeline(PipelineName="store-sales-forecast-prod")["PipelineDefinition"]
    )
    train = next(s for s in published["Steps"] if s["Name"] == "Train")["Arguments"]
    assert train["OutputDataConfig"]["KmsKeyId"] == key
    assert train["VpcConfig"] == {"SecurityGroupIds": ["sg-1"], "Subnets": ["subnet-1"]}

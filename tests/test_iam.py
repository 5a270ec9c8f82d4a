"""python -m pipelines.iam: valid IAM JSON (checked by moto's IAM, standing in for AWS IAM's
policy validation) and scoped to this pipeline's resources."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest
from conftest import ROLE
from moto import mock_aws

from pipelines import iam

SECURE = ["--profile", "prod", "--role-arn", ROLE]


def policy(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    assert iam.main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def statements(document: dict) -> Iterator[tuple[list[str], list[str], dict]]:
    for s in document["Statement"]:
        assert s["Effect"] == "Allow"
        yield s["Action"], s["Resource"], s.get("Condition", {})


@pytest.mark.parametrize("which", ["execution-role", "publisher", "deployer"])
def test_policies_are_valid_iam(which: str, capsys: pytest.CaptureFixture[str]) -> None:
    document = policy(capsys, which, *SECURE)
    with mock_aws(config={"core": {"reset_boto3_session": False}}):
        client = boto3.client("iam", region_name="us-east-1")
        client.create_policy(PolicyName=f"forecast-{which}", PolicyDocument=json.dumps(document))


@pytest.mark.parametrize("which", ["execution-role", "publisher"])
def test_scope(which: str, capsys: pytest.CaptureFixture[str]) -> None:
    document = policy(capsys, which, *SECURE)
    # actions that take no resource type in IAM, so can only be granted on "*"
    wildcard_ok = {
        "ecr:GetAuthorizationToken",
        "cloudwatch:PutMetricData",
        "sagemaker:ListModelPackages",
    }
    for actions, resources, condition in statements(document):
        assert not any(a.endswith(":*") or a == "*" for a in actions)
        if resources == ["*"]:
            assert set(actions) <= wildcard_ok or all(a.startswith("ec2:") for a in actions)
        for resource in resources:
            if resource.startswith("arn:aws:s3:::"):
                assert resource.startswith("arn:aws:s3:::sagemaker-eu-west-1-123456789012")
                assert resource in (
                    "arn:aws:s3:::sagemaker-eu-west-1-123456789012",
                ) or resource.startswith(
                    "arn:aws:s3:::sagemaker-eu-west-1-123456789012/store-sales-forecast-prod/"
                )
            if resource.startswith("arn:aws:sagemaker:"):
                assert resource.startswith("arn:aws:sagemaker:eu-west-1:123456789012:")
        if "iam:PassRole" in actions:
            assert resources == [ROLE]
            assert condition == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}
        if "s3:ListBucket" in actions:
            prefixes = condition["StringLike"]["s3:prefix"]
            assert all(p.startswith("store-sales-forecast-prod/") for p in prefixes)


def test_execution_role_specifics(capsys: pytest.CaptureFixture[str]) -> None:
    document = policy(capsys, "execution-role", *SECURE)
    sids = {s["Sid"]: s for s in document["Statement"]}
    assert sids["RegisterInOwnGroup"]["Resource"] == [
        "arn:aws:sagemaker:eu-west-1:123456789012:model-package/store-sales-forecast-prod/*",
        "arn:aws:sagemaker:eu-west-1:123456789012:model-package-group/store-sales-forecast-prod",
    ]
    assert sids["PullXGBoostImage"]["Resource"] == [
        "arn:aws:ecr:eu-west-1:141502667606:repository/sagemaker-xgboost"
    ]
    assert "UseConfiguredKmsKey" not in sids and "JobsInVpcNeedNetworkInterfaces" not in sids
    # the definition turns on PipelineExperimentConfig: the role must create and fill the
    # experiment named after the pipeline, one trial per execution
    experiment = sids["TrackExecutionsAsExperimentTrials"]
    assert {"sagemaker:CreateExperiment", "sagemaker:CreateTrial"} <= set(experiment["Action"])
    assert {"sagemaker:AssociateTrialComponent", "sagemaker:CreateTrialComponent"} <= set(
        experiment["Action"]
    )
    assert experiment["Resource"][0] == (
        "arn:aws:sagemaker:eu-west-1:123456789012:experiment/store-sales-forecast-prod"
    )


def test_the_experiment_the_policy_names_is_the_definitions(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from pipelines.pipeline import definition
    from pipelines.settings import load_settings

    document = json.loads(definition(load_settings("prod")))
    assert document["PipelineExperimentConfig"] == {
        "ExperimentName": {"Get": "Execution.PipelineName"},
        "TrialName": {"Get": "Execution.PipelineExecutionId"},
    }
    sids = {s["Sid"]: s for s in policy(capsys, "execution-role", *SECURE)["Statement"]}
    name = load_settings("prod").pipeline_name.lower()
    assert sids["TrackExecutionsAsExperimentTrials"]["Resource"][0].endswith(f":experiment/{name}")


def test_kms_and_vpc_only_when_configured(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipelines.settings import load_settings

    settings = load_settings(
        "prod",
        {
            "role_arn": ROLE,
            "security": {
                "kms_key_id": "arn:aws:kms:eu-west-1:123456789012:key/abcd",
                "subnets": ["subnet-1"],
                "security_group_ids": ["sg-1"],
            },
        },
    )
    document = iam.execution_role_policy(
        settings, "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:3.0-5"
    )
    sids = {s["Sid"]: s for s in document["Statement"]}
    assert sids["UseConfiguredKmsKey"]["Resource"] == [
        "arn:aws:kms:eu-west-1:123456789012:key/abcd"
    ]
    assert "ec2:CreateNetworkInterface" in sids["JobsInVpcNeedNetworkInterfaces"]["Action"]
    assert {s["Sid"] for s in iam.publisher_policy(settings)["Statement"]} >= {
        "UseConfiguredKmsKey"
    }


def test_needs_the_role(capsys: pytest.CaptureFixture[str]) -> None:
    assert iam.main(["publisher"]) == 2
    assert "the policies name the execution role" in capsys.readouterr().err


def test_no_sdk_log_line_before_the_error() -> None:
    import subprocess
    import sys

    run = subprocess.run(
        [sys.executable, "-m", "pipelines.iam", "execution-role"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 2
    assert run.stderr == (
        "iam: error: the policies name the execution role: pass --role-arn, set "
        "SAGEMAKER_PIPELINE_ROLE_ARN, or set role_arn in the profile\n"
    )

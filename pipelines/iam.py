"""python -m pipelines.iam: the least-privilege IAM policies this pipeline needs.

    python -m pipelines.iam execution-role --profile prod --role-arn arn:aws:iam::<acct>:role/<name>
    python -m pipelines.iam publisher --profile prod --role-arn ...
    python -m pipelines.iam deployer --profile prod --role-arn ...

`execution-role` is the policy for the role the pipeline and its jobs run as: S3 scoped to the
profile's bucket and prefix, SageMaker actions scoped to the job, model and model-package
resources it creates, the experiment and trials its executions are tracked in (the
definition's PipelineExperimentConfig), reading the XGBoost image, its logs and metrics,
passing itself (only itself) to SageMaker, and KMS / VPC permissions only when the profile
sets them.
`publisher` is the policy for whoever runs `python -m pipelines.upsert`: stage code,
create/update/start this one pipeline, pass the execution role.
`deployer` is the policy for whoever runs `python -m pipelines.deploy` (and its smoke test):
this endpoint, its models, configs, alarm and auto-scaling, and the served group's versions.
Both print one IAM policy document (JSON) on stdout.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Any

from pipelines.settings import DEFAULT_PROFILE, PROFILES, Settings, SettingsError
from pipelines.version import add_version_flag

_ROLE = re.compile(r"^arn:(aws[a-z-]*):iam::(\d{12}):role/(.+)$")


def _role_parts(settings: Settings) -> tuple[str, str]:
    """(partition, account) from the execution role ARN, which the policies must name."""
    match = _ROLE.match(settings.role_arn)
    if not match:
        raise SettingsError(
            "the policies name the execution role: pass --role-arn, set "
            "SAGEMAKER_PIPELINE_ROLE_ARN, or set role_arn in the profile"
        )
    return match.group(1), match.group(2)


def _s3(settings: Settings, partition: str, writable_prefixes: list[str]) -> list[dict[str, Any]]:
    bucket = f"arn:{partition}:s3:::{settings.bucket_name}"
    root = f"{settings.prefix}/" if settings.prefix else ""
    return [
        {
            "Sid": "ListOwnPrefix",
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": [bucket],
            "Condition": {"StringLike": {"s3:prefix": [f"{root}{p}*" for p in writable_prefixes]}},
        },
        {
            "Sid": "ReadWriteOwnPrefix",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"],
            "Resource": [f"{bucket}/{root}{p}*" for p in writable_prefixes],
        },
    ]


def _pass_role(settings: Settings, sid: str) -> dict[str, Any]:
    """Passing the execution role, and only to SageMaker."""
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Action": ["iam:PassRole"],
        "Resource": [settings.role_arn],
        "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
    }


def _kms(settings: Settings, actions: list[str]) -> list[dict[str, Any]]:
    key = settings.security.kms_key_id
    if not key:
        return []
    return [{"Sid": "UseConfiguredKmsKey", "Effect": "Allow", "Action": actions, "Resource": [key]}]


def execution_role_policy(settings: Settings, image_uri: str) -> dict[str, Any]:
    """The execution role's policy (see the module docstring)."""
    partition, account = _role_parts(settings)
    region = settings.region
    sm = f"arn:{partition}:sagemaker:{region}:{account}"
    group = settings.model_package_group.lower()
    registry, _, repository = image_uri.partition("/")
    image_account = registry.split(".")[0]
    statements: list[dict[str, Any]] = [
        *_s3(settings, partition, [""]),
        {
            "Sid": "RunPipelineJobs",
            "Effect": "Allow",
            "Action": [
                "sagemaker:CreateProcessingJob",
                "sagemaker:DescribeProcessingJob",
                "sagemaker:StopProcessingJob",
                "sagemaker:CreateTrainingJob",
                "sagemaker:DescribeTrainingJob",
                "sagemaker:StopTrainingJob",
                "sagemaker:CreateTransformJob",
                "sagemaker:DescribeTransformJob",
                "sagemaker:StopTransformJob",
                "sagemaker:AddTags",
            ],
            "Resource": [f"{sm}:processing-job/*", f"{sm}:training-job/*", f"{sm}:transform-job/*"],
        },
        {
            "Sid": "CreateModels",
            "Effect": "Allow",
            "Action": ["sagemaker:CreateModel", "sagemaker:DescribeModel", "sagemaker:AddTags"],
            "Resource": [f"{sm}:model/*"],
        },
        {
            "Sid": "RegisterInOwnGroup",
            "Effect": "Allow",
            "Action": [
                "sagemaker:CreateModelPackage",
                "sagemaker:DescribeModelPackage",
                "sagemaker:DescribeModelPackageGroup",
                "sagemaker:CreateModelPackageGroup",
            ],
            "Resource": [f"{sm}:model-package/{group}/*", f"{sm}:model-package-group/{group}"],
        },
        {
            # PipelineExperimentConfig: each execution is a trial of the experiment named
            # after the pipeline, and every job's trial component is associated with it
            "Sid": "TrackExecutionsAsExperimentTrials",
            "Effect": "Allow",
            "Action": [
                "sagemaker:CreateExperiment",
                "sagemaker:DescribeExperiment",
                "sagemaker:CreateTrial",
                "sagemaker:DescribeTrial",
                "sagemaker:CreateTrialComponent",
                "sagemaker:DescribeTrialComponent",
                "sagemaker:UpdateTrialComponent",
                "sagemaker:AssociateTrialComponent",
                "sagemaker:AddTags",
            ],
            "Resource": [
                f"{sm}:experiment/{settings.pipeline_name.lower()}",
                f"{sm}:experiment-trial/*",
                f"{sm}:experiment-trial-component/*",
            ],
        },
        {
            "Sid": "PullXGBoostImage",
            "Effect": "Allow",
            "Action": [
                "ecr:BatchGetImage",
                "ecr:GetDownloadUrlForLayer",
                "ecr:BatchCheckLayerAvailability",
            ],
            "Resource": [
                f"arn:{partition}:ecr:{region}:{image_account}:repository/"
                f"{repository.split(':')[0]}"
            ],
        },
        {
            "Sid": "EcrLoginHasNoResource",
            "Effect": "Allow",
            "Action": ["ecr:GetAuthorizationToken"],
            "Resource": ["*"],
        },
        {
            "Sid": "JobLogs",
            "Effect": "Allow",
            "Action": [
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:PutLogEvents",
                "logs:DescribeLogStreams",
            ],
            "Resource": [f"arn:{partition}:logs:{region}:{account}:log-group:/aws/sagemaker/*"],
        },
        {
            "Sid": "JobMetricsHaveNoResource",
            "Effect": "Allow",
            "Action": ["cloudwatch:PutMetricData"],
            "Resource": ["*"],
            "Condition": {"StringLike": {"cloudwatch:namespace": ["/aws/sagemaker/*"]}},
        },
        _pass_role(settings, "PassOnlyItself"),
        *_kms(
            settings,
            [
                "kms:Encrypt",
                "kms:Decrypt",
                "kms:GenerateDataKey",
                "kms:DescribeKey",
                "kms:CreateGrant",
            ],
        ),
    ]
    if settings.security.uses_vpc:
        statements.append(
            {
                "Sid": "JobsInVpcNeedNetworkInterfaces",
                "Effect": "Allow",
                "Action": [
                    "ec2:CreateNetworkInterface",
                    "ec2:CreateNetworkInterfacePermission",
                    "ec2:DeleteNetworkInterface",
                    "ec2:DeleteNetworkInterfacePermission",
                    "ec2:DescribeNetworkInterfaces",
                    "ec2:DescribeVpcs",
                    "ec2:DescribeDhcpOptions",
                    "ec2:DescribeSubnets",
                    "ec2:DescribeSecurityGroups",
                ],
                "Resource": ["*"],
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def publisher_policy(settings: Settings) -> dict[str, Any]:
    """The policy for the identity that runs upsert (and data stage/predictions)."""
    partition, account = _role_parts(settings)
    pipeline = (
        f"arn:{partition}:sagemaker:{settings.region}:{account}:pipeline/"
        f"{settings.pipeline_name.lower()}"
    )
    statements: list[dict[str, Any]] = [
        *_s3(settings, partition, ["code/", "data/", "executions/"]),
        {
            "Sid": "PublishAndRunThisPipeline",
            "Effect": "Allow",
            "Action": [
                "sagemaker:CreatePipeline",
                "sagemaker:UpdatePipeline",
                "sagemaker:DescribePipeline",
                "sagemaker:AddTags",
                "sagemaker:ListTags",
                "sagemaker:StartPipelineExecution",
                "sagemaker:DescribePipelineExecution",
                "sagemaker:ListPipelineExecutionSteps",
            ],
            "Resource": [pipeline, f"{pipeline}/execution/*"],
        },
        # upsert --start looks up the champion: the latest Approved version of the group.
        # ListModelPackages takes no resource type, so it can only be granted on "*".
        {
            "Sid": "ListModelVersions",
            "Effect": "Allow",
            "Action": ["sagemaker:ListModelPackages"],
            "Resource": ["*"],
        },
        {
            "Sid": "DescribeOwnModelVersions",
            "Effect": "Allow",
            "Action": ["sagemaker:DescribeModelPackage"],
            "Resource": [
                f"arn:{partition}:sagemaker:{settings.region}:{account}:model-package/"
                f"{settings.model_package_group.lower()}/*"
            ],
        },
        _pass_role(settings, "PassTheExecutionRole"),
        *_kms(settings, ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"]),
    ]
    return {"Version": "2012-10-17", "Statement": statements}


def deployer_policy(settings: Settings) -> dict[str, Any]:
    """The policy for whoever runs `python -m pipelines.deploy` for this profile: read the
    served group's versions, create and delete this endpoint's models and configs (named
    <endpoint>-v*), create, update, invoke and delete this endpoint, its 5xx alarm and its
    auto-scaling, and pass the execution role to SageMaker."""
    partition, account = _role_parts(settings)
    sm = f"arn:{partition}:sagemaker:{settings.region}:{account}"
    name = settings.endpoint_name.lower()
    group = settings.served_group.lower()
    statements: list[dict[str, Any]] = [
        {
            # List* actions take no resource type: they can only be granted on "*"
            "Sid": "ListVersionsModelsAndConfigs",
            "Effect": "Allow",
            "Action": [
                "sagemaker:ListModelPackages",
                "sagemaker:ListModels",
                "sagemaker:ListEndpointConfigs",
            ],
            "Resource": ["*"],
        },
        {
            "Sid": "ReadServedVersions",
            "Effect": "Allow",
            "Action": ["sagemaker:DescribeModelPackage"],
            "Resource": [f"{sm}:model-package/{group}/*"],
        },
        {
            "Sid": "OwnModelsAndConfigs",
            "Effect": "Allow",
            "Action": [
                "sagemaker:CreateModel",
                "sagemaker:DescribeModel",
                "sagemaker:DeleteModel",
                "sagemaker:CreateEndpointConfig",
                "sagemaker:DescribeEndpointConfig",
                "sagemaker:DeleteEndpointConfig",
                "sagemaker:AddTags",
            ],
            "Resource": [f"{sm}:model/{name}-v*", f"{sm}:endpoint-config/{name}-v*"],
        },
        {
            "Sid": "OwnEndpoint",
            "Effect": "Allow",
            "Action": [
                "sagemaker:CreateEndpoint",
                "sagemaker:UpdateEndpoint",
                "sagemaker:DescribeEndpoint",
                "sagemaker:DeleteEndpoint",
                "sagemaker:InvokeEndpoint",
                "sagemaker:AddTags",
            ],
            "Resource": [f"{sm}:endpoint/{name}"],
        },
        {
            "Sid": "RollbackAlarm",
            "Effect": "Allow",
            "Action": [
                "cloudwatch:PutMetricAlarm",
                "cloudwatch:DeleteAlarms",
                "cloudwatch:TagResource",
            ],
            "Resource": [
                f"arn:{partition}:cloudwatch:{settings.region}:{account}:alarm:"
                f"{settings.endpoint_name}-5xx-errors"
            ],
        },
        {
            # Application Auto Scaling's actions take no SageMaker resource: "*"
            "Sid": "EndpointAutoScaling",
            "Effect": "Allow",
            "Action": [
                "application-autoscaling:RegisterScalableTarget",
                "application-autoscaling:DeregisterScalableTarget",
                "application-autoscaling:DescribeScalableTargets",
                "application-autoscaling:PutScalingPolicy",
                "application-autoscaling:DeleteScalingPolicy",
                "application-autoscaling:DescribeScalingPolicies",
            ],
            "Resource": ["*"],
        },
        {
            "Sid": "AutoScalingServiceLinkedRole",
            "Effect": "Allow",
            "Action": ["iam:CreateServiceLinkedRole"],
            "Resource": [
                f"arn:{partition}:iam::{account}:role/aws-service-role/"
                "sagemaker.application-autoscaling.amazonaws.com/*"
            ],
            "Condition": {
                "StringLike": {
                    "iam:AWSServiceName": "sagemaker.application-autoscaling.amazonaws.com"
                }
            },
        },
        _pass_role(settings, "PassTheExecutionRole"),
        *_kms(settings, ["kms:CreateGrant", "kms:DescribeKey"]),
    ]
    return {"Version": "2012-10-17", "Statement": statements}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipelines.iam",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_version_flag(parser)
    parser.add_argument("which", choices=("execution-role", "publisher", "deployer"))
    parser.add_argument("--profile", default=DEFAULT_PROFILE, help=", ".join(PROFILES))
    parser.add_argument("--role-arn", help="the pipeline's execution role")
    parser.add_argument("--region")
    parser.add_argument("--bucket")
    args = parser.parse_args(argv)
    from pipelines.settings import load_settings

    try:
        settings = load_settings(
            args.profile, {"role_arn": args.role_arn, "region": args.region, "bucket": args.bucket}
        )
        _role_parts(settings)  # the policies name the role: say so before anything else
        if args.which == "publisher":
            policy = publisher_policy(settings)
        elif args.which == "deployer":
            policy = deployer_policy(settings)
        else:
            from pipelines import sdk

            sdk.prepare_environment(settings.region)
            from sagemaker.core import image_uris

            with sdk.quiet():  # the SDK logs an INFO line about the instance type
                image = image_uris.retrieve(
                    "xgboost", region=settings.region, version=settings.xgboost_image_version
                )
            policy = execution_role_policy(settings, image)
    except SettingsError as exc:
        print(f"iam: error: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(json.dumps(policy, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

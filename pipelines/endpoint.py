"""The requests that put a registered model version behind a profile's endpoint.

Pure functions of the settings, the model package and the endpoint as it stands: no AWS call
here (pipelines/deploy.py makes them), so `deploy --dry-run` prints exactly what a deploy
sends, and the tests check every request against botocore's shapes.

Names are content-addressed: the model and the endpoint config are
"<endpoint>-v<version>-<8 hex of the request>", so deploying the same version with the same
settings twice changes nothing, and `--delete` finds exactly this endpoint's configs and
models (a name pattern no other endpoint's can match).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from pipelines.settings import Settings

VARIANT = "AllTraffic"  # one production variant: blue/green needs the same name every time
SCALABLE_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
CAPTURE_TYPES = {
    "CsvContentTypes": ["text/csv"],
    "JsonContentTypes": ["application/json", "application/jsonlines"],
}
# SageMaker's bounds on a blue/green update's total time (BlueGreenUpdatePolicy)
MIN_UPDATE_SECONDS, MAX_UPDATE_SECONDS = 600, 28800


class EndpointError(RuntimeError):
    """The endpoint cannot be deployed as asked; the message says why and what to do."""


@dataclass(frozen=True)
class Package:
    """A model package version, as ListModelPackages / DescribeModelPackage name it."""

    arn: str
    version: int
    status: str
    group: str


@dataclass(frozen=True)
class Current:
    """The endpoint as DescribeEndpoint (and DescribeEndpointConfig) show it."""

    status: str
    config_name: str
    failure_reason: str = ""
    serverless: bool = False
    instance_type: str = ""
    autoscaled: bool = False


@dataclass(frozen=True)
class Call:
    """One AWS request: service, operation (the API's name), parameters."""

    service: str
    operation: str
    params: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {"service": self.service, "operation": self.operation, "params": self.params}


@dataclass
class Plan:
    endpoint: str
    package: Package
    config_name: str
    calls: list[Call] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # the endpoint must reach InService (with config_name) before `after` runs
    wait: bool = False
    after: list[Call] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "model_package": self.package.arn,
            "version": self.package.version,
            "endpoint_config": self.config_name,
            "requests": [c.as_json() for c in self.calls],
            "after_in_service": [c.as_json() for c in self.after],
            "notes": self.notes,
        }


def _digest(request: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()[:8]


def owned_name(endpoint: str) -> re.Pattern[str]:
    """The names of the models and configs `deploy` made for `endpoint`, and no others."""
    return re.compile(rf"^{re.escape(endpoint)}-v\d+-[0-9a-f]{{8}}$")


def _tags(settings: Settings) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in settings.all_tags.items()]


def model_request(settings: Settings, package: Package, endpoint: str) -> dict[str, Any]:
    """CreateModel from the package (its image, artifact and serving environment)."""
    security = settings.security
    request: dict[str, Any] = {
        "PrimaryContainer": {"ModelPackageName": package.arn},
        "ExecutionRoleArn": settings.role_arn,
    }
    if settings.endpoint.kind == "real-time":  # serverless has neither VPC nor isolation
        if security.uses_vpc:
            request["VpcConfig"] = {
                "Subnets": list(security.subnets),
                "SecurityGroupIds": list(security.security_group_ids),
            }
        if security.network_isolation:
            request["EnableNetworkIsolation"] = True
    name = f"{endpoint}-v{package.version}-{_digest(request)}"
    return {"ModelName": name, **request, "Tags": _tags(settings)}


def config_request(settings: Settings, model_name: str, endpoint: str) -> dict[str, Any]:
    """CreateEndpointConfig: one variant, data capture and the KMS key (real-time)."""
    spec = settings.endpoint
    variant: dict[str, Any] = {"VariantName": VARIANT, "ModelName": model_name}
    request: dict[str, Any] = {"ProductionVariants": [variant]}
    if spec.kind == "serverless":
        variant["ServerlessConfig"] = {
            "MemorySizeInMB": spec.memory_mb,
            "MaxConcurrency": spec.max_concurrency,
        }
    else:
        variant.update(
            InstanceType=spec.instance_type,
            InitialInstanceCount=spec.min_instances,
            InitialVariantWeight=1.0,
        )
        if spec.captures:
            capture: dict[str, Any] = {
                "EnableCapture": True,
                "InitialSamplingPercentage": spec.capture_percent,
                "DestinationS3Uri": capture_uri(settings, endpoint),
                "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
                "CaptureContentTypeHeader": CAPTURE_TYPES,
            }
            if settings.security.kms_key_id:
                capture["KmsKeyId"] = settings.security.kms_key_id
            request["DataCaptureConfig"] = capture
        if settings.security.kms_key_id:
            request["KmsKeyId"] = settings.security.kms_key_id
    version = model_name.rsplit("-", 2)[-2]
    name = f"{endpoint}-{version}-{_digest(request)}"
    return {"EndpointConfigName": name, **request, "Tags": _tags(settings)}


def capture_uri(settings: Settings, endpoint: str) -> str:
    return f"{settings.s3_root}/data-capture/{endpoint}"


def alarm_name(endpoint: str) -> str:
    return f"{endpoint}-5xx-errors"


def alarm_request(settings: Settings, endpoint: str) -> dict[str, Any]:
    """PutMetricAlarm: any 5xx answer of the variant in a minute; an update's auto-rollback
    watches it while the new fleet bakes."""
    return {
        "AlarmName": alarm_name(endpoint),
        "AlarmDescription": f"5xx answers of {endpoint}: rolls a blue/green update back",
        "Namespace": "AWS/SageMaker",
        "MetricName": "Invocation5XXErrors",
        "Dimensions": [
            {"Name": "EndpointName", "Value": endpoint},
            {"Name": "VariantName", "Value": VARIANT},
        ],
        "Statistic": "Sum",
        "Period": 60,
        "EvaluationPeriods": 1,
        "Threshold": 1.0,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "TreatMissingData": "notBreaching",
        "Tags": _tags(settings),
    }


def deployment_config(settings: Settings, endpoint: str) -> dict[str, Any]:
    """Blue/green: all traffic at once or a canary first, baked, rolled back on the alarm."""
    spec = settings.endpoint
    routing: dict[str, Any] = {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": spec.bake_seconds}
    if spec.rollout == "canary":
        routing = {
            "Type": "CANARY",
            "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": spec.canary_percent},
            "WaitIntervalInSeconds": spec.bake_seconds,
        }
    timeout = min(max(2 * spec.bake_seconds + 1800, MIN_UPDATE_SECONDS), MAX_UPDATE_SECONDS)
    config: dict[str, Any] = {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": routing,
            "TerminationWaitInSeconds": 0,
            "MaximumExecutionTimeoutInSeconds": timeout,
        },
    }
    if spec.kind == "real-time":
        config["AutoRollbackConfiguration"] = {"Alarms": [{"AlarmName": alarm_name(endpoint)}]}
    return config


def resource_id(endpoint: str) -> str:
    return f"endpoint/{endpoint}/variant/{VARIANT}"


def scalable_target(endpoint: str) -> dict[str, str]:
    """The variant's instance count as Application Auto Scaling names it."""
    return {
        "ServiceNamespace": "sagemaker",
        "ResourceId": resource_id(endpoint),
        "ScalableDimension": SCALABLE_DIMENSION,
    }


def policy_name(endpoint: str) -> str:
    return f"{endpoint}-invocations-per-instance"


def scaling_calls(settings: Settings, endpoint: str) -> list[Call]:
    """Target tracking on invocations per instance between min and max instances."""
    spec = settings.endpoint
    target = scalable_target(endpoint)
    return [
        Call(
            "application-autoscaling",
            "RegisterScalableTarget",
            {**target, "MinCapacity": spec.min_instances, "MaxCapacity": spec.max_instances},
        ),
        Call(
            "application-autoscaling",
            "PutScalingPolicy",
            {
                "PolicyName": policy_name(endpoint),
                **target,
                "PolicyType": "TargetTrackingScaling",
                "TargetTrackingScalingPolicyConfiguration": {
                    "TargetValue": float(spec.invocations_per_instance),
                    "PredefinedMetricSpecification": {
                        "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
                    },
                    "ScaleInCooldown": spec.scale_in_cooldown_seconds,
                    "ScaleOutCooldown": spec.scale_out_cooldown_seconds,
                },
            },
        ),
    ]


def deregister_calls(endpoint: str) -> list[Call]:
    target = scalable_target(endpoint)
    return [
        Call(
            "application-autoscaling",
            "DeleteScalingPolicy",
            {"PolicyName": policy_name(endpoint), **target},
        ),
        Call("application-autoscaling", "DeregisterScalableTarget", target),
    ]


def plan(
    settings: Settings,
    package: Package,
    current: Current | None,
    existing: frozenset[str] = frozenset(),
) -> Plan:
    """The calls that make the endpoint serve `package`; `existing`: model and config names
    that are there already (not created again)."""
    endpoint = settings.endpoint_name
    spec = settings.endpoint
    model = model_request(settings, package, endpoint)
    config = config_request(settings, model["ModelName"], endpoint)
    result = Plan(endpoint, package, config["EndpointConfigName"])
    if spec.kind == "serverless":
        result.notes.append(
            "serverless: no data capture, VPC, network isolation or KMS volume key (SageMaker "
            "Serverless Inference supports none of them); scales with max_concurrency"
        )
    elif not spec.capture_percent:
        result.notes.append("data capture is off (endpoint.capture_percent = 0)")
    if current is not None:
        _refuse_state(endpoint, current, spec.kind == "serverless")
        if current.config_name == config["EndpointConfigName"]:
            result.notes.append(
                f"{endpoint} already serves version {package.version} with these settings"
            )
            return result
    if model["ModelName"] not in existing:
        result.calls.append(Call("sagemaker", "CreateModel", model))
    if config["EndpointConfigName"] not in existing:
        result.calls.append(Call("sagemaker", "CreateEndpointConfig", config))
    if spec.kind == "real-time":
        result.calls.append(Call("cloudwatch", "PutMetricAlarm", alarm_request(settings, endpoint)))
    if current is None:
        result.calls.append(
            Call(
                "sagemaker",
                "CreateEndpoint",
                {
                    "EndpointName": endpoint,
                    "EndpointConfigName": config["EndpointConfigName"],
                    "Tags": _tags(settings),
                },
            )
        )
    else:
        update: dict[str, Any] = {
            "EndpointName": endpoint,
            "EndpointConfigName": config["EndpointConfigName"],
            "DeploymentConfig": deployment_config(settings, endpoint),
        }
        if current.autoscaled:
            if current.instance_type != spec.instance_type:
                # Application Auto Scaling refuses an update that changes an autoscaled
                # variant's instance type: deregister, update, register again
                result.calls.extend(deregister_calls(endpoint))
                result.notes.append(
                    f"instance type {current.instance_type} -> {spec.instance_type}: auto-scaling "
                    "is deregistered for the update and registered again after it"
                )
            else:
                # keep the instance count auto-scaling has reached (traffic does not wait)
                update["RetainAllVariantProperties"] = True
        result.calls.append(Call("sagemaker", "UpdateEndpoint", update))
    result.wait = True
    if spec.autoscaling:
        result.after.extend(scaling_calls(settings, endpoint))
    elif current is not None and current.autoscaled:
        result.after.extend(deregister_calls(endpoint))
    return result


def _refuse_state(endpoint: str, current: Current, serverless: bool) -> None:
    if current.status == "Failed":
        reason = current.failure_reason or "no reason given"
        raise EndpointError(
            f"endpoint {endpoint} is Failed ({reason}); fix the cause, then remove it with "
            f"python -m pipelines.deploy --delete and deploy again"
        )
    if current.status != "InService":
        raise EndpointError(
            f"endpoint {endpoint} is {current.status}; wait until it is InService (or Failed) "
            "and deploy again"
        )
    if current.serverless != serverless:
        was, wanted = (
            ("serverless", "real-time") if current.serverless else ("real-time", "serverless")
        )
        raise EndpointError(
            f"endpoint {endpoint} is {was} and the profile asks for {wanted}: SageMaker cannot "
            "switch an endpoint between the two; delete it (python -m pipelines.deploy --delete) "
            "or set endpoint.name to a new endpoint"
        )

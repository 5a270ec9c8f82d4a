"""`python -m pipelines.deploy` against moto, which stands in for SageMaker (models, endpoint
configs, endpoints, the model registry), Application Auto Scaling and CloudWatch.

moto accepts any request, so every request the CLI makes is also checked against botocore's
shapes (enumerations, maximums, patterns included: pipelines.limits.request_problems) by a
hook on each client. moto has no UpdateEndpoint: `fake_update` stands for the service's
blue/green update (it records the request and switches the endpoint to the new config, or
leaves the old one, as an auto-rollback does).
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from conftest import ROLE
from moto import mock_aws
from moto.sagemaker.models import sagemaker_backends
from moto.sagemaker.responses import SageMakerResponse

from pipelines import aws, deploy, endpoint
from pipelines.limits import request_problems
from pipelines.settings import load_settings

REGION = "eu-west-1"
ACCOUNT = "123456789012"  # moto's


@pytest.fixture
def cloud(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """moto, with every request of the CLI's clients recorded and shape-checked."""
    calls: list[tuple[str, str, dict[str, Any]]] = []  # service, operation, parameters
    problems: list[str] = []
    original = aws.client

    def checked_client(session: Any, service: str) -> Any:
        client = original(session, service)

        def check(params: dict[str, Any], model: Any, **_: Any) -> None:
            calls.append((service, model.name, dict(params)))
            problems.extend(request_problems(service, model.name, params))

        client.meta.events.register("provide-client-params.*.*", check)
        return client

    monkeypatch.setattr(aws, "client", checked_client)
    monkeypatch.setenv("SAGEMAKER_PIPELINE_ROLE_ARN", ROLE)
    with mock_aws(config={"core": {"reset_boto3_session": False}}):
        sm = boto3.client("sagemaker", region_name=REGION)
        yield {"sm": sm, "calls": calls, "problems": problems}
    assert problems == [], "requests SageMaker would refuse"


@dataclass
class Updates:
    """What the fake UpdateEndpoint received; `roll_back`: the update's alarm fires."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    roll_back: bool = False


@pytest.fixture
def updates(monkeypatch: pytest.MonkeyPatch) -> Updates:
    """moto has no UpdateEndpoint: this stands for the service's blue/green update, which
    ends InService on the new config, or (rolled back) on the old one with a reason."""
    seen = Updates()

    def fake_update(self: SageMakerResponse) -> str:
        request = json.loads(self.body)
        seen.requests.append(request)
        found = sagemaker_backends[ACCOUNT][REGION].endpoints[request["EndpointName"]]
        if seen.roll_back:
            found.failure_reason = "Alarm store-sales-forecast-prod-5xx-errors fired"
        else:
            found.endpoint_config_name = request["EndpointConfigName"]
        return json.dumps({"EndpointArn": found.arn})

    monkeypatch.setattr(SageMakerResponse, "update_endpoint", fake_update, raising=False)
    return seen


def register(sm: Any, group: str, status: str, data: str = "s3://b/model.tar.gz") -> str:
    """A model package version in moto's registry (standing in for SageMaker's)."""
    with contextlib.suppress(sm.exceptions.ClientError):
        sm.create_model_package_group(ModelPackageGroupName=group)
    arn: str = sm.create_model_package(
        ModelPackageGroupName=group,
        ModelApprovalStatus=status,
        InferenceSpecification={
            "Containers": [{"Image": "xgboost:3.0-5", "ModelDataUrl": data}],
            "SupportedContentTypes": ["text/csv", "application/json"],
            "SupportedResponseMIMETypes": ["text/csv", "application/json"],
        },
    )["ModelPackageArn"]
    return arn


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = deploy.main(["--poll-seconds", "0", *argv] if argv[:1] != ("invoke",) else list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def serving_version_1(cloud: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    """Prod's endpoint serving version 1 (its first deploy), with the calls so far forgotten."""
    register(cloud["sm"], PROD, "Approved")
    assert run(capsys, "--profile", "prod")[0] == 0
    cloud["calls"].clear()


def operations(cloud: dict[str, Any]) -> list[str]:
    return [name for _, name, _ in cloud["calls"]]


def request(cloud: dict[str, Any], operation: str) -> dict[str, Any]:
    """The parameters of the first `operation` call the CLI made."""
    return next(params for _, name, params in cloud["calls"] if name == operation)


PROD = "store-sales-forecast-prod"


def test_first_deploy_makes_a_real_time_endpoint_with_capture_scaling_and_alarm(
    cloud: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    sm = cloud["sm"]
    register(sm, PROD, "Approved")
    pending = register(sm, PROD, "PendingManualApproval")
    code, out, err = run(capsys, "--profile", "prod")
    assert code == 0, err
    assert out.strip() == PROD
    described = sm.describe_endpoint(EndpointName=PROD)
    assert described["EndpointStatus"] == "InService"
    config = sm.describe_endpoint_config(EndpointConfigName=described["EndpointConfigName"])
    variant = config["ProductionVariants"][0]
    assert (variant["VariantName"], variant["InstanceType"], variant["InitialInstanceCount"]) == (
        "AllTraffic",
        "ml.m5.xlarge",
        2,
    )
    capture = config["DataCaptureConfig"]
    assert capture["InitialSamplingPercentage"] == 20
    assert capture["DestinationS3Uri"] == (
        f"s3://sagemaker-eu-west-1-123456789012/{PROD}/data-capture/{PROD}"
    )
    model = sm.describe_model(ModelName=variant["ModelName"])
    # the latest *Approved* version, not the newer pending one
    assert model["PrimaryContainer"]["ModelPackageName"].endswith(f"{PROD}/1")
    assert model["PrimaryContainer"]["ModelPackageName"] != pending
    created = request(cloud, "CreateModel")
    assert created["EnableNetworkIsolation"] is True  # prod's security settings
    aas = boto3.client("application-autoscaling", region_name=REGION)
    target = aas.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"][0]
    assert (target["ResourceId"], target["MinCapacity"], target["MaxCapacity"]) == (
        f"endpoint/{PROD}/variant/AllTraffic",
        2,
        4,
    )
    policy = aas.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"][0]
    tracking = policy["TargetTrackingScalingPolicyConfiguration"]
    assert tracking["TargetValue"] == 1000.0
    assert tracking["PredefinedMetricSpecification"]["PredefinedMetricType"] == (
        "SageMakerVariantInvocationsPerInstance"
    )
    alarms = boto3.client("cloudwatch", region_name=REGION).describe_alarms()["MetricAlarms"]
    assert [a["AlarmName"] for a in alarms] == [f"{PROD}-5xx-errors"]
    assert f"endpoint {PROD}: InService" in err


def test_dev_is_serverless_without_capture_or_scaling(
    cloud: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    sm = cloud["sm"]
    register(sm, "store-sales-forecast", "Approved")
    code, out, err = run(capsys, "--profile", "dev")
    assert code == 0, err
    name = out.strip()
    assert name == "store-sales-forecast-dev"
    config_name = sm.describe_endpoint(EndpointName=name)["EndpointConfigName"]
    config = sm.describe_endpoint_config(EndpointConfigName=config_name)
    assert config["ProductionVariants"][0]["ServerlessConfig"] == {
        "MemorySizeInMB": 2048,
        "MaxConcurrency": 5,
    }
    assert "DataCaptureConfig" not in request(cloud, "CreateEndpointConfig")
    assert "RegisterScalableTarget" not in operations(cloud)
    assert "PutMetricAlarm" not in operations(cloud)
    assert "serverless: no data capture" in err


def test_deploying_what_is_deployed_changes_nothing(
    cloud: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    serving_version_1(cloud, capsys)
    code, _out, err = run(capsys, "--profile", "prod")
    assert code == 0
    assert f"{PROD} already serves version 1 with these settings" in err
    changes = [op for op in operations(cloud) if not op.startswith(("Describe", "List"))]
    assert changes == []


def test_a_new_version_rolls_out_as_a_canary_with_auto_rollback(
    cloud: dict[str, Any], updates: Updates, capsys: pytest.CaptureFixture[str]
) -> None:
    sm = cloud["sm"]
    serving_version_1(cloud, capsys)
    register(sm, PROD, "Approved")
    code, _out, err = run(capsys, "--profile", "prod")
    assert code == 0, err
    request = updates.requests[0]
    assert request["EndpointConfigName"].startswith(f"{PROD}-v2-")
    policy = request["DeploymentConfig"]["BlueGreenUpdatePolicy"]
    assert policy["TrafficRoutingConfiguration"] == {
        "Type": "CANARY",
        "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 10},
        "WaitIntervalInSeconds": 600,
    }
    assert request["DeploymentConfig"]["AutoRollbackConfiguration"] == {
        "Alarms": [{"AlarmName": f"{PROD}-5xx-errors"}]
    }
    # same instance type: the instance count auto-scaling reached is kept
    assert request["RetainAllVariantProperties"] is True
    served = sm.describe_endpoint(EndpointName=PROD)["EndpointConfigName"]
    assert served == request["EndpointConfigName"]


def test_a_rolled_back_update_fails_with_the_reason(
    cloud: dict[str, Any], updates: Updates, capsys: pytest.CaptureFixture[str]
) -> None:
    sm = cloud["sm"]
    serving_version_1(cloud, capsys)
    register(sm, PROD, "Approved")
    updates.roll_back = True
    code, out, err = run(capsys, "--profile", "prod")
    assert code == 1
    assert "was rolled back (Alarm store-sales-forecast-prod-5xx-errors fired)" in err
    assert out == ""


def test_an_instance_type_change_deregisters_scaling_around_the_update(
    cloud: dict[str, Any], updates: Updates, capsys: pytest.CaptureFixture[str]
) -> None:
    serving_version_1(cloud, capsys)
    code, _, err = run(
        capsys, "--profile", "prod", "--config", str(_config(instance="ml.m5.large"))
    )
    assert code == 0, err
    ops = [op for op in operations(cloud) if not op.startswith(("Describe", "List"))]
    assert ops.index("DeregisterScalableTarget") < ops.index("UpdateEndpoint")
    assert ops.index("UpdateEndpoint") < ops.index("RegisterScalableTarget")
    assert "RetainAllVariantProperties" not in updates.requests[0]


def _config(instance: str) -> Any:
    import tempfile
    from pathlib import Path

    path = Path(tempfile.mkdtemp()) / "endpoint.toml"
    path.write_text(f'[endpoint]\ninstance_type = "{instance}"\n')
    return path


@pytest.mark.parametrize(
    ("statuses", "argv", "message"),
    [
        ([], [], "has no versions in this region: run the pipeline first"),
        (
            ["PendingManualApproval"],
            [],
            "has no Approved version (latest: version 1, PendingManualApproval)",
        ),
        (
            ["Approved", "Rejected"],
            ["--version", "2"],
            "version 2 of 'store-sales-forecast-prod' is Rejected",
        ),
        (["Approved"], ["--version", "5"], "has no version 5 (it has 1..1)"),
    ],
)
def test_no_version_to_deploy_is_one_line(
    cloud: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
    statuses: list[str],
    argv: list[str],
    message: str,
) -> None:
    for status in statuses:
        register(cloud["sm"], PROD, status)
    code, out, err = run(capsys, "--profile", "prod", *argv)
    assert code == 1
    assert message in err
    assert err.count("\n") == 1 and out == ""
    assert "CreateModel" not in operations(cloud)


def test_a_failed_endpoint_is_reported_with_its_reason(
    cloud: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    serving_version_1(cloud, capsys)
    found = sagemaker_backends[ACCOUNT][REGION].endpoints[PROD]
    found.endpoint_status = "Failed"
    found.failure_reason = (
        "The primary container for production variant AllTraffic did not pass the ping "
        "health check."
    )
    register(cloud["sm"], PROD, "Approved")
    code, _, err = run(capsys, "--profile", "prod")
    assert code == 1
    assert "is Failed (The primary container for production variant AllTraffic did not pass" in err
    assert "--delete" in err


def test_quota_and_access_errors_are_one_line(
    cloud: dict[str, Any], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import ClientError

    register(cloud["sm"], PROD, "Approved")
    errors = iter(
        [
            (
                "ResourceLimitExceeded",
                "The account-level service limit 'ml.m5.xlarge for endpoint usage' is 0 Instances",
            ),
            ("AccessDeniedException", "User is not authorized to perform: sagemaker:CreateModel"),
        ]
    )
    original = deploy.execute

    def refusing(session: Any, call: endpoint.Call) -> Any:
        if call.operation == "CreateModel":
            code, message = next(errors)
            raise ClientError({"Error": {"Code": code, "Message": message}}, call.operation)
        return original(session, call)

    monkeypatch.setattr(deploy, "execute", refusing)
    code, _, err = run(capsys, "--profile", "prod")
    assert code == 1
    assert "a service quota is reached on CreateModel" in err
    assert "Service Quotas" in err
    code, _, err = run(capsys, "--profile", "prod")
    assert code == 1
    assert "access denied on CreateModel: User is not authorized" in err


def test_dry_run_prints_the_requests_and_changes_nothing(
    cloud: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    register(cloud["sm"], PROD, "Approved")
    code, out, err = run(capsys, "--profile", "prod", "--dry-run")
    assert code == 0, err
    planned = json.loads(out)
    assert [r["operation"] for r in planned["requests"]] == [
        "CreateModel",
        "CreateEndpointConfig",
        "PutMetricAlarm",
        "CreateEndpoint",
    ]
    assert [r["operation"] for r in planned["after_in_service"]] == [
        "RegisterScalableTarget",
        "PutScalingPolicy",
    ]
    changes = [op for op in operations(cloud) if not op.startswith(("Describe", "List"))]
    assert changes == []
    assert cloud["sm"].list_endpoints()["Endpoints"] == []


def test_delete_removes_the_endpoint_and_only_its_own_configs(
    cloud: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    sm = cloud["sm"]
    register(sm, PROD, "Approved")
    assert run(capsys, "--profile", "prod")[0] == 0
    # another team's endpoint whose names start with this one's
    sm.create_model(
        ModelName=f"{PROD}-eu-v1-0123abcd", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "x"}
    )
    sm.create_endpoint_config(
        EndpointConfigName=f"{PROD}-eu-v1-0123abcd",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": f"{PROD}-eu-v1-0123abcd",
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
            }
        ],
    )
    code, _out, err = run(capsys, "--profile", "prod", "--delete", "--yes")
    assert code == 0, err
    assert sm.list_endpoints()["Endpoints"] == []
    assert [c["EndpointConfigName"] for c in sm.list_endpoint_configs()["EndpointConfigs"]] == [
        f"{PROD}-eu-v1-0123abcd"
    ]
    assert [m["ModelName"] for m in sm.list_models()["Models"]] == [f"{PROD}-eu-v1-0123abcd"]
    aas = boto3.client("application-autoscaling", region_name=REGION)
    assert aas.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"] == []
    cw = boto3.client("cloudwatch", region_name=REGION)
    assert cw.describe_alarms()["MetricAlarms"] == []
    assert "captured data" in err


def test_delete_asks_first_and_refuses_in_a_script(
    cloud: dict[str, Any], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    register(cloud["sm"], PROD, "Approved")
    assert run(capsys, "--profile", "prod")[0] == 0
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    code, _, err = run(capsys, "--profile", "prod", "--delete")
    assert code == 2
    assert "pass --yes in scripts" in err

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stdin", Terminal("no\n"))
    code, _, err = run(capsys, "--profile", "prod", "--delete")
    assert code == 1
    assert "not deleted" in err
    assert cloud["sm"].list_endpoints()["Endpoints"] != []
    monkeypatch.setattr("sys.stdin", Terminal(f"{PROD}\n"))
    assert run(capsys, "--profile", "prod", "--delete")[0] == 0
    assert cloud["sm"].list_endpoints()["Endpoints"] == []


def test_delete_of_no_endpoint(cloud: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--profile", "staging", "--delete", "--yes")
    assert code == 1
    assert "there is no endpoint store-sales-forecast-staging in eu-west-1" in err


@pytest.mark.parametrize("profile", ["dev", "staging", "prod"])
def test_every_profile_plans_requests_the_service_accepts(profile: str) -> None:
    settings = load_settings(profile, {"role_arn": ROLE})
    package = endpoint.Package(
        f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/g/3", 3, "Approved", "g"
    )
    fresh = endpoint.plan(settings, package, None)
    live = endpoint.Current("InService", "old-config", instance_type="ml.m5.large", autoscaled=True)
    update = endpoint.plan(settings, package, live if profile != "dev" else None)
    for planned in (fresh, update):
        for call in [*planned.calls, *planned.after]:
            assert request_problems(call.service, call.operation, call.params) == [], call
    names = [c.params.get("EndpointConfigName", "") for c in fresh.calls]
    assert all(len(n) <= 63 for n in names)


def test_request_check_names_what_the_service_refuses() -> None:
    problems = request_problems(
        "sagemaker",
        "CreateEndpointConfig",
        {
            "EndpointConfigName": "not valid",
            "ProductionVariants": [
                {
                    "VariantName": "AllTraffic",
                    "ModelName": "m",
                    "InstanceType": "ml.m5.huge",
                    "InitialInstanceCount": 0,
                    "ServerlessConfig": {"MemorySizeInMB": 10240, "MaxConcurrency": 5},
                }
            ],
        },
    )
    text = "\n".join(problems)
    assert "InitialInstanceCount, value: 0, valid min value: 1" in text
    assert "EndpointConfigName: 'not valid' does not match" in text
    assert "InstanceType: 'ml.m5.huge' is not one of the" in text
    assert "MemorySizeInMB = 10240; the maximum is 6144" in text


def test_names_are_stable_and_owned() -> None:
    settings = load_settings("prod", {"role_arn": ROLE})
    package = endpoint.Package(
        "arn:aws:sagemaker:eu-west-1:1:model-package/g/12", 12, "Approved", "g"
    )
    first = endpoint.plan(settings, package, None)
    again = endpoint.plan(settings, package, None)
    assert first.config_name == again.config_name
    owned = endpoint.owned_name(PROD)
    assert owned.match(first.config_name)
    assert not owned.match(f"{PROD}-eu-v1-0123abcd")
    other = load_settings("prod", {"role_arn": ROLE, "endpoint": {"capture_percent": 5}})
    assert endpoint.plan(other, package, None).config_name != first.config_name


def test_a_serverless_endpoint_cannot_become_real_time() -> None:
    settings = load_settings("staging", {"role_arn": ROLE})
    package = endpoint.Package(
        "arn:aws:sagemaker:eu-west-1:1:model-package/g/2", 2, "Approved", "g"
    )
    with pytest.raises(endpoint.EndpointError, match="cannot switch an endpoint between the two"):
        endpoint.plan(settings, package, endpoint.Current("InService", "c", serverless=True))


def test_the_deployer_policy_allows_every_call_a_release_makes(
    cloud: dict[str, Any], updates: Updates, capsys: pytest.CaptureFixture[str]
) -> None:
    """Deploy, update, delete: each AWS action made is in `pipelines.iam deployer`'s policy,
    on this endpoint's own resources where the action has one."""
    from pipelines import iam

    sm = cloud["sm"]
    register(sm, PROD, "Approved")
    assert run(capsys, "--profile", "prod")[0] == 0
    register(sm, PROD, "Approved")
    assert run(capsys, "--profile", "prod")[0] == 0
    assert run(capsys, "--profile", "prod", "--delete", "--yes")[0] == 0
    policy = iam.deployer_policy(load_settings("prod", {"role_arn": ROLE}))
    granted = {a: s["Resource"] for s in policy["Statement"] for a in s["Action"]}
    made = {(service, name): params for service, name, params in cloud["calls"]}
    assert len(made) > 15
    for (service, name), params in made.items():
        action = f"{service}:{name}"
        assert action in granted, action
        if "EndpointName" in params:
            assert granted[action] == [f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{PROD}"], (
                action
            )

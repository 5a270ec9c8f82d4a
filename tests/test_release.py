"""The release path as files: the GitHub Actions workflow, the CodeBuild buildspec, the
EventBridge approval rule (moto's EventBridge and SQS stand for the event bus and the rule's
target: a matched event is delivered to the queue), and the smoke test's request.

.ci/run lints the workflow with actionlint; here: the triggers and the order of the jobs, and
that every `python -m pipelines...` command in the files is a valid command of this checkout.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from conftest import REPO
from moto import mock_aws

from pipelines import deploy, release, upsert
from pipelines.settings import load_settings

WORKFLOW = REPO / ".github" / "workflows" / "release.yml"
BUILDSPEC = REPO / ".ci" / "buildspec.yml"
SMOKE = REPO / "pipelines" / "assets" / "smoke_request.jsonl"


def workflow() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(WORKFLOW.read_text())
    return document


def commands(text: str) -> list[list[str]]:
    """Each `python -m pipelines.X ...` line of a shell script, as argv after the module, with
    variables and ${{ }} expressions replaced by a value of the right kind."""
    text = text.replace("\\\n", " ")
    found = []
    for line in text.splitlines():
        match = re.search(r"python -m (pipelines\.\w+)(.*?)(\)|$)", line)
        if not match:
            continue
        rest = re.sub(r"\$\{\{[^}]*\}\}", "X", match.group(2))
        rest = re.sub(r'"\$(VERSION|MODEL_VERSION)"', "7", rest)
        rest = re.sub(r'"\$\w+"', "eu-west-1", rest)
        found.append([match.group(1), *shlex.split(rest)])
    return found


PARSERS = {
    "pipelines.upsert": upsert.parse_args,
    "pipelines.deploy": lambda argv: deploy.parse_args(argv)[1],
}


def all_commands() -> list[list[str]]:
    scripts = [step.get("run", "") for job in workflow()["jobs"].values() for step in job["steps"]]
    scripts += yaml.safe_load(BUILDSPEC.read_text())["phases"]["build"]["commands"]
    return [c for script in scripts for c in commands(script)]


def test_the_workflow_runs_tests_diff_upsert_and_the_release_in_order() -> None:
    document = workflow()
    triggers = document[True]  # YAML 1.1 reads the key `on` as True
    assert set(triggers) == {"pull_request", "push", "repository_dispatch", "workflow_dispatch"}
    assert triggers["push"]["branches"] == ["main"]
    assert triggers["repository_dispatch"]["types"] == [release.DISPATCH_EVENT]
    jobs = document["jobs"]
    assert jobs["diff-dev"]["needs"] == "test" and jobs["upsert-dev"]["needs"] == "test"
    assert jobs["deploy-prod"]["needs"] == "deploy-staging"
    assert jobs["deploy-prod"]["environment"] == "production"  # required reviewers
    staging = "\n".join(step.get("run", "") for step in jobs["deploy-staging"]["steps"])
    assert staging.index("pipelines.deploy --profile staging") < staging.index("deploy invoke")
    assert "smoke_request.jsonl" in staging
    assert "upsert --profile dev" in jobs["diff-dev"]["steps"][-1]["run"]
    assert "--diff" in jobs["diff-dev"]["steps"][-1]["run"]


def test_every_command_in_the_workflow_and_buildspec_is_valid() -> None:
    found = all_commands()
    assert {c[0] for c in found} == set(PARSERS)
    assert len(found) >= 8
    for module, *argv in found:
        PARSERS[module](argv)  # argparse exits on an unknown option or a bad value


def test_the_buildspec_has_every_stage() -> None:
    script = yaml.safe_load(BUILDSPEC.read_text())["phases"]["build"]["commands"][0]
    for stage in ("test)", "upsert-dev)", "deploy-staging)", "deploy-prod)"):
        assert stage in script


@pytest.fixture
def bus() -> Any:
    with mock_aws(config={"core": {"reset_boto3_session": False}}):
        events = boto3.client("events", region_name="eu-west-1")
        sqs = boto3.client("sqs", region_name="eu-west-1")
        queue = sqs.create_queue(QueueName="release")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        settings = load_settings("staging")
        events.put_rule(**release.rule_request(settings))
        target = release.targets_request(settings, arn, "arn:aws:iam::123456789012:role/R", False)
        events.put_targets(**target)
        yield events, sqs, queue


def state_change(group: str, status: str, version: int = 4) -> dict[str, Any]:
    """A "SageMaker Model Package State Change" event as SageMaker sends it."""
    return {
        "Source": "aws.sagemaker",
        "DetailType": release.DETAIL_TYPE,
        "Detail": json.dumps(
            {
                "ModelPackageGroupName": group,
                "ModelPackageVersion": version,
                "ModelPackageArn": (
                    f"arn:aws:sagemaker:eu-west-1:123456789012:model-package/{group}/{version}"
                ),
                "ModelApprovalStatus": status,
            }
        ),
    }


def test_the_rule_matches_approvals_of_the_released_group_only(bus: Any) -> None:
    events, sqs, queue = bus
    prod = "store-sales-forecast-prod"
    events.put_events(
        Entries=[
            state_change(prod, "Approved", 4),
            state_change(prod, "PendingManualApproval", 5),
            state_change(prod, "Rejected", 6),
            state_change("store-sales-forecast", "Approved", 7),  # dev's group
        ]
    )
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
    delivered = [json.loads(m["Body"])["detail"] for m in messages]
    assert [(d["ModelPackageGroupName"], d["ModelPackageVersion"]) for d in delivered] == [
        (prod, 4)
    ]


def test_the_github_target_sends_the_dispatch_the_workflow_waits_for() -> None:
    settings = load_settings("staging")
    target = release.targets_request(settings, "arn:aws:events:x", "arn:aws:iam::1:role/R", True)
    transformer = target["Targets"][0]["InputTransformer"]
    body = transformer["InputTemplate"].replace("<version>", "4").replace("<group>", "g")
    assert json.loads(body) == {
        "event_type": "model-approved",
        "client_payload": {"version": "4", "group": "g"},
    }
    # the workflow reads exactly this field
    assert "github.event.client_payload.version" in WORKFLOW.read_text()
    assert transformer["InputPathsMap"]["version"] == "$.detail.ModelPackageVersion"


def test_release_cli_prints_the_rule(capsys: pytest.CaptureFixture[str]) -> None:
    assert release.main(["rule", "--profile", "staging"]) == 0
    printed = json.loads(capsys.readouterr().out)
    pattern = json.loads(printed[0]["params"]["EventPattern"])
    assert pattern["detail"]["ModelPackageGroupName"] == ["store-sales-forecast-prod"]
    assert release.main(["rule", "--apply"]) == 2
    assert "--apply needs --api-destination-arn" in capsys.readouterr().err


def test_the_smoke_request_has_the_models_fields(prepared: dict[str, Path]) -> None:
    """Regenerate pipelines/assets/smoke_request.jsonl from three batch rows (keys, date and
    every feature by name) when the feature set changes."""
    schema = json.loads((prepared["model"] / "feature_schema.json").read_text())
    wanted = {
        *schema["series_columns"],
        schema["date_column"],
        *(f["name"] for f in schema["features"]),
    }
    for line in SMOKE.read_text().splitlines():
        assert set(json.loads(line)) == wanted

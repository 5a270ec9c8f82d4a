"""`upsert --start --wait --report FILE`: report.html from an execution on SageMaker.

`FinishedExecution` stands for SageMaker's APIs of one finished execution (moto has no
ListPipelineExecutionSteps); moto's S3 holds the Evaluate and MonitorDrift jobs' outputs.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws

from pipelines import execution_report

ARN = "arn:aws:sagemaker:eu-west-1:123456789012:pipeline/store-sales-forecast-dev/execution/abc123"
OUT = "s3://store-sales-forecast-dev/store-sales-forecast/executions/abc123"
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _step(name: str, status: str, seconds: float, metadata: dict[str, Any]) -> dict[str, Any]:
    return {
        "StepName": name,
        "StepStatus": status,
        "StartTime": T0,
        "EndTime": T0 + timedelta(seconds=seconds),
        "Metadata": metadata,
    }


def _job(kind: str, name: str) -> dict[str, Any]:
    return {kind: {"Arn": f"arn:aws:sagemaker:eu-west-1:123456789012:{kind.lower()}/{name}"}}


class FinishedExecution:
    def __init__(self, definition: dict[str, Any]) -> None:
        self.definition = definition
        self.steps = [
            _step("Preprocess", "Succeeded", 95, _job("ProcessingJob", "preprocess-abc")),
            _step("Train", "Succeeded", 310, _job("TrainingJob", "train-abc")),
            _step("Evaluate", "Succeeded", 80, _job("ProcessingJob", "evaluate-abc")),
            _step("MonitorDrift", "Succeeded", 60, _job("ProcessingJob", "drift-abc")),
            _step("CheckQuality", "Succeeded", 0, {"Condition": {"Outcome": "True"}}),
            _step(
                "RegisterModel",
                "Succeeded",
                2,
                {
                    "RegisterModel": {
                        "Arn": "arn:aws:sagemaker:eu-west-1:123456789012:model-package/"
                        "store-sales-forecast/7"
                    }
                },
            ),
        ][::-1]  # newest first, as SageMaker lists them
        self.steps[-1]["CacheHitResult"] = {"SourcePipelineExecutionArn": "arn:earlier"}

    def describe_pipeline_execution(self, PipelineExecutionArn: str) -> dict[str, Any]:
        return {
            "PipelineExecutionStatus": "Succeeded",
            "CreationTime": T0,
            "LastModifiedTime": T0 + timedelta(seconds=600),
        }

    def describe_pipeline_definition_for_execution(
        self, PipelineExecutionArn: str
    ) -> dict[str, Any]:
        return {"PipelineDefinition": json.dumps(self.definition)}

    def describe_processing_job(self, ProcessingJobName: str) -> dict[str, Any]:
        output = {
            "evaluate-abc": ("evaluation", "Evaluate/evaluation"),
            "drift-abc": ("drift", "MonitorDrift/drift"),
        }[ProcessingJobName]
        return {
            "ProcessingOutputConfig": {
                "Outputs": [{"OutputName": output[0], "S3Output": {"S3Uri": f"{OUT}/{output[1]}"}}]
            }
        }

    def get_paginator(self, name: str) -> Any:
        pages = {
            "list_pipeline_execution_steps": [{"PipelineExecutionSteps": self.steps}],
            "list_pipeline_parameters_for_execution": [
                {"PipelineParameters": [{"Name": "MaxDepth", "Value": "6"}]}
            ],
        }[name]

        class Pages:
            def paginate(self, **_: Any) -> list[dict[str, Any]]:
                return pages

        return Pages()


def test_the_report_of_a_sagemaker_execution(dev_definition: dict, tmp_path: Path) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 64
    evaluation = {
        "regression_metrics": {"wape": {"value": 0.0732}},
        "naive_baseline": {"regression_metrics": {"wape": {"value": 0.1697}}},
        "test_window": ["2015-05-09", "2015-06-19"],
        "champion": {"summary": "no approved champion"},
    }
    drift = {"summary": "none", "features": {"lag_364": {"psi": 0.15, "grade": "moderate"}}}
    with mock_aws(config={"core": {"reset_boto3_session": False}}):
        s3 = boto3.client("s3", region_name="eu-west-1")
        s3.create_bucket(
            Bucket="store-sales-forecast-dev",
            CreateBucketConfiguration={"LocationConstraint": "eu-west-1"},
        )
        prefix = "store-sales-forecast/executions/abc123"
        for key, body in [
            (f"{prefix}/Evaluate/evaluation/evaluation.json", json.dumps(evaluation).encode()),
            (f"{prefix}/Evaluate/evaluation/feature_importance.png", png),
            (f"{prefix}/MonitorDrift/drift/drift.json", json.dumps(drift).encode()),
            (f"{prefix}/MonitorDrift/drift/drift.png", png),
        ]:
            s3.put_object(Bucket="store-sales-forecast-dev", Key=key, Body=body)
        path = execution_report.write(
            FinishedExecution(dev_definition), s3, ARN, "eu-west-1", tmp_path / "report.html"
        )
    page = path.read_text()
    assert "Pipeline execution abc123" in page and "in 600.0 s" in page
    assert 'data-step="Train" data-status="Succeeded"' in page
    assert "Succeeded 310.0s" in page
    assert 'data-step="Preprocess" data-status="Succeeded"' in page and "(cache)" in page
    assert 'data-step="BatchTransform" data-status="NotRun"' in page  # not in the listing
    assert "<td>MaxDepth</td>" in page
    assert "Back-test 2015-05-09..2015-06-19" in page and "0.1697" in page
    assert page.count("data:image/png;base64,") == 2
    assert "<td>lag_364</td>" in page
    assert "registered store-sales-forecast version 7" in page
    assert "console.aws.amazon.com/cloudwatch/home?region=eu-west-1#logsV2:log-groups" in page
    assert "%252Faws%252Fsagemaker%252FTrainingJobs" in page and "train-abc" in page


def test_report_goes_with_start_and_wait(capsys: Any) -> None:
    import pytest

    from pipelines import upsert

    with pytest.raises(SystemExit):
        upsert.parse_args(["--report", "r.html"])
    assert "--report goes with --start --wait" in capsys.readouterr().err
    assert upsert.parse_args(["--start", "--wait", "--report", "r.html"]).report == Path("r.html")

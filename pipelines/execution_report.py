"""report.html for an execution on SageMaker (`upsert --start --wait --report FILE`).

The same page as a local run's (pipelines/local/report.py), from what SageMaker keeps: the
steps (ListPipelineExecutionSteps: status, times, cache hits, failure reasons, each job's
CloudWatch logs), the parameters it ran with, the definition it ran, and the Evaluate and
MonitorDrift jobs' outputs in S3 (evaluation.json, drift.json and their plots).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

from pipelines.graph import nodes_and_edges
from pipelines.local import report

JOB_KINDS = {
    "ProcessingJob": "ProcessingJobs",
    "TrainingJob": "TrainingJobs",
    "TransformJob": "TransformJobs",
}
OUTPUTS = {"Evaluate": ("evaluation", "evaluation.json"), "MonitorDrift": ("drift", "drift.json")}


def logs_url(region: str, kind: str, job_name: str) -> str:
    """The job's log streams in the CloudWatch console."""
    group = quote(quote(f"/aws/sagemaker/{JOB_KINDS[kind]}", safe=""), safe="")
    stream = quote(quote(f"?logStreamNameFilter={job_name}", safe=""), safe="")
    return (
        f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
        f"#logsV2:log-groups/log-group/{group}{stream}"
    )


def _job(step: dict[str, Any]) -> tuple[str, str] | None:
    """(kind, job name) of a job step, from its metadata."""
    for kind in JOB_KINDS:
        arn = (step.get("Metadata") or {}).get(kind, {}).get("Arn")
        if arn:
            return kind, arn.rsplit("/", 1)[-1]
    return None


def _read_json(s3: Any, uri: str) -> dict[str, Any]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    document: dict[str, Any] = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    return document


def _plots(s3: Any, prefix: str) -> list[tuple[str, bytes]]:
    bucket, _, key = prefix.removeprefix("s3://").partition("/")
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=key.rstrip("/") + "/").get("Contents", [])
    return [
        (Path(o["Key"]).stem, s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read())
        for o in sorted(listed, key=lambda o: o["Key"])
        if o["Key"].endswith(".png")
    ]


def collect(
    sm: Any, s3: Any, arn: str, region: str
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], list[tuple[str, bytes]]]:
    """(document, definition, parameters, plots) of one SageMaker execution."""
    described = sm.describe_pipeline_execution(PipelineExecutionArn=arn)
    definition = json.loads(
        sm.describe_pipeline_definition_for_execution(PipelineExecutionArn=arn)[
            "PipelineDefinition"
        ]
    )
    types = {n.name: n.type for n in nodes_and_edges(definition)[0]}
    pages = sm.get_paginator("list_pipeline_execution_steps").paginate(PipelineExecutionArn=arn)
    raw = [s for page in pages for s in page["PipelineExecutionSteps"]]
    steps = []
    evaluation: dict[str, Any] = {}
    drift: dict[str, Any] = {}
    plots: list[tuple[str, bytes]] = []
    package = None
    for step in reversed(raw):  # SageMaker lists the newest first
        name = step["StepName"]
        start, end = step.get("StartTime"), step.get("EndTime")
        job = _job(step)
        steps.append(
            {
                "name": name,
                "type": types.get(name, step.get("StepType", "")),
                "status": _status(step["StepStatus"]),
                "seconds": (end - start).total_seconds() if start and end else 0.0,
                "cache_hit": True if step.get("CacheHitResult") else (False if job else None),
                "failure_reason": step.get("FailureReason"),
                "log": logs_url(region, *job) if job else None,
            }
        )
        registered = (step.get("Metadata") or {}).get("RegisterModel", {}).get("Arn")
        if registered:
            package = {
                "ModelPackageArn": registered,
                "ModelPackageGroupName": registered.split("/")[-2],
                "ModelPackageVersion": int(registered.rsplit("/", 1)[-1]),
                "ModelApprovalStatus": "",
            }
        if (
            name in OUTPUTS
            and job
            and job[0] == "ProcessingJob"
            and step["StepStatus"] == "Succeeded"
        ):
            output, file_name = OUTPUTS[name]
            outputs = sm.describe_processing_job(ProcessingJobName=job[1])[
                "ProcessingOutputConfig"
            ]["Outputs"]
            uri = next(o["S3Output"]["S3Uri"] for o in outputs if o["OutputName"] == output)
            content = _read_json(s3, f"{uri.rstrip('/')}/{file_name}")
            if name == "Evaluate":
                evaluation = content
            else:
                drift = content
            plots += _plots(s3, uri)
    parameters = {
        p["Name"]: p["Value"]
        for page in sm.get_paginator("list_pipeline_parameters_for_execution").paginate(
            PipelineExecutionArn=arn
        )
        for p in page["PipelineParameters"]
    }
    created, modified = described.get("CreationTime"), described.get("LastModifiedTime")
    document = {
        "execution_id": arn.rsplit("/", 1)[-1],
        "status": described["PipelineExecutionStatus"],
        "seconds": (modified - created).total_seconds() if created and modified else 0.0,
        "failure_reason": described.get("FailureReason"),
        "steps": steps,
        "evaluation": evaluation or None,
        "drift_report": drift,
        "model_package": package,
    }
    return document, definition, parameters, plots


def _status(step_status: str) -> str:
    """SageMaker's step statuses as the report colours them."""
    return {"Executing": "NotRun", "Starting": "NotRun", "Stopping": "NotRun"}.get(
        step_status, step_status
    )


def write(sm: Any, s3: Any, arn: str, region: str, path: Path) -> Path:
    from pipelines.files import write_atomically

    document, definition, parameters, plots = collect(sm, s3, arn, region)
    page = report.build(document, definition, parameters, path.parent, None, plots)
    write_atomically(path, page)
    return path

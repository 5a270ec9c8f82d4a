"""A step's request checked the way SageMaker checks it: against botocore's service model.

Each job-like step's Arguments are the request of one API call (CreateProcessingJob,
CreateTrainingJob, ...). botocore's parameter validator knows every member, type, length
and range of those requests, and its model is newer than the published pipeline schema, so
an unknown key, a string where a number belongs, or a missing required member is found
here before a job runs (locally) or before a paid execution fails (when publishing).

Pipeline expressions ({"Get": ...}, {"Std:Join": ...}, {"Std:JsonGet": ...}) stand for
values known only at run time: `request_problems` checks them as a placeholder of the type
the member expects, and the names SageMaker Pipelines fills in itself (job and model names)
count as given.
"""

from __future__ import annotations

from typing import Any

OPERATIONS = {
    "Processing": "CreateProcessingJob",
    "Training": "CreateTrainingJob",
    "Transform": "CreateTransformJob",
    "Model": "CreateModel",
    "RegisterModel": "CreateModelPackage",
}
# Members the pipeline service sets on each request itself.
FILLED_BY_PIPELINES = ("ProcessingJobName", "TrainingJobName", "TransformJobName", "ModelName")
EXPRESSIONS = ("Get", "Std:Join", "Std:JsonGet")


def is_expression(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)) in EXPRESSIONS


def _placeholder(shape: Any) -> Any:
    """A value of the type `shape` expects, within its minimum length or range."""
    low = shape.metadata.get("min", 1)
    kind = shape.type_name
    if kind == "string":
        return "x" * max(int(low), 1)
    if kind in ("integer", "long"):
        return max(int(low), 1)
    if kind in ("float", "double"):
        return float(max(low, 1))
    if kind == "boolean":
        return True
    if kind == "list":
        return [_placeholder(shape.member)] * max(int(low), 1)
    if kind == "map":
        return {}
    return {}


def _with_placeholders(value: Any, shape: Any) -> Any:
    if is_expression(value):
        return _placeholder(shape)
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        members = shape.members
        return {
            k: _with_placeholders(v, members[k]) if k in members else v for k, v in value.items()
        }
    if kind == "list" and isinstance(value, list):
        return [_with_placeholders(v, shape.member) for v in value]
    if kind == "map" and isinstance(value, dict):
        return {k: _with_placeholders(v, shape.value) for k, v in value.items()}
    return value


def request_problems(step_type: str, arguments: dict[str, Any]) -> list[str]:
    """What SageMaker's API would refuse in this step's request ([] when nothing)."""
    if step_type not in OPERATIONS:
        return []
    from botocore.validate import ParamValidator

    from pipelines.limits import service_model

    shape = service_model().operation_model(OPERATIONS[step_type]).input_shape
    request = _with_placeholders(arguments, shape)
    for name in FILLED_BY_PIPELINES:
        if name in shape.required_members and name not in request:
            request[name] = _placeholder(shape.members[name])
    report = ParamValidator().validate(request, shape)
    return report.generate_report().splitlines() if report.has_errors() else []

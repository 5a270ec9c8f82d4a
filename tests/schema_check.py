"""The official pipeline-definition JSON schema, and the project's check of a definition
against it.

`schemas/pipeline-definition.schema.json` is the published SageMaker Pipelines definition
schema (Apache-2.0; source: github.com/jerrypeng7773/sagemaker-model-building-pipeline-
definition-JSON-schema, linked from the SageMaker developer guide; copy of 2025-04). It lags
the SDK, so the check allows exactly these lags and nothing else:
- a pipeline expression ({"Get"}, {"Std:Join"}, {"Std:JsonGet"}) where a literal is expected;
- RetryPolicies[].ExceptionType as a list of the schema's own enumeration values;
- keys the SDK emits that the schema does not know yet (NEWER_KEYS).
botocore's request shapes (pipelines/local/requests.py) check the step arguments in depth.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema

SCHEMA = Path(__file__).with_name("schemas") / "pipeline-definition.schema.json"
EXPRESSIONS = {"Get", "Std:Join", "Std:JsonGet"}
NEWER_KEYS = {
    "PipelineExperimentConfig",
    "MlflowConfig",
    "PropertyFiles",
    "ModelApprovalStatus",
    "SkipModelValidation",
    "Environment",
    "CompressionType",
    "ContainerEntrypoint",
    "ContainerArguments",
    "DriftCheckBaselines",
    "CustomerMetadataProperties",
    "ParallelismConfiguration",
    "AppManaged",
    "ProfilerConfig",
}
SCHEMA_OF_STEP = {
    "Processing": "ProcessingStep",
    "Training": "TrainingStep",
    "Transform": "TransformStep",
    "Condition": "ConditionStep",
    "Model": "CreateModelStep",
    "RegisterModel": "RegisterModelStep",
    "Fail": "FailStep",
}


def _without_newer_keys(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _without_newer_keys(v) for k, v in node.items() if k not in NEWER_KEYS}
    if isinstance(node, list):
        return [_without_newer_keys(v) for v in node]
    return node


def _is_expression(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)) in EXPRESSIONS


def _real(errors: Any) -> list[Any]:
    """The errors no allowed lag explains (for anyOf/oneOf: unless one branch fails only
    for allowed lags)."""
    kept = []
    for error in errors:
        if _is_expression(error.instance):
            continue
        path = list(error.absolute_path)
        if path and path[-1] == "ExceptionType" and isinstance(error.instance, list):
            continue
        if error.context:
            branches: dict[Any, list[Any]] = {}
            for sub in error.context:
                branches.setdefault(sub.relative_schema_path[0], []).append(sub)
            if any(not _real(group) for group in branches.values()):
                continue
        kept.append(error)
    return kept


def _steps(steps: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for step in steps:
        yield step
        if step.get("Type") == "Condition":
            arguments = step.get("Arguments", {})
            yield from _steps(arguments.get("IfSteps", []) + arguments.get("ElseSteps", []))


def schema_problems(document: dict[str, Any]) -> list[str]:
    """'<step>: <path>: <message>' for every schema error the allowed lags do not explain."""
    schema = json.loads(SCHEMA.read_text())
    definitions = schema["definitions"]
    top_schema = copy.deepcopy(schema)
    top_schema["properties"].pop("Steps")
    top_schema["required"] = [r for r in top_schema.get("required", []) if r != "Steps"]
    top = _without_newer_keys({k: v for k, v in document.items() if k != "Steps"})
    problems = [
        f"<pipeline>: {'/'.join(map(str, e.absolute_path))}: {e.message[:200]}"
        for e in _real(jsonschema.Draft7Validator(top_schema).iter_errors(top))
    ]
    for step in _steps(document.get("Steps", [])):
        name, kind = step.get("Name", "?"), step.get("Type")
        if kind not in SCHEMA_OF_STEP:
            problems.append(f"{name}: Type: no schema for step type {kind!r}")
            continue
        step_schema = copy.deepcopy(
            {"definitions": definitions, **definitions[SCHEMA_OF_STEP[kind]]}
        )
        checked = _without_newer_keys(step)
        if kind == "Condition":  # the branches are checked as steps of their own
            checked["Arguments"] = {
                k: v for k, v in checked["Arguments"].items() if k not in ("IfSteps", "ElseSteps")
            }
            arguments = step_schema["properties"]["Arguments"]
            arguments["required"] = [
                r for r in arguments.get("required", []) if r not in ("IfSteps", "ElseSteps")
            ]
        for error in _real(jsonschema.Draft7Validator(step_schema).iter_errors(checked)):
            problems.append(
                f"{name}: {'/'.join(map(str, error.absolute_path))}: {error.message[:200]}"
            )
    return problems

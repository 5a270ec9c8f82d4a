"""The pipeline's run-time parameters: what a person sees in Studio's run form.

Defaults come from the profile (`[parameters]` in the profile files). Every parameter here is
wired into a step; tests/test_definition.py fails on one that is declared but unused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipelines.code_assets import code_assets
from pipelines.parameter_specs import BY_NAME, SPECS, Spec
from pipelines.settings import Settings


@dataclass(frozen=True)
class PipelineParameters:
    input_data_uri: Any
    forecast_horizon_days: Any
    validation_start_date: Any
    test_start_date: Any
    processing_instance_type: Any
    processing_instance_count: Any
    training_instance_type: Any
    training_instance_count: Any
    transform_instance_type: Any
    transform_instance_count: Any
    num_round: Any
    max_depth: Any
    eta: Any
    subsample: Any
    colsample_bytree: Any
    min_child_weight: Any
    early_stopping_rounds: Any
    max_bin: Any
    refit_on_validation: Any
    quality_metric: Any
    max_quality_metric: Any
    min_skill_vs_naive: Any
    model_approval_status: Any
    fail_on_severe_drift: Any
    champion_model_data_uri: Any
    min_improvement: Any
    registered_model_data_uri: Any

    def all(self) -> list[Any]:
        """In the order Studio lists them (the table's)."""
        return [getattr(self, s.field) for s in SPECS]

    def hyperparameters(self) -> dict[str, Any]:
        """The XGBoost hyperparameters by the names train.py takes."""
        return {s.hyperparameter: getattr(self, s.field) for s in SPECS if s.hyperparameter}


def default_of(spec: Spec, settings: Settings) -> Any:
    """A parameter's default: the setting its row names, or the two computed ones."""
    if spec.name == "ChampionModelDataUri":
        return code_assets().no_champion.s3_uri(settings.s3_root)
    if spec.name == "RegisteredModelDataUri":
        return "none"
    value: Any = settings
    for part in spec.setting.split("."):
        value = getattr(value, part)
    return value


def build_parameters(settings: Settings) -> PipelineParameters:
    """The Parameter objects, from the table (pipelines/parameter_specs.py) and the
    profile's defaults."""
    from sagemaker.core.workflow.parameters import (
        ParameterFloat,
        ParameterInteger,
        ParameterString,
    )

    classes = {"Integer": ParameterInteger, "Float": ParameterFloat, "String": ParameterString}
    return PipelineParameters(
        **{
            spec.field: classes[spec.kind](spec.name, default_value=default_of(spec, settings))
            for spec in SPECS
        }
    )


class ParameterError(ValueError):
    """An override names an unknown parameter or has the wrong type or range."""


# Run-time values are checked against the table (bounds, choices) before anything starts.
# String parameters SageMaker checks against an API shape (botocore's model holds the values).
INSTANCE_SHAPES: dict[str, str] = {
    "ProcessingInstanceType": "ProcessingInstanceType",
    "TrainingInstanceType": "TrainingInstanceType",
    "TransformInstanceType": "TransformInstanceType",
}
DATES = ("ValidationStartDate", "TestStartDate")  # "auto" or YYYY-MM-DD
# what a person may type for "none"
NO_VALUE_ALLOWED = {"ChampionModelDataUri": ("", "none"), "RegisteredModelDataUri": ("", "none")}


def text_value_problem(name: str, text: str) -> str | None:
    """Why a String parameter's value would fail its step (or cost a paid run), or None."""
    from datetime import date

    from pipelines import limits

    if name in INSTANCE_SHAPES:
        return limits.string_problem(text, INSTANCE_SHAPES[name], "instance type")
    if name in DATES:
        if text.strip().lower() == "auto":
            return None
        try:
            if len(text) == 10:
                date.fromisoformat(text)
                return None
        except ValueError:
            pass
        return f"{text!r} is not a date like 2015-06-20, or 'auto'"
    if name.endswith("Uri"):
        if text.strip().lower() in NO_VALUE_ALLOWED.get(name, ()):
            return None
        return limits.s3_uri_problem(text)
    return None


def coerce_overrides(declared: list[dict[str, Any]], pairs: list[str]) -> dict[str, Any]:
    """Turn ["Name=Value", ...] into typed values checked against the definition's parameters.

    Args:
        declared: the definition's "Parameters" list ({"Name", "Type", "DefaultValue"}).
        pairs: NAME=VALUE strings from the command line.
    Raises:
        ParameterError: unknown name, wrong type, or a value out of range.
    """
    types = {p["Name"]: p["Type"] for p in declared}
    choices = {p["Name"]: tuple(p["EnumValues"]) for p in declared if p.get("EnumValues")}
    values: dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ParameterError(f"--param {pair!r}: expected NAME=VALUE")
        if name not in types:
            raise ParameterError(
                f"--param {name}: no such parameter; the pipeline has {sorted(types)}"
            )
        kind = types[name]
        value: Any
        try:
            if kind == "Integer":
                value = int(text)
            elif kind == "Float":
                value = float(text)
            elif kind == "Boolean":
                if text.lower() not in ("true", "false"):
                    raise ValueError
                value = text.lower() == "true"
            else:
                value = text
        except ValueError:
            article = "an" if kind.lower()[0] in "aeiou" else "a"
            raise ParameterError(
                f"--param {name}={text!r}: expected {article} {kind.lower()} value"
            ) from None
        spec = BY_NAME.get(name)
        if spec is not None and kind in ("Integer", "Float") and not spec.in_range(value):
            raise ParameterError(f"--param {name}={text}: out of range {spec.range_text()}")
        allowed = choices.get(name) or (spec.choices if spec else ())
        if allowed and value not in allowed:
            raise ParameterError(f"--param {name}={text!r}: choose one of {list(allowed)}")
        problem = text_value_problem(name, value) if kind == "String" else None
        if problem:
            raise ParameterError(f"--param {name}: {problem}")
        values[name] = value
    return values

"""The pipeline's run-time parameters: what a person sees in Studio's run form.

Defaults come from the profile (`[parameters]` in the profile files). Every parameter here is
wired into a step; tests/test_definition.py fails on one that is declared but unused.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from pipelines.code_assets import code_assets
from pipelines.contract import QUALITY_METRICS
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
        """In the order Studio lists them."""
        return [getattr(self, f.name) for f in fields(self)]

    def hyperparameters(self) -> dict[str, Any]:
        """The XGBoost hyperparameters by the names train.py takes."""
        return {
            "num_round": self.num_round,
            "max_depth": self.max_depth,
            "eta": self.eta,
            "subsample": self.subsample,
            "colsample_bytree": self.colsample_bytree,
            "min_child_weight": self.min_child_weight,
            "early_stopping_rounds": self.early_stopping_rounds,
            "max_bin": self.max_bin,
            "refit": self.refit_on_validation,
        }


def build_parameters(settings: Settings) -> PipelineParameters:
    """Create the Parameter objects with the profile's defaults."""
    from sagemaker.core.workflow.parameters import (
        ParameterFloat,
        ParameterInteger,
        ParameterString,
    )

    p, hp, inst = settings.parameters, settings.parameters.hyperparameters, settings.instances
    return PipelineParameters(
        input_data_uri=ParameterString("InputDataUri", default_value=settings.input_data_uri),
        forecast_horizon_days=ParameterInteger(
            "ForecastHorizonDays", default_value=p.forecast_horizon_days
        ),
        validation_start_date=ParameterString(
            "ValidationStartDate", default_value=p.validation_start_date
        ),
        test_start_date=ParameterString("TestStartDate", default_value=p.test_start_date),
        processing_instance_type=ParameterString(
            "ProcessingInstanceType", default_value=inst.processing_type
        ),
        processing_instance_count=ParameterInteger(
            "ProcessingInstanceCount", default_value=inst.processing_count
        ),
        training_instance_type=ParameterString(
            "TrainingInstanceType", default_value=inst.training_type
        ),
        training_instance_count=ParameterInteger(
            "TrainingInstanceCount", default_value=inst.training_count
        ),
        transform_instance_type=ParameterString(
            "TransformInstanceType", default_value=inst.transform_type
        ),
        transform_instance_count=ParameterInteger(
            "TransformInstanceCount", default_value=inst.transform_count
        ),
        num_round=ParameterInteger("NumRound", default_value=hp.num_round),
        max_depth=ParameterInteger("MaxDepth", default_value=hp.max_depth),
        eta=ParameterFloat("Eta", default_value=hp.eta),
        subsample=ParameterFloat("Subsample", default_value=hp.subsample),
        colsample_bytree=ParameterFloat("ColsampleByTree", default_value=hp.colsample_bytree),
        min_child_weight=ParameterFloat("MinChildWeight", default_value=hp.min_child_weight),
        early_stopping_rounds=ParameterInteger(
            "EarlyStoppingRounds", default_value=hp.early_stopping_rounds
        ),
        max_bin=ParameterInteger("MaxBin", default_value=hp.max_bin),
        refit_on_validation=ParameterInteger("RefitOnValidation", default_value=hp.refit),
        # no EnumValues: the published definition schema does not know them yet; the runner
        # and upsert check the choice (CHOICES), and Evaluate refuses any other by name
        quality_metric=ParameterString("QualityMetric", default_value=p.quality_metric),
        max_quality_metric=ParameterFloat("MaxQualityMetric", default_value=p.max_quality_metric),
        min_skill_vs_naive=ParameterFloat("MinSkillVsNaive", default_value=p.min_skill_vs_naive),
        model_approval_status=ParameterString(
            "ModelApprovalStatus", default_value=p.model_approval_status
        ),
        fail_on_severe_drift=ParameterInteger(
            "FailOnSevereDrift", default_value=p.fail_on_severe_drift
        ),
        # default: the staged no-champion marker (a processing input needs an object)
        champion_model_data_uri=ParameterString(
            "ChampionModelDataUri", default_value=code_assets().no_champion.s3_uri(settings.s3_root)
        ),
        min_improvement=ParameterFloat("MinImprovement", default_value=p.min_improvement),
        # the latest version's artifact: a cached re-run's model registers no copy of it
        registered_model_data_uri=ParameterString("RegisteredModelDataUri", default_value="none"),
    )


class ParameterError(ValueError):
    """An override names an unknown parameter or has the wrong type or range."""


# Allowed ranges of run-time values (inclusive), checked before anything is started.
RANGES: dict[str, tuple[float, float]] = {
    "ForecastHorizonDays": (1, 366),
    "ProcessingInstanceCount": (1, 100),
    "TrainingInstanceCount": (1, 100),
    "TransformInstanceCount": (1, 100),
    "NumRound": (1, 100_000),
    "MaxDepth": (1, 20),
    "Eta": (1e-6, 1),
    "Subsample": (1e-6, 1),
    "ColsampleByTree": (1e-6, 1),
    "MinChildWeight": (0, 1e6),
    "EarlyStoppingRounds": (0, 100_000),
    "MaxBin": (2, 1024),
    "RefitOnValidation": (0, 1),
    "FailOnSevereDrift": (0, 1),
    "MinImprovement": (-1, 1),
    "MaxQualityMetric": (1e-6, 10),
    "MinSkillVsNaive": (-10, 1),
}
CHOICES: dict[str, tuple[str, ...]] = {
    "ModelApprovalStatus": ("Approved", "Rejected", "PendingManualApproval"),
    "QualityMetric": QUALITY_METRICS,
}
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
        if name in RANGES and not RANGES[name][0] <= value <= RANGES[name][1]:
            low, high = RANGES[name]
            raise ParameterError(f"--param {name}={text}: out of range [{low:g}, {high:g}]")
        allowed = choices.get(name) or CHOICES.get(name)
        if allowed and value not in allowed:
            raise ParameterError(f"--param {name}={text!r}: choose one of {list(allowed)}")
        problem = text_value_problem(name, value) if kind == "String" else None
        if problem:
            raise ParameterError(f"--param {name}: {problem}")
        values[name] = value
    return values

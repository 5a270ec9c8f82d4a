"""Every run-time parameter in one table: its Studio name, type, the setting that gives its
default, its bounds or choices, and the train.py hyperparameter it feeds.

The builder (pipelines/parameters.py), the override checks (upsert --param, run --param),
the settings' own validation (pipelines/settings.py) and the contract tests all read this
table; train.py, which runs in the container without this package, keeps its own checks and
tests/test_contract.py holds them to it. Adding a hyperparameter is one row here, one field
in settings.Hyperparameters and base.toml, and train.py's field, check and XGBoost name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipelines.contract import APPROVAL_STATUSES, QUALITY_METRICS


@dataclass(frozen=True)
class Spec:
    name: str  # as Studio's run form and the definition name it
    field: str  # the PipelineParameters attribute the step builders use
    kind: str  # Integer | Float | String
    setting: str  # dotted path in Settings to the default ("" when computed)
    low: float | None = None
    high: float | None = None
    low_open: bool = False  # (low, high] instead of [low, high]
    choices: tuple[str, ...] = ()
    hyperparameter: str = ""  # the name train.py takes

    def in_range(self, value: float) -> bool:
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        return self.high is None or value <= self.high

    def range_text(self) -> str:
        low = "-inf" if self.low is None else f"{self.low:g}"
        high = "inf" if self.high is None else f"{self.high:g}"
        return f"{'(' if self.low_open else '['}{low}, {high}]"

    def field_bounds(self) -> dict[str, Any]:
        """The bounds as pydantic Field keywords (settings.py)."""
        bounds: dict[str, Any] = {}
        if self.low is not None:
            bounds["gt" if self.low_open else "ge"] = self.low
        if self.high is not None:
            bounds["le"] = self.high
        return bounds


_P, _HP, _I = "parameters", "parameters.hyperparameters", "instances"


def _count(name: str, job: str) -> Spec:
    """An instance count: instances.<job>_count, 1 to 100."""
    return Spec(name, f"{job}_instance_count", "Integer", f"{_I}.{job}_count", 1, 100)


def _hyper(name: str, key: str, kind: str, low: float, high: float, low_open: bool = False) -> Spec:
    """A hyperparameter train.py takes by the name of its setting `key`."""
    return Spec(name, key, kind, f"{_HP}.{key}", low, high, low_open, hyperparameter=key)


# In the order Studio lists them (and the definition's Parameters).
SPECS: tuple[Spec, ...] = (
    Spec("InputDataUri", "input_data_uri", "String", "input_data_uri"),
    Spec(
        "ForecastHorizonDays",
        "forecast_horizon_days",
        "Integer",
        f"{_P}.forecast_horizon_days",
        1,
        366,
    ),
    Spec("ValidationStartDate", "validation_start_date", "String", f"{_P}.validation_start_date"),
    Spec("TestStartDate", "test_start_date", "String", f"{_P}.test_start_date"),
    Spec("ProcessingInstanceType", "processing_instance_type", "String", f"{_I}.processing_type"),
    _count("ProcessingInstanceCount", "processing"),
    Spec("TrainingInstanceType", "training_instance_type", "String", f"{_I}.training_type"),
    _count("TrainingInstanceCount", "training"),
    Spec("TransformInstanceType", "transform_instance_type", "String", f"{_I}.transform_type"),
    _count("TransformInstanceCount", "transform"),
    _hyper("NumRound", "num_round", "Integer", 1, 100_000),
    _hyper("MaxDepth", "max_depth", "Integer", 1, 20),
    _hyper("Eta", "eta", "Float", 0, 1, low_open=True),
    _hyper("Subsample", "subsample", "Float", 0, 1, low_open=True),
    _hyper("ColsampleByTree", "colsample_bytree", "Float", 0, 1, low_open=True),
    _hyper("MinChildWeight", "min_child_weight", "Float", 0, 1e6),
    _hyper("EarlyStoppingRounds", "early_stopping_rounds", "Integer", 0, 100_000),
    _hyper("MaxBin", "max_bin", "Integer", 2, 1024),
    Spec(
        "RefitOnValidation",
        "refit_on_validation",
        "Integer",
        f"{_HP}.refit",
        0,
        1,
        hyperparameter="refit",
    ),
    # no EnumValues in the definition: the published schema does not know them yet; the
    # runner and upsert check the choice, and Evaluate refuses any other by name
    Spec(
        "QualityMetric", "quality_metric", "String", f"{_P}.quality_metric", choices=QUALITY_METRICS
    ),
    Spec(
        "MaxQualityMetric",
        "max_quality_metric",
        "Float",
        f"{_P}.max_quality_metric",
        0,
        10,
        low_open=True,
    ),
    Spec("MinSkillVsNaive", "min_skill_vs_naive", "Float", f"{_P}.min_skill_vs_naive", -10, 1),
    Spec(
        "ModelApprovalStatus",
        "model_approval_status",
        "String",
        f"{_P}.model_approval_status",
        choices=APPROVAL_STATUSES,
    ),
    Spec(
        "FailOnSevereDrift", "fail_on_severe_drift", "Integer", f"{_P}.fail_on_severe_drift", 0, 1
    ),
    # default: the staged no-champion marker (a processing input needs an object)
    Spec("ChampionModelDataUri", "champion_model_data_uri", "String", ""),
    Spec("MinImprovement", "min_improvement", "Float", f"{_P}.min_improvement", -1, 1),
    # the latest version's artifact: a cached re-run's model registers no copy of it
    Spec("RegisteredModelDataUri", "registered_model_data_uri", "String", ""),
)
BY_NAME = {s.name: s for s in SPECS}
BY_SETTING = {s.setting: s for s in SPECS if s.setting}


def bounds(setting: str) -> dict[str, Any]:
    """pydantic Field bounds of the setting a parameter's default comes from."""
    return BY_SETTING[setting].field_bounds()

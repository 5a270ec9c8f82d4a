"""Typed, frozen settings per environment, read from the profile files in `profiles/`.

`base.toml` holds what every environment shares; `<profile>.toml` overrides keys of it; the
command line overrides both. A bad value fails with one message naming the setting and the
file it came from.
"""

from __future__ import annotations

import argparse
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pipelines import limits
from pipelines.contract import APPROVAL_STATUSES, QUALITY_METRICS
from pipelines.parameter_specs import bounds

PROFILES_DIR = Path(__file__).with_name("profiles")
PROFILES = ("dev", "staging", "prod")
DEFAULT_PROFILE = "dev"
ROLE_ENV = "SAGEMAKER_PIPELINE_ROLE_ARN"

# When no role is configured (for example `upsert --dry-run` on a fresh machine) the definition
# still needs a RoleArn. This is the AWS documentation's example account; publishing refuses
# to run without a real role.
PLACEHOLDER_ROLE_ARN = "arn:aws:iam::123456789012:role/SageMakerPipelineExecutionRole"

_BUCKET = re.compile(
    r"^(?!xn--)(?!sthree-)(?!.*-s3alias$)(?!.*--ol-s3$)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"
)
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")


class SettingsError(ValueError):
    """A setting is invalid; the message names the setting and where it came from."""


def _refuse(problem: str | None) -> None:
    if problem:
        raise ValueError(problem)


def _one_of(value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError(f"{value!r} is not one of {list(allowed)}")
    return value


def add_config_flag(parser: argparse.ArgumentParser) -> None:
    """`--config FILE` for every CLI that loads settings (load_settings(config=...))."""
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="a TOML file of the profile's keys (your data's columns, names, thresholds), "
        "laid over the profile",
    )


def bounded(setting: str) -> Any:
    """A required field with the bounds the parameter table gives `setting`."""
    return Field(**bounds(setting))


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Instances(_Frozen):
    processing_type: str
    processing_count: int = bounded("instances.processing_count")
    training_type: str
    training_count: int = bounded("instances.training_count")
    transform_type: str
    transform_count: int = bounded("instances.transform_count")
    inference_types: tuple[str, ...]

    @field_validator("processing_type", "training_type", "transform_type", "inference_types")
    @classmethod
    def _instance(cls, value: Any, info: Any) -> Any:
        api_shape = {
            "processing_type": "ProcessingInstanceType",
            "training_type": "TrainingInstanceType",
            "transform_type": "TransformInstanceType",
            "inference_types": "ProductionVariantInstanceType",
        }[info.field_name]
        for item in value if isinstance(value, tuple) else (value,):
            _refuse(limits.string_problem(item, api_shape, "instance type"))
        return value


_HP = "parameters.hyperparameters"


class Hyperparameters(_Frozen):
    """Bounds from the parameter table (pipelines/parameter_specs.py)."""

    num_round: int = bounded(f"{_HP}.num_round")
    max_depth: int = bounded(f"{_HP}.max_depth")
    eta: float = bounded(f"{_HP}.eta")
    subsample: float = bounded(f"{_HP}.subsample")
    colsample_bytree: float = bounded(f"{_HP}.colsample_bytree")
    min_child_weight: float = bounded(f"{_HP}.min_child_weight")
    early_stopping_rounds: int = bounded(f"{_HP}.early_stopping_rounds")
    max_bin: int = bounded(f"{_HP}.max_bin")
    refit: int = bounded(f"{_HP}.refit")


class ParameterDefaults(_Frozen):
    input_data_uri: str = ""
    forecast_horizon_days: int = bounded("parameters.forecast_horizon_days")
    validation_start_date: str = "auto"
    test_start_date: str = "auto"
    quality_metric: str = "wape"
    max_quality_metric: float = bounded("parameters.max_quality_metric")
    min_skill_vs_naive: float = bounded("parameters.min_skill_vs_naive")
    fail_on_severe_drift: int = bounded("parameters.fail_on_severe_drift")
    min_improvement: float = bounded("parameters.min_improvement")
    model_approval_status: str
    hyperparameters: Hyperparameters

    @field_validator("quality_metric")
    @classmethod
    def _metric(cls, value: str) -> str:
        return _one_of(value, QUALITY_METRICS)

    @field_validator("model_approval_status")
    @classmethod
    def _approval(cls, value: str) -> str:
        return _one_of(value, APPROVAL_STATUSES)

    @field_validator("validation_start_date", "test_start_date")
    @classmethod
    def _date(cls, value: str) -> str:
        if value != "auto" and not re.match(r"^\d{4}-\d{2}-\d{2}$", value):
            raise ValueError(f"{value!r} is not a date like 2015-06-20, or 'auto'")
        return value

    @field_validator("input_data_uri")
    @classmethod
    def _uri(cls, value: str) -> str:
        if value and not value.startswith("s3://"):
            raise ValueError(f"{value!r} is not an s3:// URI (or empty)")
        return value


class DataColumns(_Frozen):
    date_column: str = Field(min_length=1)
    series_columns: tuple[str, ...] = Field(min_length=1)
    target_column: str = Field(min_length=1)
    open_column: str = ""
    categorical_columns: tuple[str, ...] | None = None
    numeric_columns: tuple[str, ...] | None = None
    ignore_columns: tuple[str, ...] = ()
    # covariates known ahead (used on the day); others that change are used lagged
    known_columns: tuple[str, ...] = ()


OBJECTIVES = ("squarederror", "tweedie", "poisson")  # train.py's


class Forecast(_Frozen):
    """What the forecast is: its interval, its loss, and what a zero means."""

    # the quantile levels of the interval around the median (P10 and P90 by default)
    interval: tuple[float, float] = (0.1, 0.9)
    # squarederror on log1p(target); tweedie or poisson for intermittent demand
    objective: str = "squarederror"
    # true: a zero target marks a closed day (data without an open column)
    zero_means_closed: bool = False

    @field_validator("interval")
    @classmethod
    def _interval(cls, value: tuple[float, float]) -> tuple[float, float]:
        low, high = value
        if not 0 < low < 0.5 < high < 1:
            raise ValueError(
                f"{list(value)} is not [low, high] with 0 < low < 0.5 < high < 1, like [0.1, 0.9]"
            )
        return value

    @field_validator("objective")
    @classmethod
    def _objective(cls, value: str) -> str:
        return _one_of(value, OBJECTIVES)

    @property
    def columns(self) -> tuple[str, str, str]:
        """The forecast's output columns: p10, p50, p90 (as inference names them)."""
        low, high = self.interval
        return (f"p{low * 100:g}", "p50", f"p{high * 100:g}")


class Security(_Frozen):
    kms_key_id: str = ""
    subnets: tuple[str, ...] = ()
    security_group_ids: tuple[str, ...] = ()
    network_isolation: bool = False
    inter_container_encryption: bool = False
    # true (prod): publishing refuses to go ahead without a KMS key and a VPC
    required: bool = False

    @property
    def uses_vpc(self) -> bool:
        return bool(self.subnets or self.security_group_ids)

    def missing(self) -> list[str]:
        """The settings `required` asks for that are not set."""
        wanted = {
            "kms_key_id": self.kms_key_id,
            "subnets": self.subnets,
            "security_group_ids": self.security_group_ids,
        }
        return [name for name, value in wanted.items() if not value] if self.required else []


ENDPOINT_KINDS = ("real-time", "serverless")
# endpoint config and model names are "<endpoint>-v<version>-<8 hex>", at most 63 characters
ENDPOINT_NAME_ROOM = 44
ROLLOUTS = ("all-at-once", "canary")


class Endpoint(_Frozen):
    """The endpoint `python -m pipelines.deploy` keeps for a profile: real-time (instances,
    auto-scaling, data capture) or serverless (memory, concurrency), and how an update rolls
    out (blue/green, all at once or a canary with an auto-rollback alarm)."""

    name: str = ""  # empty: the pipeline's name
    # the model package group whose Approved versions it serves; empty: the profile's own
    # (staging serves prod's group: a release is tried on staging before prod gets it)
    model_package_group: str = ""
    kind: str = "real-time"
    instance_type: str = "ml.m5.large"
    # instances: min_instances at the start; auto-scaling between min and max on the
    # invocations per instance and minute (max == min: no auto-scaling)
    min_instances: int = Field(default=1, ge=1, le=100)
    max_instances: int = Field(default=1, ge=1, le=100)
    invocations_per_instance: int = Field(default=1000, ge=1)
    scale_in_cooldown_seconds: int = Field(default=300, ge=0, le=3600)
    scale_out_cooldown_seconds: int = Field(default=60, ge=0, le=3600)
    # serverless: memory in MB (1024..6144 in steps of 1024) and concurrent invocations
    memory_mb: int = Field(default=2048, ge=1024, le=6144, multiple_of=1024)
    max_concurrency: int = Field(default=5, ge=1, le=200)
    # the share of requests and answers captured under s3://<bucket>/<prefix>/data-capture/
    # (real-time only: serverless endpoints have no data capture); 0: none
    capture_percent: int = Field(default=100, ge=0, le=100)
    rollout: str = "all-at-once"
    canary_percent: int = Field(default=10, ge=1, le=50)
    # how long the new fleet serves (the canary, or all traffic) before the old one goes
    bake_seconds: int = Field(default=300, ge=0, le=3600)

    @property
    def captures(self) -> bool:
        """Whether requests and answers are captured (real-time endpoints only)."""
        return self.kind == "real-time" and self.capture_percent > 0

    @field_validator("kind")
    @classmethod
    def _kind(cls, value: str) -> str:
        return _one_of(value, ENDPOINT_KINDS)

    @field_validator("rollout")
    @classmethod
    def _rollout(cls, value: str) -> str:
        return _one_of(value, ROLLOUTS)

    @field_validator("name")
    @classmethod
    def _endpoint_name(cls, value: str) -> str:
        if value:
            _refuse(limits.string_problem(value, "EndpointName", "endpoint name"))
        return value

    @field_validator("instance_type")
    @classmethod
    def _instance_type(cls, value: str) -> str:
        _refuse(limits.string_problem(value, "ProductionVariantInstanceType", "instance type"))
        return value

    @model_validator(mode="after")
    def _fleet(self) -> Endpoint:
        if self.max_instances < self.min_instances:
            raise ValueError(
                f"endpoint.max_instances {self.max_instances} is below min_instances "
                f"{self.min_instances}"
            )
        if self.rollout == "canary" and self.kind == "serverless":
            raise ValueError(
                "endpoint.rollout 'canary' needs instances: a serverless endpoint updates all at "
                'once (rollout = "all-at-once")'
            )
        if self.rollout == "canary" and self.min_instances < 2:
            raise ValueError(
                "endpoint.rollout 'canary' sends part of the traffic to part of the fleet: it "
                f"needs min_instances >= 2, not {self.min_instances}"
            )
        return self

    @property
    def autoscaling(self) -> bool:
        return self.kind == "real-time" and self.max_instances > self.min_instances


class Tracking(_Frozen):
    """Where executions are logged in MLflow: a tracking URI (a server, a folder), or
    SageMaker managed MLflow's tracking-server ARN. Empty: not logged."""

    mlflow_uri: str = ""


class Project(_Frozen):
    name: str = ""
    id: str = ""


class Settings(_Frozen):
    """Everything that varies per environment but not per run."""

    profile: str
    pipeline_name: str
    description: str = Field(max_length=3072)
    model_package_group: str
    region: str
    bucket: str
    prefix: str
    role_arn: str = ""
    xgboost_image_version: str
    max_runtime_seconds: int = Field(ge=60, le=5 * 24 * 3600)
    cache_expire_after: str
    instances: Instances
    parameters: ParameterDefaults
    data: DataColumns
    forecast: Forecast = Forecast()
    security: Security = Security()
    endpoint: Endpoint = Endpoint()
    tracking: Tracking = Tracking()
    tags: dict[str, str] = {}
    project: Project = Project()

    @field_validator("pipeline_name")
    @classmethod
    def _name(cls, value: str) -> str:
        _refuse(limits.string_problem(value, "PipelineName", "pipeline name"))
        return value

    @field_validator("model_package_group")
    @classmethod
    def _group(cls, value: str) -> str:
        _refuse(limits.string_problem(value, "EntityName", "model package group name"))
        return value

    @field_validator("bucket")
    @classmethod
    def _bucket(cls, value: str) -> str:
        """Empty: the SageMaker SDK's default bucket (`bucket_name`)."""
        ip_like = re.match(r"^\d+\.\d+\.\d+\.\d+$", value)
        if value and (not _BUCKET.match(value) or ".." in value or ip_like):
            raise ValueError(
                f"{value!r} is not a valid S3 bucket name (3-63 lowercase letters, digits, "
                "dots and hyphens, starting and ending with a letter or digit)"
            )
        return value

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        return value.strip("/")

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        if not _REGION.match(value):
            raise ValueError(f"{value!r} is not an AWS region like 'eu-west-1'")
        return value

    @field_validator("role_arn")
    @classmethod
    def _role(cls, value: str) -> str:
        if value and not _ROLE_ARN.match(value):
            raise ValueError(
                f"{value!r} is not an IAM role ARN like arn:aws:iam::<12-digit account>:role/<name>"
            )
        return value

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: dict[str, str]) -> dict[str, str]:
        for key, item in value.items():
            if key.lower().startswith("aws:"):
                raise ValueError(f"tag key {key!r}: the aws: prefix is reserved")
            _refuse(limits.string_problem(key, "TagKey", "tag key"))
            _refuse(limits.string_problem(item, "TagValue", f"tag {key!r}: value"))
        return value

    @model_validator(mode="after")
    def _tag_count(self) -> Settings:
        most = limits.max_items("TagList")
        if len(self.all_tags) > most:
            raise ValueError(
                f"{len(self.all_tags)} tags (with the project's); SageMaker allows at most {most}"
            )
        return self

    @model_validator(mode="after")
    def _endpoint_type(self) -> Settings:
        endpoint = self.endpoint
        if endpoint.kind == "real-time" and endpoint.instance_type not in (
            self.instances.inference_types
        ):
            raise ValueError(
                f"endpoint.instance_type {endpoint.instance_type!r} is not one of the registered "
                f"model's instances.inference_types {list(self.instances.inference_types)}: "
                "SageMaker deploys a model package only on those"
            )
        if endpoint.name and len(endpoint.name) > ENDPOINT_NAME_ROOM:
            raise ValueError(
                f"endpoint.name is {len(endpoint.name)} characters; at most "
                f"{ENDPOINT_NAME_ROOM} leave room for the version in its configs' names"
            )
        return self

    @property
    def served_group(self) -> str:
        """The model package group the endpoint serves versions of."""
        return self.endpoint.model_package_group or self.model_package_group

    @property
    def endpoint_name(self) -> str:
        """The endpoint `pipelines.deploy` keeps: endpoint.name, else the pipeline's name."""
        return self.endpoint.name or self.pipeline_name[:ENDPOINT_NAME_ROOM]

    @property
    def account(self) -> str:
        """The execution role's account (the AWS documentation's example account when no role
        is configured, as in `upsert --dry-run` on a fresh machine)."""
        return (self.role_arn or PLACEHOLDER_ROLE_ARN).split(":")[4]

    @property
    def bucket_name(self) -> str:
        """`bucket`, or the SDK's default bucket, sagemaker-<region>-<account>: publishing and
        deploying look the account up (`aws.with_default_bucket`); offline, the role's."""
        return self.bucket or f"sagemaker-{self.region}-{self.account}"

    @property
    def s3_root(self) -> str:
        """s3://bucket/prefix: everything the pipeline writes lives below this."""
        root = f"s3://{self.bucket_name}"
        return f"{root}/{self.prefix}" if self.prefix else root

    @property
    def input_data_uri(self) -> str:
        return self.parameters.input_data_uri or f"{self.s3_root}/data/"

    @property
    def all_tags(self) -> dict[str, str]:
        """Profile tags plus the SageMaker Project tags when a project is configured."""
        tags = dict(self.tags)
        if self.project.name and self.project.id:
            tags["sagemaker:project-name"] = self.project.name
            tags["sagemaker:project-id"] = self.project.id
        return dict(sorted(tags.items()))


def _deep_merge(base: dict[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in overlay.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _has_key(tree: Mapping[str, Any], path: tuple[Any, ...]) -> bool:
    node: Any = tree
    for part in path:
        if not isinstance(node, Mapping) or part not in node:
            return False
        node = node[part]
    return True


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: not valid TOML: {exc}") from exc


def aws_region() -> tuple[str | None, str]:
    """The region the AWS tools would use, and where it is set: AWS_REGION, then
    AWS_DEFAULT_REGION, then the AWS config file's profile (AWS_PROFILE); (None, "") when
    none is, and the settings profile's region applies."""
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        if os.environ.get(name):
            return os.environ[name], f"environment variable {name}"
    import botocore.session

    session = botocore.session.Session()
    try:
        region = session.get_scoped_config().get("region")
    except Exception:  # an AWS_PROFILE that is not in the config: botocore says so later
        return None, ""
    config = os.environ.get("AWS_CONFIG_FILE", "~/.aws/config")
    return (region, f"the AWS config file {config}") if region else (None, "")


def load_settings(
    profile: str = DEFAULT_PROFILE,
    overrides: Mapping[str, Any] | None = None,
    profiles_dir: Path = PROFILES_DIR,
    config: Path | None = None,
) -> Settings:
    """Merge base.toml, <profile>.toml, the `config` file, the region the AWS tools use (the
    environment, then the AWS config file), the role from the environment, then `overrides`.

    Args:
        profile: dev, staging or prod (or any <name>.toml in `profiles_dir`).
        overrides: nested keys from the command line; None values are ignored.
        config: a TOML file of the profile's keys from anywhere (your data's column names,
            names, thresholds), over the profile: `--config FILE` on the CLIs.
    Raises:
        SettingsError: naming the setting and the file (or "command line") it came from.
    """
    base_file = profiles_dir / "base.toml"
    profile_file = profiles_dir / f"{profile}.toml"
    if not profile_file.is_file():
        known = sorted(p.stem for p in profiles_dir.glob("*.toml") if p.stem != "base")
        raise SettingsError(f"unknown profile {profile!r}: choose one of {known}")
    base = _read_toml(base_file)
    layer = _read_toml(profile_file)
    if config is not None and not config.is_file():
        raise SettingsError(f"--config {config}: no such file")
    own = _read_toml(config) if config is not None else {}
    env_role = {"role_arn": os.environ[ROLE_ENV]} if os.environ.get(ROLE_ENV) else {}
    cli = _drop_none(dict(overrides or {}))
    region, region_source = aws_region() if "region" not in cli else (None, "")
    env_region = {"region": region} if region else {}
    merged = base
    for overlay in (layer, own, env_region, env_role, cli):
        merged = _deep_merge(merged, overlay)
    merged["profile"] = profile
    try:
        return Settings.model_validate(merged)
    except ValidationError as exc:
        error = exc.errors()[0]
        message = error["msg"].removeprefix("Value error, ")
        path = tuple(error["loc"]) or _named_in(message)
        name = ".".join(str(p) for p in path)
        if _has_key(cli, path):
            source = "command line"
        elif _has_key(env_role, path):
            source = f"environment variable {ROLE_ENV}"
        elif _has_key(env_region, path):
            source = region_source
        elif _has_key(own, path):
            source = f"config file {config}"
        elif _has_key(layer, path):
            source = str(profile_file)
        else:
            source = str(base_file)
        raise SettingsError(f"{source}: setting {name!r}: {message}") from None


def _named_in(message: str) -> tuple[str, ...]:
    """The setting a check across fields names first ("endpoint.instance_type ..."); the tag
    count's message names none."""
    first = message.split(" ", 1)[0]
    return tuple(first.split(".")) if "." in first else ("tags",)


def _drop_none(tree: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            value = _drop_none(value)
            if value:
                out[key] = value
        elif value is not None:
            out[key] = value
    return out

"""Which model a run must beat: the latest Approved version of the model package group.

The pipeline learns its champion through one String parameter, ChampionModelDataUri, whose
default is the staged no-champion marker (a processing input has to point at an existing
object, so "empty" cannot be the default). Whoever starts a run fills it in: `upsert
--start` from SageMaker's model registry, `pipelines.run --local` from the embedded one. A
person starting a run in Studio can paste a model.tar.gz URI there, or leave the default.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

PARAMETER = "ChampionModelDataUri"
# the latest version of any status: a re-run whose trained model is its artifact registers
# no copy (CheckAlreadyRegistered)
REGISTERED_PARAMETER = "RegisteredModelDataUri"
NO_CHAMPION_VALUES = ("", "none")  # what a person may type for "no champion"


@dataclass(frozen=True)
class Champion:
    arn: str
    version: int
    model_data_uri: str

    def describe(self) -> str:
        return f"version {self.version} ({self.arn}), model data {self.model_data_uri}"


def latest_in_sagemaker(sm: Any, group: str, status: str | None = None) -> Champion | None:
    """The newest package of `group` (of approval `status`, or any) in SageMaker's registry
    (None: none yet, or no such group)."""
    from botocore.exceptions import ClientError

    query: dict[str, Any] = {"ModelApprovalStatus": status} if status else {}
    try:
        listed = sm.list_model_packages(
            ModelPackageGroupName=group,
            ModelPackageType="Versioned",
            SortBy="CreationTime",
            SortOrder="Descending",
            MaxResults=1,
            **query,
        )["ModelPackageSummaryList"]
    except ClientError as exc:
        # a group that does not exist yet has no champion; anything else is reported
        if exc.response.get("Error", {}).get("Code") in ("ResourceNotFound", "ValidationException"):
            return None
        raise
    if not listed:
        return None
    package = sm.describe_model_package(ModelPackageName=listed[0]["ModelPackageArn"])
    return Champion(
        arn=package["ModelPackageArn"],
        version=int(package.get("ModelPackageVersion", 0)),
        model_data_uri=package["InferenceSpecification"]["Containers"][0]["ModelDataUrl"],
    )


def latest_locally(
    groups: dict[str, list[dict[str, Any]]], group: str, status: str | None = None
) -> Champion | None:
    """The newest version of `group` (of approval `status`, or any) in the embedded
    registry."""
    approved = [
        v for v in groups.get(group, []) if status is None or v["ModelApprovalStatus"] == status
    ]
    if not approved:
        return None
    latest = max(approved, key=lambda v: int(v["ModelPackageVersion"]))
    return Champion(
        arn=latest["ModelPackageArn"],
        version=int(latest["ModelPackageVersion"]),
        model_data_uri=latest["InferenceSpecification"]["Containers"][0]["ModelDataUrl"],
    )


def registered_group(definition: dict[str, Any]) -> str | None:
    """The model package group a definition registers into (its RegisterModel step)."""

    def walk(steps: list[dict[str, Any]]) -> str | None:
        for step in steps:
            if step.get("Type") == "RegisterModel":
                group = step.get("Arguments", {}).get("ModelPackageGroupName")
                return group if isinstance(group, str) else None
            if step.get("Type") == "Condition":
                arguments = step.get("Arguments", {})
                found = walk(arguments.get("IfSteps", []) + arguments.get("ElseSteps", []))
                if found:
                    return found
        return None

    return walk(definition.get("Steps", []))


def fill_champion(
    declared: list[dict[str, Any]],
    overrides: dict[str, Any],
    find: Callable[[], Champion | None],
    parameter: str = PARAMETER,
) -> tuple[dict[str, Any], Champion | None]:
    """Overrides with `parameter` (ChampionModelDataUri, or RegisteredModelDataUri) set to
    the model data of the version `find()` returns, unless the definition has no such
    parameter or the person gave one; "" or "none" mean the default (no model).

    Returns the overrides to start the run with and the version used (None: none).
    """
    if parameter not in {p["Name"] for p in declared}:
        return overrides, None
    given = overrides.get(parameter)
    if given is not None:
        if str(given).strip().lower() in NO_CHAMPION_VALUES:
            return {k: v for k, v in overrides.items() if k != parameter}, None
        return overrides, None
    champion = find()
    if champion is None:
        return overrides, None
    return {**overrides, parameter: champion.model_data_uri}, champion

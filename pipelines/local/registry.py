"""The local runner's embedded model registry: model package groups and versions in a JSON
file under the work directory, with approval status and the evaluation metrics.

Several processes may register into one work directory at once: every read-modify-write holds
an inter-process file lock, so version numbers are contiguous and never handed out twice.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipelines.contract import APPROVAL_STATUSES
from pipelines.files import locked, write_atomically


class RegistryError(ValueError):
    """Unknown group or version, or a bad approval status."""


class Registry:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / "registry.json"
        self._lock_path = folder / ".registry.lock"

    def _load(self) -> dict[str, Any]:
        if not self.path.is_file():
            return {"groups": {}}
        try:
            document = json.loads(self.path.read_text())
            if not isinstance(document.get("groups"), dict):
                raise ValueError("no 'groups' object")
        except (ValueError, AttributeError) as exc:
            raise RegistryError(
                f"{self.path} is not a registry file ({exc}); move it aside to start afresh"
            ) from None
        result: dict[str, Any] = document
        return result

    def _save(self, document: dict[str, Any]) -> None:
        write_atomically(self.path, json.dumps(document, indent=2, sort_keys=True))

    def register(self, group: str, region: str, package: dict[str, Any]) -> dict[str, Any]:
        """Add a version to `group` (created on first use); returns the new version.

        A package whose `ModelDataDigest` equals a version's (the same model artifact) is
        that version again: it is returned (marked AlreadyRegistered) and nothing is added,
        so re-running unchanged inputs does not fill the group with copies of one model."""
        status = package.get("ModelApprovalStatus") or "PendingManualApproval"
        if status not in APPROVAL_STATUSES:
            raise RegistryError(f"approval status {status!r} is not one of {APPROVAL_STATUSES}")
        with locked(self._lock_path):
            document = self._load()
            versions = document["groups"].setdefault(group, {"versions": []})["versions"]
            digest = package.get("ModelDataDigest")
            same = [v for v in versions if digest and v.get("ModelDataDigest") == digest]
            if same:
                return {**same[-1], "AlreadyRegistered": True}
            number = len(versions) + 1
            entry = {
                "ModelPackageGroupName": group,
                "ModelPackageVersion": number,
                "ModelPackageArn": f"arn:aws:sagemaker:{region}:local:model-package/"
                f"{group.lower()}/{number}",
                "ModelApprovalStatus": status,
                "CreationTime": datetime.now(UTC).isoformat(timespec="seconds"),
                **{k: v for k, v in package.items() if k != "ModelApprovalStatus"},
            }
            versions.append(entry)
            self._save(document)
            return entry

    def groups(self) -> dict[str, list[dict[str, Any]]]:
        return {name: g["versions"] for name, g in self._load()["groups"].items()}

    def set_status(self, group: str, version: int, status: str) -> dict[str, Any]:
        if status not in APPROVAL_STATUSES:
            raise RegistryError(
                f"approval status {status!r} is not one of {list(APPROVAL_STATUSES)}"
            )
        with locked(self._lock_path):
            document = self._load()
            if group not in document["groups"]:
                raise RegistryError(f"no model package group {group!r} in {self.path}")
            versions = document["groups"][group]["versions"]
            if not 1 <= version <= len(versions):
                raise RegistryError(
                    f"group {group!r} has versions 1..{len(versions)}, not {version}"
                )
            versions[version - 1]["ModelApprovalStatus"] = status
            self._save(document)
            entry: dict[str, Any] = versions[version - 1]
            return entry

    def annotate(self, group: str, version: int, key: str, value: str) -> None:
        """Record `key` (e.g. the MLflow run that logged it) on a version."""
        with locked(self._lock_path):
            document = self._load()
            versions = document["groups"].get(group, {}).get("versions", [])
            if not 1 <= version <= len(versions):
                raise RegistryError(f"group {group!r} has no version {version}")
            versions[version - 1][key] = value
            self._save(document)

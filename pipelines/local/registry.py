"""The local runner's embedded model registry: model package groups and versions in a JSON
file under the work directory, with approval status and the evaluation metrics."""

from __future__ import annotations

import json
import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

APPROVAL_STATUSES = ("Approved", "Rejected", "PendingManualApproval")


class RegistryError(ValueError):
    """Unknown group or version, or a bad approval status."""


class Registry:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / "registry.json"
        self._lock = threading.Lock()

    def _load(self) -> dict[str, Any]:
        if not self.path.is_file():
            return {"groups": {}}
        document: dict[str, Any] = json.loads(self.path.read_text())
        return document

    def _save(self, document: dict[str, Any]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(".registry.json.tmp")
        tmp.write_text(json.dumps(document, indent=2, sort_keys=True))
        os.replace(tmp, self.path)

    def register(self, group: str, region: str, package: dict[str, Any]) -> dict[str, Any]:
        """Add a version to `group` (created on first use); returns the new version."""
        status = package.get("ModelApprovalStatus") or "PendingManualApproval"
        if status not in APPROVAL_STATUSES:
            raise RegistryError(f"approval status {status!r} is not one of {APPROVAL_STATUSES}")
        with self._lock:
            document = self._load()
            versions = document["groups"].setdefault(group, {"versions": []})["versions"]
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
        with self._lock:
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

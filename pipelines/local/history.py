"""Past local executions, read from each execution folder's run.json (newest first)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class HistoryError(ValueError):
    """No such execution, or no executions at all."""


@dataclass(frozen=True)
class Execution:
    execution_id: str
    status: str
    seconds: float
    wape: float | None
    version: int | None
    folder: Path

    @property
    def report(self) -> Path | None:
        path = self.folder / "report.html"
        return path if path.is_file() else None


def _read(folder: Path) -> Execution | None:
    try:
        document: dict[str, Any] = json.loads((folder / "run.json").read_text())
    except (OSError, ValueError):
        return None  # a run still going, or one cut off before it wrote run.json
    metrics = document.get("metrics") or {}
    package = document.get("model_package") or {}
    return Execution(
        execution_id=str(document.get("execution_id", folder.name)),
        status=str(document.get("status", "")),
        seconds=float(document.get("seconds") or 0),
        wape=(metrics.get("wape") or {}).get("value"),
        version=package.get("ModelPackageVersion"),
        folder=folder,
    )


def executions(workdir: Path) -> list[Execution]:
    """Every execution with a run.json, newest first (ids sort by their start time)."""
    root = workdir / "executions"
    folders = (
        sorted((p for p in root.iterdir() if p.is_dir()), reverse=True) if root.is_dir() else []
    )
    return [e for e in map(_read, folders) if e is not None]


def find(workdir: Path, execution_id: str | None) -> Execution:
    """One execution (a unique prefix of its id will do), or the latest."""
    found = executions(workdir)
    if not found:
        raise HistoryError(f"no executions in {workdir}: run python -m pipelines.run first")
    if execution_id is None:
        return found[0]
    matches = [e for e in found if e.execution_id.startswith(execution_id)]
    if len(matches) != 1:
        known = ", ".join(e.execution_id for e in found[:5])
        what = "no" if not matches else f"{len(matches)}"
        raise HistoryError(f"{what} executions match {execution_id!r} (latest: {known})")
    return matches[0]


def table(found: list[Execution]) -> str:
    lines = [f"{'execution':<36} {'status':<10} {'seconds':>8} {'WAPE':>7}  version  report"]
    for e in found:
        wape = f"{e.wape:.4f}" if isinstance(e.wape, (int, float)) else "-"
        version = str(e.version) if e.version is not None else "-"
        lines.append(
            f"{e.execution_id:<36} {e.status:<10} {e.seconds:>8.1f} {wape:>7}  {version:<7}  "
            f"{e.report or '-'}"
        )
    return "\n".join(lines) + "\n"

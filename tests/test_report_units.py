"""report.html's pieces without a run: the DAG drawing, escaping, the history of runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.local import history, report


def test_the_dag_has_every_step_with_its_status(dev_definition: dict) -> None:
    steps = [{"name": "Preprocess", "status": "Succeeded", "seconds": 1.5, "cache_hit": True}]
    svg = report.dag_svg(dev_definition, steps)
    assert svg.count('<g class="step"') == 16
    assert 'data-step="Preprocess" data-status="Succeeded"' in svg
    assert "Succeeded 1.5s (cache)" in svg
    assert 'data-step="Train" data-status="NotRun"' in svg  # not in this run's steps
    assert 'stroke-dasharray="5,4"' in svg  # a false branch


def test_what_a_run_said_is_escaped_and_a_missing_evaluation_is_said(
    dev_definition: dict, tmp_path: Path
) -> None:
    document = {
        "execution_id": "local-1",
        "status": "Failed",
        "seconds": 3.0,
        "failure_reason": "Preprocess: column '<script>alert(1)</script>' is missing",
        "steps": [
            {
                "name": "Preprocess",
                "type": "Processing",
                "status": "Failed",
                "seconds": 3.0,
                "log": str(tmp_path / "Preprocess" / "job.log"),
            }
        ],
    }
    page = report.build(document, dev_definition, {"MaxDepth": 8}, tmp_path)
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "not evaluated" in page and "no forecast in this execution" in page
    assert '<a href="Preprocess/job.log">job.log</a>' in page
    assert "not registered: Preprocess: column" in page


def _run(workdir: Path, execution: str, status: str, wape: float | None) -> None:
    folder = workdir / "executions" / execution
    folder.mkdir(parents=True)
    document = {
        "execution_id": execution,
        "status": status,
        "seconds": 12.5,
        "metrics": {"wape": {"value": wape}} if wape else None,
        "model_package": {"ModelPackageVersion": 2} if wape else None,
    }
    (folder / "run.json").write_text(json.dumps(document))
    (folder / "report.html").write_text("<html></html>")


def test_runs_are_listed_newest_first_and_found_by_prefix(tmp_path: Path) -> None:
    _run(tmp_path, "local-20261201T100000-aaaaaa", "Succeeded", 0.0732)
    _run(tmp_path, "local-20261201T110000-bbbbbb", "Failed", None)
    (tmp_path / "executions" / "local-20261201T120000-cccccc").mkdir()  # still running
    found = history.executions(tmp_path)
    assert [e.execution_id[-6:] for e in found] == ["bbbbbb", "aaaaaa"]
    text = history.table(found)
    assert "Failed" in text.splitlines()[1] and "0.0732  2" in text.splitlines()[2]
    assert history.find(tmp_path, None).execution_id.endswith("bbbbbb")
    assert history.find(tmp_path, "local-20261201T10").execution_id.endswith("aaaaaa")
    with pytest.raises(history.HistoryError, match="2 executions match 'local'"):
        history.find(tmp_path, "local")
    with pytest.raises(history.HistoryError, match="no executions in"):
        history.find(tmp_path / "empty", None)

"""The Docker-free local runner, end to end on the real Rossmann data.

The runner is given the definition JSON saved to a file (what `upsert --dry-run` prints), so
it is the published JSON, not Python objects, that is executed.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from conftest import run_at_once

from pipelines import run
from pipelines.pipeline import definition
from pipelines.settings import load_settings

FORECAST = ["p10", "p50", "p90"]  # Batch Transform's answer after the keys and date

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def definition_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("definition") / "definition.json"
    path.write_text(definition(load_settings("dev")))
    return path


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("local-runs")


def run_json(
    definition_file: Path, workdir: Path, capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[int, dict[str, Any]]:
    code = run.main(
        [
            "--local",
            "--definition",
            str(definition_file),
            "--workdir",
            str(workdir),
            "--json",
            *extra,
        ]
    )
    captured = capsys.readouterr()
    result: dict[str, Any] = json.loads(captured.out)
    result["_progress"] = captured.err  # not the runner's: what it printed on stderr
    return code, result


def statuses(result: dict[str, Any]) -> dict[str, tuple[str, bool | None]]:
    return {s["name"]: (s["status"], s["cache_hit"]) for s in result["steps"]}


def test_first_run_succeeds_registers_and_forecasts(
    definition_file: Path, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, result = run_json(definition_file, workdir, capsys)
    assert code == 0, result["failure_reason"]
    assert result["status"] == "Succeeded" and result["failure_reason"] is None
    assert statuses(result) == {
        "Preprocess": ("Succeeded", False),
        "Train": ("Succeeded", False),
        "Evaluate": ("Succeeded", False),
        "CheckQuality": ("Succeeded", None),
        "RegisterModel": ("Succeeded", None),
        "CreateModel": ("Succeeded", None),
        "BatchTransform": ("Succeeded", False),
        "ModelQualityFail": ("Skipped", None),
        "MonitorDrift": ("Succeeded", False),
        "CheckDrift": ("Succeeded", None),
        "CheckAlreadyRegistered": ("Succeeded", None),
        "SevereDrift": ("Skipped", None),
        "CheckChampion": ("Succeeded", None),
        "ChampionNotBeaten": ("Skipped", None),
        "CheckChampionUri": ("Succeeded", None),
        "ChampionUriNotAModel": ("Skipped", None),
    }
    assert result["metrics"]["mape"]["value"] <= 0.075  # the back-test
    assert result["model_package"]["ModelPackageVersion"] == 1
    # live training progress, parsed from the job's log (piped: a line every 10 s)
    assert re.search(r"\] Train: round \d+/1000, validation-rmse 0\.\d{5}, ", result["_progress"])
    # nothing approved yet: no champion, judged on the thresholds alone
    assert result["champion"] is None
    assert result["evaluation"]["champion"]["present"] == 0
    # the batch of the same season as last year's reference rows: no severe drift
    assert result["drift"]["severe_features"] == []
    assert result["drift"]["reference"]["mode"] == "seasonal"
    assert result["model_package"]["ModelApprovalStatus"] == "PendingManualApproval"
    # every future row (the demo's held-back six weeks, open days) has a forecast with its
    # keys and date attached, and P10 <= P50 <= P90
    [predictions] = result["predictions"]
    out = pd.read_csv(predictions, header=None, names=["Store", "Date", *FORECAST])
    execution = Path(predictions).parents[1]  # .../executions/<id>/BatchTransform/<file>
    batch = pd.read_csv(execution / "Preprocess" / "batch" / "batch.csv", header=None)
    assert len(out) == len(batch) == 3654
    assert out[["Store", "Date"]].values.tolist() == batch[[0, 1]].values.tolist()
    assert (out["Date"].min(), out["Date"].max()) == ("2015-06-20", "2015-07-31")
    assert out["p50"].between(500, 60000).all()
    assert ((out["p10"] <= out["p50"]) & (out["p50"] <= out["p90"])).all()
    # once the held-back sales are known: how good the forecast was
    accuracy = result["accuracy_after_the_fact"]
    assert accuracy["rows"] == accuracy["forecast_rows"] == 3654
    assert accuracy["window"] == ["2015-06-20", "2015-07-31"]
    assert accuracy["wape"] < 0.1 and accuracy["mape_positive_actuals"] < 0.1
    assert 0.7 <= accuracy["coverage"] <= 0.9
    # the training job's metrics were parsed from its log with the metric definitions
    log = next(s["log"] for s in result["steps"] if s["name"] == "Train")
    assert "validation-mape=" in Path(log).read_text()


def chromium() -> str:
    """The OS's Chromium (apt-get install chromium), which Playwright drives."""
    import shutil

    found = (
        os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    )
    assert found, "the browser test needs Chromium: apt-get install chromium (or set CHROMIUM)"
    return found


def test_the_report_renders_in_a_real_browser(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """report.html of the first run, in headless Chromium: no console errors, the DAG with
    every step's status, every plot decoded; a screenshot goes to $CI_ARTIFACTS."""
    from playwright.sync_api import sync_playwright

    assert run.main(["runs", "list", "--workdir", str(workdir)]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed[0].split()[:3] == ["execution", "status", "seconds"]
    assert " Succeeded " in listed[1] and listed[1].rstrip().endswith("report.html")
    assert run.main(["show", "--workdir", str(workdir)]) == 0
    report = Path(capsys.readouterr().out.strip())
    document = json.loads((report.parent / "run.json").read_text())
    errors: list[str] = []
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(report.as_uri())
            page.wait_for_load_state("load")
            drawn = page.eval_on_selector_all(
                "#dag g.step", "els => els.map(e => [e.dataset.step, e.dataset.status])"
            )
            widths = page.eval_on_selector_all("img", "els => els.map(e => e.naturalWidth)")
            metrics = page.inner_text("#metrics")
            registry = page.inner_text("#registry")
            screenshots = Path(os.environ.get("CI_ARTIFACTS") or report.parent)
            screenshots.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(screenshots / "report.png"), full_page=True)
        finally:
            browser.close()
    assert errors == []
    assert sorted(map(tuple, drawn)) == sorted((s["name"], s["status"]) for s in document["steps"])
    # the forecast with its interval, then the three evaluation plots and drift.png
    assert len(widths) == 5 and all(w > 100 for w in widths)
    assert "WAPE" in metrics and "seasonal naive" in metrics
    assert registry == "registered store-sales-forecast version 1 (PendingManualApproval)"


def test_second_run_hits_the_cache_and_registers_no_copy(
    definition_file: Path, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, result = run_json(definition_file, workdir, capsys)
    assert code == 0
    jobs = {
        n: s
        for n, s in statuses(result).items()
        if n in ("Preprocess", "Train", "Evaluate", "BatchTransform")
    }
    assert jobs == {n: ("Succeeded", True) for n in jobs}
    # Train from the cache: the artifact of version 1 (RegisteredModelDataUri, filled from
    # the registry), so CheckAlreadyRegistered leaves RegisterModel out
    got = statuses(result)
    assert got["CheckAlreadyRegistered"] == ("Succeeded", None)
    assert got["RegisterModel"] == ("Skipped", None)
    assert got["BatchTransform"] == ("Succeeded", True)
    assert result["model_package"] is None
    assert result["already_registered"]["version"] == 1
    assert run.main(["registry", "--workdir", str(workdir), "list"]) == 0
    listing = capsys.readouterr().out
    assert "version 1" in listing and "version 2" not in listing


def test_six_cached_runs_at_once_on_one_workdir(
    definition_file: Path, workdir: Path, tmp_path: Path
) -> None:
    """Six terminals re-running the demo on one work directory: every run succeeds from the
    cache and finds its (identical) model registered already; no copy is added."""
    import shutil
    import sys

    shared = tmp_path / "shared"
    shutil.copytree(workdir, shared)
    before = len(
        json.loads((shared / "registry" / "registry.json").read_text())["groups"][
            "store-sales-forecast"
        ]["versions"]
    )
    argv = [sys.executable, "-m", "pipelines.run", "--local", "--definition"]
    argv += [str(definition_file), "--workdir", str(shared), "--json"]
    results = run_at_once(argv, 6)
    for result in results:
        jobs = {s["name"]: s["cache_hit"] for s in result["steps"] if s["cache_hit"] is not None}
        assert set(jobs.values()) == {True}, jobs
    assert {r["already_registered"]["version"] for r in results} == {before}
    stored = json.loads((shared / "registry" / "registry.json").read_text())
    group = stored["groups"]["store-sales-forecast"]["versions"]
    assert [v["ModelPackageVersion"] for v in group] == list(range(1, before + 1))


def test_a_champion_uri_typed_as_none_in_studio_stops_before_evaluate(
    definition_file: Path, workdir: Path
) -> None:
    """Studio passes what was typed; only the CLIs translate "none". The runner is given the
    raw value, as SageMaker would be."""
    from pipelines.local.runner import LocalRunner

    document = json.loads(definition_file.read_text())
    for typed in ("none", ""):
        result = LocalRunner(document, workdir, {"ChampionModelDataUri": typed}).run()
        got = {s.name: s.status for s in result.steps}
        assert got["ChampionUriNotAModel"] == "Failed"
        assert got["Evaluate"] == got["RegisterModel"] == "Skipped"
        assert result.failure_reason.startswith(
            f"ChampionModelDataUri '{typed}' is not a model artifact: keep its default (s3://"
        )
        assert result.model_package is None


def test_changing_a_hyperparameter_reruns_exactly_what_it_reaches(
    definition_file: Path, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, result = run_json(definition_file, workdir, capsys, "--param", "MaxDepth=6", "--mlflow")
    assert code == 0
    hits = {n: hit for n, (_, hit) in statuses(result).items() if hit is not None}
    # the drift check reads preprocess outputs only: its inputs did not change
    assert hits == {
        "Preprocess": True,
        "Train": False,
        "Evaluate": False,
        "BatchTransform": False,
        "MonitorDrift": True,
    }
    # --mlflow: the execution is a run in <workdir>/mlflow.db, and the version it registered
    # names that run (registry list shows it)
    import mlflow

    client = mlflow.MlflowClient(f"sqlite:///{(workdir / 'mlflow.db').resolve()}")
    logged = client.get_run(result["mlflow_run"])
    assert logged.data.params["MaxDepth"] == "6"
    assert logged.data.metrics["backtest_wape"] == pytest.approx(result["metrics"]["wape"]["value"])
    assert logged.data.tags["model_package.version"] == "2"
    names = {a.path for a in client.list_artifacts(logged.info.run_id, "report")}
    assert "report/report.html" in names and "report/feature_importance.png" in names
    assert [a.path for a in client.list_artifacts(logged.info.run_id, "model")] == [
        "model/model.tar.gz"
    ]
    assert run.main(["registry", "list", "--workdir", str(workdir)]) == 0
    assert f"mlflow run {result['mlflow_run']}" in capsys.readouterr().out


def test_two_transform_instances_get_one_batch_object_each(
    definition_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """prod runs Batch Transform on two instances, which share out whole S3 objects: the
    batch comes as two objects, and the forecast covers every row once."""
    code, result = run_json(
        definition_file, tmp_path, capsys, "--param", "TransformInstanceCount=2"
    )
    assert code == 0, result["failure_reason"]
    outputs = sorted(Path(p).name for p in result["predictions"])
    assert outputs == ["batch-000.csv.out", "batch-001.csv.out"]
    forecast = pd.concat(
        pd.read_csv(p, header=None, names=["Store", "Date", *FORECAST])
        for p in result["predictions"]
    )
    assert len(forecast) == 3654 and not forecast.duplicated(["Store", "Date"]).any()
    assert forecast.groupby("Store").ngroups == 100
    log = Path(next(s["log"] for s in result["steps"] if s["name"] == "BatchTransform"))
    assert "transform (algo-1): batch-000.csv:" in log.read_text()
    assert "transform (algo-2): batch-001.csv:" in log.read_text()


def test_quality_gate_fails_the_run_with_metric_and_threshold(
    definition_file: Path, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, result = run_json(definition_file, workdir, capsys, "--param", "MaxQualityMetric=0.01")
    assert code == 1
    assert result["status"] == "Failed"
    reason = result["failure_reason"]
    wape = result["evaluation"]["regression_metrics"]["wape"]["value"]
    assert 0.06 < wape < 0.08
    assert reason.startswith(f"Model not registered: back-test wape {wape} ")
    assert "(threshold MaxQualityMetric 0.01), skill vs the seasonal naive 0.5" in reason
    assert "(minimum MinSkillVsNaive 0.0); both must hold." in reason
    got = statuses(result)
    assert got["ModelQualityFail"] == ("Failed", None)
    for name in ("RegisterModel", "CreateModel", "BatchTransform"):
        assert got[name][0] == "Skipped"
    assert result["model_package"] is None
    registry = json.loads((workdir / "registry" / "registry.json").read_text())
    # version 1 and the MaxDepth=6 model of the test above, unchanged
    assert len(registry["groups"]["store-sales-forecast"]["versions"]) == 2


def test_failing_script_stops_downstream_and_keeps_the_log(
    definition_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("Date,Store,Sales,Open\n2015-01-01,1,100,1\n2015-01-01,1,120,1\n")
    code, result = run_json(definition_file, tmp_path / "work", capsys, "--input", str(bad))
    assert code == 1
    got = statuses(result)
    assert got["Preprocess"] == ("Failed", False)
    assert {got[n][0] for n in ("Train", "Evaluate", "CheckQuality")} == {"NotRun"}
    assert result["failure_reason"].startswith(
        "Preprocess: the job exited with status 2: preprocess: error: 2 rows share the same"
    )
    log = Path(next(s["log"] for s in result["steps"] if s["name"] == "Preprocess"))
    assert "2 rows share the same series and date" in log.read_text()


def test_table_output(
    definition_file: Path, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        run.main(["--local", "--definition", str(definition_file), "--workdir", str(workdir)]) == 0
    )
    out = capsys.readouterr()
    assert "Pipeline execution local-" in out.out and ": Succeeded in" in out.out
    # the latest version is the MaxDepth=6 model: RegisterModel runs and the registry
    # recognises version 1's artifact
    assert "MAPE" in out.out and "registered: store-sales-forecast version 1" in out.out
    assert "the same model artifact as this version, not registered again" in out.out
    assert "forecast: " in out.out
    assert "P10-P90 coverage" in out.out
    assert "accuracy after the fact (2015-06-20..2015-07-31, 3654 of 3654" in out.out
    assert "Preprocess: succeeded" in out.err and "(cached)" in out.err


def test_registry_approve(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        run.main(["registry", "--workdir", str(workdir), "approve", "store-sales-forecast", "1"])
        == 0
    )
    assert capsys.readouterr().out.endswith("model-package/store-sales-forecast/1: Approved\n")
    assert (
        run.main(["registry", "--workdir", str(workdir), "approve", "store-sales-forecast", "99"])
        == 2
    )
    assert "has versions 1.." in capsys.readouterr().err


def test_champion_rule_refuses_a_worse_model_with_the_reason(
    definition_file: Path, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # version 1 (default hyperparameters, back-test WAPE 0.0689) was approved just above
    before = len(
        json.loads((workdir / "registry" / "registry.json").read_text())["groups"][
            "store-sales-forecast"
        ]["versions"]
    )
    code, result = run_json(
        definition_file, workdir, capsys, "--param", "MaxDepth=3", "--param", "NumRound=60"
    )
    assert code == 1
    assert result["champion"]["version"] == 1
    champion = result["evaluation"]["champion"]
    assert champion["present"] == 1 and champion["improvement"] < -0.1
    assert champion["regression_metrics"]["wape"]["value"] == pytest.approx(0.0689, abs=5e-4)
    got = statuses(result)
    assert got["CheckQuality"][0] == got["CheckChampion"][0] == "Succeeded"
    assert got["ChampionNotBeaten"] == ("Failed", None)
    assert got["RegisterModel"][0] == got["BatchTransform"][0] == "Skipped"
    reason = result["failure_reason"]
    improvement = champion["improvement"]
    assert reason.startswith("Model not registered: champion rule: back-test WAPE 0.10")
    assert f"vs champion 0.0689: {-improvement:.1%} worse; " in reason
    assert f"relative improvement {improvement} " in reason
    assert "is below MinImprovement 0.0 " in reason
    after = json.loads((workdir / "registry" / "registry.json").read_text())
    assert len(after["groups"]["store-sales-forecast"]["versions"]) == before


def test_champion_rule_registers_a_model_at_least_as_good(
    definition_file: Path, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, result = run_json(definition_file, workdir, capsys)
    assert code == 0, result["failure_reason"]
    champion = result["evaluation"]["champion"]
    assert champion["improvement"] == 0.0 and champion["summary"].endswith("as good")
    # the champion itself, retrained from the cache: the latest version is the MaxDepth=6
    # model, so RegisterModel runs, and the registry finds the artifact is version 1's
    assert result["model_package"]["ModelPackageVersion"] == 1
    assert result["model_package"]["AlreadyRegistered"] is True
    # demanding a 5% improvement refuses the very same model
    code, result = run_json(definition_file, workdir, capsys, "--param", "MinImprovement=0.05")
    assert code == 1
    assert "is below MinImprovement 0.05 " in result["failure_reason"]
    # and "none" runs without a champion
    code, result = run_json(
        definition_file,
        workdir,
        capsys,
        "--param",
        "ChampionModelDataUri=none",
        "--param",
        "MinImprovement=0.05",
    )
    assert code == 0 and result["champion"] is None
    assert result["evaluation"]["champion"]["present"] == 0


def test_bad_parameter_is_refused_before_running(
    definition_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        run.main(
            [
                "--local",
                "--definition",
                str(definition_file),
                "--workdir",
                str(tmp_path),
                "--param",
                "MaxDepth=abc",
            ]
        )
        == 2
    )
    assert (
        capsys.readouterr().err == "run: error: --param MaxDepth='abc': expected an integer value\n"
    )
    assert not (tmp_path / "executions").exists()

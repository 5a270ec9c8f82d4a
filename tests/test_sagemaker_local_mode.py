"""`python -m pipelines.run --mode sagemaker-local`: the SDK's local mode, tested as far as a
machine without a Docker engine allows. A stand-in `docker` command on PATH stands for the
Docker CLI: it records every call, the compose file the SDK writes, and what is in each host
folder mounted into the container, then exits 0 without running anything. So the SDK starts
Preprocess, Train and Evaluate, and the run stops at CheckQuality (no evaluation.json was
produced), which is reported as the failure."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
import yaml

from pipelines import run
from pipelines.code_assets import code_assets

STAND_IN = f"""#!{sys.executable}
import json, os, sys
from pathlib import Path
args = sys.argv[1:]
entry = {{"argv": args}}
if "-f" in args:
    compose = Path(args[args.index("-f") + 1]).read_text()
    entry["compose"] = compose
    import yaml
    snapshot = {{}}
    for service in yaml.safe_load(compose)["services"].values():
        for volume in service.get("volumes", []):
            host, _, container = volume.partition(":")
            files = {{}}
            for p in sorted(Path(host).rglob("*")):
                if p.is_file():
                    rel = p.relative_to(host).as_posix()
                    files[rel] = p.read_text() if p.suffix == ".json" else p.stat().st_size
            snapshot[container] = files
    entry["mounted"] = snapshot
with open(os.environ["STAND_IN_DOCKER_LOG"], "a") as log:
    log.write(json.dumps(entry) + "\\n")
if args[:1] == ["info"] and os.environ.get("STAND_IN_DOCKER_ENGINE") == "down":
    print("Cannot connect to the Docker daemon at unix:///var/run/docker.sock.", file=sys.stderr)
    sys.exit(1)
if args[:2] == ["compose", "version"]:
    print("Docker Compose version v2.29.0")
if args[:1] == ["images"]:
    print("sha256:0123456789ab")
"""


@pytest.fixture
def docker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "bin"
    folder.mkdir()
    (folder / "docker").write_text(STAND_IN)
    (folder / "docker").chmod(0o755)
    log = tmp_path / "docker-calls.jsonl"
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("STAND_IN_DOCKER_LOG", str(log))
    return log


def jobs(log: Path) -> list[dict]:
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    return [c for c in calls if "compose" in c]


def service(job: dict) -> dict:
    [only] = yaml.safe_load(job["compose"])["services"].values()
    return only


def script_of(job: dict) -> str:
    """The script a job's container runs: a processing script named in its entrypoint, or
    train (the training container's command)."""
    entrypoint = service(job).get("entrypoint") or []
    scripts = [a.rsplit("/", 1)[-1] for a in entrypoint if a.endswith(".py")]
    return scripts[0] if scripts else "train"


def test_sdk_starts_each_container_with_our_script_arguments_and_volumes(
    docker: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run.main(
        [
            "--mode",
            "sagemaker-local",
            "--workdir",
            str(tmp_path / "work"),
            "--param",
            "NumRound=5",
            "--json",
        ]
    )
    result = json.loads(capsys.readouterr().out)
    assert code == 1
    statuses = {s["name"]: s["status"] for s in result["steps"]}
    # MonitorDrift depends on Preprocess only; the SDK's executor may reach it before or
    # after CheckQuality fails the execution (its order among ready steps varies by run)
    drift = statuses.pop("MonitorDrift", None)
    assert drift in (None, "Succeeded")
    assert statuses == {
        "Preprocess": "Succeeded",
        "Train": "Succeeded",
        "CheckChampionUri": "Succeeded",
        "Evaluate": "Succeeded",
        "CheckQuality": "Failed",
    }  # RegisterModel is not in the local-mode variant
    assert result["failure_reason"].startswith("CheckQuality: ")
    started = jobs(docker)
    assert len(started) == (4 if drift else 3)
    by_script = {script_of(job): job for job in started}
    preprocess, train = by_script["preprocess.py"], by_script["train"]
    evaluate = by_script["evaluate.py"]
    assets = code_assets()

    pre = service(preprocess)
    assert pre["image"].endswith("/sagemaker-xgboost:3.0-5")
    assert pre["entrypoint"][:2] == ["python3", "/opt/ml/processing/input/code/preprocess.py"]
    args = pre["entrypoint"][2:]
    assert args[args.index("--input-dir") + 1] == "/opt/ml/processing/input/data"
    assert args[args.index("--train-dir") + 1] == "/opt/ml/processing/train"
    assert args[args.index("--batch-dir") + 1] == "/opt/ml/processing/batch"
    mounted = preprocess["mounted"]
    assert mounted["/opt/ml/processing/input/code"] == {
        name: path.stat().st_size for path, name in assets.processing.members
    }
    # the demo input: Rossmann with the last six weeks' sales held back
    assert mounted["/opt/ml/processing/input/data"] == {"rossmann_top100.csv": 5_189_899}
    # local mode refuses ShardedByS3Key (its one instance takes all of the input anyway)
    assert mounted["/opt/ml/processing/input/scan"] == mounted["/opt/ml/processing/input/data"]
    for output in ("train", "validation", "test", "history", "reference", "schema", "batch"):
        assert f"/opt/ml/processing/{output}" in mounted

    tr = service(train)
    assert tr["command"] == "train"
    mounted = train["mounted"]
    hyperparameters = json.loads(mounted["/opt/ml/input"]["config/hyperparameters.json"])
    assert json.loads(hyperparameters["sagemaker_program"]) == "train.py"
    assert (
        json.loads(hyperparameters["sagemaker_submit_directory"])
        == "/opt/ml/input/data/code/sourcedir.tar.gz"
    )
    assert hyperparameters["num_round"] == "5"
    assert mounted["/opt/ml/input/data/code"] == {"sourcedir.tar.gz": len(assets.training.payload)}
    for channel in ("train", "validation", "history", "schema"):
        assert f"/opt/ml/input/data/{channel}" in mounted

    ev = service(evaluate)
    assert ev["entrypoint"][:2] == ["python3", "/opt/ml/processing/input/code/evaluate.py"]
    assert {
        "/opt/ml/processing/input/model",
        "/opt/ml/processing/input/test",
        "/opt/ml/processing/input/history",
        "/opt/ml/processing/evaluation",
    } <= set(evaluate["mounted"])
    assert "model.tar.gz" in evaluate["mounted"]["/opt/ml/processing/input/model"]


def test_without_a_docker_engine_it_stops_with_a_clear_message(
    docker: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("STAND_IN_DOCKER_ENGINE", "down")
    assert run.main(["--mode", "sagemaker-local", "--workdir", str(tmp_path / "w")]) == 2
    err = capsys.readouterr().err
    assert err == (
        "run: error: SageMaker local mode needs a running Docker engine: `docker "
        "info` failed: Cannot connect to the Docker daemon at "
        "unix:///var/run/docker.sock.; the Docker-free runner needs none: "
        "python -m pipelines.run --local\n"
    )


def test_without_docker_at_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no docker anywhere
    assert run.main(["--mode", "sagemaker-local", "--workdir", str(tmp_path / "w")]) == 2
    assert "there is no `docker` command on PATH" in capsys.readouterr().err

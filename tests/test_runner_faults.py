"""Faults in the local runner: a job that times out, one that is killed, one that fails, and
an interrupted run (Ctrl-C). Downstream steps do not run, logs and outputs so far are kept,
and the next run resumes from the cache. Also: progress from steps running at once.

The definition is written by hand: two processing steps, the second reading the first's
output, both running a small script whose behaviour the test picks.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipelines.local.runner import LocalRunner
from pipelines.local.storage import LocalS3

SCRIPT = """
import os, signal, sys, time
from pathlib import Path
mode = sys.argv[1]
out = Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
print(f"step running in mode {mode}", flush=True)
if mode == "sleep" and os.environ.get("FAULT_SLEEP"):
    time.sleep(float(os.environ["FAULT_SLEEP"]))
if mode == "kill":
    os.kill(os.getpid(), signal.SIGKILL)
if mode == "fail":
    print("script: error: something went wrong", file=sys.stderr)
    sys.exit(3)
(out / "result.txt").write_text(mode)
"""
CODE = "s3://bucket/code/fault.py"


def step(name: str, mode: str, source: object, timeout: int = 600) -> dict:
    return {
        "Name": name,
        "Type": "Processing",
        "CacheConfig": {"Enabled": True, "ExpireAfter": "P1D"},
        "Arguments": {
            "AppSpecification": {
                "ImageUri": "local",
                "ContainerEntrypoint": ["python3", "/opt/ml/processing/input/code/fault.py"],
                "ContainerArguments": [mode, "/opt/ml/processing/output"],
            },
            "ProcessingInputs": [
                {
                    "InputName": "code",
                    "S3Input": {"S3Uri": CODE, "LocalPath": "/opt/ml/processing/input/code"},
                },
                {
                    "InputName": "data",
                    "S3Input": {"S3Uri": source, "LocalPath": "/opt/ml/processing/input/data"},
                },
            ],
            "ProcessingOutputConfig": {
                "Outputs": [
                    {
                        "OutputName": "out",
                        "S3Output": {
                            "S3Uri": {
                                "Std:Join": {
                                    "On": "/",
                                    "Values": [
                                        "s3://bucket/executions",
                                        {"Get": "Execution.PipelineExecutionId"},
                                        name,
                                    ],
                                }
                            },
                            "LocalPath": "/opt/ml/processing/output",
                        },
                    }
                ]
            },
            "StoppingCondition": {"MaxRuntimeInSeconds": timeout},
        },
    }


def definition(first_mode: str, second_mode: str = "ok", timeout: int = 600) -> dict:
    first_out = {"Get": "Steps.First.ProcessingOutputConfig.Outputs['out'].S3Output.S3Uri"}
    return {
        "Version": "2020-12-01",
        "Parameters": [],
        "Steps": [
            step("First", first_mode, "s3://bucket/data/", timeout),
            step("Second", second_mode, first_out),
        ],
    }


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    s3 = LocalS3(tmp_path / "s3")
    s3.put_bytes(SCRIPT.encode(), CODE)
    s3.put_bytes(b"x\n", "s3://bucket/data/input.txt")
    return tmp_path


def statuses(result: object) -> dict[str, str]:
    return {s.name: s.status for s in result.steps}  # type: ignore[attr-defined]


def test_timeout_is_honoured(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAULT_SLEEP", "30")
    started = time.perf_counter()
    result = LocalRunner(definition("sleep", timeout=1), workdir).run()
    assert time.perf_counter() - started < 20
    assert statuses(result) == {"First": "Failed", "Second": "NotRun"}
    assert result.failure_reason.startswith("First: stopped after MaxRuntimeInSeconds=1; log: ")
    log = Path(result.steps[0].log)
    assert "step running in mode sleep" in log.read_text()


def test_killed_job(workdir: Path) -> None:
    result = LocalRunner(definition("kill"), workdir).run()
    assert statuses(result) == {"First": "Failed", "Second": "NotRun"}
    assert "First: the job was killed by signal 9" in result.failure_reason


def test_failing_job_keeps_its_log_and_stops_downstream(workdir: Path) -> None:
    result = LocalRunner(definition("fail"), workdir).run()
    assert statuses(result) == {"First": "Failed", "Second": "NotRun"}
    assert result.failure_reason.startswith(
        "First: the job exited with status 3: script: error: something went wrong; log: "
    )
    assert not list((workdir / "cache").rglob("*.json"))  # nothing cached for a failure
    # the failed job's partial output never reached (local) S3
    assert not (workdir / "s3" / "bucket" / "executions").exists()


def test_progress_lines_of_parallel_steps_never_interleave(workdir: Path) -> None:
    # two independent steps run at once on the runner's worker threads
    both = {
        "Version": "2020-12-01",
        "Parameters": [],
        "Steps": [
            step("Left", "ok", "s3://bucket/data/"),
            step("Right", "ok", "s3://bucket/data/"),
        ],
    }
    active: list[str] = []
    overlapped: list[str] = []
    lines: list[str] = []

    def progress(line: str) -> None:  # a slow terminal: any concurrent call is caught
        if active:
            overlapped.append(line)
        active.append(line)
        time.sleep(0.05)
        lines.append(line)
        active.pop()

    result = LocalRunner(both, workdir, progress=progress).run()
    assert statuses(result) == {"Left": "Succeeded", "Right": "Succeeded"}
    assert overlapped == []
    assert sorted(line.split(" in ")[0] for line in lines) == [
        "Left: running",
        "Left: succeeded",
        "Right: running",
        "Right: succeeded",
    ]


def test_interrupted_run_resumes_from_the_cache(workdir: Path) -> None:
    path = workdir / "definition.json"
    path.write_text(json.dumps(definition("ok", "sleep")))
    argv = [
        sys.executable,
        "-m",
        "pipelines.run",
        "--local",
        "--definition",
        str(path),
        "--workdir",
        str(workdir),
        "--json",
    ]
    env = {**os.environ, "FAULT_SLEEP": "60"}
    process = subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.time() + 60
    log = None
    while time.time() < deadline and log is None:
        time.sleep(0.2)
        found = list(workdir.glob("executions/*/Second/job.log"))
        if found and "mode sleep" in found[0].read_text():
            log = found[0]
    assert log is not None, "the second step never started"
    started = time.perf_counter()
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert time.perf_counter() - started < 15  # the sleeping job was stopped, not awaited
    assert process.returncode == 1, err
    result = json.loads(out)
    assert result["failure_reason"].startswith("interrupted (Ctrl-C)")
    assert {s["name"]: s["status"] for s in result["steps"]} == {
        "First": "Succeeded",
        "Second": "Failed",
    }
    assert "mode sleep" in log.read_text()  # the log is kept
    # the next run resumes: First comes from the cache, Second runs (quickly this time)
    again = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        check=False,
        env={k: v for k, v in os.environ.items() if k != "FAULT_SLEEP"},
    )
    assert again.returncode == 0, again.stderr
    steps = {s["name"]: (s["status"], s["cache_hit"]) for s in json.loads(again.stdout)["steps"]}
    assert steps == {"First": ("Succeeded", True), "Second": ("Succeeded", False)}

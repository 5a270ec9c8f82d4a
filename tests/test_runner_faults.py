"""Faults in the local runner: a job that times out, one that is killed, one that fails, and
an interrupted run (Ctrl-C). Downstream steps do not run, logs and outputs so far are kept,
and the next run resumes from the cache. Also: progress from steps running at once.

The definition is written by hand: two processing steps, the second reading the first's
output, both running a small script whose behaviour the test picks. That script is not one of
the project's own, so every run here is started with allow_commands (--allow-commands), and
what it reads from its environment comes from the definition (a job inherits nothing else).
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
from conftest import processing_step

from pipelines.local.runner import DefinitionError, LocalRunner
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
if mode in ("rename-across", "move-across"):  # stage beside the output, then move it in
    beside = out.parent / ".staging"
    beside.mkdir(exist_ok=True)
    (beside / "result.txt").write_text(mode)
    if mode == "move-across":
        import shutil
        shutil.move(str(beside / "result.txt"), str(out / "result.txt"))
    else:
        os.replace(beside / "result.txt", out / "result.txt")
    sys.exit(0)
if mode == "env":
    (out / "env.txt").write_text(" ".join(sorted(os.environ)))
if mode == "second-instance-fails":  # algo-2 fails at once; algo-1 would run on for 60 s
    import json
    host = json.loads(Path(sys.argv[3]).read_text())["current_host"]
    if host == "algo-2":
        print("script: error: algo-2 gave up", file=sys.stderr)
        sys.exit(2)
    time.sleep(60)
(out / "result.txt").write_text(mode)
"""
CODE = "s3://bucket/code/fault.py"


def step(name: str, mode: str, source: object, timeout: int = 600, sleep: float = 0) -> dict:
    environment = {"FAULT_SLEEP": str(sleep)} if sleep else {}
    arguments = [mode, "/opt/ml/processing/output"]
    return processing_step(name, CODE, arguments, source, environment, timeout)


def definition(
    first_mode: str, second_mode: str = "ok", timeout: int = 600, sleep: float = 0
) -> dict:
    """`sleep` seconds go to whichever step runs in mode "sleep"."""
    first_out = {"Get": "Steps.First.ProcessingOutputConfig.Outputs['out'].S3Output.S3Uri"}
    first_sleep = sleep * (first_mode == "sleep")
    return {
        "Version": "2020-12-01",
        "Parameters": [],
        "Steps": [
            step("First", first_mode, "s3://bucket/data/", timeout, sleep=first_sleep),
            step("Second", second_mode, first_out, sleep=sleep * (second_mode == "sleep")),
        ],
    }


def runner(document: dict, workdir: Path, **options: object) -> LocalRunner:
    return LocalRunner(document, workdir, allow_commands=True, **options)  # type: ignore[arg-type]


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    s3 = LocalS3(tmp_path / "s3")
    s3.put_bytes(SCRIPT.encode(), CODE)
    s3.put_bytes(b"x\n", "s3://bucket/data/input.txt")
    return tmp_path


def statuses(result: object) -> dict[str, str]:
    return {s.name: s.status for s in result.steps}  # type: ignore[attr-defined]


def test_timeout_is_honoured(workdir: Path) -> None:
    started = time.perf_counter()
    result = runner(definition("sleep", timeout=1, sleep=30), workdir).run()
    assert time.perf_counter() - started < 20
    assert statuses(result) == {"First": "Failed", "Second": "NotRun"}
    assert result.failure_reason.startswith("First: stopped after MaxRuntimeInSeconds=1; log: ")
    log = Path(result.steps[0].log)
    assert "step running in mode sleep" in log.read_text()


def test_killed_job(workdir: Path) -> None:
    result = runner(definition("kill"), workdir).run()
    assert statuses(result) == {"First": "Failed", "Second": "NotRun"}
    assert "First: the job was killed by signal 9" in result.failure_reason


def test_failing_job_keeps_its_log_and_stops_downstream(workdir: Path) -> None:
    result = runner(definition("fail"), workdir).run()
    assert statuses(result) == {"First": "Failed", "Second": "NotRun"}
    assert result.failure_reason.startswith(
        "First: the job exited with status 3: script: error: something went wrong; log: "
    )
    assert not list((workdir / "cache").rglob("*.json"))  # nothing cached for a failure
    # the failed job's partial output never reached (local) S3
    assert not (workdir / "s3" / "bucket" / "executions").exists()


def test_one_failed_instance_stops_the_others_and_fails_the_job(workdir: Path) -> None:
    """A processing job on two instances: algo-2 fails, algo-1 (which would run on for a
    minute) is stopped, and the reason names the instance and its log."""
    first = step("First", "second-instance-fails", "s3://bucket/data/")
    first["Arguments"]["AppSpecification"]["ContainerArguments"].append(
        "/opt/ml/config/resourceconfig.json"
    )
    first["Arguments"]["ProcessingResources"]["ClusterConfig"]["InstanceCount"] = 2
    document = {"Version": "2020-12-01", "Parameters": [], "Steps": [first]}
    started = time.perf_counter()
    result = runner(document, workdir).run()
    assert time.perf_counter() - started < 30
    assert statuses(result) == {"First": "Failed"}
    assert result.failure_reason.startswith(
        "First: the job exited with status 2 on algo-2: script: error: algo-2 gave up; log: "
    )
    assert result.failure_reason.endswith("First/algo-2/job.log")
    log = next((workdir / "executions").iterdir()) / "First" / "job.log"
    assert "==> algo-1" in log.read_text() and "algo-2 gave up" in log.read_text()


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

    result = runner(both, workdir, progress=progress).run()
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
    path.write_text(json.dumps(definition("ok", "sleep", sleep=60)))
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
        "--allow-commands",
    ]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
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
    path.write_text(json.dumps(definition("ok", "sleep")))
    again = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert again.returncode == 0, again.stderr
    steps = {s["name"]: (s["status"], s["cache_hit"]) for s in json.loads(again.stdout)["steps"]}
    assert steps == {"First": ("Succeeded", True), "Second": ("Succeeded", False)}


# --------------------------------------------------------------------------- commands and env


def test_a_foreign_script_runs_only_with_allow_commands(workdir: Path) -> None:
    result = LocalRunner(definition("ok"), workdir).run()
    assert statuses(result) == {"First": "Failed", "Second": "NotRun"}
    assert result.failure_reason == (
        "First: entrypoint script /opt/ml/processing/input/code/fault.py is not one of this "
        "project's own scripts; a definition that runs other code needs --allow-commands"
    )
    log = workdir / "executions" / result.execution_id / "First" / "job.log"
    assert not log.exists()  # refused before it started
    assert statuses(runner(definition("ok"), workdir).run()) == {
        "First": "Succeeded",
        "Second": "Succeeded",
    }


def test_a_shell_entrypoint_is_refused_before_anything_runs(workdir: Path) -> None:
    document = definition("ok")
    document["Steps"][1]["Arguments"]["AppSpecification"]["ContainerEntrypoint"] = [
        "bash",
        "-c",
        "rm -rf ~",
    ]
    with pytest.raises(DefinitionError, match=r"^step 'Second': entrypoint \['bash', '-c'"):
        LocalRunner(document, workdir)
    assert not (workdir / "executions").exists()


def test_jobs_see_only_their_own_environment(workdir: Path) -> None:
    assert os.environ["AWS_SECRET_ACCESS_KEY"]  # conftest's fake credentials are set here
    document = definition("env")
    document["Steps"][0]["Arguments"]["Environment"] = {"JOB_SETTING": "1"}
    result = runner(document, workdir).run()
    assert result.status == "Succeeded", result.failure_reason
    out = workdir / "s3" / "bucket" / "executions" / result.execution_id / "First" / "env.txt"
    names = set(out.read_text().split())
    assert "JOB_SETTING" in names and "PATH" in names
    assert not {n for n in names if n.startswith("AWS_")}


# --------------------------------------------------------------------------- storage faults


def test_a_torn_cache_entry_is_named_ignored_and_rewritten(workdir: Path) -> None:
    assert runner(definition("ok"), workdir).run().status == "Succeeded"
    [entry, *_] = sorted((workdir / "cache" / "First").glob("*.json"))
    entry.write_text('{"time": "2026-')  # a crash mid-write, as the old runner could leave
    lines: list[str] = []
    result = runner(definition("ok"), workdir, progress=lines.append).run()
    assert result.status == "Succeeded"
    assert result.steps[0].cache_hit is False
    assert any(
        line.startswith(f"First: cache entry {entry} is unreadable (")
        and line.endswith("ignored, the step runs and rewrites it")
        for line in lines
    )
    assert json.loads(entry.read_text())["execution"] == result.execution_id
    assert runner(definition("ok"), workdir).run().steps[0].cache_hit is True


def test_a_full_disk_fails_the_step_in_one_line_and_keeps_run_json(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    def full(self: LocalS3, source: Path, uri: str) -> None:  # stands for the disk filling up
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(LocalS3, "put_file", full)
    result = runner(definition("ok"), workdir).run()
    assert statuses(result) == {"First": "Failed", "Second": "NotRun"}
    assert result.failure_reason == "First: [Errno 28] No space left on device"
    saved = json.loads((workdir / "executions" / result.execution_id / "run.json").read_text())
    assert saved["status"] == "Failed" and saved["failure_reason"] == result.failure_reason


@pytest.mark.parametrize(
    "output",
    [
        "s3://bucket//{outside}/",
        "s3://bucket/../{name}/",
        {"Std:Join": {"On": "/", "Values": ["s3://bucket", "", "{outside}"]}},
    ],
)
def test_a_step_output_outside_the_work_directory_is_refused(
    workdir: Path, tmp_path_factory: pytest.TempPathFactory, output: object
) -> None:
    outside = tmp_path_factory.mktemp("precious")
    (outside / "keep.txt").write_text("mine")
    text = json.dumps(output).replace("{outside}", str(outside).lstrip("/"))
    text = text.replace("{name}", outside.name)
    document = definition("ok")
    out = document["Steps"][0]["Arguments"]["ProcessingOutputConfig"]["Outputs"][0]
    out["S3Output"]["S3Uri"] = json.loads(text)
    try:
        result = runner(document, workdir).run()
    except DefinitionError as exc:  # a literal URI: refused before anything runs
        assert str(exc).startswith("step 'First': ")
        assert "the key has an empty, '.' or '..' segment" in str(exc)
    else:  # built by a Join: refused when the step resolves it, before its job starts
        assert statuses(result) == {"First": "Failed", "Second": "NotRun"}
        assert result.failure_reason.startswith("First: output 'out': ")
        assert not (workdir / "executions" / result.execution_id / "First" / "job.log").exists()
    assert [p.name for p in outside.iterdir()] == ["keep.txt"]
    assert (outside / "keep.txt").read_text() == "mine"


def test_an_unsafe_model_tarball_fails_the_transform_in_one_line(
    workdir: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    import io
    import tarfile

    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        info = tarfile.TarInfo("../../escaped.txt")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"bad"))
    s3 = LocalS3(workdir / "s3")
    s3.put_bytes(raw.getvalue(), "s3://bucket/model/model.tar.gz")
    s3.put_bytes(b"1,2\n", "s3://bucket/batch/batch.csv")
    document = {
        "Version": "2020-12-01",
        "Parameters": [],
        "Steps": [
            {
                "Name": "CreateModel",
                "Type": "Model",
                "Arguments": {
                    "ExecutionRoleArn": "arn:aws:iam::123456789012:role/R",
                    "PrimaryContainer": {
                        "Image": "local",
                        "ModelDataUrl": "s3://bucket/model/model.tar.gz",
                    },
                },
            },
            {
                "Name": "BatchTransform",
                "Type": "Transform",
                "Arguments": {
                    "ModelName": {"Get": "Steps.CreateModel.ModelName"},
                    "TransformInput": {
                        "DataSource": {
                            "S3DataSource": {
                                "S3DataType": "S3Prefix",
                                "S3Uri": "s3://bucket/batch/",
                            }
                        },
                        "ContentType": "text/csv",
                        "SplitType": "Line",
                    },
                    "TransformOutput": {"S3OutputPath": "s3://bucket/out/"},
                    "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
                },
            },
        ],
    }
    result = LocalRunner(document, workdir).run()
    assert result.status == "Failed"
    assert result.failure_reason.startswith(
        "BatchTransform: model artifact model.tar.gz cannot be unpacked safely: "
    )
    assert "\n" not in result.failure_reason
    sandbox = workdir / "executions" / result.execution_id / "BatchTransform"
    assert not list(workdir.parent.rglob("escaped.txt"))
    assert not (sandbox / "output").exists()


# --------------------------------------------------------------------------- channels as mounts


def test_a_rename_across_channels_fails_as_in_sagemaker(workdir: Path) -> None:
    """SageMaker mounts each processing input and output path as its own volume: a rename
    from beside the output folder into it fails with EXDEV there, so it fails here too."""
    result = runner(definition("rename-across"), workdir).run()
    assert statuses(result) == {"First": "Failed", "Second": "NotRun"}
    assert "OSError: [Errno 18] Invalid cross-device link" in result.failure_reason
    # shutil.move falls back to a copy, exactly as across real mounts
    moved = runner(definition("move-across"), workdir).run()
    assert statuses(moved) == {"First": "Succeeded", "Second": "Succeeded"}
    out = workdir / "s3" / "bucket" / "executions" / moved.execution_id / "First" / "result.txt"
    assert out.read_text() == "move-across"


def test_a_request_sagemaker_would_refuse_fails_before_its_job(workdir: Path) -> None:
    """Checked against botocore's service model, as the API checks it: locally the job
    would have run; in SageMaker the execution would fail at this step."""
    document = definition("ok")
    resources = document["Steps"][0]["Arguments"]["ProcessingResources"]["ClusterConfig"]
    resources["InstanceCount"] = "two"
    result = runner(document, workdir).run()
    assert statuses(result) == {"First": "Failed", "Second": "NotRun"}
    assert result.failure_reason == (
        "First: SageMaker would refuse the request: Invalid type for parameter "
        "ProcessingResources.ClusterConfig.InstanceCount, value: two, type: <class 'str'>, "
        "valid types: <class 'int'>"
    )
    assert not (workdir / "executions" / result.execution_id / "First" / "job.log").exists()

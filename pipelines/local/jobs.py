"""Run one resolved step the way SageMaker runs its job, on this machine.

Each job gets a sandbox folder standing in for the container's filesystem: every argument
and path that starts with /opt/ml/ is mapped into `<sandbox>/opt/ml/`, inputs are copied in,
the script runs as a subprocess with the job's environment, and outputs are copied to the
local S3 folder. The job's log is kept in the sandbox whatever happens.

A job runs only this project's own scripts (checked by content just before it starts) unless
the caller allows other commands, and it sees only the environment it needs: its own
variables plus a short allowlist, never the caller's credentials.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import signal
import subprocess  # nosec B404
import sys
import tarfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.files import write_atomically
from pipelines.local.storage import LocalS3, file_digest

CONTAINER_ROOT = "/opt/ml/"
# What a job inherits from the caller's environment; everything else (AWS_*, tokens, the
# caller's secrets) stays out, as it would in a container.
PASSED_ENVIRONMENT = (
    "PATH",
    "HOME",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "TMPDIR",
    "PYTHONPATH",
    "SYSTEMROOT",
    "OMP_NUM_THREADS",
)
_RUNNING: set[subprocess.Popen[bytes]] = set()
_RUNNING_LOCK = threading.Lock()


def stop_all() -> None:
    """Kill every job process still running (the run was interrupted)."""
    with _RUNNING_LOCK:
        for process in list(_RUNNING):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)


class JobFailed(RuntimeError):
    """A job ended badly; the message is the step's failure reason."""


@dataclass
class JobContext:
    step: str
    sandbox: Path
    s3: LocalS3
    job_name: str
    # SHA-256 digests of the scripts a job may run (this project's own); None: any command
    trusted: frozenset[str] | None = None
    # live progress of a long job (a training job's rounds); None: none reported
    live: Callable[[str], None] | None = None

    @property
    def log_path(self) -> Path:
        return self.sandbox / "job.log"

    def container_path(self, path: str) -> str:
        """Map a container path (/opt/ml/...) into the sandbox; leave anything else."""
        if isinstance(path, str) and path.startswith(CONTAINER_ROOT):
            return str(self.sandbox / path.lstrip("/"))
        return path

    def check_script(self, script: Path, what: str) -> None:
        """Refuse to run `script` unless it is one of the project's own (or all are allowed)."""
        if self.trusted is None:
            return
        inside = script.resolve().is_relative_to(self.sandbox.resolve())
        if not (inside and script.is_file() and file_digest(script) in self.trusted):
            raise JobFailed(
                f"{self.step}: {what} is not one of this project's own scripts; a definition "
                "that runs other code needs --allow-commands"
            )


JOB_SITE = Path(__file__).resolve().parent / "job_site"  # sitecustomize: one mount per channel


def job_environment(env: dict[str, str], mounts: list[Path]) -> dict[str, str]:
    """The allowlisted part of this process's environment plus the job's own variables, and
    the channel folders that behave as separate mounts (job_site/sitecustomize.py)."""
    inherited = {k: v for k in PASSED_ENVIRONMENT if (v := os.environ.get(k)) is not None}
    parts = (str(JOB_SITE), env.get("PYTHONPATH", ""), inherited.get("PYTHONPATH", ""))
    path = os.pathsep.join(p for p in parts if p)
    return {
        **inherited,
        **env,
        "PYTHONPATH": path,
        "PYTHONUNBUFFERED": "1",
        "LOCAL_RUNNER_MOUNTS": json.dumps(sorted(str(m) for m in mounts)),
    }


def extract(archive: Path, target: Path, what: str, step: str) -> None:
    """Unpack a tarball with the 'data' filter; an unsafe or broken one fails the step."""
    try:
        with tarfile.open(archive) as tar:
            tar.extractall(target, filter="data")
    except (tarfile.TarError, OSError) as exc:
        raise JobFailed(f"{step}: {what} {archive.name} cannot be unpacked safely: {exc}") from None


def run_subprocess(
    ctx: JobContext,
    command: list[str],
    env: dict[str, str],
    cwd: Path,
    timeout: float | None,
    mounts: list[Path],
    append: bool = False,
) -> str:
    """Run the job's process, tee its output to the job log, honour MaxRuntimeInSeconds.
    Each of `mounts` behaves as its own filesystem inside the job.

    Returns the log text. Raises JobFailed naming the exit status, signal or timeout.
    """
    ctx.sandbox.mkdir(parents=True, exist_ok=True)
    full_env = job_environment(env, mounts)
    with ctx.log_path.open("a" if append else "w") as log:
        log.write(f"$ {' '.join(command)}\n")
        log.flush()
        # The job's own entrypoint from the definition, as a container would run it; an
        # argument list, never a shell (bandit B603).
        process = subprocess.Popen(  # nosec B603
            command,
            cwd=cwd,
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        with _RUNNING_LOCK:
            _RUNNING.add(process)
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            raise JobFailed(
                f"{ctx.step}: stopped after MaxRuntimeInSeconds={timeout:g}; log: {ctx.log_path}"
            ) from None
        except BaseException:  # Ctrl-C: stop the job too, keep its log
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            raise
        finally:
            with _RUNNING_LOCK:
                _RUNNING.discard(process)
    text = ctx.log_path.read_text(errors="replace")
    if code != 0:
        reason = _last_error_line(text)
        how = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
        raise JobFailed(
            f"{ctx.step}: the job {how}"
            + (f": {reason}" if reason else "")
            + f"; log: {ctx.log_path}"
        )
    return text


def _last_error_line(log: str) -> str:
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    for line in reversed(lines):
        if "error" in line.lower():
            return line[:500]
    return lines[-1][:500] if len(lines) > 1 else ""


def _python(command: list[str]) -> list[str]:
    """The container's `python3` is this interpreter here."""
    if command and re.fullmatch(r"python(3(\.\d+)?)?", command[0]):
        return [sys.executable, *command[1:]]
    return command


def _max_runtime(args: dict[str, Any]) -> float | None:
    value = args.get("StoppingCondition", {}).get("MaxRuntimeInSeconds")
    return float(value) if value else None


# --------------------------------------------------------------------------- processing


def run_processing(ctx: JobContext, args: dict[str, Any]) -> dict[str, Any]:
    """CreateProcessingJob, locally. Returns the step's properties."""
    inputs = args.get("ProcessingInputs", [])
    for item in inputs:
        s3_input = item["S3Input"]
        local = Path(ctx.container_path(s3_input["LocalPath"]))
        local.mkdir(parents=True, exist_ok=True)
        try:
            ctx.s3.download(s3_input["S3Uri"], local)
        except ValueError as exc:
            raise JobFailed(f"{ctx.step}: input {item['InputName']!r}: {exc}") from None
    outputs = args.get("ProcessingOutputConfig", {}).get("Outputs", [])
    for item in outputs:
        try:
            ctx.s3.path(item["S3Output"]["S3Uri"])  # refused now, not after the job ran
        except ValueError as exc:
            raise JobFailed(f"{ctx.step}: output {item['OutputName']!r}: {exc}") from None
        Path(ctx.container_path(item["S3Output"]["LocalPath"])).mkdir(parents=True, exist_ok=True)
    app = args["AppSpecification"]
    entrypoint = [ctx.container_path(c) for c in app.get("ContainerEntrypoint", [])]
    # the entrypoint's shape (python3 <script>) was checked with the definition (checks.py)
    script = entrypoint[-1] if entrypoint else ""
    shown = (app.get("ContainerEntrypoint") or [""])[-1]
    ctx.check_script(Path(script), f"entrypoint script {shown}")
    command = _python(entrypoint)
    command += [ctx.container_path(str(a)) for a in app.get("ContainerArguments", [])]
    env = {k: str(v) for k, v in (args.get("Environment") or {}).items()}
    mounts = [Path(ctx.container_path(i["S3Input"]["LocalPath"])) for i in inputs]
    mounts += [Path(ctx.container_path(o["S3Output"]["LocalPath"])) for o in outputs]
    run_subprocess(ctx, command, env, ctx.sandbox, _max_runtime(args), mounts)
    for item in outputs:
        ctx.s3.upload_dir(
            Path(ctx.container_path(item["S3Output"]["LocalPath"])), item["S3Output"]["S3Uri"]
        )
    return {
        "ProcessingJobName": ctx.job_name,
        "ProcessingJobStatus": "Completed",
        "ProcessingOutputConfig": {
            "Outputs": {
                item["OutputName"]: {
                    "OutputName": item["OutputName"],
                    "S3Output": dict(item["S3Output"]),
                }
                for item in outputs
            }
        },
    }


# --------------------------------------------------------------------------- training


def decode_hyperparameters(raw: dict[str, Any]) -> dict[str, str]:
    """As the training toolkit reads them: each value JSON-decoded when it parses as JSON,
    else kept as it is; then rendered back to text for the command line."""
    decoded: dict[str, str] = {}
    for name, value in raw.items():
        try:
            parsed = json.loads(value) if isinstance(value, str) else value
        except ValueError:
            parsed = value
        decoded[name] = parsed if isinstance(parsed, str) else str(parsed)
    return decoded


def _toolkit_args(hyperparameters: dict[str, str]) -> list[str]:
    """What the training toolkit passes a script: --name value, sagemaker_* left out."""
    out: list[str] = []
    for name, value in hyperparameters.items():
        if not name.startswith("sagemaker_"):
            out += [f"--{name}", value]
    return out


def _pack(folder: Path, archive: Path) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for item in sorted(folder.iterdir()):
            tar.add(item, arcname=item.name)
    write_atomically(archive, buffer.getvalue())


def run_training(ctx: JobContext, args: dict[str, Any]) -> dict[str, Any]:
    """CreateTrainingJob for a framework script, as the SageMaker training toolkit runs it."""
    hps = decode_hyperparameters(args.get("HyperParameters") or {})
    root = ctx.sandbox / "opt" / "ml"
    channels = []
    for channel in args.get("InputDataConfig", []):
        name = channel["ChannelName"]
        target = root / "input" / "data" / name
        target.mkdir(parents=True, exist_ok=True)
        try:
            ctx.s3.download(channel["DataSource"]["S3DataSource"]["S3Uri"], target)
        except ValueError as exc:
            raise JobFailed(f"{ctx.step}: channel {name!r}: {exc}") from None
        channels.append(name)
    program = hps.get("sagemaker_program")
    submit = hps.get("sagemaker_submit_directory")
    if not program or not submit:
        raise JobFailed(
            f"{ctx.step}: only framework script mode is supported "
            "(sagemaker_program and sagemaker_submit_directory hyperparameters)"
        )
    code = root / "code"
    code.mkdir(parents=True, exist_ok=True)
    source = (
        Path(ctx.container_path(submit))
        if submit.startswith(CONTAINER_ROOT)
        else ctx.s3.path(submit)
    )
    extract(source, code, "source tarball", ctx.step)
    ctx.check_script(code / program, f"training program {program}")
    model_dir, output_dir = root / "model", root / "output" / "data"
    model_dir.mkdir(parents=True, exist_ok=True)
    output_dir.mkdir(parents=True, exist_ok=True)
    config = root / "input" / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "hyperparameters.json").write_text(json.dumps(hps))
    (config / "inputdataconfig.json").write_text(
        json.dumps(
            {
                c["ChannelName"]: {
                    "ContentType": c.get("ContentType", ""),
                    "TrainingInputMode": c.get("InputMode", "File"),
                }
                for c in args.get("InputDataConfig", [])
            }
        )
    )
    (config / "resourceconfig.json").write_text(
        json.dumps({"current_host": "algo-1", "hosts": ["algo-1"]})
    )
    user_hps = {k: v for k, v in hps.items() if not k.startswith("sagemaker_")}
    env = {
        "SM_MODEL_DIR": str(model_dir),
        "SM_OUTPUT_DATA_DIR": str(output_dir),
        "SM_OUTPUT_DIR": str(root / "output"),
        "SM_INPUT_DIR": str(root / "input"),
        "SM_INPUT_CONFIG_DIR": str(config),
        "SM_CHANNELS": json.dumps(sorted(channels)),
        "SM_HOSTS": json.dumps(["algo-1"]),
        "SM_CURRENT_HOST": "algo-1",
        "SM_NUM_CPUS": str(os.cpu_count() or 1),
        "SM_NUM_GPUS": "0",
        "SM_HPS": json.dumps(user_hps),
        "SM_USER_ARGS": json.dumps(_toolkit_args(hps)),
        "SM_MODULE_NAME": program.removesuffix(".py"),
        "SM_MODULE_DIR": submit,
        **{f"SM_CHANNEL_{c.upper()}": str(root / "input" / "data" / c) for c in channels},
        **{f"SM_HP_{k.upper()}": v for k, v in user_hps.items()},
        **{k: str(v) for k, v in (args.get("Environment") or {}).items()},
    }
    mounts = [root / "input" / "data" / c for c in channels] + [model_dir, output_dir]
    command = [sys.executable, program, *_toolkit_args(hps)]
    if ctx.live is None:
        log = run_subprocess(ctx, command, env, code, _max_runtime(args), mounts)
    else:
        from pipelines.local.training_progress import Watcher

        total = int(hps["num_round"]) if str(hps.get("num_round", "")).isdigit() else None
        report = ctx.live
        with Watcher(ctx.log_path, lambda line: report(f"{ctx.step}: {line}"), total):
            log = run_subprocess(ctx, command, env, code, _max_runtime(args), mounts)
    base = f"{args['OutputDataConfig']['S3OutputPath'].rstrip('/')}/{ctx.job_name}/output"
    artifact = f"{base}/model.tar.gz"
    _pack(model_dir, ctx.s3.path(artifact))
    if any(output_dir.iterdir()):
        _pack(output_dir, ctx.s3.path(f"{base}/output.tar.gz"))
    metrics = final_metrics(
        log, args.get("AlgorithmSpecification", {}).get("MetricDefinitions", [])
    )
    return {
        "TrainingJobName": ctx.job_name,
        "TrainingJobStatus": "Completed",
        "ModelArtifacts": {"S3ModelArtifacts": artifact},
        "OutputDataConfig": dict(args["OutputDataConfig"]),
        "HyperParameters": hps,
        "FinalMetricDataList": [{"MetricName": k, "Value": v} for k, v in metrics.items()],
    }


def final_metrics(log: str, definitions: list[dict[str, str]]) -> dict[str, float]:
    """Each metric definition's last match in the log, as SageMaker reports it."""
    found: dict[str, float] = {}
    for definition in definitions:
        matches = re.findall(definition["Regex"], log)
        if matches:
            last = matches[-1]
            try:
                found[definition["Name"]] = float(last[0] if isinstance(last, tuple) else last)
            except ValueError:
                continue
    return found


# --------------------------------------------------------------------------- transform


def instance_objects(objects: list[Any], instances: int) -> list[list[Any]]:
    """Batch Transform hands whole S3 objects to its instances: object i (in key order) goes
    to instance i mod N, so with fewer objects than instances some instances idle."""
    return [objects[i::instances] for i in range(max(instances, 1))]


def run_transform(ctx: JobContext, args: dict[str, Any], model: dict[str, Any]) -> dict[str, Any]:
    """CreateTransformJob: the model's inference handler in one worker process per instance,
    each given its share of the input objects."""
    container = model["PrimaryContainer"]
    model_dir = ctx.sandbox / "opt" / "ml" / "model"
    model_dir.mkdir(parents=True, exist_ok=True)
    extract(ctx.s3.path(container["ModelDataUrl"]), model_dir, "model artifact", ctx.step)
    env = {k: str(v) for k, v in (container.get("Environment") or {}).items()}
    env.update({k: str(v) for k, v in (args.get("Environment") or {}).items()})
    submit = env.get("SAGEMAKER_SUBMIT_DIRECTORY", "/opt/ml/model/code")
    env["SAGEMAKER_SUBMIT_DIRECTORY"] = ctx.container_path(submit)
    program = env.get("SAGEMAKER_PROGRAM", "inference.py")
    ctx.check_script(
        Path(env["SAGEMAKER_SUBMIT_DIRECTORY"]) / program, f"inference handler {program}"
    )
    env["SM_MODEL_DIR"] = str(model_dir)
    source = args["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"]
    inputs = ctx.s3.objects(source)
    if not inputs:
        raise JobFailed(f"{ctx.step}: no input objects at {source}")
    output_uri = args["TransformOutput"]["S3OutputPath"].rstrip("/")
    try:
        ctx.s3.path(output_uri)  # refused now, not after the job ran
    except ValueError as exc:
        raise JobFailed(f"{ctx.step}: output: {exc}") from None
    staging = ctx.sandbox / "output"
    count = int(args.get("TransformResources", {}).get("InstanceCount", 1))
    shares = instance_objects(inputs, count)
    for number, share in enumerate(shares, start=1):
        if share:
            _transform_instance(ctx, args, env, model_dir, share, staging, f"algo-{number}")
    idle = sum(1 for share in shares if not share)
    if idle:
        with ctx.log_path.open("a") as log:
            log.write(
                f"note: {idle} of {count} instances got no input object (Batch Transform hands "
                f"out whole objects; {len(inputs)} here): they idled, as in SageMaker\n"
            )
    ctx.s3.upload_dir(staging, output_uri)
    return {
        "TransformJobName": ctx.job_name,
        "TransformJobStatus": "Completed",
        "TransformOutput": {"S3OutputPath": output_uri},
    }


def _transform_instance(
    ctx: JobContext,
    args: dict[str, Any],
    env: dict[str, str],
    model_dir: Path,
    inputs: list[tuple[Path, str]],
    staging: Path,
    host: str,
) -> None:
    """One transform instance: a worker process serving its objects."""
    spec = {
        "model_dir": str(model_dir),
        "inputs": [[str(path), name] for path, name in inputs],
        "output_dir": str(staging),
        "content_type": args["TransformInput"].get("ContentType", "text/csv"),
        "split_type": args["TransformInput"].get("SplitType", "None"),
        "accept": args["TransformOutput"].get("Accept", "text/csv"),
        "assemble_with": args["TransformOutput"].get("AssembleWith", "None"),
        "batch_strategy": args.get("BatchStrategy", "MultiRecord"),
        "max_payload_mb": float(args.get("MaxPayloadInMB", 6)),
        "data_processing": args.get("DataProcessing", {}),
    }
    spec_path = ctx.sandbox / f"transform-{host}.json"
    spec_path.write_text(json.dumps(spec, indent=2))
    run_subprocess(
        ctx,
        [sys.executable, "-m", "pipelines.local.transform_worker", str(spec_path)],
        {**env, "SM_CURRENT_HOST": host},
        Path.cwd(),
        float(args.get("StoppingCondition", {}).get("MaxRuntimeInSeconds", 0)) or None,
        [model_dir],
        append=host != "algo-1",
    )

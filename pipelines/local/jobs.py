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
import dataclasses
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess  # nosec B404
import sys
import tarfile
import threading
import time
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


@dataclass
class Launch:
    """One process of a job: an instance's entrypoint with its environment and mounts."""

    ctx: JobContext
    command: list[str]
    env: dict[str, str]
    cwd: Path
    mounts: list[Path]
    append: bool = False
    host: str = "algo-1"


def run_subprocess(
    ctx: JobContext,
    command: list[str],
    env: dict[str, str],
    cwd: Path,
    timeout: float | None,
    mounts: list[Path],
    append: bool = False,
    host: str = "algo-1",
) -> str:
    """Run the job's process, tee its output to the job log, honour MaxRuntimeInSeconds.
    Each of `mounts` behaves as its own filesystem inside the job.

    Returns the log text. Raises JobFailed naming the exit status, signal or timeout.
    """
    return run_together([Launch(ctx, command, env, cwd, mounts, append, host)], timeout)[0]


def run_together(launches: list[Launch], timeout: float | None) -> list[str]:
    """Run the processes of one job's instances side by side, each logging to its own
    sandbox's job log, and wait for all of them: the first to fail (or the timeout) stops
    the others, as a failed instance fails a SageMaker job. Returns each log's text."""
    started: list[tuple[Launch, subprocess.Popen[bytes], Any]] = []
    failed: tuple[Launch, int] | None = None
    try:
        for launch in launches:
            launch.ctx.sandbox.mkdir(parents=True, exist_ok=True)
            log = launch.ctx.log_path.open("a" if launch.append else "w")
            log.write(f"$ {' '.join(launch.command)}\n")
            log.flush()
            try:
                # The job's own entrypoint from the definition, as a container would run
                # it; an argument list, never a shell (bandit B603).
                process = subprocess.Popen(  # nosec B603
                    launch.command,
                    cwd=launch.cwd,
                    env=job_environment(launch.env, launch.mounts),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            except BaseException:
                log.close()
                raise
            started.append((launch, process, log))
            with _RUNNING_LOCK:
                _RUNNING.add(process)
        deadline = time.monotonic() + timeout if timeout else None
        while failed is None:
            codes = [_reap(launch, process) for launch, process, _ in started]
            if all(code == 0 for code in codes):
                break
            for (launch, _, _), code in zip(started, codes, strict=True):
                if code not in (None, 0):
                    failed = (launch, code)
                    break
            if failed is None:
                if deadline is not None and time.monotonic() > deadline:
                    raise JobFailed(
                        f"{launches[0].ctx.step}: stopped after MaxRuntimeInSeconds="
                        f"{timeout:g}; log: {launches[0].ctx.log_path}"
                    )
                time.sleep(0.05)
    finally:  # done, failed, timed out or Ctrl-C: nothing of the job outlives it
        for _, process, log in started:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            log.close()
            with _RUNNING_LOCK:
                _RUNNING.discard(process)
    if failed is not None:
        launch, code = failed
        reason = _last_error_line(launch.ctx.log_path.read_text(errors="replace"))
        how = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
        where = f" on {launch.host}" if len(launches) > 1 else ""
        raise JobFailed(
            f"{launch.ctx.step}: the job {how}{where}"
            + (f": {reason}" if reason else "")
            + f"; log: {launch.ctx.log_path}"
        )
    return [launch.ctx.log_path.read_text(errors="replace") for launch, _, _ in started]


# in each instance's sandbox, usage-<host>.json: its CPU seconds and peak memory
USAGE_FILE = "usage-{host}.json"


def _reap(launch: Launch, process: subprocess.Popen[bytes]) -> int | None:
    """The process's exit code once it has ended (None before), reaped with wait4 so that
    its own resource usage - CPU seconds, peak RSS, of the instance's whole process tree -
    is kept beside its log (what `benchmarks/local_scale_100x` reads per instance)."""
    if process.returncode is not None:
        return process.returncode
    pid, status, usage = os.wait4(process.pid, os.WNOHANG)
    if pid == 0:
        return None
    process.returncode = os.waitstatus_to_exitcode(status)
    record = {
        "host": launch.host,
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 3),
        "max_rss_mb": round(usage.ru_maxrss / 1024, 1),
    }
    (launch.ctx.sandbox / USAGE_FILE.format(host=launch.host)).write_text(json.dumps(record))
    return process.returncode


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


# --------------------------------------------------------------------------- instances


def host_names(count: int) -> list[str]:
    return [f"algo-{k}" for k in range(1, count + 1)]


def host_contexts(ctx: JobContext, count: int) -> list[JobContext]:
    """One sandbox per instance: the step's own for one, <step>/algo-N/ for several."""
    if count == 1:
        return [ctx]
    return [dataclasses.replace(ctx, sandbox=ctx.sandbox / name) for name in host_names(count)]


def instance_objects(objects: list[Any], instances: int) -> list[list[Any]]:
    """How whole S3 objects are dealt to instances (ShardedByS3Key, Batch Transform's
    input): object i (in key order) to instance i mod N, so with fewer objects than
    instances some get none. The service's own assignment may differ; what matters, and
    holds in both, is that each object goes to exactly one instance."""
    return [objects[i::instances] for i in range(max(instances, 1))]


def deal(ctx: JobContext, source: dict[str, Any], what: str, targets: list[Path]) -> None:
    """Copy one input's objects to each instance's folder in `targets`: all of them
    (FullyReplicated) or its share (ShardedByS3Key). An input with no object at all fails
    the job, as in SageMaker."""
    try:
        found = ctx.s3.objects(source["S3Uri"])
    except ValueError as exc:
        raise JobFailed(f"{ctx.step}: {what}: {exc}") from None
    if not found:
        raise JobFailed(f"{ctx.step}: {what}: nothing at {source['S3Uri']}")
    sharded = source.get("S3DataDistributionType", "FullyReplicated") == "ShardedByS3Key"
    shares = instance_objects(found, len(targets)) if sharded else [found] * len(targets)
    for share, target in zip(shares, targets, strict=True):
        target.mkdir(parents=True, exist_ok=True)
        for path, name in share:
            destination = target / name
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, destination)


def write_resource_config(root: Path, host: str, hosts: list[str]) -> None:
    """/opt/ml/config/resourceconfig.json (processing) or input/config/ (training)."""
    root.mkdir(parents=True, exist_ok=True)
    config = {"current_host": host, "hosts": hosts, "network_interface_name": "lo"}
    (root / "resourceconfig.json").write_text(json.dumps(config))


def merged_files(step: str, what: str, folders: dict[str, Path]) -> dict[str, Path]:
    """{relative name: file} over every instance's copy of one output folder. Two instances
    writing one name with different bytes fail the job: SageMaker would keep either."""
    found: dict[str, tuple[Path, str]] = {}
    for host, folder in folders.items():
        if not folder.is_dir():
            continue
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            name = path.relative_to(folder).as_posix()
            if name in found and file_digest(found[name][0]) != file_digest(path):
                raise JobFailed(
                    f"{step}: {what}: instances {found[name][1]} and {host} both wrote {name} "
                    "with different contents; in SageMaker one would silently replace the "
                    "other"
                )
            found.setdefault(name, (path, host))
    return {name: path for name, (path, _) in found.items()}


def cpus_per_instance(count: int) -> int:
    """This machine's cores shared among the emulated instances (never oversubscribed)."""
    return max(1, (os.cpu_count() or 1) // count)


# --------------------------------------------------------------------------- processing


def run_processing(ctx: JobContext, args: dict[str, Any]) -> dict[str, Any]:
    """CreateProcessingJob, locally, on ProcessingResources' instance count: one process per
    instance, each given its inputs' share. Returns the step's properties."""
    resources = args.get("ProcessingResources", {}).get("ClusterConfig", {})
    count = int(resources.get("InstanceCount", 1))
    hosts = host_names(count)
    contexts = host_contexts(ctx, count)
    inputs = args.get("ProcessingInputs", [])
    for item in inputs:
        s3_input = item["S3Input"]
        deal(
            ctx,
            s3_input,
            f"input {item['InputName']!r}",
            [Path(c.container_path(s3_input["LocalPath"])) for c in contexts],
        )
    outputs = args.get("ProcessingOutputConfig", {}).get("Outputs", [])
    for item in outputs:
        try:
            ctx.s3.path(item["S3Output"]["S3Uri"])  # refused now, not after the job ran
        except ValueError as exc:
            raise JobFailed(f"{ctx.step}: output {item['OutputName']!r}: {exc}") from None
    app = args["AppSpecification"]
    shown = (app.get("ContainerEntrypoint") or [""])[-1]
    env = {k: str(v) for k, v in (args.get("Environment") or {}).items()}
    if count > 1:
        env.setdefault("OMP_NUM_THREADS", str(cpus_per_instance(count)))
    launches = []
    for host, host_ctx in zip(hosts, contexts, strict=True):
        for item in outputs:
            Path(host_ctx.container_path(item["S3Output"]["LocalPath"])).mkdir(
                parents=True, exist_ok=True
            )
        write_resource_config(host_ctx.sandbox / "opt" / "ml" / "config", host, hosts)
        entrypoint = [host_ctx.container_path(c) for c in app.get("ContainerEntrypoint", [])]
        # the entrypoint's shape (python3 <script>) was checked with the definition (checks.py)
        host_ctx.check_script(
            Path(entrypoint[-1] if entrypoint else ""), f"entrypoint script {shown}"
        )
        command = _python(entrypoint)
        command += [host_ctx.container_path(str(a)) for a in app.get("ContainerArguments", [])]
        mounts = [Path(host_ctx.container_path(i["S3Input"]["LocalPath"])) for i in inputs]
        mounts += [Path(host_ctx.container_path(o["S3Output"]["LocalPath"])) for o in outputs]
        launches.append(Launch(host_ctx, command, env, host_ctx.sandbox, mounts, host=host))
    try:
        run_together(launches, _max_runtime(args))
    finally:
        combine_logs(ctx, contexts)
    for item in outputs:
        local = item["S3Output"]["LocalPath"]
        files = merged_files(
            ctx.step,
            f"output {item['OutputName']!r}",
            {h: Path(c.container_path(local)) for h, c in zip(hosts, contexts, strict=True)},
        )
        target = item["S3Output"]["S3Uri"].rstrip("/")
        for name, path in files.items():
            ctx.s3.put_file(path, f"{target}/{name}")
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


def combine_logs(ctx: JobContext, contexts: list[JobContext]) -> None:
    """With several instances, the step's job.log holds each instance's log in turn."""
    if len(contexts) == 1:
        return
    parts = []
    for host_ctx in contexts:
        if host_ctx.log_path.is_file():
            text = host_ctx.log_path.read_text(errors="replace")
            parts.append(f"==> {host_ctx.sandbox.name} ({host_ctx.log_path}) <==\n{text}")
    ctx.sandbox.mkdir(parents=True, exist_ok=True)
    ctx.log_path.write_text("\n".join(parts))


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


def _pack(files: dict[str, Path], archive: Path) -> None:
    """A .tar.gz of {name inside: file}, as SageMaker packs /opt/ml/model."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, path in sorted(files.items()):
            tar.add(path, arcname=name)
    write_atomically(archive, buffer.getvalue())


def run_training(ctx: JobContext, args: dict[str, Any]) -> dict[str, Any]:
    """CreateTrainingJob for a framework script, as the SageMaker training toolkit runs it:
    on ResourceConfig's instance count, one process per host side by side, each with its
    channels' share (ShardedByS3Key) or all of them, SM_HOSTS and SM_CURRENT_HOST, and the
    host names resolving to 127.0.0.1 (so XGBoost's collective tracker and workers meet
    there). Every host's model folder goes into the one model.tar.gz, as in SageMaker."""
    hps = decode_hyperparameters(args.get("HyperParameters") or {})
    program = hps.get("sagemaker_program")
    submit = hps.get("sagemaker_submit_directory")
    if not program or not submit:
        raise JobFailed(
            f"{ctx.step}: only framework script mode is supported "
            "(sagemaker_program and sagemaker_submit_directory hyperparameters)"
        )
    count = int(args.get("ResourceConfig", {}).get("InstanceCount", 1))
    hosts = host_names(count)
    contexts = host_contexts(ctx, count)
    channels = [c["ChannelName"] for c in args.get("InputDataConfig", [])]
    for channel in args.get("InputDataConfig", []):
        name = channel["ChannelName"]
        deal(
            ctx,
            channel["DataSource"]["S3DataSource"],
            f"channel {name!r}",
            [c.sandbox / "opt" / "ml" / "input" / "data" / name for c in contexts],
        )
    user_hps = {k: v for k, v in hps.items() if not k.startswith("sagemaker_")}
    port = free_port_pair() if count > 1 else None
    launches = []
    for host, host_ctx in zip(hosts, contexts, strict=True):
        root = host_ctx.sandbox / "opt" / "ml"
        code = root / "code"
        code.mkdir(parents=True, exist_ok=True)
        tarball = (
            Path(host_ctx.container_path(submit))
            if submit.startswith(CONTAINER_ROOT)
            else ctx.s3.path(submit)
        )
        extract(tarball, code, "source tarball", ctx.step)
        host_ctx.check_script(code / program, f"training program {program}")
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
                        "S3DistributionType": c["DataSource"]["S3DataSource"].get(
                            "S3DataDistributionType", "FullyReplicated"
                        ),
                    }
                    for c in args.get("InputDataConfig", [])
                }
            )
        )
        write_resource_config(config, host, hosts)
        env = {
            "SM_MODEL_DIR": str(model_dir),
            "SM_OUTPUT_DATA_DIR": str(output_dir),
            "SM_OUTPUT_DIR": str(root / "output"),
            "SM_INPUT_DIR": str(root / "input"),
            "SM_INPUT_CONFIG_DIR": str(config),
            "SM_CHANNELS": json.dumps(sorted(channels)),
            "SM_HOSTS": json.dumps(hosts),
            "SM_CURRENT_HOST": host,
            "SM_NUM_CPUS": str(cpus_per_instance(count)),
            "SM_NUM_GPUS": "0",
            "SM_HPS": json.dumps(user_hps),
            "SM_USER_ARGS": json.dumps(_toolkit_args(hps)),
            "SM_MODULE_NAME": program.removesuffix(".py"),
            "SM_MODULE_DIR": submit,
            **{f"SM_CHANNEL_{c.upper()}": str(root / "input" / "data" / c) for c in channels},
            **{f"SM_HP_{k.upper()}": v for k, v in user_hps.items()},
            **{k: str(v) for k, v in (args.get("Environment") or {}).items()},
        }
        if port is not None:
            env.update(
                XGBOOST_TRACKER_PORT=str(port),
                LOCAL_RUNNER_HOSTS=json.dumps(hosts),
                OMP_NUM_THREADS=str(cpus_per_instance(count)),
            )
        mounts = [root / "input" / "data" / c for c in channels] + [model_dir, output_dir]
        command = [sys.executable, program, *_toolkit_args(hps)]
        launches.append(Launch(host_ctx, command, env, code, mounts, host=host))
    try:
        if ctx.live is None:
            logs = run_together(launches, _max_runtime(args))
        else:
            from pipelines.local.training_progress import Watcher

            total = int(hps["num_round"]) if str(hps.get("num_round", "")).isdigit() else None
            report = ctx.live
            first = contexts[0]
            with Watcher(first.log_path, lambda line: report(f"{ctx.step}: {line}"), total):
                logs = run_together(launches, _max_runtime(args))
    finally:
        combine_logs(ctx, contexts)
    base = f"{args['OutputDataConfig']['S3OutputPath'].rstrip('/')}/{ctx.job_name}/output"
    artifact = f"{base}/model.tar.gz"

    def folders(*parts: str) -> dict[str, Path]:
        return {
            h: c.sandbox.joinpath("opt", "ml", *parts) for h, c in zip(hosts, contexts, strict=True)
        }

    _pack(merged_files(ctx.step, "model", folders("model")), ctx.s3.path(artifact))
    output_files = merged_files(ctx.step, "output data", folders("output", "data"))
    if output_files:
        _pack(output_files, ctx.s3.path(f"{base}/output.tar.gz"))
    metrics = final_metrics(
        logs[0], args.get("AlgorithmSpecification", {}).get("MetricDefinitions", [])
    )
    return {
        "TrainingJobName": ctx.job_name,
        "TrainingJobStatus": "Completed",
        "ModelArtifacts": {"S3ModelArtifacts": artifact},
        "OutputDataConfig": dict(args["OutputDataConfig"]),
        "HyperParameters": hps,
        "FinalMetricDataList": [{"MetricName": k, "Value": v} for k, v in metrics.items()],
    }


def free_port_pair() -> int:
    """A port P with P + 1 free too, on 127.0.0.1: the collective's two rounds (which hosts
    have data, then training) use P and P + 1, as the container's 9099 and 9100."""
    for _ in range(50):
        with socket.socket() as first:
            first.bind(("127.0.0.1", 0))
            port = int(first.getsockname()[1])
            with socket.socket() as second:
                try:
                    second.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
        return port
    raise JobFailed("no two free adjacent ports on 127.0.0.1 for the collective's tracker")


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
        host=host,
    )

"""Execute a pipeline definition JSON on this machine, with SageMaker's semantics.

The runner reads the very JSON that `python -m pipelines.upsert` publishes: it resolves
parameters, execution variables, property references, Join and JsonGet, runs each step by the
container contract (see jobs.py), evaluates conditions, registers models in an embedded
registry, and runs Batch Transform through the model's own inference handler. Steps run as
soon as what they reference has finished, two at a time. This module plans and schedules;
the jobs are in jobs.py, the step cache in cache.py, CreateModel/RegisterModel in models.py,
and what is refused before anything runs in checks.py and requests.py.

Two deliberate differences from SageMaker, both so that "nothing changed" means a cache hit:
the cache key also covers the content of every input (SageMaker compares arguments only),
and a CreateModel step names its model after the model's content (SageMaker makes a new name
per execution, which makes a later Transform step miss its cache).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipelines.files import write_atomically
from pipelines.local import jobs, models
from pipelines.local.cache import CACHE_KEYS, StepCache, parse_duration
from pipelines.local.checks import (
    DefinitionError,
    check_entrypoints,
    check_locations,
    project_scripts,
)
from pipelines.local.expressions import ExpressionError, Resolver
from pipelines.local.registry import Registry
from pipelines.local.requests import request_problems
from pipelines.local.storage import LocalS3

__all__ = ["DefinitionError", "LocalRunner", "RunResult", "StepResult", "parse_duration", "plan"]

SUPPORTED = ("Processing", "Training", "Condition", "Fail", "RegisterModel", "Model", "Transform")


@dataclass
class StepResult:
    name: str
    type: str
    status: str = "NotStarted"  # Succeeded | Failed | Skipped (branch not taken) | NotRun
    seconds: float = 0.0
    cache_hit: bool | None = None
    failure_reason: str = ""
    properties: dict[str, Any] = field(default_factory=dict)
    log: str = ""


@dataclass
class RunResult:
    execution_id: str
    status: str
    failure_reason: str
    seconds: float
    steps: list[StepResult]
    workdir: str
    property_files: dict[str, dict[str, Any]] = field(default_factory=dict)
    model_package: dict[str, Any] | None = None
    predictions: list[str] = field(default_factory=list)

    def report(self, key: str) -> dict[str, Any]:
        """The first property file holding `key` (evaluation.json: regression_metrics;
        drift.json: severe_count), or {}."""
        for files in self.property_files.values():
            for content in files.values():
                if isinstance(content, dict) and key in content:
                    return content
        return {}

    def as_json(self) -> dict[str, Any]:
        evaluation = self.report("regression_metrics")
        drift = self.report("severe_count")
        return {
            "status": self.status,
            "failure_reason": self.failure_reason or None,
            "execution_id": self.execution_id,
            "seconds": round(self.seconds, 3),
            "steps": [
                {
                    "name": s.name,
                    "type": s.type,
                    "status": s.status,
                    "seconds": round(s.seconds, 3),
                    "cache_hit": s.cache_hit,
                    "failure_reason": s.failure_reason or None,
                    "log": s.log or None,
                }
                for s in self.steps
            ],
            "metrics": evaluation.get("regression_metrics"),
            "evaluation": evaluation or None,
            "drift": {
                k: drift.get(k)
                for k in ("severe_features", "moderate_features", "max_psi", "summary", "reference")
            }
            if drift
            else None,
            "model_package": self.model_package,
            "predictions": self.predictions,
            "workdir": self.workdir,
        }


@dataclass
class _Step:
    spec: dict[str, Any]
    branch: tuple[str, bool] | None  # (condition step, outcome that runs this step)
    deps: set[str]

    @property
    def name(self) -> str:
        return str(self.spec["Name"])

    @property
    def type(self) -> str:
        return str(self.spec["Type"])


def step_references(node: Any) -> set[str]:
    """Names of the steps a value refers to (Get Steps.X..., JsonGet property files)."""
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("Get") if set(node) == {"Get"} else None
        if isinstance(ref, str) and ref.startswith("Steps."):
            found.add(ref.split(".")[1])
        for value in node.values():
            found |= step_references(value)
    elif isinstance(node, list):
        for value in node:
            found |= step_references(value)
    return found


def plan(definition: dict[str, Any]) -> dict[str, _Step]:
    """Every step with its dependencies; refuses unsupported step types up front."""
    steps: dict[str, _Step] = {}

    def visit(items: list[dict[str, Any]], branch: tuple[str, bool] | None) -> None:
        for spec in items:
            if spec["Type"] not in SUPPORTED:
                raise DefinitionError(
                    f"step {spec['Name']!r} has type {spec['Type']!r}, which the local runner "
                    f"does not support (supported: {', '.join(SUPPORTED)})"
                )
            deps = step_references(spec.get("Arguments", {})) | set(spec.get("DependsOn", []))
            if spec["Type"] == "Condition":
                deps = step_references(spec["Arguments"]["Conditions"]) | set(
                    spec.get("DependsOn", [])
                )
            if branch:
                deps.add(branch[0])
            steps[spec["Name"]] = _Step(spec, branch, deps)
            if spec["Type"] == "Condition":
                visit(spec["Arguments"].get("IfSteps", []), (spec["Name"], True))
                visit(spec["Arguments"].get("ElseSteps", []), (spec["Name"], False))

    visit(definition["Steps"], None)
    for step in steps.values():
        unknown = step.deps - set(steps)
        if unknown:
            raise DefinitionError(f"step {step.name!r} refers to unknown step(s) {sorted(unknown)}")
    return steps


class LocalRunner:
    """One execution of a definition in a work directory.

    Args:
        definition: the pipeline definition (parsed JSON).
        workdir: where local S3, job sandboxes, the cache and the registry live.
        parameters: override values, already type-checked.
        use_cache: False ignores cached results (and still records new ones).
        progress: called with one line per step event.
        allow_commands: run job commands that are not this project's own scripts (a
            hand-written or foreign definition); by default such a job fails before it starts.
    """

    def __init__(
        self,
        definition: dict[str, Any],
        workdir: Path,
        parameters: dict[str, Any] | None = None,
        use_cache: bool = True,
        progress: Callable[[str], None] | None = None,
        pipeline_name: str = "pipeline",
        live: Callable[[str], None] | None = None,
        region: str = "local",
        max_parallel: int = 2,
        allow_commands: bool = False,
    ) -> None:
        self.definition = definition
        self.workdir = workdir
        self.steps = plan(definition)
        declared = {p["Name"]: p.get("DefaultValue") for p in definition.get("Parameters", [])}
        unknown = set(parameters or {}) - set(declared)
        if unknown:
            raise DefinitionError(f"unknown parameter(s) {sorted(unknown)}")
        self.parameters = {**declared, **(parameters or {})}
        check_locations(self.steps, self.parameters)
        self.trusted = None if allow_commands else project_scripts()
        if self.trusted is not None:
            check_entrypoints(self.steps)
        self.use_cache = use_cache
        self._progress = progress or (lambda line: None)
        # a long job's live state (a training job's round and metric), replaced as it goes
        self._live = live
        # Steps run on worker threads: one line at a time, never two interleaved.
        self._progress_lock = threading.Lock()
        self.pipeline_name = pipeline_name
        self.region = region
        self.max_parallel = max_parallel
        self.s3 = LocalS3(workdir / "s3")
        self.registry = Registry(workdir / "registry")
        self.cache = StepCache(workdir / "cache", self.s3, self.report)
        self.execution_id = f"local-{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"
        self.execution_dir = workdir / "executions" / self.execution_id
        self.properties: dict[str, dict[str, Any]] = {}
        self.outcomes: dict[str, bool] = {}
        self._lock = threading.Lock()
        started = datetime.now(UTC).isoformat(timespec="seconds")
        self.resolver = Resolver(
            self.parameters,
            {
                "PipelineExecutionId": self.execution_id,
                "PipelineExecutionArn": f"arn:aws:sagemaker:{region}:local:pipeline/"
                f"{pipeline_name}/execution/{self.execution_id}",
                "PipelineName": pipeline_name,
                "PipelineExperimentName": pipeline_name,
                "PipelineExecutionTrialName": self.execution_id,
                "StartDateTime": started,
                "CurrentDateTime": started,
            },
            self.properties,
            self.read_property_file,
        )

    # ------------------------------------------------------------------ property files

    def read_property_file(self, step: str, name: str) -> Any:
        spec = self.steps[step].spec
        declared = {p["PropertyFileName"]: p for p in spec.get("PropertyFiles", [])}
        if name not in declared:
            raise ExpressionError(f"step {step!r} declares no property file {name!r}")
        output = declared[name]["OutputName"]
        outputs = self.properties[step]["ProcessingOutputConfig"]["Outputs"]
        uri = f"{outputs[output]['S3Output']['S3Uri'].rstrip('/')}/{declared[name]['FilePath']}"
        path = self.s3.path(uri)
        if not path.is_file():
            raise ExpressionError(f"property file {name!r} of step {step!r}: no {uri}")
        return json.loads(path.read_text())

    # ------------------------------------------------------------------ the run

    def run(self) -> RunResult:
        start = time.perf_counter()
        self.execution_dir.mkdir(parents=True, exist_ok=True)
        results = {name: StepResult(name, step.type) for name, step in self.steps.items()}
        pending = dict(self.steps)
        running: dict[Future[StepResult], str] = {}
        failure = ""
        try:
            with ThreadPoolExecutor(max_workers=self.max_parallel) as pool:
                try:
                    failure = self._schedule(pool, pending, running, results)
                except KeyboardInterrupt:
                    # stop the jobs now: leaving the pool would otherwise wait for them
                    jobs.stop_all()
                    raise
        except KeyboardInterrupt:
            failure = "interrupted (Ctrl-C): finished steps are cached; run again to resume"
            for name in running.values():
                results[name].status = "Failed"
                results[name].failure_reason = f"{name}: interrupted"
            for step_result in results.values():
                if step_result.status == "NotStarted":
                    step_result.status = "NotRun"
        ordered = [results[name] for name in self.steps]
        status = "Failed" if failure else "Succeeded"
        run = RunResult(
            execution_id=self.execution_id,
            status=status,
            failure_reason=failure,
            seconds=time.perf_counter() - start,
            steps=ordered,
            workdir=str(self.workdir),
        )
        try:
            self._collect(run)
        except (OSError, ValueError, ExpressionError) as exc:
            run.status, run.failure_reason = "Failed", run.failure_reason or f"results: {exc}"
        try:
            write_atomically(
                self.execution_dir / "run.json",
                json.dumps(run.as_json(), indent=2, sort_keys=True),
            )
        except OSError as exc:
            run.status = "Failed"
            run.failure_reason = run.failure_reason or f"cannot write run.json: {exc}"
        return run

    def _schedule(
        self,
        pool: ThreadPoolExecutor,
        pending: dict[str, _Step],
        running: dict[Future[StepResult], str],
        results: dict[str, StepResult],
    ) -> str:
        """Start steps as their dependencies finish; returns the first failure reason."""
        failure = ""
        while pending or running:
            for name, step in list(pending.items()):
                state = self._readiness(step, results)
                if state == "wait":
                    continue
                del pending[name]
                if state == "skip":
                    results[name].status = "Skipped"
                elif state == "blocked":
                    results[name].status = "NotRun"
                else:
                    running[pool.submit(self._execute, step)] = name
            if not running:
                for name in pending:  # nothing can start: an unmet dependency
                    results[name].status = "NotRun"
                pending.clear()
                break
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                name = running.pop(future)
                results[name] = future.result()
                if results[name].status == "Failed" and not failure:
                    failure = results[name].failure_reason
        return failure

    def _readiness(self, step: _Step, results: dict[str, StepResult]) -> str:
        for dep in step.deps:
            status = results[dep].status
            if status in ("NotStarted",):
                return "wait"
            if status in ("Failed", "NotRun"):
                return "blocked"
            if status == "Skipped":
                return "skip"
        if step.branch:
            condition, outcome = step.branch
            if self.outcomes.get(condition) != outcome:
                return "skip"
        return "ready"

    def report(self, line: str) -> None:
        """Pass one progress line to the callback, serialised across step threads."""
        with self._progress_lock:
            self._progress(line)

    def _live_line(self, line: str) -> None:
        """A job's live state (serialised with the progress lines)."""
        with self._progress_lock:
            if self._live is not None:
                self._live(line)

    def _execute(self, step: _Step) -> StepResult:
        result = StepResult(step.name, step.type)
        started = time.perf_counter()
        self.report(f"{step.name}: running")
        try:
            result.properties, result.cache_hit = self._dispatch(step)
            result.status = "Succeeded"
        except Exception as exc:  # every failure is the step's, reported in one line
            result.status = "Failed"
            if step.type in CACHE_KEYS:
                result.cache_hit = False
            expected = isinstance(exc, (jobs.JobFailed, ExpressionError, ValueError, OSError))
            text = str(exc) if expected else f"{type(exc).__name__}: {exc}"
            result.failure_reason = (
                text
                if step.type == "Fail" or text.startswith(step.name)
                else f"{step.name}: {text}"
            )
        result.seconds = time.perf_counter() - started
        log = self.execution_dir / step.name / "job.log"
        result.log = str(log) if log.is_file() else ""
        with self._lock:
            self.properties[step.name] = result.properties
        cache = " (cached)" if result.cache_hit else ""
        detail = f": {result.failure_reason}" if result.failure_reason else ""
        self.report(f"{step.name}: {result.status.lower()} in {result.seconds:.1f}s{cache}{detail}")
        return result

    def _dispatch(self, step: _Step) -> tuple[dict[str, Any], bool | None]:
        """Run one step; returns its properties and, for job steps, whether it was cached."""
        if step.type == "Condition":
            # only the conditions: the branches refer to steps that have not run yet
            outcome = all(self.resolver.condition(c) for c in step.spec["Arguments"]["Conditions"])
            self.outcomes[step.name] = outcome
            return {"Outcome": str(outcome)}, None
        args = self.resolver.resolve(step.spec.get("Arguments", {}))
        if step.type == "Fail":
            raise jobs.JobFailed(str(args.get("ErrorMessage", "")))
        refused = request_problems(step.type, args)
        if refused:
            more = f" (and {len(refused) - 1} more)" if len(refused) > 1 else ""
            raise jobs.JobFailed(f"SageMaker would refuse the request: {refused[0]}{more}")
        if step.type == "RegisterModel":
            package = models.register_model(
                args, self.s3, self.registry, self.region, self.execution_id
            )
            return package, None
        if step.type == "Model":
            model = models.create_model(args, self.s3, self.workdir / "models", self.pipeline_name)
            return model, None
        return self._job(step, args)

    # ------------------------------------------------------------------ job steps

    def _job(self, step: _Step, args: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        config = step.spec.get("CacheConfig", {})
        entry = self.cache.entry_path(step.name, step.type, args) if config.get("Enabled") else None
        if entry and self.use_cache:
            hit = self.cache.lookup(step.name, entry, config.get("ExpireAfter", ""))
            if hit is not None:
                return hit, True
        ctx = jobs.JobContext(
            step.name,
            self.execution_dir / step.name,
            self.s3,
            job_name=f"{step.name.lower()}-{self.execution_id}",
            trusted=self.trusted,
            live=self._live_line if self._live else None,
        )
        if step.type == "Processing":
            properties = jobs.run_processing(ctx, args)
        elif step.type == "Training":
            properties = jobs.run_training(ctx, args)
        else:
            model = models.load_model(self.workdir / "models", args["ModelName"])
            properties = jobs.run_transform(ctx, args, model)
        if entry:
            self.cache.store(entry, step.type, self.execution_id, properties)
        return properties, False

    # ------------------------------------------------------------------ results

    def _collect(self, result: RunResult) -> None:
        for step in result.steps:
            spec = self.steps[step.name].spec
            if step.status == "Succeeded" and spec.get("PropertyFiles"):
                result.property_files[step.name] = {
                    p["PropertyFileName"]: self.read_property_file(step.name, p["PropertyFileName"])
                    for p in spec["PropertyFiles"]
                }
            if step.status == "Succeeded" and step.type == "RegisterModel":
                result.model_package = step.properties
            if step.status == "Succeeded" and step.type == "Transform":
                folder = self.s3.path(step.properties["TransformOutput"]["S3OutputPath"])
                result.predictions += [str(p) for p in sorted(folder.rglob("*.out"))]

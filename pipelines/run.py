"""python -m pipelines.run --local: run the published pipeline definition on this machine.

    python -m pipelines.run                                # the demo: Rossmann, dev profile
    python -m pipelines.run --local                        # the same, said explicitly
    python -m pipelines.run --local --param MaxDepth=6 --input my_sales.parquet --json
    python -m pipelines.run --local --definition definition.json
    python -m pipelines.run runs list                      # past executions, newest first
    python -m pipelines.run show [EXECUTION]               # its report.html
    python -m pipelines.registry list --local             # (also: pipelines.run registry list)
    python -m pipelines.registry approve store-sales-forecast 1 --local

No Docker, no AWS credentials, no network: S3 is a folder in the work directory
(default ./.forecast-local). Progress goes to stderr; stdout carries the summary table, or
with --json one JSON object. The exit status is 0 only when the pipeline succeeded.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from pipelines.demo_data import DemoDataMissing
from pipelines.local import DEFAULT_WORKDIR
from pipelines.local.definitions import cached_definition
from pipelines.local.summary import already_registered, table
from pipelines.settings import DEFAULT_PROFILE, PROFILES, SettingsError, add_config_flag
from pipelines.version import add_version_flag

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class Console:
    """Progress on stderr: one line per step event; a job's live state (a training job's
    round, metric and time left) rewritten in place on a terminal, or a plain line every
    LIVE_EVERY seconds when piped (every one with -v); nothing with --quiet."""

    LIVE_EVERY = 10.0

    def __init__(self, quiet: bool = False, verbose: bool = False, stream: Any = None) -> None:
        self.stream = stream or sys.stderr
        self.quiet, self.verbose = quiet, verbose
        self.terminal = self.stream.isatty()
        self.started = time.perf_counter()
        self._live_shown = False
        self._last_live = -self.LIVE_EVERY

    def _stamp(self, text: str) -> str:
        return f"[{time.perf_counter() - self.started:6.1f}s] {text}"

    def line(self, text: str) -> None:
        if self.quiet:
            return
        if self._live_shown:
            self.stream.write("\r\033[K")
            self._live_shown = False
        self.stream.write(self._stamp(text) + "\n")
        self.stream.flush()

    def live(self, text: str) -> None:
        if self.quiet:
            return
        if self.terminal:
            self.stream.write("\r\033[K" + self._stamp(text))
            self._live_shown = True
        else:
            now = time.perf_counter()
            if not self.verbose and now - self._last_live < self.LIVE_EVERY:
                return
            self._last_live = now
            self.stream.write(self._stamp(text) + "\n")
        self.stream.flush()


def parse_run_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m pipelines.run",
        description="Run the pipeline definition locally (no Docker, no AWS). "
        "See also: python -m pipelines.run runs list, python -m pipelines.run show, "
        "python -m pipelines.registry --help",
    )
    add_version_flag(parser)
    parser.add_argument(
        "--local",
        action="store_true",
        help="run with the Docker-free local runner (the default; same as --mode local)",
    )
    parser.add_argument(
        "--mode",
        choices=("local", "sagemaker-local"),
        help="local: the Docker-free runner; sagemaker-local: the SageMaker "
        "SDK's local mode (needs Docker; RegisterModel is left out)",
    )
    parser.add_argument(
        "--profile",
        default=DEFAULT_PROFILE,
        help=f"settings profile: {', '.join(PROFILES)} (default {DEFAULT_PROFILE})",
    )
    add_config_flag(parser)
    parser.add_argument(
        "--definition",
        type=Path,
        metavar="FILE",
        help="run this definition JSON instead of building one from the profile",
    )
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="pipeline parameter override (repeatable)",
    )
    parser.add_argument(
        "--input",
        type=Path,
        metavar="PATH",
        help="CSV/Parquet file or folder to use as the input data "
        "(default: the Rossmann demo data)",
    )
    parser.add_argument(
        "--actuals",
        type=Path,
        metavar="FILE",
        help="CSV/Parquet with the series keys, date and target of the forecast days, to "
        "score the forecast against once it exists (default with the demo data: its "
        "held-back six weeks)",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=DEFAULT_WORKDIR,
        help=f"work directory (default {DEFAULT_WORKDIR})",
    )
    parser.add_argument("--no-cache", action="store_true", help="re-run every job step")
    parser.add_argument(
        "--allow-commands",
        action="store_true",
        help="let a --definition run job commands that are not this project's own "
        "scripts (they run on this machine, with a minimal environment)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object with the result instead of the table",
    )
    parser.add_argument(
        "--mlflow",
        nargs="?",
        const="",
        metavar="URI",
        help="log the execution to MLflow: this tracking URI (or the profile's "
        "tracking.mlflow_uri); alone: SQLite in <workdir>/mlflow.db",
    )
    loud = parser.add_mutually_exclusive_group()
    loud.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    loud.add_argument(
        "-v", "--verbose", action="store_true", help="every live progress line, also when piped"
    )
    args = parser.parse_args(argv)
    args.mode = args.mode or "local"  # `python -m pipelines.run` alone runs the demo
    if args.mode == "sagemaker-local" and args.definition:
        parser.error(
            "--mode sagemaker-local builds the pipeline from --profile; "
            "--definition goes with --mode local"
        )
    return args


def demo_input(workdir: Path) -> tuple[Path, Path]:
    """The demo input (the last six weeks' sales held back) and those actuals."""
    from pipelines.demo_data import write_demo

    return write_demo(workdir / "demo")


def stage_inputs(
    definition: dict[str, Any],
    parameters: dict[str, Any],
    s3: Any,
    workdir: Path,
    input_path: Path,
) -> str:
    """Put the code objects and the input data where the definition expects them; returns
    what happened to the input, in one line (pipelines/local/staging.py)."""
    from pipelines.local.staging import stage_code, stage_input

    stage_code(definition, s3)
    if "InputDataUri" not in parameters:
        return "no InputDataUri parameter: nothing staged"
    return stage_input(s3, workdir, str(parameters["InputDataUri"]), input_path)


def accuracy_after_the_fact(
    result: Any, actuals: Path | None, profile: str, config: Path | None = None
) -> dict | None:
    """The forecast scored against `actuals` (pipelines/accuracy.py), or None when there
    is no forecast or no actuals."""
    from pipelines.accuracy import read_forecast, read_table, score
    from pipelines.settings import load_settings

    if actuals is None or not result.predictions:
        return None
    settings = load_settings(profile, config=config)
    keys = [*settings.data.series_columns, settings.data.date_column]
    columns = settings.forecast.columns
    forecast = read_forecast([Path(p) for p in result.predictions], keys, list(columns))
    return score(forecast, read_table(actuals), keys, settings.data.target_column, columns)


def local_champion(
    definition: dict[str, Any], overrides: dict[str, Any], workdir: Path
) -> tuple[dict[str, Any], Any, Any]:
    """Fill ChampionModelDataUri and RegisteredModelDataUri from the embedded registry: the
    latest Approved version and the latest version of the group the definition registers
    into (pipelines/champion.py). Returns (overrides, champion, latest version)."""
    from pipelines.champion import (
        REGISTERED_PARAMETER,
        fill_champion,
        latest_locally,
        registered_group,
    )
    from pipelines.local.registry import Registry

    group = registered_group(definition)
    groups = Registry(workdir / "registry").groups
    declared = definition.get("Parameters", [])
    overrides, champion = fill_champion(
        declared, overrides, lambda: latest_locally(groups(), group, "Approved") if group else None
    )
    overrides, latest = fill_champion(
        declared,
        overrides,
        lambda: latest_locally(groups(), group) if group else None,
        REGISTERED_PARAMETER,
    )
    return overrides, champion, latest


def run_local(args: argparse.Namespace) -> int:
    from pipelines.local.runner import LocalRunner
    from pipelines.local.storage import LocalS3
    from pipelines.parameters import coerce_overrides

    try:
        if args.definition:
            try:
                definition = json.loads(args.definition.read_text())
            except (OSError, json.JSONDecodeError) as exc:
                raise ValueError(f"--definition {args.definition}: {exc}") from None
            if not isinstance(definition, dict) or not isinstance(definition.get("Steps"), list):
                raise ValueError(f"--definition {args.definition}: not a pipeline definition")
            name, region = "pipeline", "local"
        else:
            definition, name, region = cached_definition(
                args.profile, args.workdir.resolve(), args.config
            )
        overrides = coerce_overrides(definition.get("Parameters", []), args.param)
        overrides, champion, latest = local_champion(definition, overrides, args.workdir.resolve())
        console = Console(quiet=args.quiet, verbose=args.verbose)
        progress = console.line

        runner = LocalRunner(
            definition,
            args.workdir.resolve(),
            overrides,
            use_cache=not args.no_cache,
            progress=progress,
            live=console.live,
            pipeline_name=name,
            region=region,
            allow_commands=args.allow_commands,
        )
        if args.input and "InputDataUri" not in runner.parameters:
            raise FileNotFoundError("--input: this definition has no InputDataUri parameter")
        input_path, actuals = args.input, args.actuals
        if input_path is None:
            input_path, demo_actuals = demo_input(runner.workdir)
            actuals = actuals or demo_actuals
        if actuals is not None and not actuals.is_file():
            raise FileNotFoundError(f"--actuals {actuals}: no such file")
        staged = stage_inputs(
            definition, runner.parameters, LocalS3(runner.s3.root), runner.workdir, input_path
        )
        progress(f"execution {runner.execution_id}: {staged}")
        progress(
            f"champion: {champion.describe()}"
            if champion
            else "champion: none approved (ChampionModelDataUri "
            f"{runner.parameters.get('ChampionModelDataUri', 'not declared')})"
        )
    except (ValueError, FileNotFoundError, DemoDataMissing) as exc:  # settings, input, ...
        print(f"run: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # the work directory cannot be written (read-only, full, ...)
        print(f"run: error: work directory {args.workdir}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    try:
        result = runner.run()
    except OSError as exc:
        print(f"run: error: work directory {args.workdir}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    from pipelines.accuracy import AccuracyError, describe

    try:
        accuracy = accuracy_after_the_fact(result, actuals, args.profile, args.config)
    except AccuracyError as exc:
        print(f"run: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    document = {
        **result.as_json(),
        "champion": asdict(champion) if champion else None,
        "accuracy_after_the_fact": accuracy,
        # the version whose artifact this run trained again (nothing registered)
        "already_registered": asdict(latest) if already_registered(result, latest) else None,
    }
    report = write_report(document, result, definition, runner, actuals, args)
    document["report"] = str(report) if report else None
    document["mlflow_run"] = track(document, result, runner, report, args)
    if args.json:
        sys.stdout.write(json.dumps(document, indent=2, sort_keys=True) + "\n")
    else:
        sys.stdout.write(table(result, champion, describe(accuracy) if accuracy else None, latest))
        if report:
            sys.stdout.write(f"report: {report}\n")
    return EXIT_OK if result.status == "Succeeded" else EXIT_FAILED


def mlflow_uri(args: argparse.Namespace, workdir: Path) -> tuple[str, Path | None] | None:
    """(tracking URI, artifact root): --mlflow URI, else the profile's tracking.mlflow_uri;
    `--mlflow` alone: SQLite in the work directory. None: nothing is logged."""
    from pipelines.settings import load_settings
    from pipelines.tracking import local_store

    if args.mlflow:
        return str(args.mlflow), None
    configured = load_settings(args.profile, config=args.config).tracking.mlflow_uri
    if configured:
        return configured, None
    return local_store(workdir) if args.mlflow == "" else None


def track(
    document: dict[str, Any],
    result: Any,
    runner: Any,
    report: Path | None,
    args: argparse.Namespace,
) -> str | None:
    """The execution logged to MLflow (pipelines/tracking.py); its run id, recorded on the
    version it registered. A tracking failure is a warning: the run's outcome stands."""
    store = mlflow_uri(args, runner.workdir)
    if store is None:
        return None
    uri, artifact_root = store
    from pipelines import tracking
    from pipelines.local.registry import Registry

    files = sorted(runner.execution_dir.glob("*/opt/ml/processing/*/*.png"))
    files += [report] if report else []
    # the trained artifact, in the local S3 where Train's properties say it is
    train = next((s for s in result.steps if s.name == "Train"), None)
    artifact = (
        (train.properties.get("ModelArtifacts") or {}).get("S3ModelArtifacts") if train else None
    )
    model = runner.s3.path(artifact) if artifact else None
    try:
        run_id = tracking.log_execution(
            uri, runner.pipeline_name, document, runner.parameters, files, model, artifact_root
        )
    except Exception as exc:  # a server that is down, an ARN without the plugin, ...
        print(f"run: warning: not logged to MLflow ({uri}): {exc}", file=sys.stderr)
        return None
    package = document.get("model_package") or {}
    if package and not document.get("already_registered"):
        Registry(runner.workdir / "registry").annotate(
            package["ModelPackageGroupName"],
            int(package["ModelPackageVersion"]),
            "MlflowRunId",
            run_id,
        )
    print(f"mlflow: run {run_id} in {uri}", file=sys.stderr)
    return run_id


def write_report(
    document: dict[str, Any],
    result: Any,
    definition: dict[str, Any],
    runner: Any,
    actuals: Path | None,
    args: argparse.Namespace,
) -> Path | None:
    """report.html in the execution's folder (pipelines/local/report.py); None, with a
    warning, when it cannot be written (the run's own outcome stands)."""
    from pipelines.accuracy import read_forecast, read_table
    from pipelines.files import write_atomically
    from pipelines.local import report
    from pipelines.settings import load_settings

    try:
        image = None
        if result.predictions:
            settings = load_settings(args.profile, config=args.config)
            keys = [*settings.data.series_columns, settings.data.date_column]
            columns = settings.forecast.columns
            forecast = read_forecast([Path(p) for p in result.predictions], keys, list(columns))
            known = None
            if actuals is not None:
                known = read_table(actuals)[[*keys, settings.data.target_column]]
                known[settings.data.date_column] = known[settings.data.date_column].astype(str)
            image = report.forecast_png(forecast, keys, columns, known)
        page = report.build(
            {**document, "drift_report": result.report("severe_count")},
            definition,
            runner.parameters,
            runner.execution_dir,
            image,
        )
        path: Path = runner.execution_dir / "report.html"
        write_atomically(path, page)
        return path
    except Exception as exc:  # a report is a view of the run, never its outcome
        print(f"run: warning: report.html not written: {exc}", file=sys.stderr)
        return None


def run_sagemaker_local(args: argparse.Namespace) -> int:
    from pipelines.local.sagemaker_mode import LocalModeUnavailable, run_sagemaker_local
    from pipelines.parameters import ParameterError, coerce_overrides
    from pipelines.settings import load_settings

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    try:
        settings = load_settings(args.profile, config=args.config)
        definition, _, _ = cached_definition(args.profile, args.workdir.resolve(), args.config)
        overrides = coerce_overrides(definition["Parameters"], args.param)
        status, reason, steps = run_sagemaker_local(
            settings,
            args.workdir,
            overrides,
            args.input or demo_input(args.workdir.resolve())[0],
            progress,
        )
    except (SettingsError, ParameterError, LocalModeUnavailable, DemoDataMissing) as exc:
        print(f"run: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    summary = {
        "status": status,
        "failure_reason": reason or None,
        "mode": "sagemaker-local",
        "steps": [
            {
                "name": s["StepName"],
                "status": s["StepStatus"],
                "failure_reason": s.get("FailureReason"),
            }
            for s in steps
        ],
    }
    if args.json:
        sys.stdout.write(json.dumps(summary, indent=2, sort_keys=True, default=str) + "\n")
    else:
        sys.stdout.write(
            f"SageMaker local mode: {status}" + (f": {reason}" if reason else "") + "\n"
        )
    return EXIT_OK if status == "Succeeded" else EXIT_FAILED


def parse_history_args(argv: list[str]) -> argparse.Namespace:
    """`runs list` and `show [EXECUTION]`."""
    if argv[0] == "runs":
        parser = argparse.ArgumentParser(
            prog="python -m pipelines.run runs", description="Past local executions."
        )
        parser.add_argument("command", choices=("list",), help="list them, newest first")
    else:
        parser = argparse.ArgumentParser(
            prog="python -m pipelines.run show",
            description="An execution's report.html: its path, and the page in a browser "
            "when this machine has a display.",
        )
        parser.add_argument(
            "execution", nargs="?", help="an execution id or a unique prefix (default: the latest)"
        )
    add_version_flag(parser)
    parser.add_argument(
        "--workdir",
        type=Path,
        default=DEFAULT_WORKDIR,
        help=f"work directory (default {DEFAULT_WORKDIR})",
    )
    args = parser.parse_args(argv[1:])
    args.show = argv[0] == "show"
    return args


def run_history(args: argparse.Namespace) -> int:
    from pipelines.local import history

    try:
        if not args.show:
            sys.stdout.write(history.table(history.executions(args.workdir)))
            return EXIT_OK
        chosen = history.find(args.workdir, args.execution)
    except history.HistoryError as exc:
        print(f"run: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if chosen.report is None:
        print(f"run: error: {chosen.execution_id} has no report.html", file=sys.stderr)
        return EXIT_FAILED
    print(chosen.report)
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or sys.platform == "darwin":
        import webbrowser

        webbrowser.open(chosen.report.resolve().as_uri())
    return EXIT_OK


def registry_argv(argv: list[str]) -> list[str]:
    """`run registry [--workdir W] CMD ...` as `pipelines.registry CMD ... --local --workdir W`
    (the older spelling, kept: --workdir may come before the subcommand)."""
    before: list[str] = []
    rest = list(argv)
    while rest and rest[0].startswith("--workdir"):
        option = rest.pop(0)
        before += [option] if "=" in option else [option, *rest[:1]]
        rest = rest[0 if "=" in option else 1 :]
    if not rest or rest[0] in ("-h", "--help", "--version"):
        return rest or ["--help"]
    return [*rest, "--local", *before]


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "registry":
        from pipelines import registry

        return registry.main(registry_argv(argv[1:]))
    if argv and argv[0] in ("runs", "show"):
        return run_history(parse_history_args(argv))
    args = parse_run_args(argv)
    return run_sagemaker_local(args) if args.mode == "sagemaker-local" else run_local(args)


if __name__ == "__main__":
    sys.exit(main())

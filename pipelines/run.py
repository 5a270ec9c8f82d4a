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
from dataclasses import asdict
from pathlib import Path
from typing import Any

from pipelines import cli
from pipelines.cli import EXIT_FAILED, EXIT_OK
from pipelines.demo_data import DemoDataMissing
from pipelines.local import DEFAULT_WORKDIR
from pipelines.local.console import Console
from pipelines.local.definitions import cached_definition
from pipelines.local.summary import already_registered, table
from pipelines.settings import SettingsError, add_config_flag
from pipelines.version import add_version_flag


class RunUsage(ValueError):
    """A bad --definition, --input or --actuals: nothing was run."""


class RunFailed(Exception):
    """The work directory cannot be written, or the forecast cannot be scored."""


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
    cli.add_profile_flag(parser)
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


def prepare_local(args: argparse.Namespace) -> tuple[Any, dict[str, Any], Any, Any, Path | None]:
    """The runner with the inputs staged: (runner, definition, champion, latest version,
    actuals). Bad input is RunUsage; a work directory that cannot be written, RunFailed."""
    from pipelines.local.runner import LocalRunner
    from pipelines.local.storage import LocalS3
    from pipelines.parameters import coerce_overrides

    try:
        if args.definition:
            try:
                definition = json.loads(args.definition.read_text())
            except (OSError, json.JSONDecodeError) as exc:
                raise RunUsage(f"--definition {args.definition}: {exc}") from None
            if not isinstance(definition, dict) or not isinstance(definition.get("Steps"), list):
                raise RunUsage(f"--definition {args.definition}: not a pipeline definition")
            name, region = "pipeline", "local"
        else:
            definition, name, region = cached_definition(
                args.profile, args.workdir.resolve(), args.config
            )
        overrides = coerce_overrides(definition.get("Parameters", []), args.param)
        overrides, champion, latest = local_champion(definition, overrides, args.workdir.resolve())
        console = Console(quiet=args.quiet, verbose=args.verbose)
        runner = LocalRunner(
            definition,
            args.workdir.resolve(),
            overrides,
            use_cache=not args.no_cache,
            progress=console.line,
            live=console.live,
            pipeline_name=name,
            region=region,
            allow_commands=args.allow_commands,
        )
        if args.input and "InputDataUri" not in runner.parameters:
            raise RunUsage("--input: this definition has no InputDataUri parameter")
        input_path, actuals = args.input, args.actuals
        if input_path is None:
            input_path, demo_actuals = demo_input(runner.workdir)
            actuals = actuals or demo_actuals
        if actuals is not None and not actuals.is_file():
            raise RunUsage(f"--actuals {actuals}: no such file")
        staged = stage_inputs(
            definition, runner.parameters, LocalS3(runner.s3.root), runner.workdir, input_path
        )
    except (ValueError, FileNotFoundError, DemoDataMissing) as exc:  # settings, input, ...
        raise RunUsage(str(exc)) from None
    except OSError as exc:  # the work directory cannot be written (read-only, full, ...)
        raise RunFailed(f"work directory {args.workdir}: {exc}") from None
    console.line(f"execution {runner.execution_id}: {staged}")
    console.line(
        f"champion: {champion.describe()}"
        if champion
        else "champion: none approved (ChampionModelDataUri "
        f"{runner.parameters.get('ChampionModelDataUri', 'not declared')})"
    )
    return runner, definition, champion, latest, actuals


def run_local(args: argparse.Namespace) -> int:
    from pipelines.accuracy import AccuracyError, Forecast, describe
    from pipelines.settings import load_settings

    runner, definition, champion, latest, actuals = prepare_local(args)
    try:
        result = runner.run()
    except OSError as exc:
        raise RunFailed(f"work directory {args.workdir}: {exc}") from None
    forecast, accuracy = None, None
    if result.predictions:  # read once: scored against the actuals, and drawn in the report
        settings = load_settings(args.profile, config=args.config)
        try:
            forecast = Forecast.read([Path(p) for p in result.predictions], settings, actuals)
            accuracy = forecast.score() if actuals is not None else None
        except AccuracyError as exc:
            raise RunFailed(str(exc)) from None
    document = {
        **result.as_json(),
        "champion": asdict(champion) if champion else None,
        "accuracy_after_the_fact": accuracy,
        # the version whose artifact this run trained again (nothing registered)
        "already_registered": asdict(latest) if already_registered(result, latest) else None,
    }
    report = write_report(document, result, definition, runner, forecast)
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
    forecast: Any,
) -> Path | None:
    """report.html in the execution's folder (pipelines/local/report.py); None, with a
    warning, when it cannot be written (the run's own outcome stands)."""
    from pipelines.files import write_atomically
    from pipelines.local import report

    try:
        image = None
        if forecast is not None and not forecast.frame.empty:
            image = report.forecast_png(
                forecast.frame, forecast.keys, forecast.columns, forecast.known()
            )
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
    from pipelines.parameters import ParameterError, coerce_overrides
    from pipelines.sagemaker_local_mode import LocalModeUnavailable, run_sagemaker_local
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
        raise RunUsage(str(exc)) from None
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

    if not args.show:
        sys.stdout.write(history.table(history.executions(args.workdir)))
        return EXIT_OK
    chosen = history.find(args.workdir, args.execution)
    if chosen.report is None:
        raise RunFailed(f"{chosen.execution_id} has no report.html")
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


def dispatch(argv: list[str]) -> int:
    if argv and argv[0] in ("runs", "show"):
        return run_history(parse_history_args(argv))
    args = parse_run_args(argv)
    return run_sagemaker_local(args) if args.mode == "sagemaker-local" else run_local(args)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "registry":
        from pipelines import registry

        return registry.main(registry_argv(argv[1:]))
    from pipelines.local.history import HistoryError

    return cli.run(
        "run", lambda: dispatch(argv), usage=(RunUsage, HistoryError), failed=(RunFailed,)
    )


if __name__ == "__main__":
    sys.exit(main())

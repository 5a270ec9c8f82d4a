"""python -m pipelines.run --local: run the published pipeline definition on this machine.

    python -m pipelines.run --local                        # the demo: Rossmann, dev profile
    python -m pipelines.run --local --param MaxDepth=6 --input my_sales.parquet --json
    python -m pipelines.run --local --definition definition.json
    python -m pipelines.run registry list
    python -m pipelines.run registry approve store-sales-forecast-dev 1

No Docker, no AWS credentials, no network: S3 is a folder in the work directory
(default ./.forecast-local). Progress goes to stderr; stdout carries the summary table, or
with --json one JSON object. The exit status is 0 only when the pipeline succeeded.
"""

from __future__ import annotations

import argparse
import json
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


def parse_run_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m pipelines.run",
        description="Run the pipeline definition locally (no Docker, no AWS). "
        "See also: python -m pipelines.run registry --help",
    )
    add_version_flag(parser)
    parser.add_argument(
        "--local",
        action="store_true",
        help="run with the Docker-free local runner (same as --mode local)",
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
    args = parser.parse_args(argv)
    if not (args.local or args.mode):
        parser.error("choose a runner: --local (Docker-free) or --mode sagemaker-local")
    args.mode = args.mode or "local"
    if args.mode == "sagemaker-local" and args.definition:
        parser.error(
            "--mode sagemaker-local builds the pipeline from --profile; "
            "--definition goes with --mode local"
        )
    return args


def parse_registry_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m pipelines.run registry", description="The local runner's model registry."
    )
    add_version_flag(parser)
    workdir_help = f"work directory (default {DEFAULT_WORKDIR})"
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR, help=workdir_help)
    # --workdir also after the subcommand (registry list --workdir W), where people type it
    after = argparse.ArgumentParser(add_help=False)
    after.add_argument("--workdir", type=Path, default=argparse.SUPPRESS, help=workdir_help)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", parents=[after], help="model package groups and their versions")
    for name, status in (("approve", "Approved"), ("reject", "Rejected")):
        cmd = sub.add_parser(name, parents=[after], help=f"set a version's status to {status}")
        cmd.add_argument("group")
        cmd.add_argument("version", type=int)
        cmd.set_defaults(status=status)
    return parser.parse_args(argv)


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
        started = time.perf_counter()

        def progress(line: str) -> None:
            print(f"[{time.perf_counter() - started:6.1f}s] {line}", file=sys.stderr, flush=True)

        runner = LocalRunner(
            definition,
            args.workdir.resolve(),
            overrides,
            use_cache=not args.no_cache,
            progress=progress,
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
    if args.json:
        document = {
            **result.as_json(),
            "champion": asdict(champion) if champion else None,
            "accuracy_after_the_fact": accuracy,
            # the version whose artifact this run trained again (nothing registered)
            "already_registered": asdict(latest) if already_registered(result, latest) else None,
        }
        sys.stdout.write(json.dumps(document, indent=2, sort_keys=True) + "\n")
    else:
        sys.stdout.write(table(result, champion, describe(accuracy) if accuracy else None, latest))
    return EXIT_OK if result.status == "Succeeded" else EXIT_FAILED


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


def run_registry(args: argparse.Namespace) -> int:
    from pipelines.local.registry import Registry, RegistryError

    registry = Registry(args.workdir.resolve() / "registry")
    try:
        if args.command == "list":
            groups = registry.groups()
            if not groups:
                print(f"no registered models in {registry.path}")
            for group, versions in groups.items():
                print(group)
                for v in versions:
                    wape = (
                        v.get("ModelQualityStatistics", {})
                        .get("regression_metrics", {})
                        .get("wape", {})
                        .get("value")
                    )
                    metric = f"  back-test WAPE {wape:.4f}" if wape is not None else ""
                    print(
                        f"  version {v['ModelPackageVersion']:<3} "
                        f"{v['ModelApprovalStatus']:<22} {v['CreationTime']}{metric}"
                    )
            return EXIT_OK
        entry = registry.set_status(args.group, args.version, args.status)
        print(f"{entry['ModelPackageArn']}: {entry['ModelApprovalStatus']}")
        return EXIT_OK
    except RegistryError as exc:
        print(f"run registry: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"run registry: error: {exc}", file=sys.stderr)
        return EXIT_FAILED


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "registry":
        return run_registry(parse_registry_args(argv[1:]))
    args = parse_run_args(argv)
    return run_sagemaker_local(args) if args.mode == "sagemaker-local" else run_local(args)


if __name__ == "__main__":
    sys.exit(main())

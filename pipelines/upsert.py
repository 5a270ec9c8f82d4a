"""python -m pipelines.upsert: publish (create or update) the pipeline in SageMaker.

    python -m pipelines.upsert --dry-run                 # print the definition, no AWS needed
    python -m pipelines.upsert --profile prod --diff     # compare with what is deployed
    python -m pipelines.upsert --graph [dot]             # the DAG as Mermaid (or dot)
    python -m pipelines.upsert --profile dev --role-arn arn:aws:iam::<acct>:role/<name>
    python -m pipelines.upsert --start --param MaxDepth=6 --wait [--report report.html]

stdout carries only the result (the definition, the diff, the pipeline ARN, the execution
ARN); progress and errors go to stderr. Every failure ends with one line and a non-zero exit.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
import time
from pathlib import Path
from typing import Any

from pipelines.cli import EXIT_FAILED, EXIT_OK
from pipelines.settings import (
    DEFAULT_PROFILE,
    PROFILES,
    ROLE_ENV,
    Settings,
    SettingsError,
    add_config_flag,
)
from pipelines.version import add_version_flag


class UpsertError(RuntimeError):
    """A failure with a message meant for the user."""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m pipelines.upsert",
        description="Build the store-sales forecasting pipeline definition and publish it.",
    )
    add_version_flag(parser)
    parser.add_argument(
        "--profile",
        default=DEFAULT_PROFILE,
        help=f"settings profile: {', '.join(PROFILES)} (default {DEFAULT_PROFILE})",
    )
    add_config_flag(parser)
    parser.add_argument("--role-arn", help=f"execution role (else the profile or ${ROLE_ENV})")
    parser.add_argument("--region", help="AWS region (else the profile's)")
    parser.add_argument(
        "--bucket",
        help="S3 bucket for code, data and outputs (default: the profile's bucket; when it "
        "sets none, the SageMaker SDK's default, sagemaker-<region>-<account>, created if "
        "missing when publishing)",
    )
    parser.add_argument("--pipeline-name", help="pipeline name (else the profile's)")
    parser.add_argument("--description", help="pipeline description shown in Studio")
    parser.add_argument("--kms-key-id", help="KMS key for every job's volumes and outputs")
    parser.add_argument(
        "--subnet", action="append", default=[], metavar="ID", help="VPC subnet (repeatable)"
    )
    parser.add_argument(
        "--security-group",
        action="append",
        default=[],
        metavar="ID",
        help="VPC security group (repeatable)",
    )
    parser.add_argument(
        "--tag",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra tag on the pipeline (repeatable)",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--dry-run", action="store_true", help="print the definition JSON and exit; no AWS call"
    )
    mode.add_argument(
        "--diff",
        action="store_true",
        help="show how the deployed definition would change; publish nothing",
    )
    mode.add_argument(
        "--graph",
        nargs="?",
        const="mermaid",
        choices=("mermaid", "dot"),
        help="print the DAG (Mermaid, or Graphviz dot) from the definition; no AWS call",
    )
    parser.add_argument(
        "--output",
        metavar="FILE",
        help="with --dry-run or --graph: write to FILE instead of stdout",
    )
    parser.add_argument(
        "--start",
        action="store_true",
        help="start an execution after publishing; ChampionModelDataUri is "
        "set to the latest Approved version unless given",
    )
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="execution parameter for --start (repeatable)",
    )
    parser.add_argument(
        "--wait", action="store_true", help="with --start: follow the execution until it ends"
    )
    parser.add_argument(
        "--report",
        type=Path,
        metavar="FILE",
        help="with --wait: write the execution's report.html (steps, metrics, plots, drift)",
    )
    parser.add_argument("--poll-seconds", type=float, default=15.0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.output and not (args.dry_run or args.graph):
        parser.error("--output goes with --dry-run or --graph")
    if (args.param or args.wait) and not args.start:
        parser.error("--param and --wait go with --start")
    if args.report and not args.wait:
        parser.error("--report goes with --start --wait")
    return args


def settings_from_args(args: argparse.Namespace) -> Settings:
    from pipelines.settings import load_settings

    tags: dict[str, str] = {}
    for item in args.tag:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SettingsError(f"command line: --tag {item!r}: expected KEY=VALUE")
        tags[key] = value
    overrides: dict[str, Any] = {
        "role_arn": args.role_arn,
        "region": args.region,
        "bucket": args.bucket,
        "pipeline_name": args.pipeline_name,
        "description": args.description,
        "tags": tags or None,
        "security": {
            "kms_key_id": args.kms_key_id,
            "subnets": tuple(args.subnet) or None,
            "security_group_ids": tuple(args.security_group) or None,
        },
    }
    return load_settings(args.profile, overrides, config=args.config)


def check_security(settings: Settings) -> None:
    """A profile with `security.required` (prod) is not published unencrypted or outside a
    VPC: an execution would otherwise run with neither, and nothing would say so."""
    missing = settings.security.missing()
    if missing:
        flags = {
            "kms_key_id": "--kms-key-id",
            "subnets": "--subnet",
            "security_group_ids": "--security-group",
        }
        raise SettingsError(
            f"profile {settings.profile!r} requires a KMS key and a VPC (security.required): "
            f"set security.{', security.'.join(missing)} in pipelines/profiles/"
            f"{settings.profile}.toml, or pass {' '.join(flags[m] for m in missing)}"
        )


def definition_diff(deployed: str, new: str, name: str) -> str:
    """Unified diff of the two definitions in canonical form ('' when they are the same)."""
    from pipelines.pipeline import canonical_json

    old_lines = canonical_json(json.loads(deployed)).splitlines(keepends=True)
    new_lines = canonical_json(json.loads(new)).splitlines(keepends=True)
    return "".join(
        difflib.unified_diff(old_lines, new_lines, f"{name} (deployed)", f"{name} (new)")
    )


def describe_pipeline(sm: Any, name: str) -> dict[str, Any] | None:
    """The deployed pipeline, or None if there is none by that name."""
    from botocore.exceptions import ClientError

    try:
        result: dict[str, Any] = sm.describe_pipeline(PipelineName=name)
        return result
    except ClientError as exc:
        error = exc.response.get("Error", {})
        message = error.get("Message", "").lower()
        missing = error.get("Code") == "ResourceNotFound" or (
            error.get("Code") == "ValidationException"
            and ("does not exist" in message or "could not find" in message)
        )
        if missing:
            return None
        raise


def publish(settings: Settings, definition: str, sm: Any, s3: Any) -> tuple[str, str]:
    """Stage code, create or update the pipeline, apply tags. Returns (arn, what happened)."""
    from pipelines.code_assets import code_assets, stage_code

    uploaded = stage_code(code_assets(), settings.s3_root, s3, settings.security.kms_key_id)
    for uri in uploaded:
        print(f"staged {uri}", file=sys.stderr)
    tags = [{"Key": k, "Value": v} for k, v in settings.all_tags.items()]
    deployed = describe_pipeline(sm, settings.pipeline_name)
    if deployed is None:
        arn = sm.create_pipeline(
            PipelineName=settings.pipeline_name,
            PipelineDisplayName=settings.pipeline_name,
            PipelineDefinition=definition,
            PipelineDescription=settings.description,
            RoleArn=settings.role_arn,
            Tags=tags,
        )["PipelineArn"]
        return arn, "created"
    arn = deployed["PipelineArn"]
    unchanged = (
        not definition_diff(deployed["PipelineDefinition"], definition, settings.pipeline_name)
        and deployed.get("PipelineDescription", "") == settings.description
        and deployed.get("RoleArn") == settings.role_arn
    )
    if not unchanged:
        sm.update_pipeline(
            PipelineName=settings.pipeline_name,
            PipelineDisplayName=settings.pipeline_name,
            PipelineDefinition=definition,
            PipelineDescription=settings.description,
            RoleArn=settings.role_arn,
        )
    if tags:
        sm.add_tags(ResourceArn=arn, Tags=tags)
    return arn, "unchanged" if unchanged else "updated"


def execution_display_name(pipeline: str, suffix: str = "-upsert") -> str:
    """`<pipeline>-upsert`, shortened to what StartPipelineExecution accepts."""
    from pipelines.limits import shape

    most = int(shape("PipelineExecutionName")["max"])
    return pipeline[: most - len(suffix)].rstrip("-") + suffix


def start_execution(sm: Any, name: str, overrides: dict[str, Any]) -> str:
    params = [
        {"Name": k, "Value": str(v).lower() if isinstance(v, bool) else str(v)}
        for k, v in sorted(overrides.items())
    ]
    arn: str = sm.start_pipeline_execution(
        PipelineName=name,
        PipelineParameters=params,
        PipelineExecutionDisplayName=execution_display_name(name),
    )["PipelineExecutionArn"]
    return arn


def wait_for_execution(sm: Any, arn: str, poll_seconds: float) -> tuple[str, str]:
    """Follow an execution, printing each step's status as it changes.

    Returns (final status, failure reason naming the failed step when it failed).
    """
    from botocore.exceptions import ClientError

    seen: dict[str, str] = {}
    while True:
        status = sm.describe_pipeline_execution(PipelineExecutionArn=arn)
        steps: list[dict[str, Any]] = []
        try:
            pages = sm.get_paginator("list_pipeline_execution_steps").paginate(
                PipelineExecutionArn=arn
            )
            steps = [s for page in pages for s in page["PipelineExecutionSteps"]]
        except (ClientError, NotImplementedError):
            steps = []  # not every endpoint lists steps (moto does not); status still works
        for step in reversed(steps):
            name, state = step["StepName"], step["StepStatus"]
            if seen.get(name) != state:
                seen[name] = state
                print(f"  {name}: {state}", file=sys.stderr)
        final = status["PipelineExecutionStatus"]
        if final in ("Succeeded", "Failed", "Stopped"):
            failed = [s for s in steps if s["StepStatus"] == "Failed"]
            reason = status.get("FailureReason", "")
            if failed:
                first = failed[0]
                reason = f"step {first['StepName']} failed: {first.get('FailureReason', '')}"
            return final, reason
        time.sleep(poll_seconds)


def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    from pipelines.parameters import coerce_overrides
    from pipelines.pipeline import definition as build_definition

    text = build_definition(settings)
    overrides = coerce_overrides(json.loads(text)["Parameters"], args.param)
    if args.graph:
        from pipelines.graph import render

        text = render(json.loads(text), args.graph)
    if args.dry_run or args.graph:
        if not settings.bucket and args.dry_run:
            print(
                f"bucket: {settings.bucket_name}, the SageMaker SDK's default for the role's "
                "account; publishing names your account's (or pass --bucket)",
                file=sys.stderr,
            )
        if args.output:
            from pipelines.files import write_atomically

            write_atomically(Path(args.output), text)
            print(f"wrote {args.output}", file=sys.stderr)
        else:
            sys.stdout.write(text)
        return EXIT_OK

    from pipelines import aws

    boto = aws.session(settings.region)
    sm = aws.client(boto, "sagemaker")

    def named_bucket(settings: Settings, create: bool) -> tuple[Settings, str]:
        """The SDK's default bucket when none is set (created if `create`), and the
        definition that names it."""
        if settings.bucket:
            return settings, text
        settings = aws.with_default_bucket(settings, boto, create=create)
        print(f"bucket: {settings.bucket} (the SageMaker SDK's default)", file=sys.stderr)
        return settings, build_definition(settings)

    if args.diff:
        settings, text = named_bucket(settings, create=False)
        deployed = describe_pipeline(sm, settings.pipeline_name)
        if deployed is None:
            raise UpsertError(
                f"pipeline {settings.pipeline_name!r} does not exist in {settings.region}: "
                "nothing to diff against (publish it first)"
            )
        if not settings.role_arn and deployed.get("RoleArn"):
            # the role is part of the definition: without one given, compare as deployed
            settings = settings.model_copy(update={"role_arn": deployed["RoleArn"]})
            text = build_definition(settings)
        diff = definition_diff(deployed["PipelineDefinition"], text, settings.pipeline_name)
        sys.stdout.write(diff or f"no changes: {settings.pipeline_name} is up to date\n")
        return EXIT_OK
    if not settings.role_arn:
        raise SettingsError(
            f"publishing needs the pipeline's execution role: pass --role-arn, set {ROLE_ENV}, "
            f"or set role_arn in pipelines/profiles/{settings.profile}.toml"
        )
    check_security(settings)
    settings, text = named_bucket(settings, create=True)  # checked first: nothing is created
    arn, outcome = publish(settings, text, sm, aws.client(boto, "s3"))
    print(f"pipeline {settings.pipeline_name} {outcome}", file=sys.stderr)
    print(arn)
    if not args.start:
        return EXIT_OK
    from pipelines.champion import REGISTERED_PARAMETER, fill_champion, latest_in_sagemaker

    declared = json.loads(text)["Parameters"]
    group = settings.model_package_group
    overrides, champion = fill_champion(
        declared, overrides, lambda: latest_in_sagemaker(sm, group, "Approved")
    )
    # the latest version of any status: a model served from the step cache is not a new one
    overrides, _ = fill_champion(
        declared, overrides, lambda: latest_in_sagemaker(sm, group), REGISTERED_PARAMETER
    )
    print(
        f"champion: {champion.describe()}"
        if champion
        else f"champion: none (no Approved version in {settings.model_package_group}, or "
        "ChampionModelDataUri given)",
        file=sys.stderr,
    )
    execution = start_execution(sm, settings.pipeline_name, overrides)
    print(execution)
    if not args.wait:
        return EXIT_OK
    status, reason = wait_for_execution(sm, execution, args.poll_seconds)
    print(f"execution {status}" + (f": {reason}" if reason else ""), file=sys.stderr)
    if args.report:
        from pipelines import execution_report

        written = execution_report.write(
            sm, aws.client(boto, "s3"), execution, settings.region, args.report
        )
        print(f"report: {written}", file=sys.stderr)
    return EXIT_OK if status == "Succeeded" else EXIT_FAILED


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from pipelines import cli
    from pipelines.parameters import ParameterError

    return cli.run(
        "upsert",
        lambda: run(args),
        usage=(ParameterError,),
        failed=(UpsertError,),
        offline_hint="; --dry-run needs none",
    )


if __name__ == "__main__":
    sys.exit(main())

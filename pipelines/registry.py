"""python -m pipelines.registry: list, approve and reject model versions.

    python -m pipelines.registry list --profile prod              # SageMaker's model registry
    python -m pipelines.registry approve store-sales-forecast-prod 7 --profile prod
    python -m pipelines.registry list --local                     # the local runner's registry
    python -m pipelines.registry approve store-sales-forecast 1 --local --workdir W

Approving a version of the group the staging endpoint serves starts a release (see
`python -m pipelines.release`); `python -m pipelines.deploy` deploys the latest Approved one.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from pipelines import cli
from pipelines.local import DEFAULT_WORKDIR
from pipelines.settings import add_config_flag, load_settings
from pipelines.version import add_version_flag

STATUSES = {"approve": "Approved", "reject": "Rejected"}


class RegistryUsage(ValueError):
    """A group or version that is not there, or a bad status."""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m pipelines.registry",
        description="Model versions in SageMaker's model registry (or, with --local, the local "
        "runner's): list them, approve or reject one.",
    )
    add_version_flag(parser)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--local", action="store_true", help="the local runner's registry")
    common.add_argument(
        "--workdir",
        type=Path,
        default=DEFAULT_WORKDIR,
        help=f"with --local: the runner's work directory (default: {DEFAULT_WORKDIR})",
    )
    cli.add_profile_flag(common)
    add_config_flag(common)
    common.add_argument("--region", help="AWS region (default: the profile's)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="list|approve|reject")
    listing = sub.add_parser("list", parents=[common], help="groups and their versions")
    listing.add_argument("group", nargs="?", help="one group (default: the profile's groups)")
    for name, status in STATUSES.items():
        cmd = sub.add_parser(name, parents=[common], help=f"set a version's status to {status}")
        cmd.add_argument("group")
        cmd.add_argument("version", type=int)
    return parser.parse_args(argv)


def _metric(version: dict[str, Any]) -> str:
    wape = (
        version.get("ModelQualityStatistics", {})
        .get("regression_metrics", {})
        .get("wape", {})
        .get("value")
    )
    return f"  back-test WAPE {wape:.4f}" if wape is not None else ""


def _line(number: Any, status: str, created: Any, extra: str = "") -> str:
    return f"  version {number!s:<3} {status:<22} {created}{extra}"


def local(args: argparse.Namespace) -> int:
    from pipelines.local.registry import Registry, RegistryError

    registry = Registry(args.workdir.resolve() / "registry")
    try:
        if args.command == "list":
            groups = registry.groups()
            if args.group:
                groups = {args.group: groups.get(args.group, [])}
            if not any(groups.values()):
                print(f"no registered models in {registry.path}")
            for group, versions in groups.items():
                print(group)
                for v in versions:
                    print(
                        _line(
                            v["ModelPackageVersion"],
                            v["ModelApprovalStatus"],
                            v["CreationTime"],
                            _metric(v)
                            + (f"  mlflow run {v['MlflowRunId']}" if v.get("MlflowRunId") else ""),
                        )
                    )
            return cli.EXIT_OK
        entry = registry.set_status(args.group, args.version, STATUSES[args.command])
    except RegistryError as exc:
        raise RegistryUsage(str(exc)) from None
    print(f"{entry['ModelPackageArn']}: {entry['ModelApprovalStatus']}")
    return cli.EXIT_OK


def versions(sm: Any, group: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for page in sm.get_paginator("list_model_packages").paginate(ModelPackageGroupName=group):
        found.extend(page["ModelPackageSummaryList"])
    return sorted(found, key=lambda s: int(s["ModelPackageVersion"]))


def remote(args: argparse.Namespace) -> int:
    from pipelines import aws

    settings = load_settings(args.profile, {"region": args.region}, config=args.config)
    sm = aws.client(aws.session(settings.region), "sagemaker")
    if args.command == "list":
        groups = [args.group] if args.group else [settings.model_package_group]
        if not args.group and settings.served_group not in groups:
            groups.append(settings.served_group)  # what the profile's endpoint serves
        for group in groups:
            print(group)
            listed = versions(sm, group)
            if not listed:
                print("  no versions")
            for v in listed:
                print(_line(v["ModelPackageVersion"], v["ModelApprovalStatus"], v["CreationTime"]))
        return cli.EXIT_OK
    chosen = [v for v in versions(sm, args.group) if int(v["ModelPackageVersion"]) == args.version]
    if not chosen:
        raise RegistryUsage(
            f"group {args.group!r} has no version {args.version} in {settings.region}"
        )
    sm.update_model_package(
        ModelPackageArn=chosen[0]["ModelPackageArn"],
        ModelApprovalStatus=STATUSES[args.command],
        ApprovalDescription=f"set with python -m pipelines.registry {args.command}",
    )
    print(f"{chosen[0]['ModelPackageArn']}: {STATUSES[args.command]}")
    return cli.EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return cli.run(
        "registry", lambda: local(args) if args.local else remote(args), usage=(RegistryUsage,)
    )


if __name__ == "__main__":
    sys.exit(main())

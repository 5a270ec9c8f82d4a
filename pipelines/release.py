"""python -m pipelines.release: the EventBridge rule that starts a release when a model
version is approved, defined as code.

    python -m pipelines.release rule --profile prod                     # print the requests
    python -m pipelines.release rule --profile prod --github-repo OWNER/REPO \\
        --api-destination-arn ARN --target-role-arn ARN --apply         # create or update it

The rule matches SageMaker's "Model Package State Change" events of the group the staging
endpoint serves (the prod pipeline's, by default) whose status is Approved. Its target is
either GitHub (an EventBridge API destination to the repository's dispatches endpoint, which
starts .github/workflows/release.yml with the approved version) or any EventBridge target
ARN, such as a CodePipeline pipeline that runs .ci/buildspec.yml.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from pipelines import cli
from pipelines.settings import Settings, add_config_flag, load_settings
from pipelines.version import add_version_flag

DETAIL_TYPE = "SageMaker Model Package State Change"
DISPATCH_EVENT = "model-approved"  # release.yml's repository_dispatch type


class ReleaseUsage(ValueError):
    """Options that cannot make a rule."""


def rule_name(settings: Settings) -> str:
    return f"{settings.served_group}-approved"[:64]


def approval_pattern(group: str) -> dict[str, Any]:
    """The events of `group`'s versions becoming (or being updated while) Approved."""
    return {
        "source": ["aws.sagemaker"],
        "detail-type": [DETAIL_TYPE],
        "detail": {"ModelPackageGroupName": [group], "ModelApprovalStatus": ["Approved"]},
    }


def rule_request(settings: Settings) -> dict[str, Any]:
    """PutRule: the approval rule on the default event bus."""
    return {
        "Name": rule_name(settings),
        "EventPattern": json.dumps(approval_pattern(settings.served_group), sort_keys=True),
        "State": "ENABLED",
        "Description": f"An Approved version of {settings.served_group} starts a release",
        "Tags": [{"Key": k, "Value": v} for k, v in settings.all_tags.items()],
    }


def github_payload_template() -> dict[str, Any]:
    """repository_dispatch's body: the version and group from the event."""
    return {
        "InputPathsMap": {
            "version": "$.detail.ModelPackageVersion",
            "group": "$.detail.ModelPackageGroupName",
        },
        "InputTemplate": (
            '{"event_type": "' + DISPATCH_EVENT + '", "client_payload": '
            '{"version": "<version>", "group": "<group>"}}'
        ),
    }


def targets_request(
    settings: Settings, target_arn: str, role_arn: str, github: bool
) -> dict[str, Any]:
    """PutTargets: the API destination (GitHub) with the dispatch body, or a plain target."""
    target: dict[str, Any] = {"Id": "release", "Arn": target_arn, "RoleArn": role_arn}
    if github:
        target["InputTransformer"] = github_payload_template()
    return {"Rule": rule_name(settings), "Targets": [target]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipelines.release",
        description="The EventBridge rule that starts a release on a model approval.",
    )
    add_version_flag(parser)
    parser.add_argument("which", choices=("rule",), help="what to define (the approval rule)")
    cli.add_profile_flag(parser)
    add_config_flag(parser)
    parser.add_argument("--region", help="AWS region (default: the profile's)")
    parser.add_argument("--github-repo", metavar="OWNER/REPO", help="target GitHub's dispatches")
    parser.add_argument(
        "--api-destination-arn", help="the API destination to GitHub (or any target ARN)"
    )
    parser.add_argument("--target-role-arn", help="the role EventBridge invokes the target as")
    parser.add_argument("--apply", action="store_true", help="create or update the rule")
    args = parser.parse_args(argv)

    def body() -> int:
        from pipelines.limits import request_problems

        settings = load_settings(args.profile, {"region": args.region}, config=args.config)
        requests = [("PutRule", rule_request(settings))]
        if args.api_destination_arn or args.apply:
            if not (args.api_destination_arn and args.target_role_arn):
                raise ReleaseUsage("--apply needs --api-destination-arn and --target-role-arn")
            requests.append(
                (
                    "PutTargets",
                    targets_request(
                        settings,
                        args.api_destination_arn,
                        args.target_role_arn,
                        github=bool(args.github_repo),
                    ),
                )
            )
        problems = [f"{op}: {p}" for op, r in requests for p in request_problems("events", op, r)]
        if problems:
            raise ReleaseUsage("the rule's requests would be refused: " + "; ".join(problems))
        if args.github_repo:
            print(
                f"the API destination must POST to https://api.github.com/repos/"
                f"{args.github_repo}/dispatches with a token that may dispatch",
                file=sys.stderr,
            )
        if not args.apply:
            print(json.dumps([{"operation": op, "params": r} for op, r in requests], indent=2))
            return cli.EXIT_OK
        from pipelines import aws

        events = aws.client(aws.session(settings.region), "events")
        events.put_rule(**requests[0][1])
        events.put_targets(**requests[1][1])
        print(rule_name(settings))
        return cli.EXIT_OK

    return cli.run("release", body, usage=(ReleaseUsage,))


if __name__ == "__main__":
    sys.exit(main())

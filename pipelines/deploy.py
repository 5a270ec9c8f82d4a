"""python -m pipelines.deploy: put an approved model version behind the profile's endpoint.

    python -m pipelines.deploy --profile staging              # the latest Approved version
    python -m pipelines.deploy --profile prod --version 7 --dry-run
    python -m pipelines.deploy --profile dev --delete
    python -m pipelines.deploy invoke store-sales-forecast-staging --input rows.csv
    python -m pipelines.deploy invoke --local --input rows.csv   # the local registry's model
    python -m pipelines.deploy serve --port 8080                 # the container's HTTP contract

A deploy creates the SageMaker model (from the model package), an endpoint config (real-time
with data capture, or serverless: the profile's [endpoint] section), then creates the endpoint
or updates it blue/green (all at once or a canary, with an alarm on 5xx answers that rolls the
update back), waits for it with progress, and attaches auto-scaling. Names are derived from
the version and the settings, so deploying what is already deployed changes nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from pipelines import cli, endpoint
from pipelines.endpoint import Call, Current, EndpointError, Package, Plan
from pipelines.local import DEFAULT_WORKDIR
from pipelines.settings import Settings, add_config_flag, load_settings
from pipelines.version import installed_version

STATUS_POLL_SECONDS = 15.0
WAIT_TIMEOUT_SECONDS = 3 * 3600


class DeployUsage(ValueError):
    """A request this command cannot act on (bad options or input)."""


class DeployError(RuntimeError):
    """A deploy, an invocation or a deletion that failed."""


# -- reading what is there -------------------------------------------------------------------


def _not_found(exc: Exception) -> bool:
    from botocore.exceptions import ClientError

    if not isinstance(exc, ClientError):
        return False
    error = exc.response.get("Error", {})
    return error.get("Code") in ("ValidationException", "ResourceNotFound") and (
        "Could not find" in error.get("Message", "") or error.get("Code") == "ResourceNotFound"
    )


def find_package(sm: Any, group: str, version: int | None) -> Package:
    """The latest Approved version of `group`, or version `version` (which must be Approved)."""
    summaries: list[dict[str, Any]] = []
    try:
        for page in sm.get_paginator("list_model_packages").paginate(ModelPackageGroupName=group):
            summaries.extend(page["ModelPackageSummaryList"])
    except Exception as exc:
        if _not_found(exc):
            summaries = []
        else:
            raise
    if not summaries:
        raise DeployError(
            f"model package group {group!r} has no versions in this region: run the pipeline "
            "first (python -m pipelines.upsert --start)"
        )
    by_version = {int(s["ModelPackageVersion"]): s for s in summaries}
    if version is not None:
        if version not in by_version:
            raise DeployError(
                f"group {group!r} has no version {version} (it has {min(by_version)}.."
                f"{max(by_version)})"
            )
        chosen = by_version[version]
        if chosen["ModelApprovalStatus"] != "Approved":
            raise DeployError(
                f"version {version} of {group!r} is {chosen['ModelApprovalStatus']}: approve it "
                "in Studio's model registry (or aws sagemaker update-model-package "
                "--model-approval-status Approved) before it serves"
            )
    else:
        approved = [v for v, s in by_version.items() if s["ModelApprovalStatus"] == "Approved"]
        if not approved:
            latest = by_version[max(by_version)]
            raise DeployError(
                f"model package group {group!r} has no Approved version (latest: version "
                f"{max(by_version)}, {latest['ModelApprovalStatus']}): approve one in Studio's "
                "model registry, or pass --version N of an Approved one"
            )
        chosen = by_version[max(approved)]
    return Package(
        arn=chosen["ModelPackageArn"],
        version=int(chosen["ModelPackageVersion"]),
        status=chosen["ModelApprovalStatus"],
        group=group,
    )


def describe(sm: Any, aas: Any, name: str) -> Current | None:
    """The endpoint as it stands, or None when there is none."""
    try:
        found = sm.describe_endpoint(EndpointName=name)
    except Exception as exc:
        if _not_found(exc):
            return None
        raise
    config_name = found.get("EndpointConfigName", "")
    variants: list[dict[str, Any]] = []
    if config_name:
        try:
            variants = sm.describe_endpoint_config(EndpointConfigName=config_name)[
                "ProductionVariants"
            ]
        except Exception as exc:
            if not _not_found(exc):  # a config deleted by hand: judge by the endpoint alone
                raise
    first = variants[0] if variants else {}
    target = endpoint.scalable_target(name)
    targets = aas.describe_scalable_targets(
        ServiceNamespace=target["ServiceNamespace"],
        ResourceIds=[target["ResourceId"]],
        ScalableDimension=target["ScalableDimension"],
    )["ScalableTargets"]
    serverless = "ServerlessConfig" in first or any(
        "CurrentServerlessConfig" in v for v in found.get("ProductionVariants", [])
    )
    return Current(
        status=found["EndpointStatus"],
        config_name=config_name,
        failure_reason=found.get("FailureReason", ""),
        serverless=serverless,
        instance_type=first.get("InstanceType", ""),
        autoscaled=bool(targets),
    )


def _exists(describe: Any, **name: str) -> bool:
    try:
        describe(**name)
    except Exception as exc:
        if _not_found(exc):
            return False
        raise
    return True


def make_plan(session: Any, settings: Settings, version: int | None) -> Plan:
    """Read the package and the endpoint, then plan (models and configs that exist already,
    from an earlier deploy of the same version and settings, are not created again)."""
    from pipelines import aws

    sm = aws.client(session, "sagemaker")
    aas = aws.client(session, "application-autoscaling")
    package = find_package(sm, settings.served_group, version)
    current = describe(sm, aas, settings.endpoint_name)
    draft = endpoint.plan(settings, package, current)
    existing = set()
    for call in draft.calls:
        if call.operation == "CreateModel" and _exists(
            sm.describe_model, ModelName=call.params["ModelName"]
        ):
            existing.add(call.params["ModelName"])
        if call.operation == "CreateEndpointConfig" and _exists(
            sm.describe_endpoint_config, EndpointConfigName=call.params["EndpointConfigName"]
        ):
            existing.add(call.params["EndpointConfigName"])
    return endpoint.plan(settings, package, current, frozenset(existing))


def check_requests(plan: Plan) -> None:
    """Refuse, before any call, a request the service would refuse (botocore's shapes)."""
    from pipelines.limits import request_problems

    problems = [
        f"{call.operation}: {problem}"
        for call in [*plan.calls, *plan.after]
        for problem in request_problems(call.service, call.operation, call.params)
    ]
    if problems:
        raise DeployUsage("the deploy's requests would be refused:\n  " + "\n  ".join(problems))


# -- acting -----------------------------------------------------------------------------------


class Progress:
    """Status lines on stderr: one line rewritten in place on a terminal, plain lines when
    piped (only when something changes)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty()
        self.last = ""

    def show(self, text: str) -> None:
        if self.live:
            self.stream.write("\r\033[K" + text)
            self.stream.flush()
        elif text.split(" (")[0] != self.last.split(" (")[0]:
            self.stream.write(text + "\n")
        self.last = text

    def done(self, text: str) -> None:
        if self.live:
            self.stream.write("\r\033[K")
        self.stream.write(text + "\n")
        self.stream.flush()


def _elapsed(seconds: float) -> str:
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m{rest:02d}s"


def execute(session: Any, call: Call) -> Any:
    from botocore import xform_name

    from pipelines import aws

    client = aws.client(session, call.service)
    return getattr(client, xform_name(call.operation))(**call.params)


def wait_in_service(
    sm: Any,
    name: str,
    config_name: str,
    progress: Progress,
    poll_seconds: float = STATUS_POLL_SECONDS,
    timeout_seconds: float = WAIT_TIMEOUT_SECONDS,
) -> None:
    """Until the endpoint is InService with `config_name`; a failure, a rollback (InService
    with the old config) or the timeout raises DeployError with the service's reason."""
    started = time.monotonic()
    while True:
        found = sm.describe_endpoint(EndpointName=name)
        status = found["EndpointStatus"]
        waited = time.monotonic() - started
        if status == "InService":
            if found.get("EndpointConfigName") != config_name:
                reason = (
                    found.get("FailureReason") or "the rollback alarm fired or the new fleet failed"
                )
                raise DeployError(
                    f"the update of {name} was rolled back ({reason}); it still serves "
                    f"{found.get('EndpointConfigName')}"
                )
            progress.done(f"endpoint {name}: InService after {_elapsed(waited)}")
            return
        if status in ("Failed", "UpdateRollbackFailed"):
            progress.done(f"endpoint {name}: {status}")
            raise DeployError(
                f"endpoint {name} is {status}: {found.get('FailureReason') or 'no reason given'}"
            )
        if waited > timeout_seconds:
            raise DeployError(f"endpoint {name} is still {status} after {_elapsed(waited)}")
        progress.show(f"endpoint {name}: {status} ({_elapsed(waited)})")
        time.sleep(poll_seconds)


def deploy(session: Any, plan: Plan, progress: Progress, poll_seconds: float) -> None:
    from pipelines import aws

    sm = aws.client(session, "sagemaker")
    for call in plan.calls:
        progress.done(f"{call.operation} {_subject(call)}")
        execute(session, call)
    if plan.wait:
        wait_in_service(sm, plan.endpoint, plan.config_name, progress, poll_seconds)
    for call in plan.after:
        progress.done(f"{call.operation} {_subject(call)}")
        try:
            execute(session, call)
        except Exception as exc:
            if call.operation in ("DeleteScalingPolicy", "DeregisterScalableTarget") and (
                "ObjectNotFound" in str(exc)
            ):
                continue
            raise


def _subject(call: Call) -> str:
    params = call.params
    for key in ("EndpointName", "ModelName", "EndpointConfigName", "AlarmName", "ResourceId"):
        if key in params:
            return str(params[key])
    return ""


def delete(session: Any, settings: Settings, progress: Progress, poll_seconds: float) -> list[str]:
    """Remove the endpoint, its scaling, its alarm, and the configs and models deploy made for
    it (names only this endpoint's can have). Captured data in S3 stays. Returns what went."""
    from pipelines import aws

    sm = aws.client(session, "sagemaker")
    aas = aws.client(session, "application-autoscaling")
    cw = aws.client(session, "cloudwatch")
    name = settings.endpoint_name
    current = describe(sm, aas, name)
    if current is None:
        raise DeployError(f"there is no endpoint {name} in {settings.region}")
    removed = []
    if current.autoscaled:
        for call in endpoint.deregister_calls(name):
            try:
                execute(session, call)
            except Exception as exc:
                if "ObjectNotFound" not in str(exc):
                    raise
        removed.append(f"auto-scaling of {endpoint.resource_id(name)}")
    cw.delete_alarms(AlarmNames=[endpoint.alarm_name(name)])
    sm.delete_endpoint(EndpointName=name)
    started = time.monotonic()
    while True:
        try:
            status = sm.describe_endpoint(EndpointName=name)["EndpointStatus"]
        except Exception as exc:
            if _not_found(exc):
                break
            raise
        progress.show(f"endpoint {name}: {status} ({_elapsed(time.monotonic() - started)})")
        time.sleep(poll_seconds)
    progress.done(f"endpoint {name}: deleted")
    removed.append(f"endpoint {name}")
    owned = endpoint.owned_name(name)
    for page in sm.get_paginator("list_endpoint_configs").paginate(NameContains=name):
        for config in page["EndpointConfigs"]:
            if owned.match(config["EndpointConfigName"]):
                sm.delete_endpoint_config(EndpointConfigName=config["EndpointConfigName"])
                removed.append(f"endpoint config {config['EndpointConfigName']}")
    for page in sm.get_paginator("list_models").paginate(NameContains=name):
        for model in page["Models"]:
            if owned.match(model["ModelName"]):
                sm.delete_model(ModelName=model["ModelName"])
                removed.append(f"model {model['ModelName']}")
    return removed


def confirm(name: str) -> bool:
    stream = sys.stdin
    if not stream.isatty():
        raise DeployUsage("--delete asks for confirmation on a terminal: pass --yes in scripts")
    print(
        f"delete endpoint {name} and its configs? type its name to confirm: ",
        end="",
        file=sys.stderr,
    )
    return stream.readline().strip() == name


# -- invoking ---------------------------------------------------------------------------------


def endpoint_sender(session: Any, name: str) -> Any:
    """send(content_type, body) for a SageMaker endpoint: the container's error answers come
    back as a ModelError with the original status and message."""
    from botocore.exceptions import ClientError

    from pipelines import aws

    runtime = aws.client(session, "sagemaker-runtime")

    def send(content_type: str, body: bytes) -> tuple[int, str, bytes]:
        try:
            answer = runtime.invoke_endpoint(
                EndpointName=name, ContentType=content_type, Accept=content_type, Body=body
            )
        except ClientError as exc:
            response = exc.response
            if response.get("Error", {}).get("Code") == "ModelError":
                status = int(response.get("OriginalStatusCode", 500))
                message = response.get("OriginalMessage") or response["Error"].get("Message", "")
                return status, "application/json", message.encode()
            raise
        return 200, answer["ContentType"], answer["Body"].read()

    return send


def http_sender(url: str) -> Any:
    """send(content_type, body) over HTTP to a container (the local server)."""
    import urllib.error
    import urllib.request

    def send(content_type: str, body: bytes) -> tuple[int, str, bytes]:
        request = urllib.request.Request(
            f"{url}/invocations",
            data=body,
            method="POST",
            headers={"Content-Type": content_type, "Accept": content_type},
        )
        try:
            # the URL is our own http://127.0.0.1 server's, never a file: or user-given scheme
            with urllib.request.urlopen(request, timeout=60) as answer:  # nosec B310
                return answer.status, answer.headers.get("Content-Type", ""), answer.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers.get("Content-Type", ""), exc.read()

    return send


def local_artifact(workdir: Path, group: str, version: int | None, model: Path | None) -> Path:
    """The model.tar.gz to serve: --model, else the local registry's latest Approved version
    of `group` (or --version N)."""
    if model is not None:
        return model
    from pipelines.local.registry import Registry
    from pipelines.local.storage import LocalS3

    versions = Registry(workdir / "registry").groups().get(group, [])
    if not versions:
        raise DeployError(
            f"the local registry in {workdir} has no model in {group!r}: run "
            "python -m pipelines.run --local first, or pass --model model.tar.gz"
        )
    if version is not None:
        if not 1 <= version <= len(versions):
            raise DeployError(f"{group!r} has versions 1..{len(versions)}, not {version}")
        chosen = versions[version - 1]
    else:
        approved = [v for v in versions if v["ModelApprovalStatus"] == "Approved"]
        if not approved:
            raise DeployError(
                f"no Approved version of {group!r} in {workdir}: approve one (python -m "
                f"pipelines.registry approve {group} N --local) or pass --version N"
            )
        chosen = approved[-1]
    uri = chosen["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]
    return LocalS3(workdir / "s3").path(uri)


def run_invoke(args: argparse.Namespace, settings: Settings) -> int:
    from pipelines import aws, invocations
    from pipelines.files import write_atomically
    from pipelines.local import http_server

    if args.rows_per_request < 1:
        raise DeployUsage(f"--rows-per-request {args.rows_per_request}: at least 1")
    requests = invocations.read_requests(args.input, args.rows_per_request)
    if args.local:
        artifact = local_artifact(args.workdir, settings.served_group, args.version, args.model)
        with http_server.serve(artifact) as url:
            table = invocations.forecast(requests, http_sender(url))
    else:
        if not args.endpoint:
            raise DeployUsage("invoke needs an ENDPOINT name, or --local")
        sender = endpoint_sender(aws.session(settings.region), args.endpoint)
        table = invocations.forecast(requests, sender)
    table = invocations.name_csv_columns(table, settings.forecast.columns)
    text = table.to_csv(index=False)
    if args.output:
        write_atomically(args.output, text)
        print(f"{len(table)} forecasts written to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return cli.EXIT_OK


def run_serve(args: argparse.Namespace, settings: Settings) -> int:
    from pipelines.local import http_server

    artifact = local_artifact(args.workdir, settings.served_group, args.version, args.model)
    with http_server.serve(artifact, port=args.port, host=args.host) as url:
        print(
            f"serving {artifact} at {url} (GET /ping, POST /invocations); Ctrl-C stops",
            file=sys.stderr,
        )
        print(url, flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("stopped", file=sys.stderr)
    return cli.EXIT_OK


def run_deploy(args: argparse.Namespace, settings: Settings) -> int:
    from pipelines import aws

    session = aws.session(settings.region)
    progress = Progress()
    if args.delete:
        name = settings.endpoint_name
        if not args.yes and not confirm(name):
            print("not deleted", file=sys.stderr)
            return cli.EXIT_FAILED
        for line in delete(session, settings, progress, args.poll_seconds):
            print(f"deleted {line}", file=sys.stderr)
        print("captured data under the profile's data-capture/ prefix is kept", file=sys.stderr)
        return cli.EXIT_OK
    if not settings.role_arn:
        raise DeployUsage(
            "the endpoint's model runs as the execution role: pass --role-arn, set "
            "SAGEMAKER_PIPELINE_ROLE_ARN, or set role_arn in the profile"
        )
    if settings.endpoint.captures:
        # captured requests go under the pipeline's bucket (the SDK's default when unset,
        # which publishing created): its name only, which needs no permission to look up
        settings = aws.with_default_bucket(settings, session, create=False)
    plan = make_plan(session, settings, args.version)
    check_requests(plan)
    for note in plan.notes:
        print(f"note: {note}", file=sys.stderr)
    if args.dry_run:
        print(json.dumps(plan.as_json(), indent=2))
        return cli.EXIT_OK
    deploy(session, plan, progress, args.poll_seconds)
    print(f"version {plan.package.version} of {plan.package.group} serves at", file=sys.stderr)
    print(plan.endpoint)
    return cli.EXIT_OK


# -- command line -----------------------------------------------------------------------------


def _common(parser: argparse.ArgumentParser) -> None:
    cli.add_profile_flag(parser)
    add_config_flag(parser)
    parser.add_argument("--region", help="AWS region (default: the profile's)")
    # --version N is the model's version here (as the registry numbers it)
    parser.add_argument(
        "-V", action="version", version=f"%(prog)s {installed_version()}", help="show the version"
    )


def _local_model(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model", type=Path, metavar="FILE", help="a model.tar.gz (downloaded, or from a run)"
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=DEFAULT_WORKDIR,
        help=f"the local runner's work directory with the registry (default: {DEFAULT_WORKDIR})",
    )
    parser.add_argument(
        "--version", type=int, metavar="N", help="the registry version (default: latest Approved)"
    )


def parse_args(argv: list[str]) -> tuple[str, argparse.Namespace]:
    if argv and argv[0] == "invoke":
        parser = argparse.ArgumentParser(
            prog="python -m pipelines.deploy invoke",
            description="Forecast the rows of a file with an endpoint (or the local container); "
            "prints CSV with the keys, the date and p10/p50/p90.",
        )
        parser.add_argument("endpoint", nargs="?", help="the SageMaker endpoint's name")
        parser.add_argument(
            "--input", type=Path, required=True, metavar="FILE", help="CSV, JSON or JSON Lines rows"
        )
        parser.add_argument(
            "--output", type=Path, metavar="FILE", help="write the CSV here instead of stdout"
        )
        parser.add_argument(
            "--local", action="store_true", help="serve the model on 127.0.0.1 and invoke that"
        )
        parser.add_argument(
            "--rows-per-request", type=int, default=500, help="rows per call (default: 500)"
        )
        _local_model(parser)
        _common(parser)
        return "invoke", parser.parse_args(argv[1:])
    if argv and argv[0] == "serve":
        parser = argparse.ArgumentParser(
            prog="python -m pipelines.deploy serve",
            description="Serve a registered model with the XGBoost container's HTTP contract "
            "(GET /ping, POST /invocations) until Ctrl-C.",
        )
        parser.add_argument(
            "--port", type=int, default=8080, help="port (default: 8080; 0: any free)"
        )
        parser.add_argument("--host", default="127.0.0.1", help="address (default: 127.0.0.1)")
        _local_model(parser)
        _common(parser)
        return "serve", parser.parse_args(argv[1:])
    parser = argparse.ArgumentParser(
        prog="python -m pipelines.deploy",
        description="Deploy the latest Approved model version (or --version N) to the "
        "profile's endpoint; see also: invoke --help, serve --help.",
        epilog="subcommands: invoke ENDPOINT --input FILE | serve",
    )
    parser.add_argument(
        "--version", type=int, metavar="N", help="deploy this version (must be Approved)"
    )
    parser.add_argument("--role-arn", help="the model's execution role (default: the profile's)")
    parser.add_argument("--dry-run", action="store_true", help="print the requests; change nothing")
    parser.add_argument("--delete", action="store_true", help="remove the endpoint and its configs")
    parser.add_argument("--yes", action="store_true", help="--delete without asking")
    parser.add_argument(
        "--poll-seconds", type=float, default=STATUS_POLL_SECONDS, help=argparse.SUPPRESS
    )
    _common(parser)
    return "deploy", parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    command, args = parse_args(list(sys.argv[1:] if argv is None else argv))

    def body() -> int:
        overrides: dict[str, Any] = {"region": args.region}
        if command == "deploy":
            overrides["role_arn"] = args.role_arn
        settings = load_settings(args.profile, overrides, config=args.config)
        if command == "invoke":
            return run_invoke(args, settings)
        if command == "serve":
            return run_serve(args, settings)
        return run_deploy(args, settings)

    from pipelines.invocations import InputError, Refused
    from pipelines.local.http_server import ServeError

    return cli.run(
        "deploy",
        body,
        usage=(DeployUsage, InputError),
        failed=(DeployError, EndpointError, Refused, ServeError),
    )


if __name__ == "__main__":
    sys.exit(main())

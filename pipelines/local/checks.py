"""What the runner refuses before anything runs: locations that would leave the work
directory, and job commands that are not this project's own scripts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipelines.limits import s3_uri_problem
from pipelines.local import jobs
from pipelines.local.storage import s3_strings

if TYPE_CHECKING:
    from pipelines.local.runner import _Step


class DefinitionError(ValueError):
    """The definition asks for something the local runner cannot do; nothing was run."""


def check_locations(steps: dict[str, _Step], parameters: dict[str, Any]) -> None:
    """Refuse, before anything runs, an S3 URI (a parameter's value, or one written out in a
    step) that is malformed or would map outside the work directory."""
    for name, value in parameters.items():
        # a value that is no URI at all never becomes a path (a step using it fails, or a
        # gate refuses it, as in SageMaker); one that is must map inside the work directory
        is_uri = isinstance(value, str) and "://" in value
        problem = s3_uri_problem(value) if is_uri else None
        if problem:
            raise DefinitionError(f"parameter {name}: {problem}")
    for step in steps.values():
        for uri in s3_strings(step.spec.get("Arguments", {})):
            problem = s3_uri_problem(uri)
            if problem:
                raise DefinitionError(f"step {step.name!r}: {problem}")


def check_entrypoints(steps: dict[str, _Step]) -> None:
    """Refuse, before anything runs, a processing job whose entrypoint is not `python3
    <a .py file in the container>` (the project's scripts are checked by content later)."""
    for step in steps.values():
        if step.type != "Processing":
            continue
        entry = (
            step.spec.get("Arguments", {}).get("AppSpecification", {}).get("ContainerEntrypoint")
        )
        shaped = (
            isinstance(entry, list)
            and len(entry) == 2
            and entry[0] in ("python", "python3")
            and isinstance(entry[1], str)
            and entry[1].startswith(jobs.CONTAINER_ROOT)
            and entry[1].endswith(".py")
        )
        if not shaped:
            raise DefinitionError(
                f"step {step.name!r}: entrypoint {entry} is not one of this project's "
                "scripts (python3 /opt/ml/.../<script>.py); run it with --allow-commands "
                "if you trust the definition"
            )


def project_scripts() -> frozenset[str]:
    """SHA-256 digests of the scripts this checkout ships (pipelines/code_assets.py)."""
    from pipelines.code_assets import code_assets

    return code_assets().script_digests()

"""What every command line answers before doing anything: --version and --help."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata

import pytest

COMMANDS = [
    ["pipelines.run"],
    ["pipelines.registry"],
    ["pipelines.upsert"],
    ["pipelines.data"],
    ["pipelines.iam"],
    ["pipelines.release"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_version_and_help(command: list[str]) -> None:
    version = metadata.version("demand-forecast-pipeline")
    shown = subprocess.run(
        [sys.executable, "-m", *command, "--version"], capture_output=True, text=True, check=False
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == f"python -m {' '.join(command)} {version}\n"
    helped = subprocess.run(
        [sys.executable, "-m", *command, "--help"], capture_output=True, text=True, check=False
    )
    assert helped.returncode == 0 and helped.stdout.startswith("usage: python -m ")


@pytest.mark.parametrize(
    "command",
    [["pipelines.deploy"], ["pipelines.deploy", "invoke"], ["pipelines.deploy", "serve"]],
    ids=" ".join,
)
def test_deploy_shows_its_version_with_capital_v(command: list[str]) -> None:
    """deploy's --version N is the model version (as the registry numbers it); -V is its own."""
    version = metadata.version("demand-forecast-pipeline")
    shown = subprocess.run(
        [sys.executable, "-m", *command, "-V"], capture_output=True, text=True, check=False
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == f"python -m {' '.join(command)} {version}\n"
    helped = subprocess.run(
        [sys.executable, "-m", *command, "--help"], capture_output=True, text=True, check=False
    )
    assert helped.returncode == 0 and "--version N" in helped.stdout.replace("VERSION", "N")


def test_run_alone_runs_the_local_demo() -> None:
    from pipelines.run import parse_run_args

    args = parse_run_args([])
    assert (args.mode, args.input, args.definition) == ("local", None, None)

"""What every command line answers before doing anything: --version and --help."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata

import pytest

COMMANDS = [
    ["pipelines.run"],
    ["pipelines.run", "registry"],
    ["pipelines.upsert"],
    ["pipelines.data"],
    ["pipelines.iam"],
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

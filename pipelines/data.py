"""python -m pipelines.data: move data in and out of S3 for the pipeline (awswrangler).

    python -m pipelines.data demo data/                      # the Rossmann CSV, locally
    python -m pipelines.data stage demo s3://bucket/prefix/data/
    python -m pipelines.data stage my_sales.csv s3://bucket/prefix/data/
    python -m pipelines.data predictions s3://bucket/.../BatchTransform/ --output forecast.csv

`stage` writes Parquet files under the URI (what InputDataUri points at; preprocess reads a
folder of Parquet or CSV files). `predictions` reads Batch Transform's `*.out` files back
into one table whose columns are the series keys, the date and the forecast.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from pipelines.settings import DEFAULT_PROFILE, PROFILES, SettingsError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class DataCommandError(ValueError):
    """Bad source or destination; the message names it."""


def read_source(source: str) -> pd.DataFrame:
    """A local CSV/Parquet file or folder, or 'demo' for the Rossmann data."""
    if source == "demo":
        from pipelines.demo_data import rossmann_csv

        path = rossmann_csv()
    else:
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
    if not uri.startswith("s3://") or len(uri) <= 5 or uri[5] == "/":
        raise DataCommandError(f"{uri!r} is not an s3://bucket/prefix URI")
    return uri if uri.endswith("/") else uri + "/"


def stage(frame: pd.DataFrame, uri: str, boto3_session: Any) -> list[str]:
    """Replace the dataset under `uri` with `frame` as Parquet; returns the object paths."""
    import awswrangler as wr

    result = wr.s3.to_parquet(
        frame, path=uri, dataset=True, mode="overwrite", index=False, boto3_session=boto3_session
    )
    return list(result["paths"])


def predictions(uri: str, columns: list[str], boto3_session: Any) -> pd.DataFrame:
    """Batch Transform output under `uri` as one table with the given column names."""
    import awswrangler as wr

    files = [p for p in wr.s3.list_objects(uri, boto3_session=boto3_session) if p.endswith(".out")]
    if not files:
        raise DataCommandError(f"no Batch Transform output (*.out) under {uri}")
    frame = wr.s3.read_csv(files, header=None, names=columns, boto3_session=boto3_session)
    return frame.sort_values(columns[:-1], kind="stable").reset_index(drop=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m pipelines.data", description="Stage input data and read forecasts."
    )
    parser.add_argument(
        "--profile",
        default=DEFAULT_PROFILE,
        help=f"settings profile for region and column names: {', '.join(PROFILES)}",
    )
    parser.add_argument("--region", help="AWS region (else the profile's)")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="copy the Rossmann demo CSV into a local folder")
    demo.add_argument("folder", type=Path)
    put = sub.add_parser("stage", help="upload a local dataset (or 'demo') as Parquet")
    put.add_argument("source", help="CSV/Parquet file or folder, or 'demo'")
    put.add_argument("uri", help="s3://bucket/prefix/ (what InputDataUri points at)")
    get = sub.add_parser("predictions", help="read Batch Transform output into one table")
    get.add_argument("uri", help="the BatchTransform output prefix")
    get.add_argument("--output", type=Path, help="write CSV (or .parquet) here instead of stdout")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from pipelines import aws
    from pipelines.demo_data import DemoDataMissing, copy_rossmann
    from pipelines.settings import load_settings

    try:
        if args.command == "demo":
            print(copy_rossmann(args.folder))
            return EXIT_OK
        settings = load_settings(args.profile, {"region": args.region})
        session = aws.session(settings.region)
        if args.command == "stage":
            uri = check_s3_uri(args.uri)
            frame = read_source(args.source)
            paths = stage(frame, uri, session)
            print(
                f"staged {len(frame)} rows in {len(paths)} Parquet object(s) under {uri}",
                file=sys.stderr,
            )
            print(uri)
            return EXIT_OK
        data = settings.data
        columns = [*data.series_columns, data.date_column, "forecast"]
        table = predictions(check_s3_uri(args.uri), columns, session)
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
    except (DataCommandError, SettingsError, DemoDataMissing) as exc:
        print(f"data: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:
        message = aws.explain(exc)
        if message is None:
            raise
        print(f"data: error: {message}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())

"""python -m pipelines.data against moto's S3 (standing in for the real S3)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pandas as pd
import pytest
from moto import mock_aws

from pipelines import data

BUCKET = "forecast-data"


@pytest.fixture
def s3() -> Iterator[object]:
    with mock_aws(config={"core": {"reset_boto3_session": False}}):
        client = boto3.client("s3", region_name="eu-west-1")
        client.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        yield client


def test_demo_copies_the_rossmann_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert data.main(["demo", str(tmp_path / "d")]) == 0
    path = Path(capsys.readouterr().out.strip())
    assert path.parent == tmp_path / "d"
    frame = pd.read_csv(path)
    assert len(frame) == 93_832 and frame["Store"].nunique() == 100


def test_stage_demo_then_read_back(s3: object, capsys: pytest.CaptureFixture[str]) -> None:
    import awswrangler as wr

    uri = f"s3://{BUCKET}/forecast/data/"
    assert data.main(["stage", "demo", uri]) == 0
    assert capsys.readouterr().out.strip() == uri
    back = wr.s3.read_parquet(uri, boto3_session=boto3.Session(region_name="eu-west-1"))
    assert len(back) == 93_832
    assert set(back.columns) >= {"Date", "Store", "Sales", "Open", "Promo"}
    # staging again is refused without --replace, and replaces (never adds to) with it
    capsys.readouterr()
    assert data.main(["stage", "demo", uri]) == 2
    assert "already holds 1 object(s)" in capsys.readouterr().err
    assert data.main(["stage", "demo", uri, "--replace"]) == 0
    assert "replacing 1 object(s) under s3://forecast-data/forecast/data/:" in (
        capsys.readouterr().err
    )
    again = wr.s3.read_parquet(uri, boto3_session=boto3.Session(region_name="eu-west-1"))
    assert len(again) == 93_832


def keys(s3: object) -> list[str]:
    listed = s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])  # type: ignore[attr-defined]
    return sorted(o["Key"] for o in listed)


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        (f"s3://{BUCKET}/", f"s3://{BUCKET}/ is a bucket root"),
        (f"s3://{BUCKET}", f"s3://{BUCKET}/ is a bucket root"),
        (
            "s3://sagemaker-eu-west-1-123456789012/store-sales-forecast-dev/",
            "holds the pipeline's own prefix",
        ),
        (
            "s3://sagemaker-eu-west-1-123456789012/",
            "is a bucket root",
        ),
        (
            "s3://sagemaker-eu-west-1-123456789012/store-sales-forecast-dev/executions/x/",
            "inside the pipeline's executions/ folder",
        ),
        (f"s3://{BUCKET}//etc/", "the key has an empty, '.' or '..' segment"),
    ],
)
def test_stage_never_replaces_what_is_not_the_dataset(
    s3: object, uri: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Other teams' prefixes, the pipeline's code and outputs: all survive a careless stage."""
    s3.put_object(Bucket=BUCKET, Key="other-team/model.tar.gz", Body=b"theirs")  # type: ignore[attr-defined]
    s3.put_object(Bucket=BUCKET, Key="forecast/data-archive/2014.csv", Body=b"old")  # type: ignore[attr-defined]
    assert data.main(["stage", "demo", uri]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert keys(s3) == ["forecast/data-archive/2014.csv", "other-team/model.tar.gz"]


def test_replace_stays_inside_its_prefix(s3: object) -> None:
    s3.put_object(Bucket=BUCKET, Key="forecast/data/old.csv", Body=b"Date,Store\n")  # type: ignore[attr-defined]
    s3.put_object(Bucket=BUCKET, Key="forecast/data-archive/2014.csv", Body=b"old")  # type: ignore[attr-defined]
    assert data.main(["stage", "demo", f"s3://{BUCKET}/forecast/data/", "--replace"]) == 0
    after = keys(s3)
    assert "forecast/data/old.csv" not in after
    assert "forecast/data-archive/2014.csv" in after
    assert next(k for k in after if k.startswith("forecast/data/")).endswith(".parquet")


def test_staged_parquet_is_what_preprocess_accepts(s3: object, tmp_path: Path) -> None:
    import preprocess

    uri = f"s3://{BUCKET}/forecast/data/"
    assert data.main(["stage", "demo", uri]) == 0
    local = tmp_path / "data"
    local.mkdir()
    for obj in s3.list_objects_v2(Bucket=BUCKET, Prefix="forecast/data/")["Contents"]:  # type: ignore[attr-defined]
        s3.download_file(BUCKET, obj["Key"], str(local / Path(obj["Key"]).name))  # type: ignore[attr-defined]
    frame = preprocess.read_data(local)
    cols = preprocess.ColumnConfig(known_columns=("Promo", "SchoolHoliday", "Promo2"))
    out = preprocess.build_features(frame, cols, horizon=42)
    # the held-back six weeks arrive as future rows, covariates intact
    assert out.schema["forecast"] == {
        "origin": "2015-06-19",
        "first": "2015-06-20",
        "last": "2015-07-31",
        "source": "input",
    }
    assert out.schema["rows"]["batch"] == 3654


def test_predictions_read_back_as_one_table(
    s3: object, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prefix = "forecast/executions/e1/BatchTransform/"
    s3.put_object(
        Bucket=BUCKET,
        Key=prefix + "batch.csv.out",  # type: ignore[attr-defined]
        Body=b"25,2015-06-21,8000.0,9000.5,9900.0\n25,2015-06-20,8000.0,8723.5,9000.0\n"
        b"3,2015-06-20,90.0,100.0,120.0\n",
    )
    target = tmp_path / "forecast.csv"
    assert data.main(["predictions", f"s3://{BUCKET}/{prefix}", "--output", str(target)]) == 0
    table = pd.read_csv(target)
    assert list(table.columns) == ["Store", "Date", "p10", "p50", "p90"]
    assert table.values.tolist() == [
        [3, "2015-06-20", 90.0, 100.0, 120.0],
        [25, "2015-06-20", 8000.0, 8723.5, 9000.0],
        [25, "2015-06-21", 8000.0, 9000.5, 9900.0],
    ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["stage", "demo", "bucket/data"], "'bucket/data' is not an s3://bucket/prefix URI"),
        (["stage", "missing.csv", "s3://forecast-data/d/"], "missing.csv: no such file or folder"),
        (["predictions", "s3://forecast-data/none/"], "no Batch Transform output (*.out) under"),
    ],
)
def test_errors(
    s3: object, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert data.main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1

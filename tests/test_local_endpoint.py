"""A trained model served on 127.0.0.1 with the XGBoost container's HTTP contract
(pipelines/local/http_server.py), called with a real HTTP client (http.client), and
`python -m pipelines.deploy invoke --local` / `serve` on top of it.

The model is the one the session's real preprocess -> train run wrote, packed as the
model.tar.gz a SageMaker endpoint downloads (the booster, its schema, code/inference.py).
"""

from __future__ import annotations

import http.client
import json
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from conftest import REPO

import inference
from pipelines import deploy
from pipelines.local import http_server
from pipelines.local.registry import Registry


@pytest.fixture(scope="module")
def artifact(prepared: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("artifact") / "model.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for child in sorted(prepared["model"].iterdir()):
            if child.name != "backtest":
                tar.add(child, arcname=child.name)
        tar.add(REPO / "inference" / "inference.py", arcname="code/inference.py")
    return path


@pytest.fixture(scope="module")
def features(prepared: dict[str, Path]) -> list[str]:
    schema = json.loads((prepared["model"] / "feature_schema.json").read_text())
    return [f["name"] for f in schema["features"]]


@pytest.fixture(scope="module")
def batch(prepared: dict[str, Path], features: list[str]) -> pd.DataFrame:
    """The first batch rows with their keys, named: what a planner's file holds."""
    rows = pd.read_csv(prepared["batch"] / "batch.csv", header=None).iloc[:8]
    return rows.set_axis(["Store", "Date", *features], axis=1)


@pytest.fixture(scope="module")
def server(artifact: Path) -> Iterator[str]:
    with http_server.serve(artifact) as url:
        yield url


def call(
    url: str, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        connection.request(method, path, body=body or None, headers=headers or {})
        answer = connection.getresponse()
        return answer.status, dict(answer.getheaders()), answer.read()
    finally:
        connection.close()


def instances(batch: pd.DataFrame) -> list[dict[str, Any]]:
    return json.loads(batch.to_json(orient="records"))


def invoke_local(artifact: Path, rows: Path, *options: str) -> int:
    """`deploy invoke --local --model ARTIFACT --input ROWS [options]`: the exit code."""
    return deploy.main(
        ["invoke", "--local", "--model", str(artifact), "--input", str(rows), *options]
    )


def test_ping_and_routes_answer_as_the_container(server: str) -> None:
    status, headers, body = call(server, "GET", "/ping")
    assert (status, headers["Content-Type"], body) == (200, "application/json", b"")
    status, headers, body = call(server, "GET", "/invocations")
    assert (status, headers["Allow"]) == (405, "OPTIONS, POST")
    assert b"405 Method Not Allowed" in body
    status, headers, body = call(server, "POST", "/ping", b"{}")
    assert (status, headers["Allow"]) == (405, "GET, HEAD, OPTIONS")
    status, headers, body = call(server, "GET", "/models")
    assert (status, headers["Content-Type"]) == (404, "text/html; charset=utf-8")


def test_json_answers_carry_keys_date_and_ordered_quantiles(
    server: str, batch: pd.DataFrame
) -> None:
    body = json.dumps({"instances": instances(batch)}).encode()
    status, headers, answer = call(
        server, "POST", "/invocations", body, {"Content-Type": "application/json"}
    )
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    records = json.loads(answer)["predictions"]
    assert len(records) == len(batch)
    first = records[0]
    assert (first["Store"], first["Date"]) == (batch["Store"][0], batch["Date"][0])
    assert all(r["p10"] <= r["p50"] <= r["p90"] for r in records)
    assert all(r["p50"] > 0 for r in records)  # open days of real stores


def test_csv_and_json_lines_are_answered_in_their_own_types(
    server: str, batch: pd.DataFrame
) -> None:
    rows = batch.iloc[:, 2:].to_csv(header=False, index=False).encode()
    status, headers, answer = call(
        server, "POST", "/invocations", rows, {"Content-Type": "text/csv", "Accept": "text/csv"}
    )
    assert (status, headers["Content-Type"]) == (200, "text/csv; charset=utf-8")
    lines = answer.decode().splitlines()
    assert len(lines) == len(batch) and len(lines[0].split(",")) == 3
    lines_body = "".join(json.dumps(r) + "\n" for r in instances(batch)).encode()
    status, headers, answer = call(
        server,
        "POST",
        "/invocations",
        lines_body,
        {"Content-Type": "application/jsonlines", "Accept": "application/jsonlines"},
    )
    assert (status, headers["Content-Type"]) == (200, "application/jsonlines")
    assert len(answer.decode().splitlines()) == len(batch)


@pytest.mark.parametrize(
    ("body", "content_type", "accept", "status"),
    [
        (b"1,2,3\n", "text/csv", "text/csv", 400),
        (b'{"instances": [{"Store": 1, "bogus": 2}]}', "application/json", "application/json", 400),
        (b'{"instances": [', "application/json", "application/json", 400),
        (b"1,2", "application/x-npy", "text/csv", 415),
        (b"VALID ROWS", "text/csv", "image/png", 406),
    ],
)
def test_bad_requests_get_the_handlers_status_and_message(
    server: str,
    artifact: Path,
    batch: pd.DataFrame,
    body: bytes,
    content_type: str,
    accept: str,
    status: int,
) -> None:
    """The same refusal, word for word, as the handler gives Batch Transform."""
    if body == b"VALID ROWS":
        body = batch.iloc[:2, 2:].to_csv(header=False, index=False).encode()
    got, headers, answer = call(
        server, "POST", "/invocations", body, {"Content-Type": content_type, "Accept": accept}
    )
    assert got == status
    assert headers["Content-Type"] == "application/json"
    with http_server.unpacked(artifact) as folder:
        model = inference.model_fn(str(folder))
    direct = inference.transform_fn(
        model,
        body.decode() if content_type in ("text/csv", "application/json") else body,
        content_type,
        accept,
    )
    assert json.loads(answer) == json.loads(direct.get_data())
    assert json.loads(answer)["error"]


def test_a_body_past_the_limit_is_413(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_PAYLOAD_BYTES", "100")
    status, _, answer = call(
        server, "POST", "/invocations", b"1," * 100, {"Content-Type": "text/csv"}
    )
    assert status == 413
    assert "the maximum is 100" in json.loads(answer)["error"]


def test_invoke_local_prints_forecasts_with_keys(
    artifact: Path, batch: pd.DataFrame, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = tmp_path / "rows.csv"
    batch.to_csv(rows, index=False)
    code = invoke_local(artifact, rows, "--rows-per-request", "3")
    out, err = capsys.readouterr()
    assert code == 0, err
    table = pd.read_csv(pd.io.common.StringIO(out))
    assert list(table.columns) == ["Store", "Date", "p10", "p50", "p90"]
    assert len(table) == len(batch)  # three requests of 3, 3 and 2 rows
    assert table["Store"].tolist() == batch["Store"].tolist()


def test_invoke_local_headerless_rows_and_json_lines(
    artifact: Path, batch: pd.DataFrame, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = tmp_path / "rows.csv"
    batch.iloc[:, 2:].to_csv(rows, index=False, header=False)
    assert invoke_local(artifact, rows) == 0
    table = pd.read_csv(pd.io.common.StringIO(capsys.readouterr().out))
    assert list(table.columns) == ["row", "p10", "p50", "p90"]
    lines = tmp_path / "rows.jsonl"
    lines.write_text("".join(json.dumps(r) + "\n" for r in instances(batch)))
    out_file = tmp_path / "forecast.csv"
    code = invoke_local(artifact, lines, "--output", str(out_file))
    assert code == 0
    assert len(pd.read_csv(out_file)) == len(batch)


def test_a_refused_request_writes_nothing(
    artifact: Path, batch: pd.DataFrame, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = tmp_path / "rows.csv"
    broken = batch.astype({"Promo": object})
    broken.loc[5, "Promo"] = "yes"  # row 7 of the file, in the second request
    broken.to_csv(rows, index=False)
    out_file = tmp_path / "forecast.csv"
    code = invoke_local(artifact, rows, "--rows-per-request", "4", "--output", str(out_file))
    out, err = capsys.readouterr()
    assert code == 1
    assert (
        "the endpoint refused rows 5.. (400): instance 1, field 'Promo': 'yes' is not a number"
        in err
    )
    assert not out_file.exists() and out == ""


def test_invoke_local_serves_the_local_registrys_approved_version(
    artifact: Path, batch: pd.DataFrame, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workdir = tmp_path / "work"
    stored = workdir / "s3" / "bucket" / "models" / "model.tar.gz"
    stored.parent.mkdir(parents=True)
    stored.write_bytes(artifact.read_bytes())
    registry = Registry(workdir / "registry")
    package = {
        "ModelApprovalStatus": "PendingManualApproval",
        "InferenceSpecification": {
            "Containers": [{"Image": "x", "ModelDataUrl": "s3://bucket/models/model.tar.gz"}]
        },
    }
    registry.register("store-sales-forecast", "eu-west-1", package)
    rows = tmp_path / "rows.csv"
    batch.to_csv(rows, index=False)
    argv = ["invoke", "--local", "--workdir", str(workdir), "--input", str(rows)]
    assert deploy.main(argv) == 1
    assert "no Approved version of 'store-sales-forecast'" in capsys.readouterr().err
    registry.set_status("store-sales-forecast", 1, "Approved")
    assert deploy.main(argv) == 0
    assert len(pd.read_csv(pd.io.common.StringIO(capsys.readouterr().out))) == len(batch)


def test_unusable_inputs_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("Store,Date,Promo\n1,2015-06-20\n")
    broken = tmp_path / "broken.json"
    broken.write_text('{"instances": [')
    code = deploy.main(["invoke", "e", "--input", str(ragged), "--rows-per-request", "0"])
    assert code == 2 and "--rows-per-request 0: at least 1" in capsys.readouterr().err
    for path, message in [
        (tmp_path / "missing.csv", "no such file"),
        (ragged, "line 2 has 2 fields; the header has 3"),
        (broken, "line 1: not JSON"),
    ]:
        code = deploy.main(["invoke", "some-endpoint", "--input", str(path)])
        err = capsys.readouterr().err
        assert code == 2
        assert message in err and err.count("\n") == 1


def test_an_artifact_without_a_handler_is_refused(
    prepared: dict[str, Path], tmp_path: Path
) -> None:
    path = tmp_path / "model.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        tar.add(prepared["model"] / "feature_schema.json", arcname="feature_schema.json")
    with (
        pytest.raises(http_server.ServeError, match=r"no code/inference\.py"),
        http_server.serve(path),
    ):
        pass
    (tmp_path / "junk.tar.gz").write_text("not a tarball")
    with (
        pytest.raises(http_server.ServeError, match=r"is not a model\.tar\.gz"),
        http_server.serve(tmp_path / "junk.tar.gz"),
    ):
        pass


def test_endpoint_errors_come_back_with_the_containers_status(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """SageMaker's runtime wraps the container's 4xx in a ModelError (botocore's Stubber
    stands for the runtime API here; it checks the request against its shape too)."""
    import boto3
    from botocore.stub import Stubber

    runtime = boto3.client("sagemaker-runtime", region_name="eu-west-1")
    stubber = Stubber(runtime)
    stubber.add_client_error(
        "invoke_endpoint",
        service_error_code="ModelError",
        service_message="Received client error (400) from primary",
        http_status_code=424,
        modeled_fields={
            "OriginalStatusCode": 400,
            "OriginalMessage": '{"error": "CSV row 1 has 3 fields; the model expects 45"}',
        },
        expected_params={
            "EndpointName": "e",
            "ContentType": "text/csv",
            "Accept": "text/csv",
            "Body": b"1,2,3\n",
        },
    )
    from pipelines import aws

    monkeypatch.setattr(aws, "client", lambda session, service: runtime)
    send = deploy.endpoint_sender(None, "e")
    with stubber:
        status, _content_type, body = send("text/csv", b"1,2,3\n")
    assert status == 400
    assert json.loads(body)["error"] == "CSV row 1 has 3 fields; the model expects 45"

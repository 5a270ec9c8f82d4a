"""The inference handler as the XGBoost 3.0-5 container serves it (pipelines/local/serving.py
emulates its legacy sagemaker_containers Transformer and Flask Worker): status codes and
content types reach the client, and the local Batch Transform fails as the real one would.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest

import inference
from pipelines.local import serving
from pipelines.local import transform_worker as tw


@pytest.fixture(scope="module")
def model(prepared: dict[str, Path]) -> inference.Model:
    return inference.model_fn(str(prepared["model"]))


@pytest.fixture(scope="module")
def rows(prepared: dict[str, Path]) -> list[str]:
    """Batch rows without their key columns: what Batch Transform sends the model."""
    batch = pd.read_csv(prepared["batch"] / "batch.csv", header=None)
    return batch.iloc[:5, 2:].to_csv(header=False, index=False, na_rep="").splitlines()


def naive_handler() -> ModuleType:
    """A handler written for sagemaker_inference: raises its 4xx, returns bare bytes. In the
    XGBoost container both go wrong, which is what the emulation must show."""
    module = ModuleType("naive")

    def input_fn(body: object, content_type: str) -> object:
        raise inference.RequestError("CSV row 1 has 3 fields; the model expects 45")

    module.model_fn = lambda model_dir: None  # type: ignore[attr-defined]
    module.input_fn = input_fn  # type: ignore[attr-defined]
    module.predict_fn = lambda data, model: data  # type: ignore[attr-defined]
    module.output_fn = lambda prediction, accept: b"1.0\n"  # type: ignore[attr-defined]
    return module


def test_a_raised_client_error_is_a_500_in_the_container() -> None:
    answer = serving.invoke(naive_handler(), None, b"1,2,3", "text/csv", "text/csv")
    assert answer.status == 500 and answer.content_type == "text/html; charset=utf-8"
    assert b"Internal Server Error" in answer.body and b"35" not in answer.body


def test_bare_bytes_are_served_as_text_html() -> None:
    module = naive_handler()
    module.input_fn = lambda body, content_type: body  # type: ignore[attr-defined]
    answer = serving.invoke(module, None, b"1,2,3", "text/csv", "text/csv")
    assert (answer.status, answer.content_type) == (200, "text/html; charset=utf-8")


@pytest.mark.parametrize(
    ("body", "content_type", "accept", "status", "message"),
    [
        (b"1,2,3", "text/csv", "text/csv", 400, "CSV row 1 has 3 fields; the model expects 45"),
        (b"", "text/csv", "text/csv", 400, "the body is empty"),
        (b'{"rows": []}', "application/json", "text/csv", 400, 'an "instances" list'),
        (b"x", "application/x-npy", "text/csv", 415, "unsupported content type"),
    ],
)
def test_client_errors_reach_the_client_with_their_status(
    model: inference.Model,
    body: bytes,
    content_type: str,
    accept: str,
    status: int,
    message: str,
) -> None:
    answer = serving.invoke(inference, model, body, content_type, accept)
    assert answer.status == status
    assert answer.content_type == "application/json"
    assert message in json.loads(answer.body)["error"]


def test_accept_decides_the_content_type(model: inference.Model, rows: list[str]) -> None:
    body = "\n".join(rows).encode()
    csv = serving.invoke(inference, model, body, "text/csv", "text/csv")
    assert (csv.status, csv.content_type) == (200, "text/csv; charset=utf-8")
    assert len(csv.body.decode().splitlines()) == 5
    # no Accept (or */*): the container's default, application/json
    default = serving.invoke(inference, model, body, "text/csv", "*/*")
    assert (default.status, default.content_type) == (200, "application/json")
    assert len(json.loads(default.body)["predictions"]) == 5
    refused = serving.invoke(inference, model, body, "text/csv", "application/xml")
    assert refused.status == 406
    assert "unsupported accept type 'application/xml'" in json.loads(refused.body)["error"]


def test_the_container_would_refuse_transform_fn_beside_input_fn() -> None:
    serving.check_handler(inference)  # ours: model_fn and transform_fn only
    assert not hasattr(inference, "input_fn") and not hasattr(inference, "output_fn")
    both = naive_handler()
    both.transform_fn = lambda *args: None  # type: ignore[attr-defined]
    with pytest.raises(serving.HandlerError, match="refuses that combination"):
        serving.check_handler(both)


def test_batch_transform_fails_with_the_handlers_message(model: inference.Model) -> None:
    spec = {
        "split_type": "Line",
        "content_type": "text/csv",
        "accept": "text/csv",
        "batch_strategy": "MultiRecord",
        "max_payload_mb": 6,
        "data_processing": {"InputFilter": "$[2:]", "JoinSource": "Input"},
    }
    with pytest.raises(tw.TransformError) as err:
        tw.transform_object(inference, model, "1,2015-06-20,1,2,3\n", spec, "batch.csv")
    assert str(err.value) == (
        "batch.csv records 1-1: the model answered 400: CSV row 1 has 3 fields; "
        "the model expects 45"
    )

"""Property-based tests: random and mutated inputs get a correct result or the documented
client error (inference: RequestError with a 4xx status; data: DataError), never anything
else."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import preprocess
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import inference

FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
CONTENT_TYPES = st.sampled_from(
    [
        "text/csv",
        "application/json",
        "application/jsonlines",
        "text/csv; charset=utf-8",
        "application/x-npy",
        "",
    ]
)


@pytest.fixture(scope="module")
def model(prepared: dict[str, Path]) -> inference.Model:
    loaded = inference.model_fn(str(prepared["model"]))
    _MODEL[:] = [loaded]
    return loaded


@pytest.fixture(scope="module")
def valid_row(prepared: dict[str, Path]) -> list[str]:
    line = (prepared["batch"] / "batch.csv").read_text().splitlines()[0]
    return line.split(",")[2:]


def serve(body: bytes | str, content_type: str, accept: str = "text/csv") -> bytes | None:
    """One request through transform_fn, as the container calls it; None when it was
    refused with a client error (a 4xx answer naming what is wrong)."""
    response = inference.transform_fn(_MODEL[0], body, content_type, accept)
    if response.status_code != 200:
        assert 400 <= response.status_code < 500
        assert json.loads(response.get_data())["error"]
        return None
    out = response.get_data()
    assert isinstance(out, bytes)
    return out


_MODEL: list[inference.Model] = []  # set by the model fixture (hypothesis calls serve())


@FUZZ
@given(body=st.binary(max_size=300), content_type=CONTENT_TYPES)
def test_random_bytes(model: inference.Model, body: bytes, content_type: str) -> None:
    serve(body, content_type)


@FUZZ
@given(data=st.data())
def test_mutated_csv_rows(
    model: inference.Model, valid_row: list[str], data: st.DataObject
) -> None:
    rows = []
    for _ in range(data.draw(st.integers(1, 4))):
        fields = list(valid_row)
        for _ in range(data.draw(st.integers(0, 3))):
            action = data.draw(st.sampled_from(["replace", "drop", "add", "quote"]))
            index = data.draw(st.integers(0, len(fields) - 1))
            if action == "replace":
                fields[index] = data.draw(
                    st.text(max_size=8)
                    | st.sampled_from(["nan", "inf", "-inf", "1e309", "", " 3 ", "0x1f", "1,5"])
                )
            elif action == "drop" and len(fields) > 1:
                fields.pop(index)
            elif action == "add":
                fields.insert(index, "1")
            else:
                fields[index] = f'"{fields[index]}'
        rows.append(",".join(fields))
    out = serve("\n".join(rows), "text/csv")
    if out is not None:
        values = np.array([line.split(",") for line in out.decode().split()], dtype=float)
        assert values.shape == (len(rows), 3) and np.all(np.isfinite(values))
        assert np.all(values[:, 0] >= 0) and np.all(np.diff(values, axis=1) >= 0)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False) | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=10,
)


@FUZZ
@given(payload=JSON_VALUES)
def test_random_json(model: inference.Model, payload: object) -> None:
    serve(json.dumps(payload), "application/json", "application/json")
    serve(json.dumps({"instances": payload}), "application/json", "application/json")


@FUZZ
@given(data=st.data())
def test_mutated_instances(model: inference.Model, data: st.DataObject) -> None:
    instance: dict[str, object] = {name: 1.0 for name in model.features}
    for name in data.draw(st.lists(st.sampled_from(model.features), max_size=3)):
        instance[name] = data.draw(JSON_VALUES)
    if data.draw(st.booleans()):
        instance.pop(data.draw(st.sampled_from(model.features)), None)
    out = serve(json.dumps({"instances": [instance]}), "application/json", "application/json")
    if out is not None:
        [prediction] = json.loads(out)["predictions"]
        assert 0 <= prediction["p10"] <= prediction["p50"] <= prediction["p90"]


COLUMN_VALUES = st.one_of(
    st.none(),
    st.integers(-5, 10_000),
    st.floats(allow_nan=True),
    st.text(max_size=6),
    st.sampled_from(["2015-01-01", "2015-02-30", "31/12/2015", ""]),
)


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_data_validation(data: st.DataObject) -> None:
    """A valid little frame with some cells and columns mutated."""
    days = data.draw(st.integers(30, 60))
    frame = pd.DataFrame(
        {
            "Date": [d.strftime("%Y-%m-%d") for d in pd.date_range("2015-01-01", periods=days)] * 2,
            "Store": [1] * days + [2] * days,
            "Sales": np.arange(2 * days, dtype=float) * 10 + 100,
            "Open": 1,
            "Promo": 0,
        }
    )
    for _ in range(data.draw(st.integers(0, 4))):
        column = data.draw(st.sampled_from(list(frame.columns)))
        row = data.draw(st.integers(0, len(frame) - 1))
        frame[column] = frame[column].astype(object)
        frame.loc[row, column] = data.draw(COLUMN_VALUES)
    if data.draw(st.booleans()):
        frame = frame.drop(columns=[data.draw(st.sampled_from(list(frame.columns)))])
    try:
        out = preprocess.build_features(frame, preprocess.ColumnConfig(), horizon=7)
    except preprocess.DataError as exc:
        assert str(exc)
        return
    # zeros are demand; what trains is observed, and the batch lies after the history
    assert (out.train["Sales"] >= 0).all() and out.train["Sales"].notna().all()
    assert out.batch["Date"].min() > out.history["Date"].max()
    assert len(out.schema["features"]) == len(out.batch.columns) - 2

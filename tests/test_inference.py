"""inference/inference.py called as the SageMaker XGBoost container calls it: model_fn(model_dir)
once, then transform_fn per request, and its steps (decode_request, predict, encode_response)
on their own."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

import inference


@pytest.fixture(scope="module")
def model(prepared: dict[str, Path]) -> inference.Model:
    LOADED[:] = [inference.model_fn(str(prepared["model"]))]
    return LOADED[0]


@pytest.fixture(scope="module")
def batch(prepared: dict[str, Path]) -> pd.DataFrame:
    return pd.read_csv(prepared["batch"] / "batch.csv", header=None)


def invoke(body: bytes | str, content_type: str, accept: str) -> bytes:
    """One request through transform_fn; it must succeed."""
    response = inference.transform_fn(LOADED[0], body, content_type, accept)
    assert response.status_code == 200, response.get_data()
    data: bytes = response.get_data()
    return data


LOADED: list[inference.Model] = []  # the module's model, for invoke()


def test_csv_matches_the_booster_on_the_sales_scale(
    model: inference.Model, batch: pd.DataFrame, prepared: dict[str, Path]
) -> None:
    features = batch.iloc[:50, 2:]  # Batch Transform's input filter drops Store and Date
    body = features.to_csv(header=False, index=False)
    lines = invoke(body.encode(), "text/csv", "text/csv").decode().splitlines()
    out = np.loadtxt(lines, delimiter=",")  # p10, p50, p90 per row
    booster = xgb.Booster()
    booster.load_model(str(prepared["model"] / "xgboost-model.ubj"))
    expected = np.expm1(booster.inplace_predict(features.to_numpy(dtype="float32")))
    np.testing.assert_allclose(out[:, 1], expected, rtol=1e-4)
    assert out[:, 1].min() > 1000  # store-day sales, not log sales
    # the interval: the validation errors' quantiles on the log scale, around the median
    schema = json.loads((prepared["model"] / "feature_schema.json").read_text())
    low, _, high = schema["intervals"]["log1p_offsets"]
    assert low < 0 < high
    np.testing.assert_allclose(out[:, 0], np.expm1(np.log1p(expected) + low), rtol=1e-4)
    np.testing.assert_allclose(out[:, 2], np.expm1(np.log1p(expected) + high), rtol=1e-4)
    assert (out[:, 0] <= out[:, 1]).all() and (out[:, 1] <= out[:, 2]).all()


def test_json_named_fields_any_order_with_keys_echoed(
    model: inference.Model, batch: pd.DataFrame
) -> None:
    row = batch.iloc[0]
    fields = dict(zip(model.features, row.iloc[2:].tolist(), strict=True))
    instance = {"Store": int(row[0]), "Date": row[1], **dict(reversed(list(fields.items())))}
    instance["StoreType"] = model_category(model, "StoreType", fields["StoreType"])
    reply = json.loads(
        invoke(json.dumps({"instances": [instance]}), "application/json", "application/json")
    )
    csv_reply = [
        float(v)
        for v in invoke(
            ",".join("" if pd.isna(v) else str(v) for v in row.iloc[2:]), "text/csv", "text/csv"
        ).split(b",")
    ]
    [answer] = reply["predictions"]
    assert list(answer) == ["Store", "Date", "p10", "p50", "p90"]
    assert (answer["Store"], answer["Date"]) == (int(row[0]), row[1])
    assert [answer["p10"], answer["p50"], answer["p90"]] == pytest.approx(csv_reply, rel=1e-4)


def model_category(model: inference.Model, name: str, code: float) -> str:
    """The category label behind an encoded value (JSON callers send labels)."""
    return next(label for label, value in model.categories[name].items() if value == code)


def test_jsonlines(model: inference.Model, batch: pd.DataFrame) -> None:
    lines = "\n".join(
        json.dumps(
            dict(zip(model.features, [None if pd.isna(v) else v for v in r.iloc[2:]], strict=True))
        )
        for _, r in batch.iloc[:3].iterrows()
    )
    out = invoke(lines, "application/jsonlines", "application/jsonlines").decode().splitlines()
    assert len(out) == 3
    assert all(set(json.loads(line)) == {"p10", "p50", "p90"} for line in out)


@pytest.mark.parametrize(
    ("body", "content_type", "status", "message"),
    [
        (b"", "text/csv", 400, "the body is empty"),
        (b"1,2,3", "text/csv", 400, "CSV row 1 has 3 fields; the model expects"),
        (b'"1,2', "text/csv", 400, "CSV row 1 has 1 fields"),
        (b"[1, 2]", "application/json", 400, 'expected a JSON object with an "instances" list'),
        (b'{"rows": []}', "application/json", 400, 'expected a JSON object with an "instances"'),
        (b'{"instances": [}', "application/json", 400, "malformed JSON at line 1"),
        (b'{"instances": [{"Promo": 1}]}', "application/json", 400, "instance 0: missing field(s)"),
        (b"x", "application/x-npy", 415, "unsupported content type 'application/x-npy'"),
    ],
)
def test_bad_requests_are_client_errors(
    model: inference.Model, body: bytes, content_type: str, status: int, message: str
) -> None:
    with pytest.raises(inference.RequestError) as err:
        inference.decode_request(body, content_type, model)
    assert err.value.status_code == status
    assert message in err.value.message


def test_non_numeric_csv_field_is_named(model: inference.Model, batch: pd.DataFrame) -> None:
    values = ["1"] * len(model.features)
    values[4] = "abc"
    with pytest.raises(inference.RequestError, match="CSV row 1, field 5: 'abc' is not a number"):
        inference.decode_request(",".join(values), "text/csv", model)


def test_unknown_and_wrongly_typed_fields(model: inference.Model) -> None:
    base = {name: 1.0 for name in model.features}
    unknown = r"instance 0: unknown field\(s\) \['colour'\]"
    with pytest.raises(inference.RequestError, match=unknown):
        inference.decode_request(
            json.dumps({"instances": [{**base, "colour": 1}]}), "application/json", model
        )
    with pytest.raises(inference.RequestError, match="instance 0, field 'Promo': 'yes' is not"):
        inference.decode_request(
            json.dumps({"instances": [{**base, "Promo": "yes"}]}), "application/json", model
        )


def test_payload_limit_and_accept(model: inference.Model, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_PAYLOAD_BYTES", "10")
    with pytest.raises(inference.RequestError) as err:
        inference.decode_request(b"1" * 11, "text/csv", model)
    assert err.value.status_code == 413
    with pytest.raises(inference.RequestError) as err:
        inference.encode_response(
            {"predictions": np.array([[1.0]]), "columns": ("p50",), "keys": None},
            "application/xml",
        )
    assert err.value.status_code == 406


def test_unseen_category_label_is_missing_not_an_error(model: inference.Model) -> None:
    base = {name: 1.0 for name in model.features}
    decoded = inference.decode_request(
        json.dumps({"instances": [{**base, "StoreType": "zz"}]}), "application/json", model
    )
    assert np.isnan(decoded.values[0, model.features.index("StoreType")])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[" * 100_000 + "]" * 100_000, "the JSON is nested too deeply to be a request"),
        ('{"instances": [{"Promo": NaN}]}', "NaN is not a number JSON allows"),
        ('{"instances": [{"Promo": Infinity}]}', "Infinity is not a number JSON allows"),
        ('{"instances": [{"Promo": ' + "9" * 5000 + "}]}", "a number that cannot be read"),
    ],
)
def test_json_that_no_parser_should_answer_with_a_500(
    model: inference.Model, body: str, message: str
) -> None:
    with pytest.raises(inference.RequestError) as err:
        inference.decode_request(body, "application/json", model)
    assert err.value.status_code == 400
    assert message in err.value.message


@pytest.mark.parametrize("number", ["9" * 400, "1e39", "-1e39"])
def test_json_numbers_past_float32_are_refused_with_the_field(
    model: inference.Model, number: str
) -> None:
    base = dict.fromkeys(model.features, 1.0)
    body = json.dumps({"instances": [base]}).replace('"Promo": 1.0', f'"Promo": {number}')
    with pytest.raises(inference.RequestError) as err:
        inference.decode_request(body, "application/json", model)
    assert err.value.status_code == 400
    assert err.value.message.startswith("instance 0, field 'Promo': ")
    assert err.value.message.endswith("is not a finite number the model can take")


@pytest.mark.parametrize("field", ["inf", "-inf", "1e39"])
def test_csv_infinity_is_refused_with_row_and_field(model: inference.Model, field: str) -> None:
    rows = [["1"] * len(model.features) for _ in range(3)]
    rows[2][4] = field
    body = "\n".join(",".join(r) for r in rows)
    with pytest.raises(inference.RequestError, match="CSV row 3, field 5: not a finite number"):
        inference.decode_request(body, "text/csv", model)


def test_series_key_matches_by_value_not_by_float_formatting(
    model: inference.Model, batch: pd.DataFrame
) -> None:
    row = batch.iloc[0]
    fields = dict(zip(model.features, row.iloc[2:].tolist(), strict=True))
    store = int(row[0])
    encoded = "Store_code"
    fields.pop(encoded)  # send the key by name instead of its code
    fields["StoreType"] = model_category(model, "StoreType", fields["StoreType"])

    def code(value: object) -> float:
        batch_ = inference.decode_request(
            json.dumps({"instances": [{**fields, "Store": value}]}), "application/json", model
        )
        return float(batch_.values[0, model.features.index(encoded)])

    assert not np.isnan(code(store))
    assert code(store) == code(float(store)) == code(str(store)) == code(f"{store}.0")
    assert np.isnan(code(store + 100_000))  # an unseen store stays unseen

"""Inference handler for the SageMaker XGBoost framework container (script mode).

The container imports this module (SAGEMAKER_PROGRAM from SAGEMAKER_SUBMIT_DIRECTORY), calls
`model_fn(model_dir)` once, then `transform_fn(model, body, content_type, accept)` per
request. Script mode runs through the legacy `sagemaker_containers` Transformer, not
`sagemaker_inference`: there, any exception a handler function raises becomes an HTTP 500
with a generic page, and bare bytes are served as text/html. So this module defines only
`transform_fn` (the container refuses it next to input_fn/predict_fn/output_fn), and it
*returns* every answer as a response object with its status and content type: a bad
request gets 400 (bad body), 413 (too large), 415 (content type) or 406 (accept) with a
JSON body {"error": "<what is wrong, naming the field, row or header>"}.

Inputs:
- text/csv: rows of feature values in the feature schema's order, no header (what Batch
  Transform sends after its input filter drops the key columns).
- application/json: {"instances": [{"feature": value, ...}, ...]}; fields are matched by
  name and reordered; the series keys and the date may be included and are echoed back.
- application/jsonlines: one such instance object per line.
Outputs: the forecast on the sales scale at the model's quantile levels (P10, P50, P90 by
default), as text/csv (one line per row: `p10,p50,p90`) or application/json
({"predictions": [{<keys>, "p10": ..., "p50": ..., "p90": ...}, ...]}), or JSON Lines.

The steps are plain functions (`decode_request`, `predict`, `encode_response`) that the
tests and the local runner call too.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import xgboost as xgb
from pyarrow import csv as pa_csv

MODEL_FILE = "xgboost-model.ubj"
SCHEMA_FILE = "feature_schema.json"
CSV = "text/csv"
JSON = "application/json"
JSONLINES = ("application/jsonlines", "application/x-jsonlines", "application/jsonl")
# The largest request body accepted, in bytes (SageMaker's own real-time limit is 6 MB;
# Batch Transform sends at most MaxPayloadInMB). Override with MAX_PAYLOAD_BYTES.
DEFAULT_MAX_PAYLOAD = 6 * 1024 * 1024


class RequestError(Exception):
    """A client error: status 400 (bad body), 413 (too large), 415 (content type),
    406 (accept)."""

    def __init__(self, message: str, status_code: int = 400) -> None:
        super().__init__(status_code, message)
        self.status_code = status_code
        self.message = message

    def __str__(self) -> str:
        return f"{self.status_code}: {self.message}"


try:  # inside the container: the Flask response class its Worker serves
    from sagemaker_containers.beta.framework import worker as _worker

    _Response = _worker.Response
except ImportError:  # anywhere else: the same constructor and the attributes read back

    class _Response:  # type: ignore[no-redef]
        def __init__(self, response: bytes, status: int = 200, mimetype: str = JSON) -> None:
            self.response = response
            self.status_code = status
            self.mimetype = mimetype

        @property
        def content_type(self) -> str:
            text = self.mimetype.startswith("text/")
            return f"{self.mimetype}; charset=utf-8" if text else self.mimetype

        def get_data(self) -> bytes:
            return self.response


@dataclass(frozen=True)
class Model:
    """The booster plus what inference needs from the feature schema."""

    booster: xgb.Booster
    features: tuple[str, ...]
    categories: dict[str, dict[str, float]]
    passthrough: tuple[str, ...]
    target_transform: str
    # quantile levels and their offsets on the log1p scale from the median (P50)
    levels: tuple[float, ...] = (0.5,)
    offsets: tuple[float, ...] = (0.0,)

    @property
    def columns(self) -> tuple[str, ...]:
        """The output's names: p10, p50, p90."""
        return tuple(quantile_name(level) for level in self.levels)


def quantile_name(level: float) -> str:
    return f"p{level * 100:g}"


@dataclass(frozen=True)
class Batch:
    """Decoded request: a float32 feature matrix plus the echoed key fields (JSON only)."""

    values: np.ndarray
    keys: list[dict[str, Any]] | None = None


def load_model(model_dir: str) -> Model:
    """Load the UBJSON booster and the feature schema saved beside it."""
    folder = Path(model_dir)
    booster = xgb.Booster()
    booster.load_model(str(folder / MODEL_FILE))
    schema = json.loads((folder / SCHEMA_FILE).read_text())
    features = tuple(f["name"] for f in schema["features"])
    categories = {
        f["name"]: {str(v): float(i) for i, v in enumerate(f["categories"])}
        for f in schema["features"]
        if f["type"] == "categorical"
    }
    passthrough = tuple(
        c for c in [*schema["series_columns"], schema["date_column"]] if c not in features
    )
    # A series key that is also a categorical feature's source may be sent by name.
    for f in schema["features"]:
        if f["type"] == "categorical" and f.get("source") in schema["series_columns"]:
            categories[f["source"]] = categories[f["name"]]
    booster.set_param({"nthread": int(os.environ.get("INFERENCE_THREADS", "0")) or os.cpu_count()})
    intervals = schema.get("intervals") or {"levels": [0.5], "log1p_offsets": [0.0]}
    return Model(
        booster,
        features,
        categories,
        passthrough,
        schema["target_transform"],
        tuple(float(v) for v in intervals["levels"]),
        tuple(float(v) for v in intervals["log1p_offsets"]),
    )


def _max_payload() -> int:
    return int(os.environ.get("MAX_PAYLOAD_BYTES", DEFAULT_MAX_PAYLOAD))


def _text(body: bytes | str) -> str:
    if isinstance(body, str):
        return body
    try:
        return bytes(body).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RequestError(
            f"the body is not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from None


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def _refuse_constant(name: str) -> float:
    raise RequestError(f"{name} is not a number JSON allows; send null for a missing value")


def load_json(text: str) -> Any:
    """json.loads that answers 400, never 500: NaN/Infinity refused, and nesting too deep to
    parse (a RecursionError in any Python JSON stack) named as such."""
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise RequestError("the JSON is nested too deeply to be a request") from None
    except json.JSONDecodeError:
        raise
    except ValueError as exc:  # an integer past Python's digit limit
        raise RequestError(f"the JSON has a number that cannot be read: {exc}") from None


def _refuse_infinite(values: np.ndarray, what: str) -> np.ndarray:
    """Infinity (or a number past float32's range, which becomes one) is not a feature value."""
    bad = np.argwhere(np.isinf(values))
    if bad.size:
        row, column = (int(i) + 1 for i in bad[0])
        raise RequestError(f"{what} row {row}, field {column}: not a finite number")
    return values


def decode_csv(body: bytes | str, width: int) -> np.ndarray:
    """Rows of `width` numbers (an empty field is a missing value).

    Fast path: pyarrow's multi-threaded CSV reader on the raw bytes (1.8x pandas' parser
    on Batch Transform's 6 MB bodies); it refuses a row with the wrong field count or a
    non-number. Anything it refuses is re-read row by row to name the first bad row/field.
    """
    raw = body.encode() if isinstance(body, str) else bytes(body)
    raw = raw.removeprefix(b"\xef\xbb\xbf").strip(b"\r\n")
    if not raw.strip():
        raise RequestError("the body is empty: expected CSV rows of feature values")
    if b'"' not in raw and width > 0:
        names = [f"f{i}" for i in range(width)]
        try:
            table = pa_csv.read_csv(
                io.BytesIO(raw),
                read_options=pa_csv.ReadOptions(column_names=names),
                convert_options=pa_csv.ConvertOptions(
                    column_types={n: pa.float32() for n in names}
                ),
            )
            values = np.column_stack([c.to_numpy(zero_copy_only=False) for c in table.columns])
            return _refuse_infinite(values, "CSV")
        except (pa.ArrowInvalid, ValueError):
            pass
    parsed_rows = []
    reader = csv.reader(io.StringIO(_text(raw), newline=""))
    number = 0
    try:
        for number, row in enumerate(reader, start=1):
            if len(row) != width:
                raise RequestError(
                    f"CSV row {number} has {len(row)} fields; the model expects {width}"
                )
            parsed_rows.append(
                [_csv_number(field, number, column) for column, field in enumerate(row, start=1)]
            )
    except csv.Error as exc:
        raise RequestError(f"malformed CSV at row {number + 1}: {exc}") from None
    return _refuse_infinite(np.asarray(parsed_rows, dtype="float32"), "CSV")


def _csv_number(field: str, row: int, column: int) -> float:
    text = field.strip()
    if not text:
        return math.nan
    try:
        return float(text)
    except ValueError:
        raise RequestError(
            f"CSV row {row}, field {column}: {text[:40]!r} is not a number"
        ) from None


def decode_instances(instances: list[Any], model: Model) -> Batch:
    """Named fields -> feature matrix in schema order; keys kept to echo back."""
    if not instances:
        raise RequestError('"instances" is empty: send at least one instance')
    allowed = set(model.features) | set(model.passthrough) | set(model.categories)
    values = np.full((len(instances), len(model.features)), np.nan, dtype="float32")
    keys: list[dict[str, Any]] = []
    for row, instance in enumerate(instances):
        if not isinstance(instance, dict):
            raise RequestError(f"instance {row} is a {type(instance).__name__}, not an object")
        extra = sorted(set(instance) - allowed)
        if extra:
            raise RequestError(f"instance {row}: unknown field(s) {extra}")
        missing = [
            f
            for f in model.features
            if f not in instance and not (f.endswith("_code") and f[:-5] in instance)
        ]
        if missing:
            raise RequestError(f"instance {row}: missing field(s) {missing}")
        for col, name in enumerate(model.features):
            source = name[:-5] if name.endswith("_code") and name not in instance else name
            value = instance.get(source)
            values[row, col] = _feature_value(value, name, source, model, row)
        keys.append({k: instance[k] for k in model.passthrough if k in instance})
    return Batch(values, keys)


FLOAT32_MAX = float(np.finfo("float32").max)


def category_key(value: Any) -> str:
    """A key's value as the category maps spell it: 25, 25.0 and "25" are one store.

    Preprocess fits categories on the values' text, and an integer column's text has no
    decimal point; a JSON client (or a float column upstream) may send 25.0."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _feature_value(value: Any, name: str, source: str, model: Model, row: int) -> float:
    if value is None:
        return math.nan
    if name in model.categories and (isinstance(value, str) or source != name):
        # An unseen category is missing, exactly as in preprocessing.
        codes = model.categories[name]
        code = codes.get(value) if isinstance(value, str) else None
        if code is None:
            code = codes.get(category_key(_number_or_text(value)), math.nan)
        return code
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number) or abs(number) > FLOAT32_MAX:
            raise RequestError(
                f"instance {row}, field {source!r}: {str(value)[:40]} is not a finite number "
                "the model can take"
            )
        return number
    raise RequestError(f"instance {row}, field {source!r}: {str(value)[:40]!r} is not a number")


def _number_or_text(value: Any) -> Any:
    """ "25.0" -> 25.0 so a key sent as text matches by value too; other text unchanged."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def decode_request(request_body: bytes | str, request_content_type: str, model: Model) -> Batch:
    """Decode a request body into a Batch, or raise RequestError naming what is wrong."""
    size = len(request_body)
    if size > _max_payload():
        raise RequestError(f"the body has {size} bytes; the maximum is {_max_payload()}", 413)
    media = _media_type(request_content_type)
    if media == CSV:
        return Batch(decode_csv(request_body, len(model.features)))
    if media == JSON or media in JSONLINES:
        text = _text(request_body)
        if not text.strip():
            raise RequestError("the body is empty: expected JSON")
        try:
            if media == JSON:
                payload = load_json(text)
                if not isinstance(payload, dict) or "instances" not in payload:
                    raise RequestError('expected a JSON object with an "instances" list')
                instances = payload["instances"]
                if not isinstance(instances, list):
                    raise RequestError('"instances" must be a list of objects')
            else:
                instances = [load_json(line) for line in text.splitlines() if line.strip()]
        except json.JSONDecodeError as exc:
            raise RequestError(
                f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
            ) from None
        return decode_instances(instances, model)
    raise RequestError(
        f"unsupported content type {request_content_type!r}: use text/csv, application/json "
        "or application/jsonlines",
        415,
    )


def predict(input_data: Batch, model: Model) -> dict[str, Any]:
    """The forecast on the sales scale at each quantile level: (rows x levels).

    The booster predicts the median (log1p(sales) for the default objective); each level's
    forecast is expm1(log1p(median) + offset), the offsets fitted on validation errors."""
    raw = np.asarray(model.booster.inplace_predict(input_data.values), dtype="float64")
    median = np.clip(np.expm1(raw) if model.target_transform == "log1p" else raw, 0, None)
    base = np.log1p(median)[:, None]
    values = np.clip(np.expm1(base + np.asarray(model.offsets)[None, :]), 0, None)
    return {"predictions": values, "columns": model.columns, "keys": input_data.keys}


def encode_response(prediction: dict[str, Any], accept: str) -> tuple[bytes, str]:
    """Serialise as CSV (one row of quantiles per line) or JSON; returns (body, type)."""
    media = _media_type(accept) or CSV
    values = prediction["predictions"]
    if media in (CSV, "*/*"):
        # one join over formatted floats: np.savetxt formats row by row and costs as much
        # as the prediction itself (profiled on 100K rows)
        row = ",".join(["{:.4f}"] * values.shape[1]) + "\n"
        return "".join(map(row.format, *values.T.tolist())).encode("ascii"), CSV
    if media == JSON or media in JSONLINES:
        keys = prediction.get("keys") or [{}] * len(values)
        names = prediction["columns"]
        records = [
            {**k, **{n: round(float(v), 4) for n, v in zip(names, row, strict=True)}}
            for k, row in zip(keys, values.tolist(), strict=True)
        ]
        if media == JSON:
            return json.dumps({"predictions": records}).encode("utf-8"), JSON
        body = "".join(json.dumps(r) + "\n" for r in records).encode("utf-8")
        return body, JSONLINES[0]
    raise RequestError(f"unsupported accept type {accept!r}: use text/csv or application/json", 406)


def model_fn(model_dir: str) -> Model:
    """Load the model once per serving worker."""
    return load_model(model_dir)


def transform_fn(model: Model, request_body: bytes | str, content_type: str, accept: str) -> Any:
    """One invocation: the forecast, or the client error with its status, as a response
    object (the container's Transformer would turn a raised error into a 500)."""
    try:
        body, mimetype = encode_response(
            predict(decode_request(request_body, content_type, model), model), accept
        )
    except RequestError as exc:
        error = json.dumps({"error": exc.message}).encode("utf-8")
        return _Response(response=error, status=exc.status_code, mimetype=JSON)
    return _Response(response=body, status=200, mimetype=mimetype)

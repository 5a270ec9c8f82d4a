"""Requests to the model's endpoint from a file, and its answers as one table.

The input file is what a planner has at hand:
- CSV with a header: one row per forecast, the columns named as the model's features, the
  series keys and the date; sent as JSON instances, so the answers carry the keys and date;
- CSV without a header: rows of feature values in the schema's order (batch.csv without its
  two key columns, as Batch Transform sends them), sent as text/csv;
- JSON: {"instances": [...]} or a list of instances; JSON Lines: one instance per line.

Rows go in requests of at most `rows_per_request` (the endpoint takes at most 6 MB a call).
Answers are collected before anything is written: a refused request leaves no partial output.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

CSV, JSON = "text/csv", "application/json"
ROWS_PER_REQUEST = 500
MAX_REQUEST_BYTES = 6 * 1024 * 1024  # SageMaker real-time endpoints' limit


class InputError(ValueError):
    """The input file cannot be turned into requests; names the file, line or field."""


class Refused(RuntimeError):
    """The endpoint answered a request with an error status."""

    def __init__(self, status: int, message: str, first_row: int) -> None:
        super().__init__(
            f"the endpoint refused rows {first_row}.. ({status}): {message}; nothing was written"
        )
        self.status = status


@dataclass(frozen=True)
class Request:
    content_type: str
    body: bytes
    first_row: int  # 1-based row of the input file


def _number(text: str) -> Any:
    if text == "":
        return None
    try:
        value = float(text)
    except ValueError:
        return text
    return int(value) if value.is_integer() and "." not in text and "e" not in text else value


def _chunks(items: list[Any], size: int) -> Iterator[tuple[int, list[Any]]]:
    for start in range(0, len(items), size):
        yield start + 1, items[start : start + size]


def _json_requests(instances: list[Any], size: int) -> Iterator[Request]:
    for first, chunk in _chunks(instances, size):
        body = json.dumps({"instances": chunk}).encode()
        if len(body) > MAX_REQUEST_BYTES:
            raise InputError(
                f"rows {first}..{first + len(chunk) - 1} make a {len(body)}-byte request; "
                f"the endpoint takes at most {MAX_REQUEST_BYTES}: lower --rows-per-request"
            )
        yield Request(JSON, body, first)


def read_requests(path: Path, rows_per_request: int = ROWS_PER_REQUEST) -> list[Request]:
    """The requests for the rows of `path` (see the module docstring for the formats)."""
    if not path.is_file():
        raise InputError(f"--input {path}: no such file")
    text = path.read_text(encoding="utf-8-sig")
    if not text.strip():
        raise InputError(f"--input {path} is empty")
    suffix = path.suffix.lower()
    if suffix in (".json", ".jsonl", ".jsonlines", ".ndjson"):
        return list(_json_requests(_instances(path, text, suffix), rows_per_request))
    rows = list(csv.reader(io.StringIO(text, newline="")))
    rows = [row for row in rows if row]
    header = rows[0]
    if all(isinstance(_number(field), (int, float)) or field == "" for field in header):
        lines = [",".join(row) for row in rows]  # feature rows in the schema's order
        return [
            Request(CSV, ("\n".join(chunk) + "\n").encode(), first)
            for first, chunk in _chunks(lines, rows_per_request)
        ]
    instances = []
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise InputError(
                f"{path} line {number} has {len(row)} fields; the header has {len(header)}"
            )
        instances.append({name: _number(field) for name, field in zip(header, row, strict=True)})
    if not instances:
        raise InputError(f"{path} has a header and no rows")
    return list(_json_requests(instances, rows_per_request))


def _instances(path: Path, text: str, suffix: str) -> list[Any]:
    try:
        if suffix == ".json":
            payload = json.loads(text)
            instances = payload.get("instances") if isinstance(payload, dict) else payload
            if not isinstance(instances, list):
                raise InputError(f'{path}: expected {{"instances": [...]}} or a list of instances')
            return instances
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    except json.JSONDecodeError as exc:
        raise InputError(f"{path} line {exc.lineno}: not JSON ({exc.msg})") from None


# (content type, body) -> (status, content type, body): one call to the endpoint, which
# answers in the request's own type
Send = Callable[[str, bytes], tuple[int, str, bytes]]


def forecast(requests: list[Request], send: Send) -> pd.DataFrame:
    """Send every request; the answers as one table (keys and date first when the rows had
    them, then p10, p50, p90). Raises Refused on the first error answer."""
    frames = []
    for request in requests:
        status, content_type, body = send(request.content_type, request.body)
        if status != 200:
            raise Refused(status, _error_text(content_type, body), request.first_row)
        if request.content_type == CSV:
            frame = pd.read_csv(io.BytesIO(body), header=None)
            frame.insert(0, "row", range(request.first_row, request.first_row + len(frame)))
        else:
            frame = pd.DataFrame(json.loads(body)["predictions"])
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def name_csv_columns(table: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """Headerless CSV answers are quantile columns in order: name them p10, p50, p90."""
    if "row" in table.columns and len(table.columns) == len(columns) + 1:
        return table.set_axis(["row", *columns], axis=1)
    return table


def _error_text(content_type: str, body: bytes) -> str:
    if content_type.startswith(JSON):
        try:
            return str(json.loads(body).get("error", body.decode()))
        except (ValueError, AttributeError):
            pass
    text = body.decode("utf-8", "replace").strip()
    return text[:300] or "no message"

"""Batch Transform's data plane, run in its own process by the local runner.

Loads the model's inference module the way the XGBoost serving container does
(SAGEMAKER_PROGRAM from SAGEMAKER_SUBMIT_DIRECTORY, then model_fn(model_dir)), and applies
Batch Transform's semantics to every input object: SplitType Line, BatchStrategy
(MultiRecord mini-batches up to MaxPayloadInMB, or SingleRecord), InputFilter, one
invocation per mini-batch answered as the container answers it (serving.py: the legacy
Transformer's status codes and content types), JoinSource Input, OutputFilter, and
AssembleWith Line into `<object>.out`. An answer other than 200 fails the job.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from pipelines.local import serving


class TransformError(RuntimeError):
    pass


def load_handler(submit_dir: str, program: str) -> ModuleType:
    path = Path(submit_dir) / program
    if not path.is_file():
        raise TransformError(f"SAGEMAKER_PROGRAM {program!r} not found in {submit_dir}")
    sys.path.insert(0, submit_dir)
    spec = importlib.util.spec_from_file_location(Path(program).stem, path)
    if spec is None or spec.loader is None:
        raise TransformError(f"cannot load {path} as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    try:
        serving.check_handler(module)
    except serving.HandlerError as exc:
        raise TransformError(str(exc)) from None
    return module


def _select(fields: list[str], expression: str) -> list[str]:
    """A JSONPath selection over a CSV record: $, $[i], $[a:b], $[i,j,-1]."""
    expression = expression.strip()
    if expression in ("", "$"):
        return fields
    if not (expression.startswith("$[") and expression.endswith("]")):
        raise TransformError(f"unsupported filter {expression!r} for CSV records")
    body = expression[2:-1]
    if ":" in body:
        start, _, stop = body.partition(":")
        return fields[int(start) if start else None : int(stop) if stop else None]
    picked = []
    for index in body.split(","):
        try:
            picked.append(fields[int(index)])
        except (ValueError, IndexError):
            raise TransformError(
                f"filter {expression!r} does not fit a record of {len(fields)} fields"
            ) from None
    return picked


def _split_csv(record: str) -> list[str]:
    return next(csv.reader([record])) if '"' in record else record.split(",")


def _join_csv(fields: list[str]) -> str:
    if any(("," in f or '"' in f) for f in fields):
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="").writerow(fields)
        return buffer.getvalue()
    return ",".join(fields)


def mini_batches(records: list[str], strategy: str, max_bytes: int) -> Iterator[list[str]]:
    """Group records as Batch Transform does: as many as fit in MaxPayloadInMB."""
    if strategy == "SingleRecord":
        for record in records:
            yield [record]
        return
    batch: list[str] = []
    size = 0
    for record in records:
        needed = len(record.encode()) + 1
        if needed > max_bytes:
            raise TransformError(f"a record of {needed} bytes exceeds MaxPayloadInMB")
        if batch and size + needed > max_bytes:
            yield batch
            batch, size = [], 0
        batch.append(record)
        size += needed
    if batch:
        yield batch


def transform_object(
    handler: ModuleType, model: Any, text: str, spec: dict[str, Any], name: str
) -> list[str]:
    processing = spec["data_processing"]
    input_filter = processing.get("InputFilter", "$")
    output_filter = processing.get("OutputFilter", "$")
    join = processing.get("JoinSource", "None") == "Input"
    if spec["split_type"] != "Line":
        raise TransformError(f"SplitType {spec['split_type']!r} is not supported locally")
    records = [line for line in text.splitlines() if line.strip()]
    out: list[str] = []
    offset = 0
    max_bytes = int(spec["max_payload_mb"] * 1024 * 1024)
    for batch in mini_batches(records, spec["batch_strategy"], max_bytes):
        filtered = [_join_csv(_select(_split_csv(r), input_filter)) for r in batch]
        body = ("\n".join(filtered) + "\n").encode()
        answer = serving.invoke(handler, model, body, spec["content_type"], spec["accept"])
        if answer.status != 200:
            raise TransformError(
                f"{name} records {offset + 1}-{offset + len(batch)}: "
                f"the model answered {answer.status}: {_error_text(answer)}"
            )
        lines = answer.body.decode("utf-8", errors="replace").splitlines()
        if len(lines) != len(batch):
            raise TransformError(
                f"{name} records {offset + 1}-{offset + len(batch)}: "
                f"{len(batch)} records in, {len(lines)} lines out"
            )
        for record, line in zip(batch, lines, strict=True):
            joined = _split_csv(record) + _split_csv(line) if join else _split_csv(line)
            out.append(_join_csv(_select(joined, output_filter)))
        offset += len(batch)
    return out


def _error_text(answer: serving.Answer) -> str:
    """The handler's {"error": ...} message, or the start of whatever page came back."""
    try:
        return str(json.loads(answer.body)["error"])
    except (ValueError, KeyError, TypeError):
        return answer.body.decode("utf-8", errors="replace")[:200].replace("\n", " ")


def main(argv: list[str] | None = None) -> int:
    spec = json.loads(Path((argv or sys.argv[1:])[0]).read_text())
    host = os.environ.get("SM_CURRENT_HOST", "algo-1")
    try:
        handler = load_handler(
            os.environ["SAGEMAKER_SUBMIT_DIRECTORY"],
            os.environ.get("SAGEMAKER_PROGRAM", "inference.py"),
        )
        model = handler.model_fn(spec["model_dir"])
        output = Path(spec["output_dir"])
        output.mkdir(parents=True, exist_ok=True)
        total = 0
        for path, name in spec["inputs"]:
            lines = transform_object(
                handler, model, Path(path).read_text(encoding="utf-8-sig"), spec, name
            )
            target = output / f"{name}.out"
            target.parent.mkdir(parents=True, exist_ok=True)
            separator = "\n" if spec["assemble_with"] == "Line" else ""
            target.write_text(separator.join(lines) + ("\n" if lines and separator else ""))
            total += len(lines)
            print(f"transform ({host}): {name}: {len(lines)} records")
    except TransformError as exc:
        print(f"transform: error: {exc}", file=sys.stderr)
        return 1
    print(f"transform: {total} records in {len(spec['inputs'])} object(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

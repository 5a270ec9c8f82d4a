"""What SageMaker and S3 accept, checked before any run or AWS call.

Lengths, patterns and enumerations come from botocore's SageMaker service model (which is
newer than the published pipeline schema and is what the API itself enforces), so a limit
is never copied here by hand. S3 URIs are checked against S3's own naming rules, and against
the shapes that would let a key leave its bucket once it becomes a local path.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

# S3's bucket naming rules (3-63 characters of a-z, 0-9, '.', '-'; letter or digit at both
# ends; no '..'; not an IP address).
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_IP = re.compile(r"^\d+\.\d+\.\d+\.\d+$")
# Java-style Unicode classes in the model's patterns, as Python's re spells them
# (a superset: \w also holds digits and the underscore, which those patterns allow anyway).
_UNICODE_CLASSES = {r"\p{L}": r"\w", r"\p{N}": r"\d", r"\p{Z}": r"\s"}


@cache
def service_model(service: str = "sagemaker") -> Any:
    """botocore's service model (loaded once per process, about 0.2 s for SageMaker)."""
    import botocore.session

    return botocore.session.get_session().get_service_model(service)


@cache
def shape(name: str) -> dict[str, Any]:
    """The metadata (min, max, pattern, enum) of one SageMaker API shape (looked up once:
    every local S3 path goes through s3_uri_problem). Read it, never change it."""
    metadata: dict[str, Any] = service_model().shape_for(name).metadata
    return metadata


def max_items(name: str) -> int:
    """The largest number of members a list shape allows (TagList: 50)."""
    return int(shape(name)["max"])


def _pattern(text: str) -> re.Pattern[str]:
    for java, python in _UNICODE_CLASSES.items():
        text = text.replace(java, python)
    return re.compile(text)


@cache
def _checkable(text: str | None) -> re.Pattern[str] | None:
    """A model pattern Python's re can run, or None (a Unicode class it has no spelling of)."""
    if text is None:
        return None
    try:
        return _pattern(text)
    except re.error:
        return None


def string_problem(value: str, shape_name: str, what: str) -> str | None:
    """Why SageMaker would refuse `value` for `shape_name`, or None."""
    meta = shape(shape_name)
    if "enum" in meta:
        if value in meta["enum"]:
            return None
        close = [v for v in meta["enum"] if v.split(".")[1:2] == value.split(".")[1:2]]
        hint = f" (e.g. {', '.join(close[:4])})" if close else ""
        return f"{what} {value!r} is not a value SageMaker accepts here{hint}"
    if len(value) < meta.get("min", 0):
        return f"{what} {value!r} is shorter than {meta['min']} characters"
    if "max" in meta and len(value) > meta["max"]:
        return f"{what} is {len(value)} characters long; SageMaker allows at most {meta['max']}"
    if "pattern" in meta and not _pattern(meta["pattern"]).fullmatch(value):
        return f"{what} {value!r} does not match SageMaker's pattern {meta['pattern']}"
    return None


def s3_uri_problem(uri: object) -> str | None:
    """Why `uri` is not a usable s3://bucket/key location, or None when it is."""
    if not isinstance(uri, str) or not uri.startswith("s3://"):
        return f"{uri!r} is not an s3:// URI"
    limit = shape("S3Uri")["max"]
    if len(uri) > limit:
        return f"the URI is {len(uri)} characters long; S3 URIs have at most {limit}"
    bucket, _, key = uri[5:].partition("/")
    if not _BUCKET.match(bucket) or ".." in bucket or _IP.match(bucket):
        return f"{uri!r}: {bucket!r} is not a valid S3 bucket name"
    parts = key.split("/")
    if key.endswith("/"):
        parts = parts[:-1]  # a trailing slash names a prefix
    if key and any(part in ("", ".", "..") for part in parts):
        return f"{uri!r}: the key has an empty, '.' or '..' segment"
    if "\\" in key or "\x00" in key:
        return f"{uri!r}: the key has a backslash or NUL character"
    return None


def request_problems(service: str, operation: str, params: dict[str, Any]) -> list[str]:
    """What the service would refuse in a request, checked against botocore's shapes:
    botocore's own validator (types, required and unknown members, minimums) and what it
    leaves to the service (enumerations, maximums, patterns). moto checks none of it."""
    from botocore.validate import ParamValidator

    shape = service_model(service).operation_model(operation).input_shape
    report = ParamValidator().validate(params, shape)
    problems = report.generate_report().splitlines() if report.has_errors() else []
    _walk(shape, params, operation, problems)
    return problems


def _walk(shape: Any, value: Any, where: str, problems: list[str]) -> None:
    meta = shape.metadata
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        for name, item in value.items():
            if name in shape.members:
                _walk(shape.members[name], item, f"{where}.{name}", problems)
    elif kind == "list" and isinstance(value, list):
        if "max" in meta and len(value) > meta["max"]:
            problems.append(f"{where} has {len(value)} items; the maximum is {meta['max']}")
        for index, item in enumerate(value):
            _walk(shape.member, item, f"{where}[{index}]", problems)
    elif kind == "map" and isinstance(value, dict):
        for key, item in value.items():
            _walk(shape.key, key, f"{where} key", problems)
            _walk(shape.value, item, f"{where}.{key}", problems)
    elif kind == "string" and isinstance(value, str):
        if "enum" in meta and value not in meta["enum"]:
            choices = meta["enum"]
            shown = ", ".join(choices[:6]) + (", ..." if len(choices) > 6 else "")
            problems.append(f"{where}: {value!r} is not one of the {len(choices)}: {shown}")
        if "max" in meta and len(value) > meta["max"]:
            problems.append(f"{where} is {len(value)} characters; the maximum is {meta['max']}")
        pattern = _checkable(meta.get("pattern"))
        if pattern is not None and not pattern.fullmatch(value):
            problems.append(f"{where}: {value!r} does not match {meta['pattern']}")
    elif (
        kind in ("integer", "long", "float", "double")
        and isinstance(value, (int, float))
        and "max" in meta
        and value > meta["max"]
    ):
        problems.append(f"{where} = {value}; the maximum is {meta['max']}")

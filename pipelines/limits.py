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
def service_model() -> Any:
    """botocore's SageMaker service model (loaded once per process, about 0.2 s)."""
    import botocore.session

    return botocore.session.get_session().get_service_model("sagemaker")


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

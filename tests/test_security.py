"""Security properties of what ships: no pickle anywhere, artifacts in XGBoost's format."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import REPO

SHIPPED = ("pipelines", "processing_scripts", "training_scripts", "inference", "benchmarks")
UNSAFE = re.compile(
    r"^\s*(import|from)\s+(pickle|cPickle|joblib|cloudpickle|dill|shelve)\b"
    r"|\b(pickle|joblib|cloudpickle|dill)\.(load|loads|dump|dumps)\b",
    re.M,
)


def test_no_pickle_or_joblib_in_the_code() -> None:
    offenders = [
        f"{path.relative_to(REPO)}:{text[: m.start()].count(chr(10)) + 1}"
        for folder in SHIPPED
        for path in sorted((REPO / folder).rglob("*.py"))
        for text in [path.read_text()]
        for m in UNSAFE.finditer(text)
    ]
    assert offenders == []


def test_the_scan_would_catch_pickle() -> None:
    assert UNSAFE.search("import pickle\n") and UNSAFE.search("x = joblib.load(path)")
    assert not UNSAFE.search("# never pickle: XGBoost's own format")


def test_model_artifacts_are_xgboost_format_and_json(prepared: dict[str, Path]) -> None:
    suffixes = {p.suffix for p in prepared["model"].rglob("*") if p.is_file()}
    assert suffixes <= {".ubj", ".json", ".py"}
    assert (prepared["model"] / "xgboost-model.ubj").read_bytes()[:1] == b"{"  # UBJSON object

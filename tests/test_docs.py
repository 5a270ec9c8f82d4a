"""The docs cite tests; every cited test must exist, so the table cannot drift from the code."""

from __future__ import annotations

import re

from conftest import REPO


def test_every_test_cited_in_the_error_table_exists() -> None:
    text = (REPO / "docs" / "errors.md").read_text()
    cited = set(re.findall(r"\b(test_\w+)::(test_\w+)", text))
    cited |= {(m, "") for m in re.findall(r"\|\s*(test_\w+)\s*\|", text)}
    assert len(cited) > 30
    missing = []
    for module, function in sorted(cited):
        path = REPO / "tests" / f"{module}.py"
        if not path.is_file() or (function and f"def {function}(" not in path.read_text()):
            missing.append(f"{module}::{function}")
    assert missing == []

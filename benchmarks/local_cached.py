"""A second identical `pipelines.run --local` vs the first, the way a user runs it (from the
profile, fresh work directory): the second run should be served from the caches."""

from __future__ import annotations

import tempfile
from pathlib import Path

from benchmarks.common import emit, local_run, small_input

NAME = "local_cached"


def run(quick: bool) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        extra = ["--input", str(small_input(folder)), "--param", "NumRound=50"] if quick else []
        first = local_run(folder / "work", *extra)
        second = local_run(folder / "work", *extra)
    hits = [s["cache_hit"] for s in second["result"]["steps"] if s["cache_hit"] is not None]
    return emit(
        NAME,
        second["seconds"],
        first["seconds"],
        "second <= 0.1 x first",
        None if quick else second["seconds"] <= 0.1 * first["seconds"],
        unit="seconds",
        all_jobs_cached=all(hits),
        quick=quick,
    )

"""`pipelines.run --local` on Rossmann: wall time of the whole run vs the sum of its jobs'
own time (each job's subprocess, from the runner's per-step timing). The definition is the
saved dry-run JSON, so the figure is the runner's own overhead; building a definition from
a profile (about 5 s of SDK import) happens once per code change and is reported apart."""

from __future__ import annotations

import tempfile
from pathlib import Path

from benchmarks.common import built_definition, emit, job_seconds, local_run, small_input

NAME = "local_e2e"


def run(quick: bool) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        definition = built_definition(folder)
        extra = ["--input", str(small_input(folder)), "--param", "NumRound=50"] if quick else []
        measured = local_run(folder / "work", "--definition", str(definition), "--no-cache", *extra)
    result = measured["result"]
    jobs = job_seconds(result)
    return emit(
        NAME,
        measured["seconds"],
        jobs,
        "ratio <= 1.5",
        None if quick else measured["seconds"] / jobs <= 1.5,
        unit="seconds",
        steps={s["name"]: round(s["seconds"], 3) for s in result["steps"]},
        status=result["status"],
        quick=quick,
    )

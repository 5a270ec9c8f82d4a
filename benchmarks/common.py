"""Shared helpers: timing, the JSON line, and the prepared Rossmann features and model."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess  # nosec B404
import sys
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
# The scripts import their siblings (preprocess.py its plan.py, features.py and drift.py;
# train.py its cluster.py), as in the container, where the code folder is the script's own
# directory and so on sys.path.
for _folder in ("processing_scripts", "training_scripts"):
    if str(REPO / _folder) not in sys.path:
        sys.path.append(str(REPO / _folder))


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
    }


def emit(
    name: str, value: float, reference: float, target: str, met: bool | None, **details: Any
) -> dict[str, Any]:
    """Print one JSON line: value and reference measured in the same run."""
    line = {
        "benchmark": name,
        "value": round(value, 6),
        "reference": round(reference, 6),
        "ratio": round(value / reference, 4) if reference else None,
        "target": target,
        "met": met,
        **details,
        "machine": machine(),
    }
    print(json.dumps(line), flush=True)
    return line


def repeat_side_by_side(
    ours: Callable[[], Any], reference: Callable[[], Any], times: int
) -> tuple[dict[str, float], dict[str, float]]:
    """Median, min and max wall seconds of `times` calls of each, interleaved (and in
    alternating order) so that a change in the machine's speed during the run, common on a
    shared VM, weighs on both sides alike instead of on whichever ran second."""
    seconds: dict[str, list[float]] = {"ours": [], "reference": []}
    for turn in range(times):
        pair = [("ours", ours), ("reference", reference)]
        for side, fn in pair if turn % 2 == 0 else pair[::-1]:
            start = time.perf_counter()
            fn()
            seconds[side].append(time.perf_counter() - start)
    stats = {
        side: {"median": statistics.median(values), "min": min(values), "max": max(values)}
        for side, values in seconds.items()
    }
    return stats["ours"], stats["reference"]


def run_command(
    argv: list[str], cwd: Path = REPO, env: dict[str, str] | None = None
) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    # The benchmark's own commands as argument lists, never a shell (bandit B603).
    result = subprocess.run(  # nosec B603
        argv,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv)} failed ({result.returncode}): {result.stderr[-2000:]}"
        )
    return seconds, result


@cache
def rossmann_features(quick: bool) -> Any:
    """preprocess.build_features on Rossmann (quick: 10 stores)."""

    from pipelines.demo_data import demo_frames
    from pipelines.settings import load_settings
    from processing_scripts import preprocess

    raw = demo_frames()[0]
    if quick:
        raw = raw[raw["Store"].isin(sorted(raw["Store"].unique())[:10])]
    known = load_settings("dev").data.known_columns
    return preprocess.build_features(raw, preprocess.ColumnConfig(known_columns=known), horizon=42)


def bin_sample(rows: Any, schema: dict[str, Any]) -> Any:
    """Preprocess's sample of `rows` (one unit), which the pipeline's Train cuts each fit's
    histogram bins from (train.cuts): benchmarks fit on the bins the pipeline would."""
    from processing_scripts import preprocess

    keys = [*schema["series_columns"], schema["date_column"]]
    return preprocess.bin_sample(rows, keys, units=1)


def fit_and_score(frames: Any, hp: Any) -> tuple[dict[str, Any], float, dict[str, float]]:
    """train.train on the features with `hp`, timed, then scored on the test window on the
    sales scale: (training report, fit seconds, test metrics, with the P10-P90 interval's
    coverage and the weighted quantile loss)."""
    from processing_scripts import evaluate
    from training_scripts import train

    sample = bin_sample(frames.train, frames.schema)
    start = time.perf_counter()
    bins = train.cuts(sample, frames.schema, "train", hp)
    booster, report = train.train(
        frames.train,
        frames.validation,
        frames.schema,
        hp,
        threads=os.cpu_count() or 1,
        log_every=0,
        cuts=bins,
    )
    seconds = time.perf_counter() - start
    actual = frames.test["Sales"].to_numpy(dtype="float64")
    predicted = evaluate.predict_sales(booster, frames.test, frames.schema)
    test: dict[str, float] = evaluate.regression_metrics(actual, predicted)
    saved = train.model_schema(frames.schema, hp, report["intervals"])
    quantiles = evaluate.quantile_metrics(actual, evaluate.interval(predicted, saved))
    test["coverage"] = quantiles["coverage"]
    test["weighted_quantile_loss"] = quantiles["weighted_quantile_loss"]
    return report, seconds, test


def built_definition(folder: Path) -> Path:
    """The dev profile's definition saved to a file, built once (as `upsert --dry-run`)."""
    path = folder / "definition.json"
    if not path.is_file():
        run_command([sys.executable, "-m", "pipelines.upsert", "--dry-run", "--output", str(path)])
    return path


def small_input(folder: Path, stores: int = 10) -> Path:
    """The first `stores` Rossmann stores, for quick mode."""

    from pipelines.demo_data import demo_frames

    raw = demo_frames()[0]
    path = folder / "small.csv"
    raw[raw["Store"].isin(sorted(raw["Store"].unique())[:stores])].to_csv(path, index=False)
    return path


_MEASURE = (
    "import json, resource, subprocess, sys, time\n"
    "t = time.perf_counter()\n"
    "r = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
    "print(json.dumps({'seconds': time.perf_counter() - t, 'code': r.returncode,\n"
    "  'stdout': r.stdout, 'stderr': r.stderr[-3000:],\n"
    "  'max_rss_kb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))\n"
)


def local_run(workdir: Path, *extra: str) -> dict[str, Any]:
    """`python -m pipelines.run --local --json ...` in a fresh process; returns the wall
    seconds, the peak RSS of the runner and all its jobs, and the runner's JSON."""
    argv = [
        sys.executable,
        "-m",
        "pipelines.run",
        "--local",
        "--json",
        "--workdir",
        str(workdir),
        *extra,
    ]
    _, wrapper = run_command([sys.executable, "-c", _MEASURE, *argv])
    measured = json.loads(wrapper.stdout)
    if measured["code"] != 0:
        raise RuntimeError(f"local run failed: {measured['stderr']}")
    measured["result"] = json.loads(measured.pop("stdout"))
    return measured


def job_seconds(result: dict[str, Any]) -> float:
    return sum(
        s["seconds"]
        for s in result["steps"]
        if s["type"] in ("Processing", "Training", "Transform")
    )

"""100x Rossmann end to end on one instance and on two emulated instances, side by side.

The data is local_scale's synthetic growth at 100x (every Rossmann store copied under 99 new
ids, daily sales jittered by 1 + N(0, 0.05)): 9.4M rows, 10,000 series, partitioned by series
as `pipelines.data partition` (and `stage`) write it. Both runs use the saved definition,
--no-cache, and fewer boosting rounds than the default (NumRound, Eta below: the same for
both, so the comparison holds, in minutes rather than hours on two cores). The second run
sets ProcessingInstanceCount, TrainingInstanceCount and TransformInstanceCount to 2: the
local runner starts two processes per job (each with half this machine's cores, training
through XGBoost's collective on 127.0.0.1).

Per instance, every job's process tree is measured by the runner (usage-<host>.json: CPU
seconds and peak RSS, from wait4). "CPU per instance" is the busiest instance's total over
the run (with two, algo-1 also runs the one-instance jobs: Evaluate and MonitorDrift).
Accuracy: the forecast of the held-back six weeks on the original 100 stores (WAPE against
their actuals), which must not move by more than 2% relative between the two runs; both
runs without row subsampling (SAME_DRAW, below).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from benchmarks.common import built_definition, emit, local_run
from benchmarks.local_scale import scaled

NAME = "local_scale_100x"
ROUNDS = ("--param", "NumRound=80", "--param", "Eta=0.3")
# Row subsampling off in both runs: each host draws its own rows (a different draw, as a new
# seed makes), and on one instance the seed alone moves this forecast's WAPE by up to 10%
# (five seeds at the defaults, 1x: 0.080 to 0.097), which would drown what is compared here.
# With it off, and the bins cut from preprocess's sample on every host, two hosts train the
# model one host does.
SAME_DRAW = ("--param", "Subsample=1")
# what is measured is the scale-out, not the model: the quality gate must not stop a run
# that fewer rounds (or, quick, a handful of stores) leave below its threshold
NO_GATE = ("--param", "MaxQualityMetric=1", "--param", "MinSkillVsNaive=-1")
SCALE_OUT = (
    "--param",
    "ProcessingInstanceCount=2",
    "--param",
    "TrainingInstanceCount=2",
    "--param",
    "TransformInstanceCount=2",
)


def usage(workdir: Path) -> dict[str, Any]:
    """Per instance over the run: CPU seconds and peak RSS, and per job the same."""
    hosts: dict[str, dict[str, float]] = {}
    jobs: dict[str, dict[str, dict[str, float]]] = {}
    for path in sorted(workdir.glob("executions/*/*/**/usage-*.json")):
        record = json.loads(path.read_text())
        step = path.relative_to(workdir).parts[2]
        host = hosts.setdefault(record["host"], {"cpu_seconds": 0.0, "max_rss_mb": 0.0})
        host["cpu_seconds"] += record["cpu_seconds"]
        host["max_rss_mb"] = max(host["max_rss_mb"], record["max_rss_mb"])
        jobs.setdefault(step, {})[record["host"]] = {
            "cpu_seconds": record["cpu_seconds"],
            "max_rss_mb": record["max_rss_mb"],
        }
    return {"hosts": hosts, "jobs": jobs}


def original_wape(predictions: list[str], actuals: pd.DataFrame) -> float:
    """WAPE of the forecast's median on the original stores' held-back days."""
    names = ["Store", "Date", "p10", "p50", "p90"]
    forecast = pd.concat(pd.read_csv(p, header=None, names=names) for p in predictions)
    joined = forecast.merge(actuals.assign(Date=actuals["Date"].astype(str)), on=["Store", "Date"])
    return float((joined["p50"] - joined["Sales"]).abs().sum() / joined["Sales"].abs().sum())


def run(quick: bool) -> dict:
    from pipelines import data
    from pipelines.demo_data import demo_frames

    raw, actuals = demo_frames()
    copies = 3 if quick else 100
    if quick:
        stores = sorted(raw["Store"].unique())[:6]
        raw, actuals = raw[raw["Store"].isin(stores)], actuals[actuals["Store"].isin(stores)]
    rounds = (*(("--param", "NumRound=20") if quick else ROUNDS), *SAME_DRAW, *NO_GATE)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        definition = built_definition(folder)
        big = scaled(raw, copies)
        shards = max(4, data.shard_count(len(big), "auto"))
        data.write_partitions(data.partition(big, ["Store"], shards), folder / "input")
        del big
        common = ["--definition", str(definition), "--no-cache", "--input", str(folder / "input")]
        one = local_run(folder / "w1", *common, *rounds)
        two = local_run(folder / "w2", *common, *rounds, *SCALE_OUT)
        measured = {"one": usage(folder / "w1"), "two": usage(folder / "w2")}
        wape = {
            side: original_wape(result["result"]["predictions"], actuals)
            for side, result in (("one", one), ("two", two))
        }
    busiest = {s: max(h["cpu_seconds"] for h in m["hosts"].values()) for s, m in measured.items()}
    peak = {
        s: max(h["max_rss_mb"] for h in m["hosts"].values()) / 1024 for s, m in measured.items()
    }
    cpu_ratio = busiest["two"] / busiest["one"]
    rss_ratio = peak["two"] / peak["one"]
    wall_ratio = two["seconds"] / one["seconds"]
    accuracy_change = abs(wape["two"] - wape["one"]) / wape["one"]
    met = (
        peak["one"] <= 6
        and rss_ratio <= 0.6
        and cpu_ratio <= 0.6
        and wall_ratio <= 1.2
        and accuracy_change <= 0.02
    )
    return emit(
        NAME,
        two["seconds"],
        one["seconds"],
        "1 instance: peak RSS <= 6 GB; 2 instances: peak RSS per instance <= 0.6x, busiest "
        "instance's CPU seconds <= 0.6x, wall time <= 1.2x, forecast WAPE on the original "
        "stores within 2% relative",
        None if quick else met,
        unit="seconds (wall, 2 instances vs 1)",
        rows=len(raw) * copies,
        series=int(raw["Store"].nunique()) * copies,
        input_files=shards,
        rounds=" ".join(rounds),
        peak_rss_gb={s: round(v, 3) for s, v in peak.items()},
        peak_rss_ratio=round(rss_ratio, 3),
        busiest_instance_cpu_seconds={s: round(v, 1) for s, v in busiest.items()},
        cpu_ratio=round(cpu_ratio, 3),
        wall_ratio=round(wall_ratio, 3),
        forecast_wape_original_stores={s: round(v, 5) for s, v in wape.items()},
        accuracy_change=round(accuracy_change, 4),
        per_job={s: m["jobs"] for s, m in measured.items()},
        quick=quick,
    )

"""The local run on a 10x larger dataset vs the 1x run, plus peak memory.

The 10x data is synthetic, made from the real one: every Rossmann store copied under nine
new store ids with its daily sales jittered (multiplied by 1 + N(0, 0.05), closed days kept
at 0). Both runs use the saved definition and --no-cache; peak RSS covers the runner and all
of its jobs."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.common import built_definition, emit, local_run

NAME = "local_scale"


def scaled(raw: pd.DataFrame, copies: int, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    parts = [raw]
    for k in range(1, copies):
        part = raw.copy()
        part["Store"] = part["Store"] + 10_000 * k
        jitter = 1 + rng.normal(0, 0.05, len(part))
        part["Sales"] = (part["Sales"] * np.clip(jitter, 0.5, 1.5)).round().astype("Int64")
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def run(quick: bool) -> dict:
    from pipelines.demo_data import demo_frames

    raw = demo_frames()[0]
    if quick:
        raw = raw[raw["Store"].isin(sorted(raw["Store"].unique())[:5])]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        definition = built_definition(folder)
        base, big = folder / "x1.parquet", folder / "x10.parquet"
        raw.to_parquet(base, index=False)
        scaled(raw, 10).to_parquet(big, index=False)
        extra = ["--param", "NumRound=50"] if quick else []
        one = local_run(
            folder / "w1",
            "--definition",
            str(definition),
            "--no-cache",
            "--input",
            str(base),
            *extra,
        )
        ten = local_run(
            folder / "w10",
            "--definition",
            str(definition),
            "--no-cache",
            "--input",
            str(big),
            *extra,
        )
    peak_gb = ten["max_rss_kb"] / 1024 / 1024
    ratio = ten["seconds"] / one["seconds"]
    return emit(
        NAME,
        ten["seconds"],
        one["seconds"],
        "time ratio <= 12, peak RSS <= 3 GB",
        None if quick else (ratio <= 12 and peak_gb <= 3),
        unit="seconds",
        peak_rss_gb=round(peak_gb, 3),
        peak_rss_gb_1x=round(one["max_rss_kb"] / 2**20, 3),
        rows=len(raw) * 10,
        rows_1x=len(raw),
        data="Rossmann with each store copied under 9 new ids, sales jittered",
        steps_10x={s["name"]: round(s["seconds"], 2) for s in ten["result"]["steps"]},
        quick=quick,
    )

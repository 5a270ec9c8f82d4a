"""The inference handler's CSV-in, CSV-out rows per second through decode_request -> predict
-> encode_response on Batch Transform's record batches (MultiRecord, up to 6 MB each), vs
Booster.inplace_predict on the same rows already in memory, same model."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from benchmarks.common import emit, repeat_side_by_side, rossmann_features

NAME = "transform_throughput"


def run(quick: bool) -> dict:
    from inference import inference
    from pipelines.local.transform_worker import mini_batches
    from training_scripts import train

    frames = rossmann_features(quick)
    schema = frames.schema
    names = [f["name"] for f in schema["features"]]
    hp = train.Hyperparameters(num_round=30) if quick else train.Hyperparameters()
    booster, report = train.train(
        frames.train, frames.validation, schema, hp, threads=os.cpu_count() or 1, log_every=0
    )
    with tempfile.TemporaryDirectory() as folder:
        saved = train.model_schema(schema, hp, report["intervals"])  # answers P10, P50, P90
        train.save_model({".": (booster, saved)}, {}, Path(folder))
        model = inference.model_fn(folder)

    rows = 2_000 if quick else 100_000
    base = frames.batch[names].to_numpy(dtype="float32")
    values = np.resize(base, (rows, base.shape[1]))
    lines = [",".join("" if np.isnan(v) else repr(float(v)) for v in row) for row in values]

    # Batch Transform forms the mini-batches outside the container: the handler receives
    # ready request bodies, so forming them is not part of its throughput.
    bodies = [
        ("\n".join(batch) + "\n").encode()
        for batch in mini_batches(lines, "MultiRecord", 6 * 1024 * 1024)
    ]

    def through_handler() -> int:
        count = 0
        for body in bodies:
            out, _ = inference.encode_response(
                inference.predict(inference.decode_request(body, "text/csv", model), model),
                "text/csv",
            )
            count += out.count(b"\n")
        return count

    if through_handler() != rows:  # warm-up, and every row must come back
        raise RuntimeError("the handler did not return one prediction per row")
    times = 1 if quick else 7
    handler, inplace = repeat_side_by_side(
        through_handler, lambda: model.booster.inplace_predict(values), times
    )
    ours, reference = rows / handler["median"], rows / inplace["median"]
    return emit(
        NAME,
        ours,
        reference,
        "ratio >= 0.5",
        None if quick else ours / reference >= 0.5,
        unit="rows/s (median)",
        rows=rows,
        min=round(rows / handler["max"], 1),
        max=round(rows / handler["min"], 1),
        reference_min=round(rows / inplace["max"], 1),
        reference_max=round(rows / inplace["min"], 1),
        repetitions=times,
        payload_mb=6,
        trees=booster.num_boosted_rounds(),
        quick=quick,
    )

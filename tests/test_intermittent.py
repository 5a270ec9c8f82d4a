"""Another retailer's data, through --config: intermittent demand (zero-demand days on open
days), other column names, a Tweedie objective and a gate on MASE.

TEST-BUILT DATA, derived from the real demo data by a fixed process (no package ships a
zero-heavy daily retail set): each Rossmann store sells one product, its daily units drawn
as Poisson(store-day sales / 12000) with seed 0, so about 38% of the open days sell nothing
while promotions, weekdays and holidays still move demand. The columns are renamed and the
last six weeks' units held back, as the demo holds back its sales.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines import run

pytestmark = pytest.mark.e2e

CONFIG = """
[data]
date_column = "day"
series_columns = ["shop"]
target_column = "units"
open_column = "is_open"
known_columns = ["promo", "school_holiday"]
ignore_columns = []

[forecast]
objective = "tweedie"

[parameters]
quality_metric = "mase"
max_quality_metric = 1.0
min_skill_vs_naive = 0.05
"""


def intermittent_demand(folder: Path) -> tuple[Path, Path]:
    """The derived data set (see the module docstring): (input file, held-back actuals)."""
    from pipelines.demo_data import demo_frames

    given, held_back = demo_frames()
    keys = ["Store", "Date"]
    sales = given[[*keys, "Sales"]].merge(held_back, on=keys, how="left", suffixes=("", "_held"))
    full = sales["Sales"].astype("float64").fillna(sales["Sales_held"].astype("float64"))
    units = np.random.default_rng(0).poisson(full.to_numpy() / 12000.0)
    frame = pd.DataFrame(
        {
            "day": given["Date"],
            "shop": given["Store"],
            "units": pd.array(units, dtype="Int64"),
            "is_open": given["Open"].astype(int),
            "promo": given["Promo"].astype(int),
            "school_holiday": given["SchoolHoliday"].astype(int),
            "format": given["StoreType"],
        }
    )
    future = given["Sales"].isna().to_numpy()
    actuals = frame.loc[future, ["shop", "day", "units"]]
    frame.loc[future, "units"] = pd.NA
    paths = folder / "units.csv", folder / "units_actuals.csv"
    frame.to_csv(paths[0], index=False)
    actuals.to_csv(paths[1], index=False)
    return paths


def test_zero_heavy_demand_with_its_own_columns_beats_the_seasonal_naive(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, actuals = intermittent_demand(tmp_path)
    frame = pd.read_csv(data)
    observed_open = frame[frame["units"].notna() & (frame["is_open"] == 1)]
    assert (observed_open["units"] == 0).mean() >= 0.3  # zero-heavy: the premise holds
    config = tmp_path / "units.toml"
    config.write_text(CONFIG)
    argv = ["--local", "--config", str(config), "--input", str(data), "--actuals", str(actuals)]
    code = run.main([*argv, "--workdir", str(tmp_path / "work"), "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 0, result["failure_reason"]
    evaluation = result["evaluation"]
    # zero-demand open days stay in the back-test, and the model beats the seasonal naive
    assert evaluation["zero_actuals"] / evaluation["test_rows"] >= 0.3
    model = evaluation["regression_metrics"]
    naive = evaluation["naive_baseline"]["regression_metrics"]
    assert model["wape"]["value"] < naive["wape"]["value"]
    assert model["mase"]["value"] < naive["mase"]["value"]
    assert evaluation["quality"]["metric"] == "mase"
    assert evaluation["quality"]["skill_vs_naive"] >= 0.05
    # the forecast: every open future day of every shop, in the data's own column names
    [predictions] = result["predictions"]
    out = pd.read_csv(predictions, header=None, names=["shop", "day", "p10", "p50", "p90"])
    future_open = frame[frame["units"].isna() & (frame["is_open"] == 1)]
    assert len(out) == len(future_open)
    assert ((out["p10"] <= out["p50"]) & (out["p50"] <= out["p90"])).all()
    assert (out["p10"] >= 0).all()
    accuracy = result["accuracy_after_the_fact"]
    assert accuracy["rows"] == len(future_open)
    assert accuracy["wape"] < naive["wape"]["value"]

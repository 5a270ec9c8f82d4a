"""processing_scripts/preprocess.py: features without leakage, splits, and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import features
import numpy as np
import pandas as pd
import preprocess as pp
import pytest
from conftest import PREPROCESS_OUTPUTS, cli_args, preprocess_into

COLS = pp.ColumnConfig(known_columns=("Promo",))  # the promotion calendar is known ahead


def frame(
    days: int = 140, stores: tuple[int, ...] = (1, 2), start: str = "2015-01-01", future: int = 14
) -> pd.DataFrame:
    """A small frame shaped like Rossmann: closed on Sundays, promo on Mondays; the last
    `future` days are the future to forecast (sales empty, covariates known)."""
    dates = pd.date_range(start, periods=days, freq="D")
    rows = []
    for store in stores:
        for i, d in enumerate(dates):
            open_ = d.day_of_week != 6
            observed = i < days - future
            rows.append(
                {
                    "Date": d.strftime("%Y-%m-%d"),
                    "Store": store,
                    "Sales": ((1000 * store + 10 * i) if open_ else 0) if observed else None,
                    "Open": int(open_),
                    "Promo": int(d.day_of_week == 0),
                    "StoreType": "a" if store == 1 else "b",
                }
            )
    return pd.DataFrame(rows)


def test_lags_are_never_closer_than_the_horizon() -> None:
    from features import lag_days

    assert lag_days(42) == [42, 49, 56, 63, 364]
    assert lag_days(10) == [10, 14, 21, 28, 35, 364]
    assert min(lag_days(400)) >= 400


def sales_on(data: pd.DataFrame, store: int, day: pd.Timestamp) -> float:
    rows = data[(data["Store"] == store) & (pd.to_datetime(data["Date"]) == day)]
    return float(rows["Sales"].iloc[0])


def test_lag_values_come_from_horizon_days_back_and_never_from_the_test_window() -> None:
    data = frame(days=140)
    out = pp.build_features(data, COLS, horizon=14)
    test = out.test
    assert test["Date"].min() == pd.Timestamp(out.schema["windows"]["test"][0])
    row = test[(test["Store"] == 1)].iloc[-1]
    assert row["lag_14"] == pytest.approx(
        np.log1p(sales_on(data, 1, row["Date"] - pd.Timedelta(days=14)))
    )
    # With a 14-day horizon and a 14-day test window, no lag reaches into the test window:
    # mask the test targets and the back-test's features must not change.
    masked = data.copy()
    test_start = pd.Timestamp(out.schema["windows"]["test"][0])
    masked.loc[pd.to_datetime(masked["Date"]).between(test_start, "2015-05-06"), "Sales"] = 1.0
    again = pp.build_features(masked, COLS, horizon=14)
    features = [f["name"] for f in out.schema["features"]]
    pd.testing.assert_frame_equal(out.test[features], again.test[features])
    # the forecast's lags do reach into the last observed days: the future row 14 days
    # after a test-window day carries that day's sales
    future = out.batch[out.batch["Store"] == 1].iloc[-1]
    assert future["lag_14"] == pytest.approx(
        np.log1p(sales_on(data, 1, future["Date"] - pd.Timedelta(days=14)))
    )


def test_closed_days_are_dropped_and_count_as_missing_history() -> None:
    out = pp.build_features(frame(), COLS, horizon=14)
    for part in (out.train, out.validation, out.test):
        assert (part["Sales"] > 0).all()
    assert (pd.to_datetime(out.batch["Date"]).dt.day_of_week != 6).all()
    # a Monday is one day after the Sunday closure
    monday = out.train[out.train["Date"].dt.day_of_week == 0]
    assert (monday["days_since_closed"] == 1).all()
    saturday = out.train[out.train["Date"].dt.day_of_week == 5]
    assert (saturday["days_until_closed"] == 1).all()


def test_windows_default_to_the_horizon() -> None:
    out = pp.build_features(frame(days=140), COLS, horizon=14)
    w = out.schema["windows"]
    assert w["test"] == ["2015-04-23", "2015-05-06"]  # the last observed 14 days
    assert w["validation"] == ["2015-04-09", "2015-04-22"]
    assert w["train"] == ["2015-01-01", "2015-04-08"]
    assert out.schema["forecast"] == {
        "origin": "2015-05-06",
        "first": "2015-05-07",
        "last": "2015-05-20",
        "source": "input",
    }
    assert out.history_schema["windows"] == {"train": ["2015-01-01", "2015-05-06"]}


def test_categories_fitted_on_training_window_and_new_ones_are_missing() -> None:
    data = frame(days=140)
    late = pd.to_datetime(data["Date"]) >= "2015-04-25"
    data.loc[late & (data["Store"] == 2), "StoreType"] = "z"
    # a store type that changes is a covariate like any other: declared known ahead here
    out = pp.build_features(data, pp.ColumnConfig(known_columns=("Promo", "StoreType")), 14)
    spec = next(f for f in out.schema["features"] if f["name"] == "StoreType")
    assert spec["categories"] == ["a", "b"]
    new = out.test[(out.test["Store"] == 2) & (out.test["Date"] >= "2015-04-25")]
    assert len(new) and new["StoreType"].isna().all()
    # the forecast's fit has seen "z" in the history: its future rows are encoded
    forecast = next(f for f in out.history_schema["features"] if f["name"] == "StoreType")
    assert forecast["categories"] == ["a", "b", "z"]
    assert (out.batch.loc[out.batch["Store"] == 2, "StoreType"] == 2).all()
    assert any("unseen in training" in n for n in out.notes)


def test_short_series_is_kept_with_missing_history() -> None:
    data = pd.concat(
        [frame(days=140, stores=(1,)), frame(days=20, stores=(3,), start="2015-05-01")]
    )
    out = pp.build_features(data, COLS, horizon=14)
    assert any("fewer than 14 training rows" in n for n in out.notes)
    assert (out.batch["Store"] == 3).any()
    assert out.test.loc[out.test["Store"] == 3, "lag_14"].isna().all()


def test_missing_covariates_are_inferred_not_required() -> None:
    data = frame().drop(columns=["Promo", "StoreType"])
    out = pp.build_features(data, pp.ColumnConfig(), horizon=14)
    assert out.schema["columns"] == {
        "numeric": [],
        "categorical": [],
        "observed": [],
        "ignored": [],
    }


def test_other_column_names_and_two_series_keys() -> None:
    data = frame().rename(columns={"Date": "day", "Sales": "units", "Store": "shop"})
    data["region"] = "north"
    data["notes"] = [f"free text {i}" for i in range(len(data))]
    cols = pp.ColumnConfig(
        date_column="day",
        series_columns=("shop", "region"),
        target_column="units",
        open_column="Open",
        ignore_columns=("notes",),
    )
    out = pp.build_features(data, cols, horizon=14)
    assert list(out.batch.columns[:3]) == ["shop", "region", "day"]
    assert out.schema["series_columns"] == ["shop", "region"]
    assert out.schema["columns"]["ignored"] == ["notes"]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.drop(columns=["Sales"]), "missing required column(s) ['Sales']"),
        (
            lambda d: d.assign(Date=d["Date"].where(d.index != 5, "31/31/2015")),
            "column 'Date': unparsable date '31/31/2015' at row 6",
        ),
        (  # dateutil reads "-1" as the year -1 (found by test_fuzz)
            lambda d: d.assign(Date=d["Date"].astype(object).where(d.index != 5, -1)),
            "column 'Date': unparsable date -1 at row 6",
        ),
        (
            lambda d: d.assign(Sales=d["Sales"].astype(object).where(d.index != 3, "lots")),
            "column 'Sales': non-numeric value 'lots' at row 4",
        ),
        (
            lambda d: d.assign(Sales=d["Sales"].where(d.index != 7, -5)),
            "column 'Sales': negative value -5 at row 8",
        ),
        (
            lambda d: pd.concat([d, d.iloc[[10]]], ignore_index=True),
            "2 rows share the same series and date",
        ),
        (
            lambda d: d.assign(Sales=d["Sales"].astype(float).where(d.index != 5, np.inf)),
            "column 'Sales': value inf at row 6 is not a finite number",
        ),
        (
            lambda d: d.assign(Sales=d["Sales"].astype(object).where(d.index != 5, "Infinity")),
            "column 'Sales': value 'Infinity' at row 6 is not a finite number",
        ),
    ],
)
def test_bad_data_is_named(mutate, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(pp.DataError) as err:
        pp.build_features(mutate(frame(future=0)), COLS, horizon=14)  # integer sales
    assert message in str(err.value)


def test_dates_with_utc_offsets_are_the_days_they_name() -> None:
    """A year of one zone's data carries two offsets (daylight saving time) and stores in
    several zones carry several: each row is the calendar day written, none moves to another
    (and mixed offsets no longer end in pandas' "Mixed timezones detected" traceback)."""
    plain = frame()
    zoned = plain.copy()
    offsets = np.where(pd.to_datetime(plain["Date"]).dt.month < 3, "+01:00", "+02:00")
    zoned["Date"] = plain["Date"] + "T00:00:00" + offsets
    zoned.loc[zoned["Store"] == 2, "Date"] = plain["Date"] + "T23:30:00-05:00"
    expected = pp.build_features(plain, COLS, horizon=14)
    got = pp.build_features(zoned, COLS, horizon=14)
    pd.testing.assert_frame_equal(got.train, expected.train)
    pd.testing.assert_frame_equal(got.batch, expected.batch)
    assert (
        "column 'Date': 280 value(s) carry a UTC offset (+01:00, +02:00, -05:00); each is "
        "read as the calendar day it names"
    ) in got.notes


def test_nan_target_rows_are_dropped_and_reported() -> None:
    data = frame()
    data.loc[[3, 4], "Sales"] = np.nan
    out = pp.build_features(data, COLS, horizon=14)
    assert (
        "dropped 2 row(s) with an empty 'Sales' on or before 2015-05-06, the last day with "
        "an observed 'Sales'"
    ) in out.notes


def test_future_rows_are_the_forecast_with_their_known_covariates() -> None:
    data = frame()
    out = pp.build_features(data, COLS, horizon=14)
    future = pd.to_datetime(data["Date"]) > "2015-05-06"
    open_future = data[future & (data["Open"] == 1)]
    assert len(out.batch) == len(open_future)  # closed future days: no demand to forecast
    assert out.batch["Date"].min() == pd.Timestamp("2015-05-07")
    assert out.batch["Date"].max() == pd.Timestamp("2015-05-20")
    # the promotion the input announces for a future Monday is what the model sees
    monday = out.batch[out.batch["Date"].dt.day_of_week == 0]
    assert (monday["Promo"] == 1).all() and (monday["Promo_prev_day"] == 0).all()
    # the forecast's model trains on every observed open day, test window included
    assert out.history["Date"].max() == pd.Timestamp("2015-05-06")
    assert len(out.history) == len(out.train) + len(out.validation) + len(out.test)


def test_without_future_rows_the_calendar_gives_the_horizon() -> None:
    out = pp.build_features(frame(future=0), COLS, horizon=14)
    assert out.schema["forecast"] == {
        "origin": "2015-05-20",
        "first": "2015-05-21",
        "last": "2015-06-03",
        "source": "calendar",
    }
    assert len(out.batch) == 2 * 14  # every day of both stores: closures are unknown too
    names = [f["name"] for f in out.schema["features"]]
    assert "Promo" not in names and "days_since_closed" not in names  # not known ahead
    assert "StoreType" in names  # constant per store: known
    assert (out.batch.loc[out.batch["Store"] == 2, "StoreType"] == 1).all()
    assert any("the input has no future rows" in n and "left out ['Promo']" in n for n in out.notes)


def test_future_rows_past_the_horizon_are_not_forecast() -> None:
    out = pp.build_features(frame(future=20), COLS, horizon=14)
    assert out.batch["Date"].max() == pd.Timestamp("2015-05-14")  # origin 04-30 + 14 days
    assert "12 future row(s) after 2015-05-14 are beyond the 14-day horizon" in " ".join(out.notes)


def test_zero_demand_on_open_days_is_demand_unless_configured_otherwise() -> None:
    data = frame()
    zero = (data["Store"] == 1) & (pd.to_datetime(data["Date"]).dt.day_of_week == 2)
    data.loc[zero & data["Sales"].notna(), "Sales"] = 0
    out = pp.build_features(data, COLS, horizon=14)
    wednesdays = out.train[(out.train["Store"] == 1) & (out.train["Date"].dt.day_of_week == 2)]
    assert len(wednesdays) > 10 and (wednesdays["Sales"] == 0).all()
    thursday = out.train[(out.train["Store"] == 1) & (out.train["Date"].dt.day_of_week == 3)]
    assert (thursday["lag_14"].dropna() > 0).all()  # 14 days back is a Thursday: not zero
    same_weekday = out.test[(out.test["Store"] == 1) & (out.test["Date"].dt.day_of_week == 2)]
    assert (same_weekday["lag_14"] == 0).all()  # a zero on an open day is history too
    closed = pp.build_features(data, COLS, horizon=14, zero_means_closed=True)
    assert (closed.train["Sales"] > 0).all()
    kept = closed.test[(closed.test["Store"] == 1) & (closed.test["Date"].dt.day_of_week == 2)]
    assert kept.empty


def test_a_lag_most_training_rows_cannot_reach_is_left_out() -> None:
    out = pp.build_features(frame(), COLS, horizon=14)  # 126 observed days: no lag_364
    names = [f["name"] for f in out.schema["features"]]
    assert "lag_364" not in names and "lag_35" in names
    assert (
        "left out ['lag_364']: fewer than 50% of the training rows reach that far back" in out.notes
    )
    assert [f["name"] for f in out.history_schema["features"]] == names


def test_an_undeclared_changing_column_is_observed_and_used_only_lagged() -> None:
    """Footfall is counted on the day: not known when the forecast is made."""
    data = frame()
    data["Footfall"] = data["Sales"] / 10  # empty on the future rows, like the sales
    out = pp.build_features(data, COLS, horizon=14)
    names = [f["name"] for f in out.schema["features"]]
    assert "Footfall" not in names and "Footfall_lag_14" in names
    assert "Footfall_prev_day" not in names and "Footfall_next_day" not in names
    assert out.schema["columns"]["observed"] == ["Footfall"]
    row = out.test[out.test["Store"] == 1].iloc[-1]
    assert row["Footfall_lag_14"] == sales_on(data, 1, row["Date"] - pd.Timedelta(days=14)) / 10
    assert any(
        "['Footfall'] change over time and are not in [data] known_columns" in n for n in out.notes
    )
    # declared known, it is used on the day
    known = pp.build_features(data, pp.ColumnConfig(known_columns=("Promo", "Footfall")), 14)
    assert "Footfall" in [f["name"] for f in known.schema["features"]]


def test_a_same_day_outcome_declared_known_is_named_as_a_likely_leak() -> None:
    data = frame()
    data["Revenue"] = data["Sales"] * 2.5
    cols = pp.ColumnConfig(known_columns=("Promo", "Revenue"))
    out = pp.build_features(data, cols, horizon=14)
    warnings = [n for n in out.notes if n.startswith("warning: ")]
    assert warnings == [
        "warning: column 'Revenue' predicts 'Sales' on the same day suspiciously well (rank "
        "correlation 1.00): if it is only known after the day (revenue, footfall), take it "
        "out of [data] known_columns"
    ]


def test_a_known_column_missing_from_the_data_names_the_setting() -> None:
    with pytest.raises(pp.DataError) as err:
        pp.build_features(frame(), pp.ColumnConfig(known_columns=("Promo", "Price")), 14)
    assert str(err.value).startswith(
        "known-ahead column(s) ['Price'] ([data] known_columns, --known-columns) are not in "
        "the data; it has ['Date', 'Store', 'Sales', 'Open', 'Promo', 'StoreType']"
    )


def test_reading_files(tmp_path: Path) -> None:
    data = frame()
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(pp.DataError, match=r"empty\.csv: the file is empty"):
        pp.read_data(tmp_path / "empty.csv")
    (tmp_path / "header.csv").write_text("Date,Store,Sales,Open\n")
    with pytest.raises(pp.DataError, match=r"header\.csv: has a header but no rows"):
        pp.read_data(tmp_path / "header.csv")
    folder = tmp_path / "mixed"
    folder.mkdir()
    data.to_csv(folder / "a.csv", index=False)
    data.to_parquet(folder / "b.parquet")
    with pytest.raises(pp.DataError, match="mixes CSV and Parquet"):
        pp.read_data(folder)
    (tmp_path / "nothing").mkdir()
    with pytest.raises(pp.DataError, match=r"no \.csv or \.parquet files"):
        pp.read_data(tmp_path / "nothing")
    windows = tmp_path / "bom.csv"
    windows.write_bytes(b"\xef\xbb\xbf" + data.to_csv(index=False).replace("\n", "\r\n").encode())
    assert list(pp.read_data(windows).columns) == list(data.columns)
    parts = tmp_path / "parts"
    parts.mkdir()
    data.iloc[:100].to_parquet(parts / "1.parquet")
    data.iloc[100:].to_parquet(parts / "2.parquet")
    assert len(pp.read_data(parts)) == len(data)


def test_a_very_wide_row_is_named(tmp_path: Path) -> None:
    lines = frame().to_csv(index=False).splitlines()
    lines[5] += ",1" * 5000
    path = tmp_path / "wide.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(pp.DataError) as err:
        pp.read_data(path)
    assert str(err.value).startswith(f"{path}: cannot be read: ")
    assert "Expected 6 fields in line 6, saw 5006" in str(err.value)


def test_main_on_real_rossmann(
    tmp_path: Path, rossmann_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dirs = {n: tmp_path / n for n in PREPROCESS_OUTPUTS}
    assert (
        pp.main(
            [
                "--input-dir",
                str(rossmann_file),
                *[a for n, d in dirs.items() for a in (f"--{n}-dir", str(d))],
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "rows train=68677 validation=3381 test=3427 history=75485" in out
    assert (
        "forecast 3654 rows, 2015-06-20..2015-07-31 after the origin 2015-06-19 (future rows "
        "of the input)"
    ) in out
    schema = json.loads((dirs["schema"] / "feature_schema.json").read_text())
    assert schema["windows"]["test"] == ["2015-05-09", "2015-06-19"]
    assert schema["target_transform"] == "log1p"
    assert schema["columns"]["categorical"] == ["StoreType", "Assortment", "State", "HolidayCode"]
    names = [f["name"] for f in schema["features"]]
    batch = pd.read_csv(dirs["batch"] / "batch.csv", header=None)
    assert batch.shape == (3654, 2 + len(names))
    assert set(batch[0]) == set(pd.read_parquet(dirs["test"] / "test.parquet")["Store"])
    assert "Sales" not in names
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(dirs)  # no temp leftovers


def test_main_bad_input_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.csv"
    frame().drop(columns=["Open"]).to_csv(bad, index=False)
    out = tmp_path / "out"
    assert (
        pp.main(
            cli_args(
                input_dir=bad,
                train_dir=out / "train",
                validation_dir=out / "v",
                test_dir=out / "t",
                batch_dir=out / "b",
            )
        )
        == 2
    )
    assert capsys.readouterr().err == (
        "preprocess: error: missing required column(s) ['Open']; the data has "
        "['Date', 'Store', 'Sales', 'Promo', 'StoreType'] (set [data] open_column in a "
        "--config file to your data's names)\n"
    )
    assert not out.exists()


def test_outputs_are_renamed_within_their_own_folder(tmp_path: Path) -> None:
    """Staged inside each output folder (each is its own mount in SageMaker, where a rename
    from beside it fails with EXDEV), and nothing else in the folder is touched."""
    data = tmp_path / "sales.csv"
    frame().to_csv(data, index=False)
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "notes.txt").write_text("mine")
    out = preprocess_into(data, tmp_path, horizon=14, known_columns="Promo")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["sales.csv", *out])
    assert (out["train"] / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in out["train"].iterdir()) == ["notes.txt", "train.parquet"]
    assert sorted(p.name for p in out["schema"].iterdir()) == [
        "bins_history.parquet",
        "bins_train.parquet",
        "feature_schema.json",
        "history_schema.json",
    ]
    assert [p.name for p in out["history"].iterdir()] == ["history.parquet"]
    assert [p.name for p in out["reference"].iterdir()] == ["reference.parquet"]


def test_batch_is_split_by_series_into_one_file_per_transform_instance(tmp_path: Path) -> None:
    """Batch Transform hands whole S3 objects to its instances: with TransformInstanceCount
    2 (prod) one file would leave an instance idle."""
    data = tmp_path / "sales.csv"
    frame(stores=(1, 2, 3, 4, 5)).to_csv(data, index=False)
    out = {name: tmp_path / name for name in ("train", "validation", "test", "batch")}

    def run(shards: int) -> list[str]:
        preprocess_into(data, tmp_path, horizon=14, batch_shards=shards, known_columns="Promo")
        return sorted(p.name for p in out["batch"].iterdir())

    assert run(1) == ["batch.csv"]
    whole = pd.read_csv(out["batch"] / "batch.csv", header=None)
    assert run(3) == ["batch-000.csv", "batch-001.csv", "batch-002.csv"]  # batch.csv is gone
    parts = [pd.read_csv(out["batch"] / f"batch-00{i}.csv", header=None) for i in range(3)]
    assert [sorted(p[0].unique()) for p in parts] == [[1, 4], [2, 5], [3]]  # each series whole
    merged = pd.concat(parts).sort_values([0, 1]).reset_index(drop=True)
    pd.testing.assert_frame_equal(merged, whole.sort_values([0, 1]).reset_index(drop=True))
    assert run(8) == [f"batch-00{i}.csv" for i in range(5)]  # never more files than series
    assert run(1) == ["batch.csv"]


def test_the_bins_sample_is_chosen_by_each_row_not_by_order_or_instance(
    rossmann: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Training hosts cut their bins from this sample: its rows depend only on the rows."""
    monkeypatch.setattr(pp, "BIN_SAMPLE_ROWS", 10_000)
    keys = ["Store", "Date"]
    sample = pp.bin_sample(rossmann, keys, units=1)
    every = -(-len(rossmann) // 10_000)
    assert abs(len(sample) - len(rossmann) / every) < 0.05 * len(sample)
    shuffled = pp.bin_sample(rossmann.sample(frac=1, random_state=7), keys, units=1)
    pd.testing.assert_frame_equal(
        shuffled.sort_values(keys).reset_index(drop=True),
        sample.sort_values(keys).reset_index(drop=True),
    )
    small = rossmann[rossmann["Store"] <= 3]
    assert len(pp.bin_sample(small, keys, units=1)) == len(small)  # few rows: all of them


def test_the_hash_draws_are_the_same_under_pandas_2_and_3() -> None:
    """The bins' sample and the training rows' days ahead are drawn by a hash of the series
    and the date. pandas 3 parses dates to microseconds, pandas 2 (the container's) to
    nanoseconds, and a series id is `str` in one and `object` in the other: the hash sees
    the day and the text, so the local runner and SageMaker draw the same rows. The pinned
    values are what both draw (CI runs this file under the container's pandas 2.2.3 too)."""
    dates = pd.Series(pd.to_datetime(["2015-01-01", "2015-06-19", "2015-07-31"]))
    in_ns = pd.DataFrame({"id": ["1", "1", "7"], "Date": dates.astype("datetime64[ns]")})
    in_us = in_ns.assign(Date=dates.astype("datetime64[us]"))
    pinned = {
        features.LEAD_HASH_KEY: [3057255861844054857, 4810270516960309864, 10344208463128016434],
        pp.BIN_HASH_KEY: [16207125697586353219, 13411227723219146594, 16993402452950785978],
    }
    for key, expected in pinned.items():
        assert features.row_hashes(in_ns, ["id", "Date"], key).tolist() == expected
        assert features.row_hashes(in_us, ["id", "Date"], key).tolist() == expected


def test_known_covariates_tell_where_a_day_sits_in_its_run(rossmann_file: Path) -> None:
    """Rossmann's promotions run Monday to Friday every other week: on the real rows (the
    demo input, whose future rows make the promotion calendar known ahead), the week of
    2013-04-22 is days 1..5 of a five-day run, and the Saturday before it the 8th day of the
    nine without (Saturday 13th to Sunday 21st)."""
    demo = pp.read_data(rossmann_file)
    one = demo[demo["Store"] == demo["Store"].min()]
    cols = pp.ColumnConfig(known_columns=("Promo", "SchoolHoliday", "Promo2"))
    history = pp.build_features(one, cols, horizon=42).history.set_index("Date")
    week = history.loc["2013-04-22":"2013-04-26"]
    assert (week["Promo"] == 1).all()
    assert week["Promo_run_day"].tolist() == [1, 2, 3, 4, 5]
    assert week["Promo_days_to_change"].tolist() == [5, 4, 3, 2, 1]
    saturday = history.loc[pd.Timestamp("2013-04-20")]
    assert (saturday["Promo"], saturday["Promo_run_day"], saturday["Promo_days_to_change"]) == (
        0,
        8,
        2,
    )
    # the data's first and last days are no change: a store's Promo2, which never changes,
    # is one run of unknown start and end
    assert (history["Promo2_run_day"] == features.RUN_CAP).all()
    assert (history["Promo2_days_to_change"] == features.RUN_CAP).all()
    # never further than RUN_CAP days apart, and every row has both
    runs = history.filter(like="_run_day").join(history.filter(like="_days_to_change"))
    assert runs.notna().all().all() and runs.to_numpy().max() <= features.RUN_CAP


def test_each_row_sees_the_last_weeks_before_its_forecast_origin(rossmann_file: Path) -> None:
    """On the real rows: a future row counts its days from the origin (2015-06-19, the last
    observed day) and carries that store's mean log sales of the week up to it; a test-window
    row counts from the day before the test window and never sees the window's sales; a
    training row is seen from an origin 1..horizon days before it, drawn by its series and
    date alone."""
    demo = pp.read_data(rossmann_file)
    two = demo[demo["Store"].isin(sorted(demo["Store"].unique())[:2])]
    cols = pp.ColumnConfig(known_columns=("Promo", "SchoolHoliday", "Promo2"))
    out = pp.build_features(two, cols, horizon=42)
    origin = pd.Timestamp("2015-06-19")
    batch = out.batch
    assert (batch["days_ahead"] == (batch["Date"] - origin).dt.days).all()
    assert batch["days_ahead"].min() == 1 and batch["days_ahead"].max() == 42
    store = int(batch["Store"].iloc[0])
    rows = demo[(demo["Store"] == store) & (demo["Open"] == 1)]
    week = rows[pd.to_datetime(rows["Date"]).between(origin - pd.Timedelta(days=6), origin)]
    expected = np.log1p(week["Sales"].astype("float64")).mean()
    assert batch.loc[batch["Store"] == store, "origin_mean_7"].to_numpy() == pytest.approx(expected)

    test_start = pd.Timestamp(out.schema["windows"]["test"][0])
    assert (out.test["days_ahead"] == (out.test["Date"] - test_start).dt.days + 1).all()
    masked = two.copy()
    in_test = pd.to_datetime(masked["Date"]) >= test_start
    masked.loc[in_test & masked["Sales"].notna(), "Sales"] = 1
    again = pp.build_features(masked, cols, horizon=42)
    seen = ["days_ahead", "origin_mean_7", "origin_mean_28", "origin_same_weekday"]
    pd.testing.assert_frame_equal(out.test[seen], again.test[seen])

    train = out.train
    assert train["days_ahead"].between(1, 42).all()
    assert train["days_ahead"].nunique() == 42
    # the draw depends on the row only: the same with the other store's rows left out
    alone = pp.build_features(two[two["Store"] == store], cols, horizon=42).train
    mine = train[train["Store"] == store].reset_index(drop=True)
    pd.testing.assert_series_equal(mine["days_ahead"], alone["days_ahead"])

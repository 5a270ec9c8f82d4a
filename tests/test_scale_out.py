"""Several instances: the input partitioned by series, Preprocess planning alike on every
instance and building its own units, Train through XGBoost's collective, and the local
runner emulating the hosts (real processes, a real tracker on 127.0.0.1)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import preprocess
import pytest
from conftest import PREPROCESS_OUTPUTS, REPO, cli_args

from pipelines.local import jobs

# pipelines.data needs the package's Python (3.11); the training tests here also run under the
# container's runtime (.ci/run), so it is imported where it is used
KEYS = ["Store", "Date"]


@pytest.fixture(scope="module")
def parts(rossmann_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo input as `pipelines.data partition` writes it: four files of whole series."""
    from pipelines import data

    folder = tmp_path_factory.mktemp("parts")
    frame = pd.read_csv(rossmann_file)
    data.write_partitions(data.partition(frame, ["Store"], 4), folder)
    return folder


def run_preprocess(share: Path, scan: Path, out: Path, **options: object) -> dict[str, Path]:
    dirs = {name: out / name for name in PREPROCESS_OUTPUTS}
    folders = {f"{name}_dir": folder for name, folder in dirs.items()}
    args = cli_args(input_dir=share, scan_dir=scan, **folders, **options)
    assert preprocess.main(args) == 0
    return dirs


def rows(folders: list[Path]) -> pd.DataFrame:
    frames = [pd.read_parquet(p) for f in folders for p in sorted(f.glob("*.parquet"))]
    return pd.concat(frames).sort_values(KEYS).reset_index(drop=True)


def rows_of(folders: list[Path], stem: str) -> pd.DataFrame:
    frames = [pd.read_parquet(p) for f in folders for p in sorted(f.glob(f"{stem}*.parquet"))]
    return pd.concat(frames).sort_values(KEYS).reset_index(drop=True)


# ----------------------------------------------------------------------------- the input


def test_partition_keeps_every_series_whole_in_a_stable_file(rossmann: pd.DataFrame) -> None:
    from pipelines import data

    first = list(data.partition(rossmann, ["Store"], 4))
    assert [name for name, _ in first] == [f"part-{k:05d}.parquet" for k in range(4)]
    owners = pd.concat([part.assign(part=name) for name, part in first])
    assert owners.groupby("Store")["part"].nunique().max() == 1
    assert sum(len(part) for _, part in first) == len(rossmann)
    # the same series land in the same files whatever the rows' order
    again = list(data.partition(rossmann.sample(frac=1, random_state=3), ["Store"], 4))
    assert [set(p["Store"]) for _, p in again] == [set(p["Store"]) for _, p in first]


def test_partition_names_a_missing_key_column(rossmann: pd.DataFrame) -> None:
    from pipelines import data

    with pytest.raises(data.DataCommandError, match=r"series key column\(s\) \['Shop'\]"):
        data.partition(rossmann, ["Shop"], 2)


@pytest.mark.parametrize(
    ("rows", "requested", "count"), [(94_000, "auto", 1), (9_400_000, "auto", 38), (10, "8", 8)]
)
def test_shard_count(rows: int, requested: str, count: int) -> None:
    from pipelines import data

    assert data.shard_count(rows, requested) == count


# ----------------------------------------------------------------------------- preprocess


def test_two_instances_write_the_rows_and_schema_of_one(
    rossmann_file: Path, parts: Path, tmp_path: Path
) -> None:
    """Each instance builds its own files' series from a plan both make alike over all
    files: together they write exactly one instance's rows, and identical schemas."""
    one = run_preprocess(rossmann_file, rossmann_file, tmp_path / "one")
    shares = {name: tmp_path / f"share-{name}" for name in ("a", "b")}
    for k, file in enumerate(sorted(parts.iterdir())):
        shares["ab"[k % 2]].mkdir(exist_ok=True)
        shutil.copy(file, shares["ab"[k % 2]])
    two = [run_preprocess(share, parts, tmp_path / name) for name, share in shares.items()]
    for dataset in ("train", "validation", "test", "history", "reference"):
        pd.testing.assert_frame_equal(
            rows([two[0][dataset], two[1][dataset]]), rows([one[dataset]])
        )
    assert sorted(p.name for p in two[0]["train"].iterdir()) == [
        "train-00000.parquet",
        "train-00002.parquet",
    ]
    # the rows the training hosts cut their bins from: the same for one instance or two
    single = run_preprocess(parts, parts, tmp_path / "single")
    for sample in ("bins_train", "bins_history"):
        pd.testing.assert_frame_equal(
            rows_of([two[0]["schema"], two[1]["schema"]], sample),
            rows_of([single["schema"]], sample),
        )
    for name in ("feature_schema.json", "history_schema.json"):
        texts = [(d["schema"] / name).read_text() for d in two]
        assert texts[0] == texts[1]
        split, whole = json.loads(texts[0]), json.loads((one["schema"] / name).read_text())
        assert split.pop("units") == 4 and whole.pop("units") == 1
        assert split == whole
    batch = [sorted(p.name for p in d["batch"].iterdir()) for d in two]
    assert batch == [["batch-00000.csv", "batch-00002.csv"], ["batch-00001.csv", "batch-00003.csv"]]


def test_files_that_share_series_are_built_as_one(
    rossmann_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Files cut by date (a month each) hold pieces of every series: one unit."""
    frame = pd.read_csv(rossmann_file)
    monthly = tmp_path / "monthly"
    monthly.mkdir()
    for month, part in frame.groupby(frame["Date"].str[:7]):
        part.to_csv(monthly / f"sales-{month}.csv", index=False)
    out = run_preprocess(monthly, monthly, tmp_path / "out")
    assert [p.name for p in out["train"].iterdir()] == ["train.parquet"]
    assert "planned over" not in capsys.readouterr().out
    whole = run_preprocess(rossmann_file, rossmann_file, tmp_path / "whole")
    pd.testing.assert_frame_equal(rows([out["history"]]), rows([whole["history"]]))


def test_a_unit_split_between_instances_is_refused(
    rossmann_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = pd.read_csv(rossmann_file)
    everything = tmp_path / "all"
    everything.mkdir()
    early = frame["Date"] < "2014-06-01"
    frame[early].to_csv(everything / "a.csv", index=False)
    frame[~early].to_csv(everything / "b.csv", index=False)
    share = tmp_path / "share"
    share.mkdir()
    shutil.copy(everything / "a.csv", share)
    dirs = {f"{n}_dir": tmp_path / "out" / n for n in PREPROCESS_OUTPUTS}
    assert preprocess.main(cli_args(input_dir=share, scan_dir=everything, **dirs)) == 2
    err = capsys.readouterr().err
    assert "files ['a.csv', 'b.csv'] share series but this instance received only ['a.csv']" in err
    assert "python -m pipelines.data stage" in err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*.parquet"))


def test_an_instance_without_files_writes_only_the_plan(
    parts: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """More instances than files: ShardedByS3Key leaves one empty-handed."""
    empty = tmp_path / "empty"
    empty.mkdir()
    out = run_preprocess(empty, parts, tmp_path / "out")
    assert not any(out["train"].iterdir())
    assert sorted(p.name for p in out["schema"].iterdir()) == [
        "feature_schema.json",
        "history_schema.json",
    ]
    assert "(this instance: 0 of 4 units)" in capsys.readouterr().out


# ----------------------------------------------------------------------------- training


def train_hosts(
    prepared: dict[str, Path], tmp_path: Path, shares: int, hosts: list[str], **hyper: object
) -> dict:
    """train.py as SageMaker starts it on `hosts`: one process each, side by side, with its
    share of `shares` series-split parts of each data channel (ShardedByS3Key), the host
    names resolving to 127.0.0.1 (what the local runner's sitecustomize does)."""
    frames = {
        c: pd.read_parquet(prepared[c] / f"{c}.parquet") for c in ("train", "validation", "history")
    }
    processes = []
    port = jobs.free_port_pair()
    for index, host in enumerate(hosts):
        root = tmp_path / host
        for channel, frame in frames.items():
            folder = root / channel
            folder.mkdir(parents=True)
            for k, part in enumerate(preprocess.split_by_series(frame, ["Store"], shares)):
                if k % len(hosts) == index:
                    part.to_parquet(folder / f"{channel}-{k:03d}.parquet", index=False)
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO / "pipelines" / "local" / "job_site"),
            "LOCAL_RUNNER_HOSTS": json.dumps(hosts),
            "SM_HOSTS": json.dumps(hosts),
            "SM_CURRENT_HOST": host,
            "XGBOOST_TRACKER_PORT": str(port),
            "OMP_NUM_THREADS": "1",
        }
        args = cli_args(
            train=root / "train",
            validation=root / "validation",
            history=root / "history",
            schema=prepared["schema"],
            model_dir=root / "model",
            threads=1,
            num_round=150,
            eta=0.15,
            **hyper,
        )
        command = [sys.executable, str(REPO / "training_scripts" / "train.py"), *args]
        processes.append(
            subprocess.Popen(
                command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
            )
        )
    logs = [p.communicate(timeout=600)[0] for p in processes]
    assert all(p.returncode == 0 for p in processes), logs
    return {"logs": logs, "roots": [tmp_path / h for h in hosts]}


def validation_wape(log: str) -> float:
    return float(log.split("validation-wape=")[1].split()[0])


def forecast(root: Path, history: pd.DataFrame) -> Any:
    """The forecast model's predictions (log scale) on `history`'s rows."""
    import xgboost as xgb

    model = root / "model"
    schema = json.loads((model / "feature_schema.json").read_text())
    booster = xgb.Booster()
    booster.load_model(model / "xgboost-model.ubj")
    names = [f["name"] for f in schema["features"]]
    return booster.predict(xgb.DMatrix(history[names].to_numpy("float32"), feature_names=names))


def test_two_hosts_train_one_model_through_the_collective(
    prepared: dict[str, Path], tmp_path: Path
) -> None:
    """With the bins cut from preprocess's sample on every host and no row sampling (each
    host would draw its own rows, as another seed would), two hosts train one host's model:
    the histograms are the same sums, added in another order."""
    alone = train_hosts(prepared, tmp_path / "one", 2, ["algo-1"], subsample=1)
    pair = train_hosts(prepared, tmp_path / "two", 2, ["algo-1", "algo-2"], subsample=1)
    # the first host writes the model; the other writes nothing
    assert (pair["roots"][0] / "model" / "xgboost-model.ubj").is_file()
    assert not (pair["roots"][1] / "model").exists()
    assert "the first host writes the model" in pair["logs"][1]
    report = json.loads((pair["roots"][0] / "model" / "training_report.json").read_text())
    assert report["hosts"] == ["algo-1", "algo-2"]
    assert report["rows"] == {"train": 68677, "validation": 3381, "history": 75485}
    # every host reports the same metrics: they are summed across hosts
    wapes = [validation_wape(log) for log in pair["logs"]]
    assert wapes[0] == wapes[1]
    # the stated tolerance: the same metrics and forecasts as one host, to float rounding
    assert wapes[0] == pytest.approx(validation_wape(alone["logs"][0]), rel=1e-4)
    history = pd.read_parquet(prepared["history"] / "history.parquet")
    one, two = forecast(alone["roots"][0], history), forecast(pair["roots"][0], history)
    assert abs(one - two).max() < 1e-3  # log scale: 0.1% of a forecast at most


def test_a_host_without_training_data_sits_out(prepared: dict[str, Path], tmp_path: Path) -> None:
    """One part for two hosts: the second leaves (exit 0), as in the XGBoost container."""
    result = train_hosts(prepared, tmp_path, 1, ["algo-1", "algo-2"])
    assert "host algo-2 received no training data; it sits out" in result["logs"][1]
    assert (result["roots"][0] / "model" / "xgboost-model.ubj").is_file()


# ----------------------------------------------------------------------------- the runner


def test_instances_writing_one_name_differently_fail_the_job(tmp_path: Path) -> None:
    for host, text in (("algo-1", "a"), ("algo-2", "b")):
        (tmp_path / host).mkdir()
        (tmp_path / host / "same.json").write_text(text)
        (tmp_path / host / f"{host}.json").write_text(text)
    folders = {h: tmp_path / h for h in ("algo-1", "algo-2")}
    with pytest.raises(jobs.JobFailed, match=r"instances algo-1 and algo-2 both wrote same\.json"):
        jobs.merged_files("Preprocess", "output 'schema'", folders)
    (tmp_path / "algo-2" / "same.json").write_text("a")
    assert sorted(jobs.merged_files("Preprocess", "output", folders)) == [
        "algo-1.json",
        "algo-2.json",
        "same.json",
    ]


def test_sharded_objects_go_to_exactly_one_instance() -> None:
    objects = [f"part-{k:05d}.parquet" for k in range(5)]
    shares = jobs.instance_objects(objects, 2)
    assert shares == [objects[0::2], objects[1::2]]
    assert jobs.instance_objects(objects[:1], 3) == [objects[:1], [], []]


@pytest.mark.sdk
def test_local_run_on_two_instances_of_each_job(
    parts: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pipelines import run

    argv = ["--local", "--workdir", str(tmp_path), "--input", str(parts), "--json"]
    for name in ("ProcessingInstanceCount", "TrainingInstanceCount", "TransformInstanceCount"):
        argv += ["--param", f"{name}=2"]
    assert run.main([*argv, "--param", "NumRound=200", "--param", "Eta=0.15"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert {s["name"]: s["status"] for s in result["steps"]}["BatchTransform"] == "Succeeded"
    execution = next((tmp_path / "executions").iterdir())
    for step in ("Preprocess", "Train"):
        assert sorted(p.name for p in (execution / step).iterdir() if p.is_dir()) == [
            "algo-1",
            "algo-2",
        ]
    preprocess_log = (execution / "Preprocess" / "job.log").read_text()
    assert "==> algo-1" in preprocess_log and "==> algo-2" in preprocess_log
    assert preprocess_log.count("(this instance: 2 of 4 units)") == 2
    train_log = (execution / "Train" / "job.log").read_text()
    assert "on 2 hosts" in train_log and "host algo-2 done" in train_log
    # every forecast row, from both transform instances
    forecast = pd.concat(pd.read_csv(p, header=None) for p in result["predictions"])
    assert len(result["predictions"]) == 4 and len(forecast) == 3654


def test_the_naive_baseline_from_history_shards_is_the_whole_historys(
    prepared: dict[str, Path],
) -> None:
    """Evaluate takes the seasonal naive and MASE's scale shard by shard (each shard holds
    whole series), never holding the history at once: the same numbers as from all of it."""
    import evaluate

    schema = json.loads((prepared["schema"] / "feature_schema.json").read_text())
    history = pd.read_parquet(prepared["history"] / "history.parquet")
    test = pd.read_parquet(prepared["test"] / "test.parquet")
    shards = [history[history["Store"] % 3 == k] for k in range(3)]
    merged = evaluate.merge_naive([evaluate.naive_facts(s, schema) for s in shards])
    for measure in (evaluate.naive_forecast, evaluate.naive_scale):
        whole, split = measure(history, test, schema), measure(merged, test, schema)
        assert split == pytest.approx(whole, nan_ok=True)
    with pytest.raises(evaluate.EvaluationError, match="history shards share series"):
        evaluate.merge_naive([evaluate.naive_facts(history, schema)] * 2)

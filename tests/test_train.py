"""training_scripts/train.py run as the training toolkit runs it, on real preprocessed data."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import train
import xgboost as xgb
from conftest import cli_args


def test_model_dir_holds_model_and_schema(prepared: dict[str, Path]) -> None:
    model = prepared["model"]
    booster = xgb.Booster()
    booster.load_model(str(model / "xgboost-model.ubj"))
    schema = json.loads((model / "feature_schema.json").read_text())
    assert booster.feature_names == [f["name"] for f in schema["features"]]
    report = json.loads((model / "training_report.json").read_text())
    assert report["validation"]["mape"] < 0.09
    assert booster.num_boosted_rounds() == report["validation"]["best_iteration"] + 1


def channels(prepared: dict[str, Path], **other: Path) -> dict[str, Path]:
    """The four data channels of preprocess's outputs (any of them replaced by `other`)."""
    names = ("train", "validation", "history", "schema")
    return {name: other.get(name, prepared[name]) for name in names}


def channel_env(prepared: dict[str, Path]) -> dict[str, str]:
    """What the training toolkit sets for them: SM_CHANNEL_<NAME>."""
    return {f"SM_CHANNEL_{n.upper()}": str(p) for n, p in channels(prepared).items()}


def test_sourcedir_run_ships_the_inference_handler(
    prepared: dict[str, Path], tmp_path: Path
) -> None:
    """Run train.py from the staged sourcedir.tar.gz, as the XGBoost container does."""
    import io
    import os
    import subprocess
    import sys
    import tarfile

    from pipelines.code_assets import code_assets

    code = tmp_path / "code"
    with tarfile.open(fileobj=io.BytesIO(code_assets().training.payload)) as tar:
        tar.extractall(code, filter="data")
    env = {**os.environ, **channel_env(prepared), "SM_MODEL_DIR": str(tmp_path / "model")}
    result = subprocess.run(
        [sys.executable, "train.py", "--num_round", "20"],
        cwd=code,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "model").iterdir()) == [
        "backtest",
        "code",
        "feature_schema.json",
        "training_report.json",
        "xgboost-model.ubj",
    ]
    assert sorted(p.name for p in (tmp_path / "model" / "backtest").iterdir()) == [
        "feature_schema.json",
        "xgboost-model.ubj",
    ]
    assert (tmp_path / "model" / "code" / "inference.py").read_bytes() == (
        code / "inference.py"
    ).read_bytes()


def test_sm_environment_and_toolkit_arguments(
    prepared: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in channel_env(prepared).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SM_MODEL_DIR", str(tmp_path / "model"))
    # what the XGBoost toolkit passes: underscores, plus its own sagemaker_* entries
    assert (
        train.main(
            [
                "--num_round",
                "30",
                "--max_depth",
                "4",
                "--eta",
                "0.3",
                "--sagemaker_program",
                "train.py",
            ]
        )
        == 0
    )
    out = capsys.readouterr()
    assert "ignoring unknown arguments ['--sagemaker_program', 'train.py']" in out.err
    lines = out.out.splitlines()
    assert any(line.startswith("validation-mape=") for line in lines)
    assert any(line.startswith("best-iteration=") for line in lines)
    assert (tmp_path / "model" / "xgboost-model.ubj").is_file()


def test_same_seed_same_model(prepared: dict[str, Path], tmp_path: Path) -> None:
    for name in ("a", "b"):
        args = cli_args(**channels(prepared), model_dir=tmp_path / name, num_round=20)
        assert train.main(args) == 0
    assert (tmp_path / "a" / "xgboost-model.ubj").read_bytes() == (
        tmp_path / "b" / "xgboost-model.ubj"
    ).read_bytes()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--max_depth", "0"],
            "hyperparameter max_depth=0 is out of range: expected between 1 and 20",
        ),
        (["--eta", "2"], "hyperparameter eta=2.0 is out of range: expected in (0, 1]"),
    ],
)
def test_bad_hyperparameters(
    prepared: dict[str, Path],
    tmp_path: Path,
    args: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert train.main([*cli_args(**channels(prepared), model_dir=tmp_path / "m"), *args]) == 2
    assert capsys.readouterr().err == f"train: error: {message}\n"
    assert not (tmp_path / "m").exists()


def test_wrong_type_hyperparameter(capsys: pytest.CaptureFixture[str]) -> None:
    assert train.main(["--num_round", "many"]) == 2
    assert "argument --num_round/--num-round: invalid int value: 'many'" in capsys.readouterr().err


def test_missing_and_empty_channels(
    prepared: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def run(**other: Path) -> str:
        assert train.main(cli_args(**channels(prepared, **other), model_dir=tmp_path / "m")) == 2
        return capsys.readouterr().err

    assert "channel 'validation': folder" in run(validation=tmp_path / "nope")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "channel 'schema': no feature_schema.json" in run(schema=empty)
    assert f"channel 'train': no train.parquet (or its shards) in {empty}" in run(train=empty)
    assert (
        f"channel 'history': no history.parquet (or its shards) in {empty}, though this host "
        "received training rows"
    ) in run(history=empty)
    no_rows = tmp_path / "no_rows"
    shutil.copytree(prepared["validation"], no_rows)
    import pandas as pd

    frame = pd.read_parquet(no_rows / "validation.parquet")
    frame.iloc[:0].to_parquet(no_rows / "validation.parquet")
    assert "channel 'validation': no rows" in run(validation=no_rows)
    assert not (tmp_path / "m").exists()


def test_shards_are_read_in_batches_that_make_up_the_shard(
    prepared: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A host holds one batch's frame at a time; the batches are the shard's rows, in order,
    and the matrix (so the model) is the one the whole frame gives."""
    import numpy as np
    import pandas as pd

    schema = train.load_schema(prepared["schema"])
    columns = [schema["target_column"], *(f["name"] for f in schema["features"])]
    path = prepared["train"] / "train.parquet"
    whole = pd.read_parquet(path, columns=columns)
    monkeypatch.setattr(train, "BATCH_ROWS", 5_000)
    batches = list(train.read_shard(path, columns))
    assert len(batches) == -(-len(whole) // 5_000) > 1
    assert max(len(b) for b in batches) == 5_000
    pd.testing.assert_frame_equal(pd.concat(batches, ignore_index=True), whole)

    hp = train.Hyperparameters(num_round=10)
    models = [
        xgb.train(
            hp.xgboost_params(1),
            train.matrix(data, schema, "train", max_bin=hp.max_bin),
            num_boost_round=10,
        )
        for data in (whole, train.chunks([path], columns))
    ]
    probe = xgb.DMatrix(whole[columns[1:]].head(500).to_numpy("float32"), feature_names=columns[1:])
    np.testing.assert_array_equal(models[0].predict(probe), models[1].predict(probe))


def test_a_shard_without_a_feature_column_is_named(prepared: dict[str, Path]) -> None:
    path = prepared["train"] / "train.parquet"
    with pytest.raises(
        train.TrainingError, match=r"train\.parquet: column\(s\) \['nope'\] are missing"
    ):
        list(train.read_shard(path, ["nope"]))


def test_the_bins_are_the_samples_cuts_without_its_rows(prepared: dict[str, Path]) -> None:
    """What a host carries through training is the bins, not preprocess's sample."""
    import numpy as np

    schema = train.load_schema(prepared["schema"])
    hp = train.Hyperparameters()
    paths = train.shard_files(prepared["schema"], train.BINS_TRAIN_FILE, "schema")
    cuts = train.bins(paths, schema, "train", hp)
    assert cuts is not None and cuts.num_row() == 1
    columns = [schema["target_column"], *(f["name"] for f in schema["features"])]
    sample = train.matrix(train.chunks(paths, columns), schema, "bins", max_bin=hp.max_bin)
    assert sample.num_row() > 1_000
    for mine, theirs in zip(cuts.get_quantile_cut(), sample.get_quantile_cut(), strict=True):
        np.testing.assert_array_equal(mine, theirs)


def test_the_script_does_not_load_scikit_learn() -> None:
    """xgboost would import scikit-learn (installed here, as in the container) for estimators
    train.py does not use: 50 MB on every training host."""
    import subprocess
    import sys

    script = Path(train.__file__)
    probe = (
        "import runpy, sys\n"
        "sys.argv = ['train.py', '--help']\n"
        "try:\n"
        "    runpy.run_path('train.py', run_name='__main__')\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 0, exc.code\n"
        "loaded = [m for m, module in sys.modules.items() if module is not None]\n"
        "print(sorted({m.split('.')[0] for m in loaded} & {'sklearn', 'xgboost'}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=False,
        cwd=script.parent,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "['xgboost']"

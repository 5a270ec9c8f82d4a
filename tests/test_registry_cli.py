"""`python -m pipelines.registry`: SageMaker's model registry (moto stands in for it) and the
local runner's, one entry point with options after the subcommand."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from pipelines import registry, run
from pipelines.local.registry import Registry

GROUP = "store-sales-forecast-prod"


@pytest.fixture
def sm() -> Iterator[Any]:
    with mock_aws(config={"core": {"reset_boto3_session": False}}):
        client = boto3.client("sagemaker", region_name="eu-west-1")
        client.create_model_package_group(ModelPackageGroupName=GROUP)
        for _ in range(2):
            client.create_model_package(
                ModelPackageGroupName=GROUP,
                ModelApprovalStatus="PendingManualApproval",
                InferenceSpecification={
                    "Containers": [{"Image": "x", "ModelDataUrl": "s3://b/m.tar.gz"}],
                    "SupportedContentTypes": ["text/csv"],
                    "SupportedResponseMIMETypes": ["text/csv"],
                },
            )
        yield client


def test_list_and_approve_in_sagemakers_registry(
    sm: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    assert registry.main(["list", "--profile", "prod"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{GROUP}\n  version 1   PendingManualApproval")
    assert registry.main(["approve", GROUP, "2", "--profile", "prod"]) == 0
    assert capsys.readouterr().out.endswith(f"model-package/{GROUP}/2: Approved\n")
    statuses = [
        p["ModelApprovalStatus"]
        for p in sm.list_model_packages(ModelPackageGroupName=GROUP)["ModelPackageSummaryList"]
    ]
    assert sorted(statuses) == ["Approved", "PendingManualApproval"]
    assert registry.main(["reject", GROUP, "9", "--profile", "prod"]) == 2
    assert "has no version 9 in eu-west-1" in capsys.readouterr().err


def test_local_registry_with_options_after_the_subcommand(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    Registry(tmp_path / "registry").register("g", "eu-west-1", {"ModelApprovalStatus": None})
    assert registry.main(["approve", "g", "1", "--local", "--workdir", str(tmp_path)]) == 0
    assert capsys.readouterr().out.endswith("model-package/g/1: Approved\n")
    assert registry.main(["list", "--local", "--workdir", str(tmp_path)]) == 0
    assert "version 1   Approved" in capsys.readouterr().out
    # the older spelling, --workdir before the subcommand, still works
    assert run.main(["registry", "--workdir", str(tmp_path), "reject", "g", "1"]) == 0
    assert capsys.readouterr().out.endswith("model-package/g/1: Rejected\n")
    assert registry.main(["approve", "g", "3", "--local", "--workdir", str(tmp_path)]) == 2
    assert "registry: error: group 'g' has versions 1..1, not 3" in capsys.readouterr().err

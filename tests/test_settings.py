"""Profiles: merging, overrides, and errors that name the setting and its source."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipelines.settings import PROFILES_DIR, SettingsError, load_settings


def test_profiles_load_and_differ() -> None:
    names = {p: load_settings(p).pipeline_name for p in ("dev", "staging", "prod")}
    assert len(set(names.values())) == 3
    prod = load_settings("prod")
    assert prod.security.network_isolation and prod.security.inter_container_encryption
    assert prod.parameters.max_quality_metric == 0.10
    assert prod.parameters.min_skill_vs_naive == 0.3
    assert prod.instances.training_type == "ml.m5.2xlarge"
    assert prod.instances.processing_type == "ml.m5.xlarge"  # from base.toml


def test_command_line_overrides_profile() -> None:
    s = load_settings("prod", {"bucket": "my-bucket", "instances": {"training_count": 2}})
    assert s.bucket == "my-bucket"
    assert s.instances.training_count == 2
    assert s.instances.training_type == "ml.m5.2xlarge"


def test_error_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # no region from the environment or an AWS config: the profile's applies
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    (tmp_path / "base.toml").write_text((PROFILES_DIR / "base.toml").read_text())
    (tmp_path / "qa.toml").write_text('region = "mars"\n')
    with pytest.raises(SettingsError) as err:
        load_settings("qa", profiles_dir=tmp_path)
    assert str(err.value) == (
        f"{tmp_path / 'qa.toml'}: setting 'region': 'mars' is not an AWS region like 'eu-west-1'"
    )


def test_a_config_file_from_anywhere_goes_over_the_profile(tmp_path: Path) -> None:
    """Your own data's column names and thresholds, without editing the installed package;
    the command line still wins."""
    config = tmp_path / "my_shop.toml"
    config.write_text(
        '[data]\ndate_column = "day"\nseries_columns = ["shop", "sku"]\n'
        'target_column = "units"\nknown_columns = []\n'
        '[parameters]\nquality_metric = "mase"\nmax_quality_metric = 0.9\n'
    )
    settings = load_settings("prod", {"parameters": {"max_quality_metric": 0.8}}, config=config)
    assert settings.data.series_columns == ("shop", "sku")
    assert settings.data.known_columns == ()
    assert settings.parameters.quality_metric == "mase"
    assert settings.parameters.max_quality_metric == 0.8  # command line over the file
    assert settings.instances.training_type == "ml.m5.2xlarge"  # the profile still applies
    config.write_text('[data]\ntarget_colum = "units"\n')
    with pytest.raises(SettingsError) as err:
        load_settings("dev", config=config)
    assert str(err.value).startswith(f"config file {config}: setting 'data.target_colum'")
    with pytest.raises(SettingsError, match=r"--config .*nowhere.toml: no such file"):
        load_settings("dev", config=tmp_path / "nowhere.toml")


def test_unknown_key_is_refused(tmp_path: Path) -> None:
    (tmp_path / "base.toml").write_text((PROFILES_DIR / "base.toml").read_text())
    (tmp_path / "qa.toml").write_text('[instances]\ntrainng_type = "ml.m5.large"\n')
    with pytest.raises(SettingsError, match=r"qa.toml: setting 'instances.trainng_type'"):
        load_settings("qa", profiles_dir=tmp_path)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"bucket": "Bad_Bucket"}, "setting 'bucket': 'Bad_Bucket' is not a valid S3 bucket name"),
        ({"bucket": "192.168.1.1"}, "setting 'bucket'"),
        ({"role_arn": "arn:aws:iam::1:role/x"}, "setting 'role_arn'"),
        ({"instances": {"training_type": "m5.large"}}, "setting 'instances.training_type'"),
        ({"parameters": {"max_quality_metric": -0.1}}, "setting 'parameters.max_quality_metric'"),
        (
            {"parameters": {"quality_metric": "accuracy"}},
            "setting 'parameters.quality_metric': 'accuracy' is not one of",
        ),
        (
            {"parameters": {"model_approval_status": "Yes"}},
            "setting 'parameters.model_approval_status'",
        ),
        ({"parameters": {"test_start_date": "June"}}, "setting 'parameters.test_start_date'"),
    ],
)
def test_bad_values(overrides: dict, message: str) -> None:
    with pytest.raises(SettingsError, match=f"^command line: {message}"):
        load_settings("dev", overrides)


def test_unknown_profile() -> None:
    with pytest.raises(SettingsError, match=r"unknown profile 'qa': choose one of \['dev', "):
        load_settings("qa")


def test_role_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAGEMAKER_PIPELINE_ROLE_ARN", "arn:aws:iam::123456789012:role/R")
    assert load_settings("dev").role_arn == "arn:aws:iam::123456789012:role/R"
    monkeypatch.setenv("SAGEMAKER_PIPELINE_ROLE_ARN", "not-an-arn")
    with pytest.raises(SettingsError, match=r"^environment variable SAGEMAKER_PIPELINE_ROLE_ARN"):
        load_settings("dev")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"model_package_group": "g" * 64},
            "command line: setting 'model_package_group': model package group name is 64 "
            "characters long; SageMaker allows at most 63",
        ),
        (
            {"pipeline_name": "p" * 257},
            "command line: setting 'pipeline_name': pipeline name is 257 characters long; "
            "SageMaker allows at most 256",
        ),
        (
            {"tags": {f"team-{i}": "x" for i in range(49)}},
            "command line: setting 'tags': 51 tags (with the project's); SageMaker allows at "
            "most 50",
        ),
        (
            {"tags": {"owner": "x" * 257}},
            "command line: setting 'tags': tag 'owner': value is 257 characters long; "
            "SageMaker allows at most 256",
        ),
        (
            {"tags": {"aws:owner": "x"}},
            "command line: setting 'tags': tag key 'aws:owner': the aws: prefix is reserved",
        ),
        (
            {"instances": {"processing_type": "ml.m5.huge"}},
            "command line: setting 'instances.processing_type': instance type 'ml.m5.huge' is "
            "not a value SageMaker accepts here (e.g. ml.m5.large",
        ),
    ],
)
def test_names_and_tags_are_held_to_the_api_limits(overrides: dict, message: str) -> None:
    """Limits from botocore's service model: what CreatePipeline, CreateModelPackageGroup
    and AddTags would refuse after code was already staged."""
    with pytest.raises(SettingsError) as err:
        load_settings("dev", overrides)
    assert str(err.value).startswith(message)


@pytest.mark.parametrize(
    ("endpoint", "message"),
    [
        ({"rollout": "canary"}, "needs min_instances >= 2, not 1"),
        (
            {"kind": "serverless", "rollout": "canary", "min_instances": 2, "max_instances": 2},
            "a serverless endpoint updates all at once",
        ),
        (
            {"min_instances": 3, "max_instances": 2},
            "endpoint.max_instances 2 is below min_instances 3",
        ),
        (
            {"instance_type": "ml.c5.large"},
            "is not one of the registered model's instances.inference_types",
        ),
        ({"memory_mb": 3000}, "multiple of 1024"),
        ({"kind": "edge"}, "'edge' is not one of ['real-time', 'serverless']"),
    ],
)
def test_endpoint_settings_are_checked(endpoint: dict, message: str) -> None:
    with pytest.raises(SettingsError, match=re.escape(message)) as raised:
        load_settings("staging", {"endpoint": endpoint})
    assert str(raised.value).startswith("command line: setting 'endpoint")


def test_each_profile_has_its_endpoint() -> None:
    dev, staging, prod = (load_settings(p) for p in ("dev", "staging", "prod"))
    assert (dev.endpoint.kind, dev.served_group) == ("serverless", "store-sales-forecast")
    assert staging.served_group == prod.served_group == "store-sales-forecast-prod"
    assert (prod.endpoint.rollout, prod.endpoint.autoscaling) == ("canary", True)
    assert prod.endpoint_name == "store-sales-forecast-prod"


def test_region_comes_from_the_command_line_then_the_environment_then_the_aws_config(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "config"
    config.write_text("[default]\nregion = ap-south-1\n[profile team]\nregion = ca-central-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-2")
    monkeypatch.setenv("AWS_REGION", "us-west-2")
    assert load_settings("dev", {"region": "eu-central-1"}).region == "eu-central-1"
    assert load_settings("dev").region == "us-west-2"
    monkeypatch.delenv("AWS_REGION")
    assert load_settings("dev").region == "us-east-2"
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    assert load_settings("dev").region == "ap-south-1"
    monkeypatch.setenv("AWS_PROFILE", "team")
    assert load_settings("dev").region == "ca-central-1"
    monkeypatch.delenv("AWS_PROFILE")
    config.write_text("[default]\n")
    assert load_settings("dev").region == "eu-west-1"  # the profile's
    monkeypatch.setenv("AWS_REGION", "nowhere")
    with pytest.raises(SettingsError, match="environment variable AWS_REGION: setting 'region'"):
        load_settings("dev")


def test_no_bucket_means_the_sdks_default_for_the_roles_account() -> None:
    dev = load_settings("dev")
    assert dev.bucket == ""
    assert dev.s3_root == "s3://sagemaker-eu-west-1-123456789012/store-sales-forecast-dev"
    own = load_settings("prod", {"role_arn": "arn:aws:iam::210987654321:role/R"})
    assert own.s3_root == "s3://sagemaker-eu-west-1-210987654321/store-sales-forecast-prod"
    named = load_settings("staging", {"bucket": "team-forecasts"})
    assert named.s3_root == "s3://team-forecasts/store-sales-forecast-staging"
    # the three environments share the default bucket of one account without colliding
    roots = {load_settings(p).s3_root for p in ("dev", "staging", "prod")}
    assert len(roots) == 3

"""The pipeline definition JSON: steps, wiring, parameters, messages, security, determinism."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, flatten_steps
from schema_check import schema_problems

from pipelines import contract
from pipelines.local.requests import OPERATIONS, request_problems
from pipelines.pipeline import definition
from pipelines.settings import load_settings


def gets(node: object) -> list[str]:
    """Every {"Get": ...} reference below `node`."""
    if isinstance(node, dict):
        found = [node["Get"]] if set(node) == {"Get"} else []
        return found + [g for v in node.values() for g in gets(v)]
    if isinstance(node, list):
        return [g for v in node for g in gets(v)]
    return []


def step(definition_: dict, name: str) -> dict:
    return next(s for s in flatten_steps(definition_["Steps"]) if s["Name"] == name)


def test_steps_types_and_order(dev_definition: dict) -> None:
    top = [(s["Name"], s["Type"]) for s in dev_definition["Steps"]]
    assert top == [
        ("Preprocess", "Processing"),
        ("Train", "Training"),
        ("MonitorDrift", "Processing"),
        ("CheckChampionUri", "Condition"),
    ]
    # a ChampionModelDataUri typed as "none" in Studio stops here, naming the parameter
    uri_gate = dev_definition["Steps"][3]["Arguments"]
    assert [(s["Name"], s["Type"]) for s in uri_gate["IfSteps"]] == [
        ("ChampionUriNotAModel", "Fail")
    ]
    assert [(s["Name"], s["Type"]) for s in uri_gate["ElseSteps"]] == [
        ("Evaluate", "Processing"),
        ("CheckQuality", "Condition"),
    ]
    gate = uri_gate["ElseSteps"][1]["Arguments"]
    assert [(s["Name"], s["Type"]) for s in gate["IfSteps"]] == [("CheckChampion", "Condition")]
    assert [(s["Name"], s["Type"]) for s in gate["ElseSteps"]] == [("ModelQualityFail", "Fail")]
    champion_gate = gate["IfSteps"][0]["Arguments"]
    assert [(s["Name"], s["Type"]) for s in champion_gate["ElseSteps"]] == [
        ("ChampionNotBeaten", "Fail")
    ]
    assert [(s["Name"], s["Type"]) for s in champion_gate["IfSteps"]] == [
        ("CheckDrift", "Condition")
    ]
    # every gate that can fail the execution comes first: a Failed run registered nothing;
    # then the user's shape, RegisterModel -> CreateModel -> BatchTransform, with the
    # registration left out when the trained model is the latest version's very artifact
    drift_gate = champion_gate["IfSteps"][0]["Arguments"]
    assert [(s["Name"], s["Type"]) for s in drift_gate["IfSteps"]] == [
        ("CheckAlreadyRegistered", "Condition"),
        ("CreateModel", "Model"),
        ("BatchTransform", "Transform"),
    ]
    registered = drift_gate["IfSteps"][0]["Arguments"]
    assert registered["Conditions"] == [
        {
            "Type": "Equals",
            "LeftValue": {"Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"},
            "RightValue": {"Get": "Parameters.RegisteredModelDataUri"},
        }
    ]
    assert registered["IfSteps"] == []
    assert [(s["Name"], s["Type"]) for s in registered["ElseSteps"]] == [
        ("RegisterModel", "RegisterModel")
    ]
    assert drift_gate["IfSteps"][1]["DependsOn"] == ["CheckAlreadyRegistered"]
    assert [(s["Name"], s["Type"]) for s in drift_gate["ElseSteps"]] == [("SevereDrift", "Fail")]


def test_evaluate_scores_the_champion_from_its_parameter(dev_definition: dict) -> None:
    from pipelines.code_assets import code_assets

    evaluate = step(dev_definition, "Evaluate")["Arguments"]
    inputs = {i["InputName"]: i["S3Input"] for i in evaluate["ProcessingInputs"]}
    assert inputs["champion"]["S3Uri"] == {"Get": "Parameters.ChampionModelDataUri"}
    assert inputs["champion"]["LocalPath"] == "/opt/ml/processing/input/champion"
    arguments = evaluate["AppSpecification"]["ContainerArguments"]
    assert arguments[arguments.index("--champion-dir") + 1] == "/opt/ml/processing/input/champion"
    # the default is the staged no-champion marker: a processing input needs an object
    default = next(
        p["DefaultValue"]
        for p in dev_definition["Parameters"]
        if p["Name"] == "ChampionModelDataUri"
    )
    marker = code_assets().no_champion.s3_uri(
        "s3://sagemaker-eu-west-1-123456789012/store-sales-forecast-dev"
    )
    assert default == marker and default.endswith("/no-champion/")


def test_champion_gate_compares_with_min_improvement_and_explains(dev_definition: dict) -> None:
    report = {"Get": "Steps.Evaluate.PropertyFiles.EvaluationReport"}

    def get(path: str) -> dict:
        return {"Std:JsonGet": {"Path": path, "PropertyFile": report}}

    [rule] = step(dev_definition, "CheckChampion")["Arguments"]["Conditions"]
    assert rule == {
        "Type": "Or",
        "Conditions": [
            {"Type": "Equals", "LeftValue": get("champion.present"), "RightValue": 0},
            {
                "Type": "GreaterThanOrEqualTo",
                "LeftValue": get("champion.improvement"),
                "RightValue": {"Get": "Parameters.MinImprovement"},
            },
        ],
    }
    message = step(dev_definition, "ChampionNotBeaten")["Arguments"]["ErrorMessage"]["Std:Join"]
    assert message["Values"][:2] == [
        "Model not registered: champion rule: ",
        get("champion.summary"),
    ]
    assert get("champion.improvement") in message["Values"]
    assert {"Get": "Parameters.MinImprovement"} in message["Values"]


def output_of(step_name: str, output: str) -> dict:
    return {"Get": f"Steps.{step_name}.ProcessingOutputConfig.Outputs['{output}'].S3Output.S3Uri"}


def test_drift_monitor_reads_the_reference_and_the_batch_from_preprocess(
    dev_definition: dict,
) -> None:
    monitor = step(dev_definition, "MonitorDrift")
    assert "DependsOn" not in monitor  # only Preprocess's outputs: it runs beside Train
    inputs = {i["InputName"]: i["S3Input"] for i in monitor["Arguments"]["ProcessingInputs"]}
    for name in ("schema", "reference", "batch"):
        assert inputs[name]["S3Uri"] == output_of("Preprocess", name)
    # it fits the baseline over every unit's reference rows: one instance
    cluster = monitor["Arguments"]["ProcessingResources"]["ClusterConfig"]
    assert cluster["InstanceCount"] == 1
    assert monitor["Arguments"]["AppSpecification"]["ContainerEntrypoint"] == [
        "python3",
        "/opt/ml/processing/input/code/drift.py",
    ]
    assert monitor["PropertyFiles"] == [
        {"FilePath": "drift.json", "OutputName": "drift", "PropertyFileName": "DriftReport"}
    ]


def test_drift_gate_fails_only_when_asked_and_names_the_features(dev_definition: dict) -> None:
    report = {"Get": "Steps.MonitorDrift.PropertyFiles.DriftReport"}
    [rule] = step(dev_definition, "CheckDrift")["Arguments"]["Conditions"]
    assert rule == {
        "Type": "Or",
        "Conditions": [
            {
                "Type": "Equals",
                "LeftValue": {"Get": "Parameters.FailOnSevereDrift"},
                "RightValue": 0,
            },
            {
                "Type": "Equals",
                "RightValue": 0,
                "LeftValue": {"Std:JsonGet": {"Path": "severe_count", "PropertyFile": report}},
            },
        ],
    }
    message = step(dev_definition, "SevereDrift")["Arguments"]["ErrorMessage"]["Std:Join"]
    assert {"Std:JsonGet": {"Path": "summary", "PropertyFile": report}} in message["Values"]


def test_the_drift_baseline_is_registered_with_the_model(dev_definition: dict) -> None:
    """In Model Monitor's format, which Studio shows (the PSI baseline lies beside it)."""
    metrics = step(dev_definition, "RegisterModel")["Arguments"]["ModelMetrics"]

    def source(file: str) -> dict:
        return {
            "ContentType": "application/json",
            "S3Uri": {
                "Std:Join": {"On": "/", "Values": [output_of("MonitorDrift", "drift"), file]}
            },
        }

    assert metrics["ModelDataQuality"] == {
        "Statistics": source("statistics.json"),
        "Constraints": source("constraints.json"),
    }
    # only the reports that exist: no empty Bias / Explainability objects (sdk.py defect 10)
    assert sorted(metrics) == ["ModelDataQuality", "ModelQuality"]


def test_steps_are_wired_through_property_references(dev_definition: dict) -> None:
    train = step(dev_definition, "Train")["Arguments"]
    channels = {c["ChannelName"]: c["DataSource"]["S3DataSource"] for c in train["InputDataConfig"]}
    for name in ("train", "validation", "history", "schema"):
        assert channels[name]["S3Uri"] == output_of("Preprocess", name)
    evaluate = gets(step(dev_definition, "Evaluate")["Arguments"]["ProcessingInputs"])
    assert "Steps.Train.ModelArtifacts.S3ModelArtifacts" in evaluate
    assert output_of("Preprocess", "test")["Get"] in evaluate
    assert output_of("Preprocess", "history")["Get"] in evaluate
    register = step(dev_definition, "RegisterModel")["Arguments"]
    assert register["InferenceSpecification"]["Containers"][0]["ModelDataUrl"] == {
        "Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"
    }
    metrics_uri = register["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"]
    assert metrics_uri["Std:Join"]["Values"] == [
        {"Get": "Steps.Evaluate.ProcessingOutputConfig.Outputs['evaluation'].S3Output.S3Uri"},
        "evaluation.json",
    ]
    transform = step(dev_definition, "BatchTransform")["Arguments"]
    assert transform["ModelName"] == {"Get": "Steps.CreateModel.ModelName"}
    assert transform["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"] == {
        "Get": "Steps.Preprocess.ProcessingOutputConfig.Outputs['batch'].S3Output.S3Uri"
    }


def test_several_instances_share_the_work(dev_definition: dict) -> None:
    """Each training host its own shards (one per TrainingInstanceCount, written by
    Preprocess), every host the schemas; each Preprocess instance its own input files
    (whole series each) and all of them to plan alike; Evaluate on one instance (its
    metrics need every test row). The instance counts are parameters: one definition
    serves every count."""
    train = step(dev_definition, "Train")["Arguments"]
    distribution = {
        c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3DataDistributionType"]
        for c in train["InputDataConfig"]
    }
    assert distribution == {
        "train": "ShardedByS3Key",
        "validation": "ShardedByS3Key",
        "history": "ShardedByS3Key",
        "schema": "FullyReplicated",
        "code": "FullyReplicated",
    }
    assert train["ResourceConfig"]["InstanceCount"] == {"Get": "Parameters.TrainingInstanceCount"}
    pre = step(dev_definition, "Preprocess")["Arguments"]
    inputs = {i["InputName"]: i["S3Input"] for i in pre["ProcessingInputs"]}
    assert inputs["data"]["S3DataDistributionType"] == "ShardedByS3Key"
    assert inputs["scan"]["S3DataDistributionType"] == "FullyReplicated"
    assert inputs["data"]["S3Uri"] == inputs["scan"]["S3Uri"] == {"Get": "Parameters.InputDataUri"}
    arguments = pre["AppSpecification"]["ContainerArguments"]
    shards = arguments[arguments.index("--train-shards") + 1]
    assert shards == {
        "Std:Join": {"On": "", "Values": [{"Get": "Parameters.TrainingInstanceCount"}]}
    }
    assert pre["ProcessingResources"]["ClusterConfig"]["InstanceCount"] == {
        "Get": "Parameters.ProcessingInstanceCount"
    }
    evaluate = step(dev_definition, "Evaluate")["Arguments"]
    assert evaluate["ProcessingResources"]["ClusterConfig"]["InstanceCount"] == 1


def test_every_parameter_is_declared_and_used(dev_definition: dict) -> None:
    declared = {p["Name"] for p in dev_definition["Parameters"]}
    used = {
        g.split(".", 1)[1] for g in gets(dev_definition["Steps"]) if g.startswith("Parameters.")
    }
    assert declared == used, f"unused: {declared - used}; undeclared: {used - declared}"
    assert {
        "InputDataUri",
        "ProcessingInstanceType",
        "ProcessingInstanceCount",
        "TrainingInstanceType",
        "TrainingInstanceCount",
        "TransformInstanceType",
        "TransformInstanceCount",
        "NumRound",
        "MaxDepth",
        "Eta",
        "QualityMetric",
        "MaxQualityMetric",
        "MinSkillVsNaive",
        "ModelApprovalStatus",
    } <= declared


def test_parameters_are_wired_where_they_belong(dev_definition: dict) -> None:
    pre = step(dev_definition, "Preprocess")["Arguments"]
    assert pre["ProcessingResources"]["ClusterConfig"]["InstanceType"] == {
        "Get": "Parameters.ProcessingInstanceType"
    }
    assert pre["ProcessingResources"]["ClusterConfig"]["InstanceCount"] == {
        "Get": "Parameters.ProcessingInstanceCount"
    }
    assert pre["ProcessingInputs"][0]["S3Input"]["S3Uri"] == {"Get": "Parameters.InputDataUri"}
    train = step(dev_definition, "Train")["Arguments"]
    assert train["ResourceConfig"]["InstanceType"] == {"Get": "Parameters.TrainingInstanceType"}
    assert train["ResourceConfig"]["InstanceCount"] == {"Get": "Parameters.TrainingInstanceCount"}
    hps = train["HyperParameters"]
    # hyperparameters are a str->str map: parameters go in as string expressions
    assert hps["max_depth"] == {"Std:Join": {"On": "", "Values": [{"Get": "Parameters.MaxDepth"}]}}
    assert hps["sagemaker_program"] == '"train.py"'  # JSON-encoded, as the toolkit expects
    assert hps["sagemaker_submit_directory"] == '"/opt/ml/input/data/code/sourcedir.tar.gz"'
    tr = step(dev_definition, "BatchTransform")["Arguments"]["TransformResources"]
    assert tr == {
        "InstanceType": {"Get": "Parameters.TransformInstanceType"},
        "InstanceCount": {"Get": "Parameters.TransformInstanceCount"},
    }
    # Batch Transform hands out whole objects: preprocess writes one per transform instance
    arguments = pre["AppSpecification"]["ContainerArguments"]
    shards = arguments[arguments.index("--batch-shards") + 1]
    assert shards == {
        "Std:Join": {"On": "", "Values": [{"Get": "Parameters.TransformInstanceCount"}]}
    }
    register = step(dev_definition, "RegisterModel")["Arguments"]
    assert register["ModelApprovalStatus"] == {"Get": "Parameters.ModelApprovalStatus"}


def test_condition_reads_evaluation_report(dev_definition: dict) -> None:
    gate = step(dev_definition, "CheckQuality")["Arguments"]["Conditions"]
    pairs = [(c["Type"], c["LeftValue"]["Std:JsonGet"]["Path"], c["RightValue"]) for c in gate]
    assert pairs == [
        ("LessThanOrEqualTo", "quality.value", {"Get": "Parameters.MaxQualityMetric"}),
        ("GreaterThanOrEqualTo", "quality.skill_vs_naive", {"Get": "Parameters.MinSkillVsNaive"}),
    ]
    # the metric judged is a run parameter, handed to Evaluate
    arguments = step(dev_definition, "Evaluate")["Arguments"]["AppSpecification"]
    values = arguments["ContainerArguments"]
    index = values.index("--quality-metric")
    assert values[index + 1] == {"Get": "Parameters.QualityMetric"}
    property_file = step(dev_definition, "Evaluate")["PropertyFiles"]
    assert property_file == [
        {
            "PropertyFileName": "EvaluationReport",
            "OutputName": "evaluation",
            "FilePath": "evaluation.json",
        }
    ]


def test_fail_message_names_metric_value_and_threshold(dev_definition: dict) -> None:
    values = step(dev_definition, "ModelQualityFail")["Arguments"]["ErrorMessage"]["Std:Join"][
        "Values"
    ]
    text = "".join(v if isinstance(v, str) else "{}" for v in values)
    assert text.startswith("Model not registered: back-test {} {} (threshold MaxQualityMetric {})")
    assert "skill vs the seasonal naive {} (minimum MinSkillVsNaive {})" in text
    assert {"Get": "Parameters.MaxQualityMetric"} in values
    assert {"Get": "Parameters.MinSkillVsNaive"} in values
    assert any(isinstance(v, dict) and "Std:JsonGet" in v for v in values)


def test_job_steps_have_retries_and_caching(dev_definition: dict) -> None:
    for s in flatten_steps(dev_definition["Steps"]):
        assert s.get("DisplayName") and s.get("Description"), s["Name"]
        if s["Type"] in ("Processing", "Training", "Transform"):
            assert s["CacheConfig"] == {"Enabled": True, "ExpireAfter": "P30D"}, s["Name"]
            kinds = {e for p in s["RetryPolicies"] for e in p["ExceptionType"]}
            assert {
                "Step.THROTTLING",
                "SageMaker.CAPACITY_ERROR",
                "SageMaker.JOB_INTERNAL_ERROR",
            } <= kinds, s["Name"]


def test_outputs_are_per_execution(dev_definition: dict) -> None:
    outputs = step(dev_definition, "Preprocess")["Arguments"]["ProcessingOutputConfig"]["Outputs"]
    for out in outputs:
        values = out["S3Output"]["S3Uri"]["Std:Join"]["Values"]
        assert {"Get": "Execution.PipelineExecutionId"} in values


SECURE = {
    "security": {
        "kms_key_id": "alias/forecast-key",
        "subnets": ["subnet-0a1"],
        "security_group_ids": ["sg-0b2"],
        "network_isolation": True,
        "inter_container_encryption": True,
    }
}


@pytest.fixture(scope="module")
def secure_definition() -> dict:
    return json.loads(definition(load_settings("dev", SECURE)))


def test_security_settings_reach_every_job(secure_definition: dict) -> None:
    steps = {s["Name"]: s["Arguments"] for s in flatten_steps(secure_definition["Steps"])}
    for name in ("Preprocess", "Evaluate"):
        args = steps[name]
        cluster = args["ProcessingResources"]["ClusterConfig"]
        assert cluster["VolumeKmsKeyId"] == "alias/forecast-key"
        assert args["ProcessingOutputConfig"]["KmsKeyId"] == "alias/forecast-key"
        assert args["NetworkConfig"] == {
            "EnableNetworkIsolation": True,
            "EnableInterContainerTrafficEncryption": True,
            "VpcConfig": {"SecurityGroupIds": ["sg-0b2"], "Subnets": ["subnet-0a1"]},
        }
    train = steps["Train"]
    assert train["ResourceConfig"]["VolumeKmsKeyId"] == "alias/forecast-key"
    assert train["OutputDataConfig"]["KmsKeyId"] == "alias/forecast-key"
    assert train["VpcConfig"] == {"SecurityGroupIds": ["sg-0b2"], "Subnets": ["subnet-0a1"]}
    assert train["EnableNetworkIsolation"] is True
    assert train["EnableInterContainerTrafficEncryption"] is True
    model = steps["CreateModel"]
    assert model["VpcConfig"] == {"SecurityGroupIds": ["sg-0b2"], "Subnets": ["subnet-0a1"]}
    assert model["EnableNetworkIsolation"] is True
    transform = steps["BatchTransform"]
    assert transform["TransformOutput"]["KmsKeyId"] == "alias/forecast-key"
    assert transform["TransformResources"]["VolumeKmsKeyId"] == "alias/forecast-key"


def test_no_security_settings_when_unset(dev_definition: dict) -> None:
    text = json.dumps(dev_definition)
    for key in (
        "KmsKeyId",
        "VolumeKmsKeyId",
        "VpcConfig",
        "NetworkConfig",
        "EnableNetworkIsolation",
        "InterContainerTrafficEncryption",
    ):
        assert key not in text, key


def test_definition_carries_no_secrets(secure_definition: dict) -> None:
    text = json.dumps(secure_definition)
    for needle in ("offline-build", "testing", "aws_secret", "SecretAccessKey", "SessionToken"):
        assert needle not in text


def dry_run(tmp_path: Path, name: str) -> bytes:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "AWS_EC2_METADATA_DISABLED": "true",
    }  # no AWS variables at all
    result = subprocess.run(
        [sys.executable, "-m", "pipelines.upsert", "--dry-run"],
        cwd=REPO,
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    (tmp_path / name).write_bytes(result.stdout)
    return result.stdout


def test_dry_run_is_byte_identical_across_processes_and_valid_for_the_api(tmp_path: Path) -> None:
    first, second = dry_run(tmp_path, "a.json"), dry_run(tmp_path, "b.json")
    assert first == second
    document = json.loads(first)
    assert document["Version"] == "2020-12-01"
    assert first.decode() == json.dumps(document, indent=2, sort_keys=True) + "\n"
    # the official schema (tests/schemas, with its known lags), and every job, model and
    # registration request one SageMaker would accept (botocore's service model)
    assert schema_problems(document) == []
    job_steps = [s for s in flatten_steps(document["Steps"]) if s["Type"] in OPERATIONS]
    assert len(job_steps) == 7  # 4 jobs, CreateModel, RegisterModel, BatchTransform
    for job in job_steps:
        assert request_problems(job["Type"], job["Arguments"]) == [], job["Name"]


@pytest.mark.parametrize("profile", ["staging", "prod"])
def test_every_profiles_requests_are_valid_for_the_api(profile: str) -> None:
    settings = load_settings(profile)
    if profile == "prod":  # as prod is published: with its key and VPC
        settings = settings.model_copy(
            update={
                "security": settings.security.model_copy(
                    update={
                        "kms_key_id": "arn:aws:kms:eu-west-1:123456789012:key/k",
                        "subnets": ("subnet-1",),
                        "security_group_ids": ("sg-1",),
                    }
                )
            }
        )
    document = json.loads(definition(settings))
    assert schema_problems(document) == []
    for job in flatten_steps(document["Steps"]):
        assert request_problems(job["Type"], job.get("Arguments", {})) == [], job["Name"]


def test_the_schema_check_finds_what_the_schema_forbids(dev_definition: dict) -> None:
    import copy

    broken = copy.deepcopy(dev_definition)
    broken["Steps"][0]["Arguments"]["ProcessingResources"]["ClusterConfig"]["InstanceCount"] = "2"
    broken["Steps"][1]["Retries"] = 3
    problems = schema_problems(broken)
    assert len(problems) == 2
    assert problems[0].startswith("Preprocess: Arguments/ProcessingResources/ClusterConfig/")
    assert (
        problems[1] == "Train: : Additional properties are not allowed ('Retries' was unexpected)"
    )


def test_a_request_the_api_would_refuse_is_named() -> None:
    arguments = {
        "ProcessingResources": {
            "ClusterConfig": {"InstanceCount": "two", "InstanceType": "ml.m5.xlarge"}
        },
        "AppSpecification": {"ImageUri": {"Get": "Parameters.Image"}},
        "RoleArn": "arn:aws:iam::123456789012:role/R",
        "ProcessingInputz": [],
    }
    problems = request_problems("Processing", arguments)
    assert any("ProcessingInputz" in p for p in problems)
    assert any("ProcessingResources.ClusterConfig.InstanceCount" in p for p in problems)
    assert any(p.startswith("Missing required parameter in ProcessingResources") for p in problems)
    # an expression stands for a value of the right type; the job name is the service's
    assert not any("ImageUri" in p or p.endswith('"ProcessingJobName"') for p in problems)


def test_code_locations_are_content_addressed(dev_definition: dict) -> None:
    from pipelines.code_assets import code_assets

    assets = code_assets()
    pre = step(dev_definition, "Preprocess")["Arguments"]["ProcessingInputs"]
    code = next(i for i in pre if i["InputName"] == "code")["S3Input"]["S3Uri"]
    assert code == assets.processing.s3_uri(
        "s3://sagemaker-eu-west-1-123456789012/store-sales-forecast-dev"
    )
    assert code.endswith(f"/code/{assets.processing.digest[:20]}/")
    # the tarball is reproducible byte for byte
    from pipelines.code_assets import reproducible_tarball

    assert reproducible_tarball(assets.training.members) == assets.training.payload


def test_project_tags_only_when_configured() -> None:
    settings = load_settings("dev", {"project": {"name": "forecasting", "id": "p-abc123"}})
    assert settings.all_tags["sagemaker:project-name"] == "forecasting"
    assert settings.all_tags["sagemaker:project-id"] == "p-abc123"
    assert "sagemaker:project-name" not in load_settings("dev").all_tags


def test_contract_step_names(dev_definition: dict) -> None:
    names = {s["Name"] for s in flatten_steps(dev_definition["Steps"])}
    assert names == {
        contract.PREPROCESS,
        contract.TRAIN,
        contract.EVALUATE,
        contract.CHECK_QUALITY,
        contract.CHECK_REGISTERED,
        contract.REGISTER_MODEL,
        contract.CREATE_MODEL,
        contract.BATCH_TRANSFORM,
        contract.FAIL,
        contract.MONITOR_DRIFT,
        contract.CHECK_DRIFT,
        contract.DRIFT_FAIL,
        contract.CHECK_CHAMPION,
        contract.CHAMPION_FAIL,
        contract.CHECK_CHAMPION_URI,
        contract.CHAMPION_URI_FAIL,
    }


def test_sagemaker_managed_mlflow_goes_into_the_definition(dev_definition: dict) -> None:
    """tracking.mlflow_uri as a tracking server's ARN: the executions are tracked there
    (MlflowConfig); by default there is none, and a plain URI is the local runner's only."""
    from pipelines.pipeline import definition
    from pipelines.settings import load_settings

    assert dev_definition["MlflowConfig"] is None
    arn = "arn:aws:sagemaker:eu-west-1:123456789012:mlflow-tracking-server/forecast"
    built = json.loads(definition(load_settings("dev", {"tracking": {"mlflow_uri": arn}})))
    assert built["MlflowConfig"] == {
        "MlflowResourceArn": arn,
        "MlflowExperimentName": "store-sales-forecast-dev",
    }
    plain = json.loads(
        definition(load_settings("dev", {"tracking": {"mlflow_uri": "http://127.0.0.1:5000"}}))
    )
    assert plain == dev_definition

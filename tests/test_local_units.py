"""Units of the local runner: expressions, conditions, planning, Batch Transform semantics."""

from __future__ import annotations

import pytest

from pipelines.local import transform_worker as tw
from pipelines.local.expressions import ExpressionError, Resolver, path_tokens
from pipelines.local.runner import DefinitionError, parse_duration, plan


def resolver(properties: dict | None = None, files: dict | None = None) -> Resolver:
    return Resolver(
        {"Threshold": 0.1, "Name": "x", "Flag": True},
        {"PipelineExecutionId": "exec-1"},
        properties or {},
        lambda step, name: (files or {})[(step, name)],
    )


def test_path_tokens() -> None:
    assert path_tokens("ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri") == [
        "ProcessingOutputConfig",
        "Outputs",
        "train",
        "S3Output",
        "S3Uri",
    ]
    assert path_tokens("FinalMetricDataList[0].Value") == ["FinalMetricDataList", 0, "Value"]
    with pytest.raises(ExpressionError, match="cannot parse"):
        path_tokens("Outputs[train]")


def test_get_join_jsonget() -> None:
    props = {
        "Prep": {
            "ProcessingOutputConfig": {"Outputs": {"train": {"S3Output": {"S3Uri": "s3://b/t"}}}}
        }
    }
    files = {("Eval", "Report"): {"metrics": {"mape": {"value": 0.08}}, "list": [5, 6]}}
    r = resolver(props, files)
    assert (
        r.resolve({"Get": "Steps.Prep.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"})
        == "s3://b/t"
    )
    assert (
        r.resolve(
            {
                "Std:Join": {
                    "On": "/",
                    "Values": [
                        "s3://b",
                        {"Get": "Execution.PipelineExecutionId"},
                        {"Get": "Parameters.Threshold"},
                        {"Get": "Parameters.Flag"},
                    ],
                }
            }
        )
        == "s3://b/exec-1/0.1/true"
    )
    get = {
        "Std:JsonGet": {
            "PropertyFile": {"Get": "Steps.Eval.PropertyFiles.Report"},
            "Path": "metrics.mape.value",
        }
    }
    assert r.resolve(get) == 0.08
    assert (
        r.resolve(
            {
                "Std:JsonGet": {
                    "PropertyFile": {"Get": "Steps.Eval.PropertyFiles.Report"},
                    "Path": "list[1]",
                }
            }
        )
        == 6
    )
    with pytest.raises(ExpressionError, match="no 'rmse'"):
        r.resolve({**get, "Std:JsonGet": {**get["Std:JsonGet"], "Path": "metrics.rmse.value"}})
    with pytest.raises(ExpressionError, match="step 'Nope' has not run"):
        r.resolve({"Get": "Steps.Nope.ModelName"})
    with pytest.raises(ExpressionError, match="unknown parameter 'Nope'"):
        r.resolve({"Get": "Parameters.Nope"})


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (
            {
                "Type": "LessThanOrEqualTo",
                "LeftValue": 0.1,
                "RightValue": {"Get": "Parameters.Threshold"},
            },
            True,
        ),
        ({"Type": "LessThan", "LeftValue": 0.1, "RightValue": 0.1}, False),
        ({"Type": "GreaterThan", "LeftValue": 2, "RightValue": 1}, True),
        ({"Type": "GreaterThanOrEqualTo", "LeftValue": 1, "RightValue": 1.0}, True),
        ({"Type": "Equals", "LeftValue": {"Get": "Parameters.Name"}, "RightValue": "x"}, True),
        ({"Type": "In", "QueryValue": 3, "Values": [1, 2, 3]}, True),
        ({"Type": "Not", "Condition": {"Type": "Equals", "LeftValue": 1, "RightValue": 1}}, False),
        (
            {
                "Type": "Or",
                "Conditions": [
                    {"Type": "Equals", "LeftValue": 1, "RightValue": 2},
                    {"Type": "Equals", "LeftValue": 1, "RightValue": 1},
                ],
            },
            True,
        ),
    ],
)
def test_conditions(condition: dict, expected: bool) -> None:
    assert resolver().condition(condition) is expected


def test_unsupported_step_type_is_refused_up_front() -> None:
    definition = {
        "Steps": [
            {"Name": "Prep", "Type": "Processing", "Arguments": {}},
            {"Name": "Notify", "Type": "Lambda", "Arguments": {}},
        ]
    }
    with pytest.raises(
        DefinitionError,
        match="step 'Notify' has type 'Lambda', which the local runner does not support",
    ):
        plan(definition)


def test_plan_dependencies(dev_definition: dict) -> None:
    steps = plan(dev_definition)
    assert steps["Train"].deps == {"Preprocess"}
    assert steps["Evaluate"].deps == {"Preprocess", "Train", "CheckChampionUri"}
    assert steps["CheckQuality"].deps == {"Evaluate", "CheckChampionUri"}
    assert steps["ChampionUriNotAModel"].branch == ("CheckChampionUri", True)
    assert steps["CheckChampion"].branch == ("CheckQuality", True)
    assert steps["MonitorDrift"].deps == {"Preprocess"}  # beside Train
    assert steps["CheckDrift"].deps == {"MonitorDrift", "CheckChampion"}
    assert steps["CheckAlreadyRegistered"].branch == ("CheckDrift", True)
    assert steps["CheckAlreadyRegistered"].deps == {"Train", "CheckDrift"}
    assert steps["RegisterModel"].branch == ("CheckAlreadyRegistered", False)
    assert steps["CreateModel"].deps == {"Train", "CheckAlreadyRegistered", "CheckDrift"}
    assert steps["BatchTransform"].deps == {"Preprocess", "CreateModel", "CheckDrift"}
    assert steps["ModelQualityFail"].branch == ("CheckQuality", False)
    assert steps["ChampionNotBeaten"].branch == ("CheckChampion", False)
    assert steps["SevereDrift"].branch == ("CheckDrift", False)


def test_parse_duration() -> None:
    assert parse_duration("P30D").days == 30
    assert parse_duration("PT1H").total_seconds() == 3600
    assert parse_duration("P1DT12H").total_seconds() == 36 * 3600


def test_filters_on_csv_records() -> None:
    fields = ["25", "2015-06-20", "1.0", "2.0", "3.0"]
    assert tw._select(fields, "$[2:]") == ["1.0", "2.0", "3.0"]
    assert tw._select(fields, "$[0,1,-1]") == ["25", "2015-06-20", "3.0"]
    assert tw._select(fields, "$") == fields
    with pytest.raises(tw.TransformError, match="unsupported filter"):
        tw._select(fields, "$.features")


def test_mini_batches_respect_max_payload() -> None:
    records = ["x" * 9] * 10  # 10 bytes each with the newline
    assert [len(b) for b in tw.mini_batches(records, "MultiRecord", 35)] == [3, 3, 3, 1]
    assert [len(b) for b in tw.mini_batches(records, "SingleRecord", 35)] == [1] * 10
    with pytest.raises(tw.TransformError, match="exceeds MaxPayloadInMB"):
        list(tw.mini_batches(["y" * 50], "MultiRecord", 35))


class EchoHandler:
    """Stands in for a model's inference module: predicts the sum of the fields. The
    container hands text/csv bodies over as text (serving.py)."""

    @staticmethod
    def input_fn(body: str, content_type: str) -> list[list[float]]:
        assert content_type == "text/csv" and isinstance(body, str)
        return [[float(v) for v in line.split(",")] for line in body.splitlines()]

    @staticmethod
    def predict_fn(data: list[list[float]], model: object) -> list[float]:
        return [sum(row) for row in data]

    @staticmethod
    def output_fn(prediction: list[float], accept: str) -> bytes:
        return "".join(f"{p}\n" for p in prediction).encode()


def test_transform_join_and_filters() -> None:
    spec = {
        "split_type": "Line",
        "content_type": "text/csv",
        "accept": "text/csv",
        "batch_strategy": "MultiRecord",
        "max_payload_mb": 0.00002,
        "data_processing": {
            "InputFilter": "$[2:]",
            "JoinSource": "Input",
            "OutputFilter": "$[0,1,-1]",
        },
    }
    text = "1,2015-01-01,1,2\n2,2015-01-02,3,4\n3,2015-01-03,5,6\n"
    out = tw.transform_object(EchoHandler, None, text, spec, "batch.csv")  # type: ignore[arg-type]
    assert out == ["1,2015-01-01,3.0", "2,2015-01-02,7.0", "3,2015-01-03,11.0"]


def test_definition_cache_key_follows_what_changes_the_definition(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pipelines.local.definitions import definition_cache_key

    dev = definition_cache_key("dev")
    assert dev == definition_cache_key("dev")
    assert dev != definition_cache_key("prod")
    # a --config file changes the settings, and so the definition
    assert dev != definition_cache_key("dev", '{"data": {"target_column": "units"}}')
    monkeypatch.setenv("SAGEMAKER_PIPELINE_ROLE_ARN", "arn:aws:iam::123456789012:role/Other")
    assert dev != definition_cache_key("dev")


def test_transform_instances_get_whole_objects() -> None:
    from pipelines.local.jobs import instance_objects

    assert instance_objects(["a", "b", "c"], 2) == [["a", "c"], ["b"]]
    assert instance_objects(["a"], 2) == [["a"], []]  # the second instance idles
    assert instance_objects(["a", "b"], 1) == [["a", "b"]]

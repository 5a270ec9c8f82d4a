"""`python -m pipelines.upsert --graph`: the DAG drawn from the definition JSON itself."""

from __future__ import annotations

import re
import subprocess
import sys

from pipelines import graph


def _steps(steps: list[dict]) -> list[str]:
    names = []
    for step in steps:
        names.append(step["Name"])
        if step["Type"] == "Condition":
            names += _steps(step["Arguments"]["IfSteps"]) + _steps(step["Arguments"]["ElseSteps"])
    return names


def test_every_step_is_a_node_and_every_dependency_an_edge(dev_definition: dict) -> None:
    nodes, edges = graph.nodes_and_edges(dev_definition)
    assert [n.name for n in nodes] == _steps(dev_definition["Steps"])
    pairs = {(e.source, e.target, e.label) for e in edges}
    expected = {
        ("Preprocess", "Train", ""),  # Train's inputs are Preprocess's outputs
        ("Train", "Evaluate", ""),
        ("Evaluate", "CheckQuality", ""),  # JsonGet on Evaluate's property file
        ("CheckQuality", "CheckChampion", "true"),
        ("CheckQuality", "ModelQualityFail", "false"),
        ("CheckAlreadyRegistered", "RegisterModel", "false"),
        ("CheckAlreadyRegistered", "CreateModel", ""),  # DependsOn
        ("CreateModel", "BatchTransform", ""),
        ("MonitorDrift", "CheckDrift", ""),
    }
    assert expected <= pairs
    names = {n.name for n in nodes}
    assert all(e.source in names and e.target in names for e in edges)
    assert ("Train", "Preprocess", "") not in pairs


def test_references_dependson_and_branches_of_a_small_definition() -> None:
    definition = {
        "Steps": [
            {"Name": "A", "Type": "Processing", "Arguments": {}},
            {
                "Name": "B",
                "Type": "Training",
                "DependsOn": ["A"],
                "Arguments": {
                    "X": {"Std:Join": {"Values": [{"Get": "Steps.A.ProcessingOutputConfig"}]}}
                },
            },
            {
                "Name": "C",
                "Type": "Condition",
                "Arguments": {
                    "Conditions": [{"LeftValue": {"Get": "Steps.B.FinalMetricDataList"}}],
                    "IfSteps": [{"Name": "D", "Type": "Fail", "Arguments": {}}],
                    "ElseSteps": [],
                },
            },
        ]
    }
    _, edges = graph.nodes_and_edges(definition)
    assert [(e.source, e.target, e.label) for e in edges] == [
        ("A", "B", ""),
        ("C", "D", "true"),
        ("B", "C", ""),
    ]
    text = graph.mermaid(definition)
    assert text.startswith("flowchart TD\n")
    assert '    C{"C<br/><small>Condition</small>"}' in text
    assert "    C -->|true| D" in text
    assert '    "A" -> "B";' in graph.dot(definition)


def test_upsert_graph_prints_mermaid_and_dot_offline(dev_definition: dict) -> None:
    env = {"PATH": "", "AWS_EC2_METADATA_DISABLED": "true"}  # no credentials at all
    for fmt, first in (("mermaid", "flowchart TD"), ("dot", "digraph pipeline {")):
        shown = subprocess.run(
            [sys.executable, "-m", "pipelines.upsert", "--graph", fmt],
            capture_output=True,
            text=True,
            check=False,
            env=env,
        )
        assert shown.returncode == 0, shown.stderr
        assert shown.stdout.splitlines()[0] == first
        edge = r"-->" if fmt == "mermaid" else r"->"
        assert len(re.findall(edge, shown.stdout)) == len(graph.nodes_and_edges(dev_definition)[1])

"""The DAG of a pipeline definition, drawn from its JSON (Mermaid or Graphviz dot).

Read from the definition itself, not from the builder, so the picture is of what is
published: a step is every entry of `Steps` and of each Condition's `IfSteps`/`ElseSteps`;
an edge is a property reference ({"Get": "Steps.<name>...."} anywhere in a step, JsonGet's
property files included), a `DependsOn`, or a Condition's branch (labelled true / false).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

FORMATS = ("mermaid", "dot")


@dataclass(frozen=True)
class Node:
    name: str
    type: str
    display: str


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    label: str = ""  # "true" / "false" for a Condition's branches


def _all_steps(steps: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for step in steps:
        yield step
        if step["Type"] == "Condition":
            yield from _all_steps(step["Arguments"].get("IfSteps", []))
            yield from _all_steps(step["Arguments"].get("ElseSteps", []))


def _references(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        get = node.get("Get")
        if isinstance(get, str) and get.startswith("Steps."):
            yield get.split(".")[1]
        for value in node.values():
            yield from _references(value)
    elif isinstance(node, list):
        for value in node:
            yield from _references(value)


def nodes_and_edges(definition: dict[str, Any]) -> tuple[list[Node], list[Edge]]:
    """Every step and every edge between two steps, in definition order, without repeats."""
    steps = list(_all_steps(definition["Steps"]))
    nodes = [Node(s["Name"], s["Type"], s.get("DisplayName") or s["Name"]) for s in steps]
    edges: list[Edge] = []
    for step in steps:
        name = step["Name"]
        own = {k: v for k, v in step.items() if k != "Arguments"}
        arguments = dict(step.get("Arguments", {}))
        if step["Type"] == "Condition":
            arguments.pop("IfSteps", None)
            arguments.pop("ElseSteps", None)
            for branch, label in (("IfSteps", "true"), ("ElseSteps", "false")):
                for child in step["Arguments"].get(branch, []):
                    edges.append(Edge(name, child["Name"], label))
        sources = [*_references(arguments), *_references(own), *step.get("DependsOn", [])]
        for source in dict.fromkeys(sources):
            if source != name:
                edges.append(Edge(source, name))
    return nodes, list(dict.fromkeys(edges))


def _id(name: str) -> str:
    return re.sub(r"\W", "_", name)


_MERMAID_SHAPES = {
    "Condition": ("{", "}"),
    "Fail": ("[[", "]]"),
    "RegisterModel": ("[/", "/]"),
    "Model": ("([", "])"),
}


def mermaid(definition: dict[str, Any]) -> str:
    """A Mermaid flowchart (GitHub and Studio's notebooks render it)."""
    nodes, edges = nodes_and_edges(definition)
    lines = ["flowchart TD"]
    for node in nodes:
        left, right = _MERMAID_SHAPES.get(node.type, ("[", "]"))
        label = f"{node.display}<br/><small>{node.type}</small>".replace('"', "'")
        lines.append(f'    {_id(node.name)}{left}"{label}"{right}')
    for edge in edges:
        arrow = f"-->|{edge.label}|" if edge.label else "-->"
        lines.append(f"    {_id(edge.source)} {arrow} {_id(edge.target)}")
    return "\n".join(lines) + "\n"


_DOT_SHAPES = {"Condition": "diamond", "Fail": "octagon", "RegisterModel": "folder"}


def dot(definition: dict[str, Any]) -> str:
    """Graphviz dot (`dot -Tsvg`)."""
    nodes, edges = nodes_and_edges(definition)
    lines = ["digraph pipeline {", "    rankdir=TB;", '    node [shape=box, fontname="Helvetica"];']
    for node in nodes:
        shape = _DOT_SHAPES.get(node.type, "box")
        label = f"{node.display}\\n({node.type})".replace('"', "'")
        lines.append(f'    "{node.name}" [label="{label}", shape={shape}];')
    for edge in edges:
        label = f' [label="{edge.label}"]' if edge.label else ""
        lines.append(f'    "{edge.source}" -> "{edge.target}"{label};')
    lines.append("}")
    return "\n".join(lines) + "\n"


def render(definition: dict[str, Any], fmt: str) -> str:
    return mermaid(definition) if fmt == "mermaid" else dot(definition)

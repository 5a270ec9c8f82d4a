"""Resolve the definition's expressions: Get, Std:Join, Std:JsonGet, and conditions.

What a Get can point at: `Parameters.<name>`, `Execution.<variable>`, and
`Steps.<step>.<property path>`, where the path indexes the step's recorded properties the way
the Describe* responses are shaped (`ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

_TOKEN = re.compile(r"\.?([A-Za-z_][A-Za-z0-9_]*)|\['([^']*)'\]|\[(-?\d+)\]")


class ExpressionError(ValueError):
    """An expression the runner cannot resolve; the message says which and why."""


def path_tokens(path: str) -> list[str | int]:
    tokens: list[str | int] = []
    pos = 0
    while pos < len(path):
        match = _TOKEN.match(path, pos)
        if not match:
            raise ExpressionError(f"cannot parse property path {path!r} at {path[pos:]!r}")
        name, key, index = match.groups()
        tokens.append(int(index) if index is not None else (name if name is not None else key))
        pos = match.end()
    return tokens


def walk(node: Any, tokens: list[str | int], where: str) -> Any:
    for token in tokens:
        try:
            node = node[token]
        except (KeyError, IndexError, TypeError):
            raise ExpressionError(f"{where}: no {token!r} in {_preview(node)}") from None
    return node


def _preview(node: Any) -> str:
    if isinstance(node, dict):
        return f"an object with keys {sorted(node)[:8]}"
    return f"a {type(node).__name__}"


class Resolver:
    """Turns definition values into plain values for one execution.

    Args:
        parameters: name -> value for this execution.
        execution: Execution.* variables.
        step_properties: step name -> recorded properties (filled as steps finish).
        read_property_file: (step, property file name) -> parsed JSON document.
    """

    def __init__(
        self,
        parameters: dict[str, Any],
        execution: dict[str, Any],
        step_properties: dict[str, dict[str, Any]],
        read_property_file: Callable[[str, str], Any],
    ) -> None:
        self.parameters = parameters
        self.execution = execution
        self.step_properties = step_properties
        self.read_property_file = read_property_file

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if set(value) == {"Get"}:
            return self.get(value["Get"])
        if set(value) == {"Std:Join"}:
            spec = value["Std:Join"]
            return spec["On"].join(_as_text(self.resolve(v)) for v in spec["Values"])
        if set(value) == {"Std:JsonGet"}:
            spec = value["Std:JsonGet"]
            ref = spec["PropertyFile"]["Get"]
            parts = ref.split(".")
            if len(parts) != 4 or parts[0] != "Steps" or parts[2] != "PropertyFiles":
                raise ExpressionError(f"unsupported property file reference {ref!r}")
            document = self.read_property_file(parts[1], parts[3])
            return walk(document, path_tokens(spec["Path"]), f"JsonGet {spec['Path']!r}")
        return {k: self.resolve(v) for k, v in value.items()}

    def get(self, reference: str) -> Any:
        head, _, rest = reference.partition(".")
        if head == "Parameters":
            if rest not in self.parameters:
                raise ExpressionError(f"unknown parameter {rest!r}")
            return self.parameters[rest]
        if head == "Execution":
            if rest not in self.execution:
                raise ExpressionError(f"unknown execution variable {rest!r}")
            return self.execution[rest]
        if head == "Steps":
            step, _, path = rest.partition(".")
            if step not in self.step_properties:
                raise ExpressionError(f"{reference}: step {step!r} has not run")
            return walk(self.step_properties[step], path_tokens(path), reference)
        raise ExpressionError(f"unsupported reference {reference!r}")

    def condition(self, spec: dict[str, Any]) -> bool:
        """Evaluate one condition of a ConditionStep (every type the SDK emits)."""
        kind = spec["Type"]
        if kind == "Not":
            return not self.condition(spec["Condition"])
        if kind == "Or":
            return any(self.condition(c) for c in spec["Conditions"])
        if kind == "In":
            value = self.resolve(spec["QueryValue"])
            return any(_equal(value, self.resolve(v)) for v in spec["Values"])
        left, right = self.resolve(spec["LeftValue"]), self.resolve(spec["RightValue"])
        compare = {
            "Equals": _equal,
            "GreaterThan": lambda a, b: _number(a) > _number(b),
            "GreaterThanOrEqualTo": lambda a, b: _number(a) >= _number(b),
            "LessThan": lambda a, b: _number(a) < _number(b),
            "LessThanOrEqualTo": lambda a, b: _number(a) <= _number(b),
        }
        if kind not in compare:
            raise ExpressionError(f"unsupported condition type {kind!r}")
        return bool(compare[kind](left, right))


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ExpressionError(f"{value!r} is not a number") from None


def _equal(a: Any, b: Any) -> bool:
    try:
        return float(a) == float(b)
    except (TypeError, ValueError):
        return bool(a == b)

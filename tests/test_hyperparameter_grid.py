"""How benchmarks.hyperparameter_grid picks the defaults from its lines (no fitting here)."""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks.hyperparameter_grid import choose


def line(name: str, by_seed: list[float], seconds: float) -> dict[str, Any]:
    return {
        "name": name,
        "validation_mape": sum(by_seed) / len(by_seed),
        "validation_mape_by_seed": by_seed,
        "seconds": seconds,
    }


def test_the_cheapest_setting_within_one_standard_error_of_the_lowest_is_chosen() -> None:
    lowest = line("lowest", [0.0750, 0.0760, 0.0770], seconds=5.0)  # mean 0.0760, SE 0.000577
    near_and_cheap = line("near", [0.0762, 0.0763, 0.0764], seconds=2.0)  # within the error
    far_and_cheaper = line("far", [0.0780, 0.0781, 0.0782], seconds=1.0)  # not within it
    chosen, bound = choose([lowest, near_and_cheap, far_and_cheaper])
    assert chosen["name"] == "near"
    assert bound == pytest.approx(0.0760 + 0.001 / 3**0.5)  # the lowest mean + its SE


def test_with_one_seed_the_lowest_mean_is_chosen() -> None:
    chosen, bound = choose([line("a", [0.076], 5.0), line("b", [0.0761], 1.0)])
    assert chosen["name"] == "a" and bound == 0.076

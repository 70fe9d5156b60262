"""APGR and CPT against hand-computed curves."""

from __future__ import annotations

import math

import numpy as np
import pytest

from llm_router_middleware.learned.metrics import routing_curve

WEAK = [0.0, 0.0, 1.0, 1.0]
STRONG = [1.0, 1.0, 1.0, 0.0]


def test_a_perfect_router_wins_the_gap_first() -> None:
    # gains: +1, +1, 0, -1 -> mean weak 0.5, strong 0.75
    curve = routing_curve([4, 3, 2, 1], WEAK, STRONG)
    assert curve.weak == 0.5
    assert curve.strong == 0.75
    assert list(curve.quality) == [0.5, 0.75, 1.0, 1.0, 0.75]
    # area = 0.25 * (0.625 + 0.875 + 1.0 + 0.875) = 0.84375 -> (0.84375 - 0.5) / 0.25
    assert curve.apgr == pytest.approx(1.375)
    assert curve.cpt(0.5) == pytest.approx(0.125)
    assert curve.cpt(1.0) == pytest.approx(0.25)
    assert curve.quality_at(0.5) == 1.0


def test_the_reverse_router_loses() -> None:
    curve = routing_curve([1, 2, 3, 4], WEAK, STRONG)
    assert curve.apgr < 0
    assert curve.cpt(0.5) == pytest.approx(0.875)


def test_tied_scores_move_together_and_interpolate() -> None:
    curve = routing_curve([1, 1, 1, 1], WEAK, STRONG)
    assert list(curve.shares) == [0.0, 1.0]
    assert curve.apgr == pytest.approx(0.5)  # the expectation of a random split


def test_random_scores_average_one_half() -> None:
    rng = np.random.default_rng(1)
    weak = rng.random(400) < 0.4
    strong = rng.random(400) < 0.7
    values = [routing_curve(rng.random(400), weak, strong).apgr for _ in range(50)]
    assert float(np.mean(values)) == pytest.approx(0.5, abs=0.05)


def test_no_gap_has_no_apgr() -> None:
    assert math.isnan(routing_curve([1, 2], [1, 0], [0, 1]).apgr)
    with pytest.raises(ValueError, match="same non-zero length"):
        routing_curve([1], [1, 0], [0, 1])


def test_plan_attribute_keys_match_the_telemetry_constants() -> None:
    from llm_router_middleware import telemetry
    from llm_router_middleware.routing.learned import KEYS

    names = {v for k, v in vars(telemetry).items() if k.startswith("LEARNED_")}
    assert {f"llm_router.{key}" for key in KEYS} == names

"""Plans pinned across rewrites: 1500 seeded-random requests (every strategy, filter, budget
and refusal) plan exactly as the planner did before its fast-path rewrite (plan_support.py)."""

from __future__ import annotations

import json
from pathlib import Path

from plan_support import outcomes

GOLDEN = Path(__file__).with_name("plan_golden.json")


def test_plans_and_refusals_match_the_pinned_outcomes() -> None:
    expected = json.loads(GOLDEN.read_text())
    got = outcomes()
    assert len(got) == len(expected)
    for i, (g, e) in enumerate(zip(got, expected, strict=True)):
        assert g == e, f"case {i}"


def test_planning_again_gives_the_same_outcomes() -> None:
    """Whatever the planner caches per config must not leak from one request to the next."""
    assert outcomes() == outcomes()

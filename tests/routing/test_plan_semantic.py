"""make_plan's own paths: a semantic miss that falls through to complexity is selected without
a Selector (the plan must be the complexity strategy's with the semantic lead and the
preselection's attributes first, also after a budget downgrade, for either fallthrough that
classifies), and the budget's rejections are built in the candidate loop."""

from __future__ import annotations

import dataclasses
import random

import pytest
from test_planner import CONFIG, budget, inp, same_but_the_lead, view

from llm_router_middleware.errors import RouterError
from llm_router_middleware.routing import LatencyFigures, Preselection, make_plan

ATTRS = {"semantic.score": 0.412, "semantic.threshold": 0.6, "semantic.cached": True}
MISS = Preselection(None, "best route chat (0.4120) below threshold 0.6", ATTRS)
LEAD = "semantic: no match (best route chat (0.4120) below threshold 0.6); "


@pytest.mark.parametrize("fallthrough", ["complexity", "semantic"])
def test_a_semantic_miss_plans_as_complexity_with_the_lead_and_its_attributes(
    fallthrough: str,
) -> None:
    rng = random.Random(11)
    downgrades = 0
    for _ in range(300):
        state = view(budget=budget(rng.choice((None, 0.0001, 0.001, 0.004, 1.0))))
        text = rng.choice(("hi", "Please analyze the trade-offs, step by step, and prove it"))
        direct_inp = inp("complexity", text)
        semantic_inp = dataclasses.replace(
            direct_inp, strategy="semantic", preselection=MISS, fallthrough=fallthrough
        )
        try:
            direct = make_plan(CONFIG, direct_inp, state)
        except RouterError as error:  # the same refusal either way
            refusal = error
            with pytest.raises(type(refusal)) as raised:
                make_plan(CONFIG, semantic_inp, state)
            assert str(raised.value) == str(refusal)
            continue
        plan = make_plan(CONFIG, semantic_inp, state)
        assert plan.strategy == "semantic"
        assert dict(plan.estimates_usd) == dict(direct.estimates_usd)
        # the preselection's attributes first, then the complexity strategy's, in its order
        assert list(plan.attributes.items()) == [*ATTRS.items(), *direct.attributes.items()]
        downgrades += same_but_the_lead(plan, direct, LEAD)
    assert downgrades > 10


def test_a_semantic_miss_falling_through_elsewhere_is_not_classified() -> None:
    plan = make_plan(CONFIG, inp("semantic", "hi", preselection=MISS, fallthrough="cost"), view())
    assert plan.reason.startswith(LEAD + "cost: cheapest")
    assert "complexity.level" not in plan.attributes


def test_a_model_over_the_budget_that_the_latency_objective_filters_has_no_budget_rejection() -> (
    None
):
    """The budget's rejections are built in the candidate loop and added after the objective's:
    a model the objective removes keeps only its latency rejection."""
    tier = dataclasses.replace(CONFIG.tiers["pro"], max_latency_s=1.0)
    slow = LatencyFigures(1.5, 2.5, 10)  # fewer samples than min_samples: the ewma
    fast = LatencyFigures(0.2, 0.4, 10)
    state = view(budget=budget(0.0015), latency={"premium": slow, "balanced": fast})
    plan = make_plan(CONFIG, dataclasses.replace(inp("fixed"), tier=tier), state)
    assert [(r.model, r.code, r.reason) for r in plan.rejected] == [
        (
            "premium",
            "latency",
            "premium: ewma latency 1.500 s over its last 10 calls > max_latency_s 1 s",
        ),
        ("balanced", "budget", "balanced: ~$0.002024 > $0.0015 left (user:u1)"),
    ]
    assert plan.order == ("cheap", "local")
    assert plan.downgraded

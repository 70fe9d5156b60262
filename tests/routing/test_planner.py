from __future__ import annotations

import os
from dataclasses import fields, replace
from typing import Any

import pytest

import llm_router_middleware.routing as routing
from llm_router_middleware.config import RouterConfig, load_config
from llm_router_middleware.context import RequestContext
from llm_router_middleware.errors import (
    BudgetExhaustedError,
    DeadlineExceededError,
    InvalidRequestError,
    NoModelAvailableError,
    PromptTooLongError,
)
from llm_router_middleware.routing import (
    BudgetSnapshot,
    Plan,
    PlanInput,
    Preselection,
    StateView,
    make_plan,
)

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

COMPLEX = "Analyze the trade-offs of event sourcing versus CRUD, step by step."


def model(name: str, in_: float, out: float, quality: float, window: int, **kw: Any) -> Any:
    return {
        "name": name,
        "model": f"openai/{name}-test",
        "input_cost_per_1m": in_,
        "output_cost_per_1m": out,
        "quality": quality,
        "context_window": window,
        **kw,
    }


def make_config(**budgets: Any) -> RouterConfig:
    return load_config(
        {
            "models": [
                model("cheap", 0.1, 0.4, 0.5, 16_000),
                model("balanced", 1.0, 4.0, 0.75, 32_000, rpm=60),
                model("premium", 5.0, 15.0, 0.95, 128_000),
                model("local", 0.0, 0.0, 0.3, 8_000),
            ],
            "routing": {
                "fallbacks": ["premium", "balanced", "cheap", "local"],
                "max_attempts": 3,
                "complexity": {
                    "levels": {"simple": "cheap", "medium": "balanced", "complex": "premium"}
                },
                "cost": {"quality_floor": 0.7},
                "experiment": {
                    "name": "exp",
                    "control": "balanced",
                    "treatment": "premium",
                    "treatment_share": 0.5,
                },
            },
            "tiers": {
                "free": {"models": ["cheap", "local"]},
                "paid": {"models": ["premium", "cheap"]},
                "pro": {},
            },
            "budgets": {"per_user_usd": 1.0, **budgets},
        }
    )


CONFIG = make_config()
USER = RequestContext(user_id="u1", tier="pro")
VIEW = StateView({}, {}, {}, BudgetSnapshot(None, None, "2026-11-26"), {})


def inp(strategy: str = "fixed", text: str = "hello", tier: str = "pro", **kw: Any) -> PlanInput:
    values: dict[str, Any] = {
        "text": text,
        "prompt_tokens": 1000,
        "context": USER,
        "tier": CONFIG.tiers[tier],
        "strategy": strategy,
    }
    values.update(kw)
    return PlanInput(**values)


def view(**kw: Any) -> StateView:
    return replace(VIEW, **kw)


def budget(remaining: float | None, scope: str | None = "user:u1") -> BudgetSnapshot:
    return BudgetSnapshot(remaining, scope, "2026-11-26")


def same_but_the_lead(plan: Plan, direct: Plan, lead: str) -> bool:
    """Assert ``plan`` (a semantic miss falling through) is ``direct`` (its strategy selected
    directly) but for the semantic ``lead`` in its reason, downgraded or not; whether it was."""
    assert plan.order == direct.order
    assert plan.downgraded == direct.downgraded
    assert [(r.model, r.code, r.reason) for r in plan.rejected] == [
        (r.model, r.code, r.reason) for r in direct.rejected
    ]
    if direct.downgraded:
        head, _, tail = direct.reason.partition("; ")
        assert plan.reason == f"{head}; {lead}{tail}"
    else:
        assert plan.reason == lead + direct.reason
    return direct.downgraded


def codes(plan: Plan) -> dict[str, str]:
    return {r.model: r.code for r in plan.rejected}


# --- candidates and filters ---------------------------------------------------------------


def test_fixed_order_truncated_to_max_attempts() -> None:
    plan = make_plan(CONFIG, inp(), VIEW)
    assert plan.order == ("premium", "balanced", "cheap")
    assert plan.candidates == ("premium", "balanced", "cheap", "local")
    assert plan.reason == "fixed: first in order -> premium"
    assert (plan.strategy, plan.tier, plan.prompt_tokens, plan.rejected) == (
        "fixed",
        "pro",
        1000,
        (),
    )
    assert plan.estimates_usd["premium"] == pytest.approx(1000 * 5e-6 + 256 * 15e-6)
    assert set(plan.estimates_usd) == set(plan.order)
    assert plan.attributes["cost.estimate_usd"] == plan.estimates_usd["premium"]


def test_tier_lists_its_own_models_in_its_own_order() -> None:
    plan = make_plan(CONFIG, inp(tier="paid"), VIEW)
    assert plan.candidates == ("premium", "cheap")
    assert plan.order == ("premium", "cheap")


def test_view_allow_list_narrows_the_candidates_in_its_own_order() -> None:
    plan = make_plan(CONFIG, inp(allowed=("cheap", "balanced")), VIEW)
    assert plan.candidates == ("cheap", "balanced")  # the excluded models are not candidates
    assert plan.rejected == ()
    assert plan.order == ("cheap", "balanced")  # fixed: the view's order, not the tier's
    complexity = make_plan(CONFIG, inp("complexity", COMPLEX, allowed=("cheap", "balanced")), VIEW)
    assert complexity.selected == "balanced"
    assert "premium not allowed for tier pro and this view" in complexity.reason


def test_view_allow_list_outside_the_tier_names_both() -> None:
    with pytest.raises(NoModelAvailableError, match="this view allows premium") as caught:
        make_plan(CONFIG, inp(tier="free", allowed=("premium",)), VIEW)
    assert "the tier allows only cheap, local" in str(caught.value)


def test_context_window_rejection_names_both_numbers() -> None:
    plan = make_plan(CONFIG, inp(prompt_tokens=20_000), VIEW)
    assert plan.order == ("premium", "balanced")
    assert codes(plan) == {"cheap": "context_window", "local": "context_window"}
    reason = next(r.reason for r in plan.rejected if r.model == "cheap")
    assert "20256" in reason
    assert "16000" in reason


def test_expected_output_tokens_override() -> None:
    plan = make_plan(CONFIG, inp(prompt_tokens=15_000, expected_output_tokens=2_000), VIEW)
    assert codes(plan)["cheap"] == "context_window"
    assert plan.estimates_usd["premium"] == pytest.approx(15_000 * 5e-6 + 2_000 * 15e-6)


def test_breaker_cooldown_and_rate_limit_filters() -> None:
    plan = make_plan(
        CONFIG,
        inp(),
        view(
            blocked={"premium": "circuit open after 5 consecutive failures"},
            cooldowns={"cheap": 12.5},
            rpm_used={"balanced": 60.0},
        ),
    )
    assert plan.order == ("local",)
    assert codes(plan) == {"premium": "breaker_open", "balanced": "rate_limit", "cheap": "cooldown"}
    reasons = {r.model: r.reason for r in plan.rejected}
    assert "circuit open" in reasons["premium"]
    assert "12.5 s" in reasons["cheap"]
    assert "60 requests this minute >= rpm 60" in reasons["balanced"]
    assert plan.reason == "fixed: premium unavailable (breaker_open) -> local"


def test_deadline_filter_uses_latency_only_when_known() -> None:
    ctx = replace(USER, deadline=100.0)
    plan = make_plan(
        CONFIG,
        inp(context=ctx),
        view(now_monotonic=99.0, latency_s={"premium": 2.5, "balanced": 0.5}),
    )
    assert plan.order == ("balanced", "cheap", "local")
    assert codes(plan) == {"premium": "deadline"}
    assert "2.500 s > 1.000 s left" in plan.rejected[0].reason
    # no clock reading in the view: the filter is off
    assert make_plan(CONFIG, inp(context=ctx), view(latency_s={"premium": 9.0})).selected == (
        "premium"
    )
    with pytest.raises(DeadlineExceededError):
        make_plan(CONFIG, inp(context=ctx), view(now_monotonic=100.5))


def test_everything_filtered_raises_with_retry_after() -> None:
    with pytest.raises(NoModelAvailableError) as info:
        make_plan(
            CONFIG,
            inp(tier="free"),
            view(
                blocked={"cheap": "circuit open"},
                blocked_retry_s={"cheap": 20.0},
                cooldowns={"local": 7.0},
            ),
        )
    err = info.value
    assert err.retry_after_s == 7.0
    assert [m for m, _ in err.rejected] == ["cheap", "local"]
    assert "tier 'free'" in str(err)
    assert err.headers() == {"retry-after": "7"}
    with pytest.raises(PromptTooLongError) as too_long:  # no window fits: waiting cannot help
        make_plan(CONFIG, inp(prompt_tokens=200_000), VIEW)
    assert too_long.value.status_code == 413
    assert too_long.value.prompt_tokens == 200_000
    assert str(too_long.value.largest_window) in too_long.value.message


def test_unknown_strategy() -> None:
    with pytest.raises(InvalidRequestError, match="'random'"):
        make_plan(CONFIG, inp("random"), VIEW)


# --- strategies -----------------------------------------------------------------------------


def test_cost_picks_cheapest_meeting_the_quality_floor() -> None:
    plan = make_plan(CONFIG, inp("cost"), VIEW)
    assert plan.order == ("balanced", "premium")
    assert codes(plan) == {"cheap": "quality", "local": "quality"}
    assert plan.reason.startswith("cost: cheapest meeting quality floor 0.7 -> balanced")
    assert plan.attributes["cost.quality_floor"] == 0.7
    # the tier's own floor wins; the rest of the order is cheapest-first too
    tier = replace(CONFIG.tiers["pro"], quality_floor=0.0)
    plan = make_plan(CONFIG, replace(inp("cost"), tier=tier), VIEW)
    assert plan.order == ("local", "cheap", "balanced")


def test_cost_cap_per_call() -> None:
    plan = make_plan(CONFIG, inp("fixed", max_cost_usd=0.005), VIEW)
    assert codes(plan) == {"premium": "cost_cap"}
    assert plan.selected == "balanced"


def test_complexity_levels_and_fallback_to_a_nearby_level() -> None:
    plan = make_plan(CONFIG, inp("complexity", COMPLEX), VIEW)
    assert plan.order == ("premium", "balanced", "cheap")
    assert plan.reason == (
        "complexity=complex: 3 complex keywords (analyze, step by step, trade-offs) -> premium"
    )
    assert plan.attributes["complexity.level"] == "complex"
    assert make_plan(CONFIG, inp("complexity", "hi"), VIEW).selected == "cheap"
    assert make_plan(CONFIG, inp("complexity", "x" * 300), VIEW).selected == "balanced"
    plan = make_plan(CONFIG, inp("complexity", COMPLEX), view(blocked={"premium": "circuit open"}))
    assert plan.selected == "balanced"
    assert plan.reason.endswith("; premium unavailable (breaker_open) -> medium model balanced")


def test_experiment_arm_first_and_recorded_on_the_plan() -> None:
    from llm_router_middleware.routing import bucket_of

    users = {bucket_of("exp", f"user-{i}") < 5000: f"user-{i}" for i in range(20)}
    treated = replace(USER, user_id=users[True])
    plan = make_plan(CONFIG, inp("experiment", context=treated), VIEW)
    assert (plan.experiment, plan.arm, plan.selected) == ("exp", "treatment", "premium")
    assert plan.attributes["experiment.arm_available"] is True
    control = replace(USER, user_id=users[False])
    plan = make_plan(CONFIG, inp("experiment", context=control), VIEW)
    assert (plan.arm, plan.order) == ("control", ("balanced", "premium", "cheap"))

    blocked = make_plan(
        CONFIG, inp("experiment", context=treated), view(blocked={"premium": "circuit open"})
    )
    assert (blocked.arm, blocked.selected) == ("treatment", "balanced")
    assert blocked.attributes["experiment.arm_available"] is False
    assert "arm premium unavailable (breaker_open)" in blocked.reason

    anon = make_plan(CONFIG, inp("experiment", context=RequestContext()), VIEW)
    assert (anon.experiment, anon.arm, anon.selected) == (None, None, "balanced")
    assert "anonymous: not enrolled" in anon.reason


def test_semantic_preselection_or_fall_through_to_complexity() -> None:
    pre = Preselection("cheap", "route greeting (score 0.91)", {"semantic.route": "greeting"})
    plan = make_plan(CONFIG, inp("semantic", COMPLEX, preselection=pre), VIEW)
    assert plan.selected == "cheap"
    assert plan.reason == "semantic: route greeting (score 0.91) -> cheap"
    assert plan.attributes["semantic.route"] == "greeting"

    miss = Preselection(None, "best route code (0.41) below threshold 0.6")
    plan = make_plan(CONFIG, inp("semantic", COMPLEX, preselection=miss), VIEW)
    assert plan.selected == "premium"
    assert plan.reason.startswith("semantic: no match (best route code")
    assert "complexity=complex" in plan.reason

    plan = make_plan(CONFIG, inp("semantic", "hi", preselection=pre), view(cooldowns={"cheap": 3}))
    assert plan.selected != "cheap"
    assert "cheap unavailable (cooldown)" in plan.reason


# --- budgets --------------------------------------------------------------------------------


def test_downgrade_picks_an_affordable_model_and_says_why() -> None:
    plan = make_plan(CONFIG, inp("complexity", COMPLEX), view(budget=budget(0.001)))
    assert plan.downgraded is True
    assert plan.selected == "cheap"
    assert plan.order == ("cheap", "local")
    assert codes(plan) == {"premium": "budget", "balanced": "budget"}
    assert "budget downgrade: preferred premium" in plan.reason
    assert "$0.001 left (user:u1)" in plan.reason
    assert (plan.budget_remaining_usd, plan.budget_scope) == (0.001, "user:u1")


def test_affordable_preferred_model_keeps_only_affordable_fallbacks() -> None:
    plan = make_plan(CONFIG, inp("complexity", "hi"), view(budget=budget(0.001)))
    assert plan.downgraded is False
    assert plan.order == ("cheap", "local")


def test_refuse_raises_with_configured_status() -> None:
    config = make_config(on_exhausted="refuse", refuse_status=429)
    with pytest.raises(BudgetExhaustedError) as info:
        make_plan(config, inp("complexity", COMPLEX), view(budget=budget(0.001)))
    err = info.value
    assert (err.status_code, err.scope, err.remaining_usd) == (429, "user:u1", 0.001)
    assert "premium" in err.message
    assert err.to_json()["error"]["scope"] == "user:u1"
    # the preferred model fits: no refusal
    assert make_plan(config, inp("complexity", "hi"), view(budget=budget(0.001))).selected == (
        "cheap"
    )


@pytest.mark.parametrize("policy", ["downgrade", "refuse"])
def test_zero_budget_never_bypassed_by_a_paid_fallback(policy: str) -> None:
    config = make_config(on_exhausted=policy)
    with pytest.raises(BudgetExhaustedError) as info:
        make_plan(config, inp(tier="paid"), view(budget=budget(0.0, "global")))
    assert (info.value.scope, info.value.remaining_usd, info.value.status_code) == (
        "global",
        0.0,
        402,
    )
    assert "cheapest allowed model cheap" in info.value.message


def test_zero_budget_lets_free_models_through_on_downgrade() -> None:
    plan = make_plan(CONFIG, inp(), view(budget=budget(0.0)))
    assert plan.order == ("local",)
    assert plan.downgraded is True
    assert plan.estimates_usd == {"local": 0.0}


# --- shape and speed ------------------------------------------------------------------------


def test_plan_equals_one_built_by_the_dataclass_constructor() -> None:
    plan = make_plan(CONFIG, inp("complexity", COMPLEX), view(budget=budget(0.001)))
    assert plan == Plan(**{f.name: getattr(plan, f.name) for f in fields(Plan)})
    assert plan.rejected[0] == routing.Rejection(
        plan.rejected[0].model, plan.rejected[0].code, plan.rejected[0].reason
    )
    with pytest.raises(AttributeError):
        plan.order = ()  # type: ignore[misc]


def test_public_names_are_pinned() -> None:
    assert sorted(routing.__all__) == sorted(
        [
            "BUCKETS",
            "ArmStats",
            "Assignment",
            "AttributeValue",
            "BudgetLedger",
            "BudgetSnapshot",
            "ComplexityResult",
            "Difference",
            "ExperimentLog",
            "ExperimentReport",
            "LatencyFigures",
            "LatencyTracker",
            "Plan",
            "PlanInput",
            "Preselection",
            "Rejection",
            "Reservation",
            "StateView",
            "assign",
            "bucket_of",
            "classify_complexity",
            "make_plan",
            "mean_ci",
            "welch",
            "wilson",
        ]
    )
    for name in routing.__all__:
        assert hasattr(routing, name)

"""Latency figures (EWMA, p95, time to first token), the ``latency`` strategy and a tier's
``max_latency_s`` objective: pure planning over a StateView, and the config keys."""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any

import pytest

from llm_router_middleware.config import load_config
from llm_router_middleware.context import RequestContext
from llm_router_middleware.errors import ConfigError
from llm_router_middleware.policy import Policy
from llm_router_middleware.routing import (
    BudgetSnapshot,
    LatencyFigures,
    LatencyTracker,
    PlanInput,
    StateView,
    make_plan,
)

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

VIEW = StateView({}, {}, {}, BudgetSnapshot(None, None, "2026-12-01"), {})


def model(name: str, quality: float) -> dict[str, Any]:
    return {
        "name": name,
        "model": f"openai/{name}-test",
        "input_cost_per_1m": 1.0,
        "output_cost_per_1m": 2.0,
        "quality": quality,
        "context_window": 16_000,
    }


def config(**tiers: Any) -> Any:
    return load_config(
        {
            "models": [model("slow", 0.9), model("mid", 0.8), model("fast", 0.4)],
            "routing": {
                "strategy": "latency",
                "cost": {"quality_floor": 0.7},
                "latency": {"min_samples": 3, "window": 8},
            },
            "tiers": {"default": {}, **tiers},
        }
    )


def plan(cfg: Any, figures: dict[str, LatencyFigures], tier: str = "default", **kw: Any) -> Any:
    inp = PlanInput(
        text="hello",
        prompt_tokens=10,
        context=RequestContext(tier=tier),
        tier=cfg.tiers[tier],
        strategy=kw.pop("strategy", "latency"),
        **kw,
    )
    return make_plan(cfg, inp, replace(VIEW, latency=figures))


def figures(ewma: float, p95: float, samples: int = 10) -> LatencyFigures:
    return LatencyFigures(ewma_s=ewma, p95_s=p95, samples=samples)


# --- the tracker ---------------------------------------------------------------------------------
def test_tracker_keeps_ewma_p95_and_ttft_per_model() -> None:
    tracker = LatencyTracker(alpha=0.5, window=20)
    for value in range(1, 21):  # 1..20 s
        tracker.observe("a", float(value))
    tracker.observe_ttft("a", 0.4)
    tracker.observe_ttft("a", 0.2)
    seen = tracker.figures(["a", "b"])
    assert list(seen) == ["a"]  # b has no data
    assert seen["a"].p95_s == 19.0  # nearest rank: ceil(0.95 * 20) = 19th of 20
    assert seen["a"].samples == 20
    assert seen["a"].ewma_s == pytest.approx(19.0 + 1e-6, rel=1e-3)
    assert seen["a"].ttft_s == pytest.approx(0.3)
    assert tracker.p95("a") == (19.0, 20)
    tracker.observe("a", 100.0)  # the window slides: 2..20, 100
    assert tracker.p95("a") == (20.0, 20)


def test_tracker_window_forgets_old_calls_and_stale_models() -> None:
    now = [0.0]
    tracker = LatencyTracker(alpha=1.0, ttl_s=60.0, clock=lambda: now[0], window=3)
    for value in (9.0, 1.0, 1.0, 1.0):
        tracker.observe("a", value)
    assert tracker.p95("a") == (1.0, 3)  # the 9 s call left the window
    now[0] = 61.0
    assert tracker.figures(["a"]) == {}
    tracker.observe("a", 2.0)  # a fresh start, not mixed with the stale window
    assert tracker.p95("a") == (2.0, 1)
    with pytest.raises(ValueError, match="window"):
        LatencyTracker(window=0)


def test_objective_figure_is_the_p95_once_there_is_enough_history() -> None:
    assert figures(0.5, 2.0, samples=2).objective_figure(3) == ("ewma", 0.5)
    assert figures(0.5, 2.0, samples=3).objective_figure(3) == ("p95", 2.0)


# --- the latency strategy ------------------------------------------------------------------------
def test_latency_strategy_picks_the_fastest_meeting_the_quality_floor() -> None:
    cfg = config()
    seen = {"slow": figures(2.0, 3.0), "mid": figures(0.5, 0.9), "fast": figures(0.1, 0.2)}
    result = plan(cfg, seen)
    assert result.selected == "mid"  # fast is quicker but below the 0.7 floor
    assert result.order == ("mid", "slow")
    assert result.reason == (
        "latency: fastest meeting quality floor 0.7 -> mid "
        "(ewma 0.500 s, p95 0.900 s over 10 calls; next slow ewma 2.000 s)"
    )
    assert [(r.model, r.code) for r in result.rejected] == [("fast", "quality")]
    assert result.attributes["latency.quality_floor"] == 0.7


def test_latency_strategy_measures_an_unobserved_model_first() -> None:
    result = plan(config(), {"slow": figures(2.0, 3.0)})
    assert result.selected == "mid"
    assert "mid has no latency observed yet, tried first" in result.reason


def test_latency_strategy_ties_go_to_the_higher_quality_then_pool_order() -> None:
    # by_speed sorts by quality first only when two speeds tie: equal EWMAs, two unmeasured
    cfg = load_config(
        {
            "models": [model("a", 0.7), model("b", 0.9), model("c", 0.8), model("d", 0.95)],
            "routing": {"strategy": "latency", "cost": {"quality_floor": 0.0}},
            "tiers": {"default": {}},
        }
    )
    same = {"a": figures(0.5, 0.9), "b": figures(0.5, 0.9), "c": figures(0.5, 0.9)}
    assert plan(cfg, {**same, "d": figures(0.4, 0.5)}).order[:3] == ("d", "b", "c")
    assert plan(cfg, {"a": figures(0.3, 0.4), "c": figures(0.2, 0.4)}).order[:3] == (
        "d",
        "b",
        "c",
    )
    distinct = {"a": figures(0.3, 0.4), "b": figures(0.6, 0.9), "c": figures(0.2, 0.4)}
    assert plan(cfg, {**distinct, "d": figures(0.7, 0.9)}).order[:3] == ("c", "a", "b")


def test_latency_reason_for_a_lone_candidate_has_no_runner_up() -> None:
    cfg = config()
    result = plan(cfg, {"slow": figures(1.25, 2.5, samples=7)}, allowed=("slow",))
    assert result.reason == (
        "latency: fastest meeting quality floor 0.7 -> slow "
        "(ewma 1.250 s, p95 2.500 s over 7 calls)"
    )


def test_latency_strategy_is_accepted_by_config_and_policy() -> None:
    cfg = config()
    assert cfg.routing.strategy == "latency"
    assert Policy(strategy="latency").validate(cfg).strategy == "latency"


# --- the objective -------------------------------------------------------------------------------
def test_objective_filters_slow_models_with_the_figures_in_the_reason() -> None:
    cfg = config(pro={"max_latency_s": 1.0, "strategy": "fixed"})
    seen = {"slow": figures(0.8, 2.5, samples=10), "mid": figures(0.6, 0.9, samples=10)}
    result = plan(cfg, seen, tier="pro", strategy="fixed")
    assert result.selected == "mid"
    slow = [r for r in result.rejected if r.code == "latency"]
    assert [r.model for r in slow] == ["slow"]
    assert slow[0].reason == (
        "slow: p95 latency 2.500 s over its last 10 calls > max_latency_s 1 s"
    )
    assert result.attributes["latency.objective_s"] == 1.0
    assert result.attributes["latency.objective_met"] is True


def test_objective_uses_the_ewma_before_min_samples_and_passes_unmeasured_models() -> None:
    cfg = config(pro={"max_latency_s": 1.0, "strategy": "fixed"})
    seen = {"slow": figures(1.5, 9.0, samples=2), "mid": figures(0.5, 9.0, samples=2)}
    result = plan(cfg, seen, tier="pro", strategy="fixed")
    assert result.order == ("mid", "fast")  # fast: no data, not filtered
    (slow,) = result.rejected
    assert slow.reason == "slow: ewma latency 1.500 s over its last 2 calls > max_latency_s 1 s"


def test_objective_missed_by_every_candidate_filters_none_and_says_so() -> None:
    cfg = config(pro={"max_latency_s": 0.5, "strategy": "fixed"})
    seen = {n: figures(1.0 + i, 2.0 + i) for i, n in enumerate(("slow", "mid", "fast"))}
    result = plan(cfg, seen, tier="pro", strategy="fixed")
    assert result.order == ("slow", "mid", "fast")
    assert result.reason.startswith(
        "latency objective 0.5 s missed by every candidate (slow p95 2.000 s, mid p95 3.000 s, "
        "fast p95 4.000 s), none filtered; fixed: "
    )
    assert result.attributes["latency.objective_met"] is False
    assert not [r for r in result.rejected if r.code == "latency"]


# --- config errors name the key ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("section", "key"),
    [
        ({"tiers": {"pro": {"max_latency_s": 0}}}, "tiers.pro.max_latency_s"),
        ({"tiers": {"pro": {"hedge": "yes"}}}, "tiers.pro.hedge"),
        ({"tiers": {"pro": {"hedge_after_s": -1}}}, "tiers.pro.hedge_after_s"),
        ({"routing": {"latency": {"alpha": 2}}}, "routing.latency.alpha"),
        ({"routing": {"latency": {"min_samples": 9, "window": 8}}}, "routing.latency.min_samples"),
        ({"routing": {"latency": {"hedge_after": 1}}}, "routing.latency.hedge_after"),
    ],
)
def test_config_errors_name_the_key(section: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config({"models": [model("a", 0.5)], **section})
    assert key in str(info.value)


def test_policy_hedge_errors_name_the_argument() -> None:
    cfg = config()
    with pytest.raises(ConfigError, match=r"llm_policy\(hedge_after_s=...\)"):
        Policy(hedge_after_s=0).validate(cfg)
    with pytest.raises(ConfigError, match="hedge=False"):
        Policy(hedge=False, hedge_after_s=1.0).validate(cfg)
    merged = Policy(hedge=True).merged(Policy(hedge=False))
    assert merged.hedge is False


def test_usd_is_the_six_decimal_text_without_trailing_zeros() -> None:
    from llm_router_middleware.routing.reasons import usd

    values = [0.0, -0.0, 1.0, 0.05, 0.0572, 1e-7, 5e-7, 0.0000015, 123.4560001, -0.25, 3, 10**6]
    values += [i / 997 for i in range(-50, 300)]
    for x in values:
        assert usd(x) == (f"${x:.6f}".rstrip("0").rstrip(".") if x else "$0")
    assert usd(0.0572) == "$0.0572"
    assert usd(0.0) == "$0"
    assert usd(2.0) == "$2"

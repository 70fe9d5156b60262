"""Planning time: our make_plan (10 models, every filter on) for every strategy against litellm
Router's deployment selection (10 deployments of one model name), measured in the same run.

The learned and semantic rows plan with what the router hands the planner once the query
embedding is cached (the prompt's difficulty, the route decision), so they time make_plan alone.

    LITELLM_LOCAL_MODEL_COST_MAP=True python benchmarks/plan_speed.py [iterations]
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from llm_router_middleware.config import load_config
from llm_router_middleware.context import RequestContext
from llm_router_middleware.routing import (
    BudgetSnapshot,
    LatencyFigures,
    PlanInput,
    Preselection,
    StateView,
    classify_complexity,
    make_plan,
)
from llm_router_middleware.routing.learned import LearnedInput

PROMPT = (
    "Please analyze the trade-offs between a write-ahead log and shadow paging for an "
    "embedded database, and recommend one for a device with little flash."
)
MESSAGES = [{"role": "user", "content": PROMPT}]


def config_dict(strategy: str) -> dict[str, Any]:
    models = [
        {
            "name": f"m{i}",
            "model": f"openai/model-{i}",
            "input_cost_per_1m": 0.1 + i,
            "output_cost_per_1m": 0.4 + 3 * i,
            "quality": round(0.5 + i * 0.05, 2),
            "context_window": 8000 if i == 0 else 128_000,
            "rpm": 1000,
        }
        for i in range(10)
    ]
    return {
        "models": models,
        "routing": {
            "strategy": strategy,
            "fallbacks": [m["name"] for m in models],
            "max_attempts": 4,
            "cost": {"quality_floor": 0.6},
            "complexity": {"levels": {"simple": "m1", "medium": "m5", "complex": "m9"}},
            "experiment": {"name": "exp", "control": "m4", "treatment": "m5"},
        },
        "tiers": {"pro": {"models": [m["name"] for m in models]}},
        "budgets": {"per_user_usd": 1.0, "global_usd": 100.0, "on_exhausted": "downgrade"},
    }


def percentiles(samples: list[int]) -> tuple[float, float]:
    samples.sort()
    p50 = samples[len(samples) // 2] / 1000
    p99 = samples[int(len(samples) * 0.99)] / 1000
    return p50, p99


def measure(
    fns: dict[str, Callable[[], object]], iterations: int
) -> dict[str, tuple[float, float]]:
    """p50/p99 in microseconds per function. The functions run interleaved in rounds so that
    a change in machine load hits all of them alike."""
    samples: dict[str, list[int]] = {name: [] for name in fns}
    clock = time.perf_counter_ns
    for fn in fns.values():  # warm up
        for _ in range(200):
            fn()
    rounds = 20
    for _ in range(rounds):
        for name, fn in fns.items():
            out = samples[name]
            for _ in range(max(1, iterations // rounds)):
                t0 = clock()
                fn()
                out.append(clock() - t0)
    return {name: percentiles(values) for name, values in samples.items()}


# what the router hands the planner for the strategies that judge the prompt first, once the
# query embedding is cached (learned/runtime.py, Router._preselect)
LEARNED = LearnedInput(0.62, 0.5, cached=True)
SEMANTIC = Preselection(
    "m4",
    "route analysis (score 0.8731)",
    {
        "semantic.score": 0.8731,
        "semantic.threshold": 0.6,
        "semantic.margin": 0.2114,
        "semantic.cached": True,
        "semantic.truncated": False,
        "semantic.route": "analysis",
        "semantic.runner_up": "chat",
    },
)
SEMANTIC_MISS = Preselection(
    None,
    "best route chat (0.4120) below threshold 0.6",
    {"semantic.score": 0.412, "semantic.threshold": 0.6, "semantic.cached": True},
)
# what LatencyTracker.figures hands the latency strategy; m6 not measured yet
FIGURES = {
    f"m{i}": LatencyFigures(0.2 + i / 20, 0.4 + i / 10, 64, None) for i in range(10) if i != 6
}

# row label -> (strategy, PlanInput fields beyond the common ones)
STRATEGIES: dict[str, tuple[str, dict[str, Any]]] = {
    "fixed": ("fixed", {}),
    "cost": ("cost", {}),
    "complexity": ("complexity", {}),
    "latency": ("latency", {}),
    "experiment": ("experiment", {}),
    "learned": ("learned", {"learned": LEARNED}),
    "semantic": ("semantic", {"preselection": SEMANTIC}),
    "semantic miss": ("semantic", {"preselection": SEMANTIC_MISS}),
}


def ours(label: str) -> Callable[[], object]:
    """10 models, every filter on and most of them rejecting something: allow-list, context
    window (m0), breaker (m2), cooldown (m3), rate limit (m1), deadline (m8), quality floor
    (cost, latency), per-call cost cap (m9) and the budget (m7; a downgrade for complexity)."""
    strategy, extra = STRATEGIES[label]
    # a semantic config needs the semantic extra's routes; the planner reads only the decision
    config = load_config(config_dict("fixed" if strategy == "semantic" else strategy))
    context = RequestContext(user_id="u1", tier="pro", deadline=1_000_000.0)
    inp = PlanInput(
        text=PROMPT,
        prompt_tokens=7_900,
        context=context,
        tier=config.tiers["pro"],
        strategy=strategy,
        allowed=tuple(f"m{i}" for i in range(10)),
        max_cost_usd=0.075,
        **extra,
    )
    view = StateView(
        blocked={"m2": "circuit open after 5 consecutive failures"},
        cooldowns={"m3": 12.0},
        rpm_used={"m1": 1000.0, **{f"m{i}": 10.0 for i in range(2, 10)}},
        budget=BudgetSnapshot(0.05, "user:u1", "2026-11-26"),
        latency_s={**{f"m{i}": 0.2 + i / 20 for i in range(10)}, "m8": 1.5},
        now_monotonic=999_999.0,
        latency=FIGURES if strategy == "latency" else {},
    )
    plan = make_plan(config, inp, view)
    print(f"  [{label}] order={plan.order} downgraded={plan.downgraded}")
    print(f"      reason: {plan.reason}")
    print(f"      rejected: {', '.join(f'{r.model}:{r.code}' for r in plan.rejected)}")
    return lambda: make_plan(config, inp, view)


def litellm_router() -> tuple[Callable[[], object], str]:
    import litellm

    model_list = [
        {
            "model_name": "chat",
            "litellm_params": {
                "model": f"openai/model-{i}",
                "api_base": f"http://127.0.0.1:{9000 + i}/v1",
                "api_key": "sk-fake",
                "rpm": 1000,
            },
        }
        for i in range(10)
    ]
    router = litellm.Router(model_list=model_list)  # type: ignore[attr-defined]
    pick = getattr(router, "get_available_deployment", None)
    if pick is not None:
        return (lambda: pick(model="chat", messages=MESSAGES)), "get_available_deployment"
    loop = asyncio.new_event_loop()

    def run() -> object:
        return loop.run_until_complete(
            router.async_get_available_deployment(model="chat", messages=MESSAGES)
        )

    return run, "async_get_available_deployment"


def main() -> None:
    iterations = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    config = load_config(config_dict("complexity"))
    spec = config.routing.complexity
    fns: dict[str, Callable[[], object]] = {
        "classify_complexity (200 chars)": lambda: classify_complexity(PROMPT[:200], spec)
    }
    for label in STRATEGIES:
        fns[f"make_plan [{label}]"] = ours(label)
    pick, how = litellm_router()
    fns[f"litellm Router.{how}"] = pick
    results = measure(fns, iterations)
    l50 = results[f"litellm Router.{how}"][0]
    print(f"\n{'':40} {'p50 us':>9} {'p99 us':>9} {'litellm p50 / p50':>18}")
    for name, (p50, p99) in results.items():
        print(f"{name:40} {p50:9.2f} {p99:9.2f} {l50 / p50:17.1f}x")
    ours_p50 = statistics.median(
        p50 for name, (p50, _) in results.items() if name.startswith("make_plan")
    )
    print(f"\nmedian make_plan p50 {ours_p50:.2f} us; litellm selection p50 {l50:.2f} us")


if __name__ == "__main__":
    main()

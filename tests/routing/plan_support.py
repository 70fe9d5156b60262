"""Varied planning inputs and what the planner made of them, to pin plans across rewrites.

``outcomes()`` plans a few hundred seeded-random requests (every strategy, filter, budget and
refusal) and renders each plan or error as text; ``plan_golden.json`` holds what the planner
returned before its fast-path rewrite. Regenerate it only for an intended change of plans:

    PYTHONPATH=. python tests/routing/plan_support.py > tests/routing/plan_golden.json
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterator

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from llm_router_middleware.config import RouterConfig, load_config
from llm_router_middleware.context import RequestContext
from llm_router_middleware.errors import RouterError
from llm_router_middleware.routing import (
    BudgetSnapshot,
    LatencyFigures,
    Plan,
    PlanInput,
    Preselection,
    StateView,
    make_plan,
)
from llm_router_middleware.routing.learned import LearnedInput

NAMES = ("a", "b", "c", "d", "e", "f")
STRATEGIES = ("fixed", "complexity", "cost", "experiment", "semantic", "learned", "latency")
TEXTS = (
    "",
    "hi",
    "What is the capital of France?",
    "Analyze the trade-offs of event sourcing versus CRUD, step by step.",
    "Please analyze and prove the theorem; derive and optimize the algorithm " * 3,
    "x" * 2500,
    "translate this: bonjour",
)


def config() -> RouterConfig:
    models = [
        {
            "name": name,
            "model": f"openai/{name}-test",
            "input_cost_per_1m": [0.1, 1.0, 5.0, 0.0, 1.0, 3.0][i],
            "output_cost_per_1m": [0.4, 4.0, 15.0, 0.0, 4.0, 12.0][i],
            "quality": [0.5, 0.75, 0.95, 0.3, 0.75, 0.9][i],
            "context_window": [16_000, 32_000, 128_000, 8_000, 32_000, 64_000][i],
            "max_output_tokens": [4096, 8192, 16_384, 2048, 8192, 400][i],
            "supports": [
                ["tools", "json_schema"],
                ["tools", "vision", "json_schema"],
                ["tools", "vision", "audio", "json_schema"],
                [],
                ["vision"],
                ["tools"],
            ][i],
            **({"rpm": 60} if i in (1, 4) else {}),
            **({"tpm": 20_000} if i in (2, 5) else {}),
        }
        for i, name in enumerate(NAMES)
    ]
    return load_config(
        {
            "models": models,
            "routing": {
                "fallbacks": ["c", "b", "a", "d", "e", "f"],
                "max_attempts": 4,
                "complexity": {"levels": {"simple": "a", "medium": "b", "complex": "c"}},
                "cost": {"quality_floor": 0.7},
                "experiment": {
                    "name": "exp",
                    "control": "b",
                    "treatment": "c",
                    "treatment_share": 0.5,
                },
            },
            "tiers": {
                "free": {"models": ["a", "d"]},
                "paid": {"models": ["c", "a", "e"], "quality_floor": 0.6, "max_latency_s": 1.0},
                "pro": {},
            },
            "budgets": {"per_user_usd": 1.0},
        }
    )


def _some(rng: random.Random, names: tuple[str, ...], p: float) -> list[str]:
    return [n for n in names if rng.random() < p]


def cases(
    cfg: RouterConfig, n: int = 1500, seed: int = 12
) -> Iterator[tuple[PlanInput, StateView]]:
    rng = random.Random(seed)
    for _ in range(n):
        strategy = rng.choice(STRATEGIES)
        tier = cfg.tiers[rng.choice(("free", "paid", "pro", "pro"))]
        allowed = None
        if rng.random() < 0.3:
            allowed = tuple(rng.sample(NAMES, rng.randint(1, 5)))
        learned = None
        if strategy == "learned" and rng.random() < 0.9:
            d = None if rng.random() < 0.1 else round(rng.random(), 3)
            share = rng.choice((None, 0.3))
            learned = LearnedInput(d, rng.choice((0.3, 0.5, 0.8)), share, rng.random() < 0.5)
        pre = None
        if strategy == "semantic" and rng.random() < 0.9:
            pre = Preselection(
                rng.choice((None, *NAMES)),
                "route r (score 0.8)",
                {"semantic.score": 0.8, "semantic.cached": True},
            )
        deadline = rng.choice((None, None, None, None, 100.5, 101.0, 102.5, 99.0))
        context = RequestContext(
            user_id=rng.choice((None, "u1", "u2", "u3", "u7")),
            tier=tier.name,
            deadline=deadline,
            arms=rng.choice((None, {"exp": "treatment"}, {"exp": "bogus"})),
        )
        inp = PlanInput(
            text=rng.choice(TEXTS),
            prompt_tokens=rng.choice((10, 200, 1000, 1000, 3000, 7_000, 15_000, 40_000, 200_000)),
            context=context,
            tier=tier,
            strategy=strategy,
            allowed=allowed,
            max_cost_usd=rng.choice((None, None, 0.001, 0.05, 0.5)),
            preselection=pre,
            expected_output_tokens=rng.choice((None, None, None, 100, 1000, 10_000, 0, 500)),
            fallthrough=rng.choice(("complexity", "fixed", "cost", "experiment", "semantic")),
            learned=learned,
            features=rng.choice(
                (frozenset(),) * 6 + (frozenset({"tools"}), frozenset({"vision", "tools"}))
            ),
        )
        figures = {
            n: LatencyFigures(
                round(rng.uniform(0.1, 2), 3), round(rng.uniform(0.2, 3), 3), rng.choice((3, 30))
            )
            for n in _some(rng, NAMES, 0.6)
        }
        view = StateView(
            blocked={n: "circuit open" for n in _some(rng, NAMES, 0.15)},
            cooldowns={n: rng.choice((0.0, 3.5)) for n in _some(rng, NAMES, 0.15)},
            rpm_used={n: rng.choice((10.0, 60.0)) for n in _some(rng, NAMES, 0.3)},
            budget=BudgetSnapshot(
                rng.choice((None, None, None, 0.0, 0.002, 0.03, 5.0)), "user:u1", "2026-11-26"
            ),
            latency_s={n: round(rng.uniform(0.1, 2), 3) for n in _some(rng, NAMES, 0.5)},
            now_monotonic=rng.choice((None, 100.0)),
            blocked_retry_s={n: 4.0 for n in _some(rng, NAMES, 0.2)},
            tpm_used={n: rng.choice((0.0, 15_000.0)) for n in _some(rng, NAMES, 0.3)},
            latency=figures,
        )
        yield inp, view


def render(plan: Plan) -> str:
    return repr(
        (
            plan.strategy,
            plan.order,
            plan.reason,
            plan.tier,
            plan.candidates,
            [(r.model, r.code, r.reason) for r in plan.rejected],
            plan.prompt_tokens,
            list(plan.estimates_usd.items()),
            plan.budget_remaining_usd,
            plan.budget_scope,
            plan.downgraded,
            plan.experiment,
            plan.arm,
            list(plan.attributes.items()),
        )
    )


def outcomes() -> list[str]:
    cfg = config()
    out = []
    for inp, view in cases(cfg):
        try:
            out.append(render(make_plan(cfg, inp, view)))
        except RouterError as exc:
            extra = {k: v for k, v in sorted(vars(exc).items()) if not k.startswith("_")}
            out.append(repr((type(exc).__name__, str(exc), extra)))
    return out


if __name__ == "__main__":
    print(json.dumps(outcomes(), indent=0))

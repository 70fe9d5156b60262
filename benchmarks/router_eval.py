"""Quality-aware routers on outcome data, scored like the RouteLLM paper (arXiv 2406.18665).

python benchmarks/router_eval.py FILE --weak NAME --strong NAME [--model MODEL_FILE] [--plot PNG]

FILE: JSONL of {"prompt", "task", "scores": {model: score}}; NAME: keys of "scores". For each
router (learned, complexity with keyword defaults, prompt length, random, oracle) the threshold
is swept so that 0..100 % of prompts go to the strong model. Printed: APGR (area under quality
vs strong share, 0 = always weak, 1 = always strong), CPT(50 %) and CPT(80 %) (strong share
needed to win back half / 80 % of the weak-to-strong gap), quality at 20/50/80 % strong calls,
and the decision latency p50/p99 through Router.plan, with the prompt embedded (cold query
cache) and with a cached embedding; then the learned decision alone (LearnedRouting.measure:
features, difficulty, the tier's knob; Router.plan's other steps excluded) the same two ways.
Nothing is asserted; figures on a loaded machine are noisy.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from _common import machine, percentile, settle_heap, setup_env

setup_env()

import numpy as np  # noqa: E402

from llm_router_middleware import Router  # noqa: E402
from llm_router_middleware.learned.metrics import Curve, routing_curve  # noqa: E402
from llm_router_middleware.learned.outcomes import read_outcomes  # noqa: E402
from llm_router_middleware.learned.scorer import DifficultyScorer, feature_rows  # noqa: E402
from llm_router_middleware.routing.complexity import classify_complexity  # noqa: E402

LEVEL = {"simple": 0.0, "medium": 1.0, "complex": 2.0}
LATENCY_PROMPTS = 200


def config(strategy: str, model: str | None, cache: int) -> dict[str, object]:
    learned: dict[str, object] = {"query_cache_size": cache, "feedback": False}
    if model:
        learned["model"] = model
    return {
        "models": [
            {
                "name": "weak",
                "model": "openai/weak",
                "api_base": "http://127.0.0.1:9/v1",
                "input_cost_per_1m": 0.2,
                "output_cost_per_1m": 0.2,
                "context_window": 1 << 20,
                "quality": 0.4,
            },
            {
                "name": "strong",
                "model": "openai/strong",
                "api_base": "http://127.0.0.1:9/v1",
                "input_cost_per_1m": 0.9,
                "output_cost_per_1m": 0.9,
                "context_window": 1 << 20,
                "quality": 0.9,
            },
        ],
        "routing": {"strategy": strategy, "learned": learned},
    }


def timings(router: Router, prompts: Sequence[str], warm: bool) -> list[float]:
    if warm:
        for p in prompts:
            router.plan([{"role": "user", "content": p}])
    out = []
    for p in prompts:
        messages = [{"role": "user", "content": p}]
        start = time.perf_counter_ns()
        router.plan(messages)
        out.append((time.perf_counter_ns() - start) / 1e3)
    return out


def step_timings(router: Router, prompts: Sequence[str], warm: bool) -> list[float]:
    """The learned decision alone: what Router.plan asks the learned strategy for."""
    learned = router.learned_routing()
    tier = router.config.routing.default_tier
    if warm:
        for p in prompts:
            learned.measure(p, tier)
    out = []
    for p in prompts:
        start = time.perf_counter_ns()
        learned.measure(p, tier)
        out.append((time.perf_counter_ns() - start) / 1e3)
    return out


def fmt_us(samples: list[float] | None) -> str:
    if not samples:
        return "-"
    p50, p99 = percentile(samples, 50), percentile(samples, 99)

    def one(us: float) -> str:
        return f"{us / 1e3:.1f} ms" if us >= 1000 else f"{us:.0f} us"

    return f"{one(p50)} / {one(p99)}"


def row(name: str, c: Curve, cold: list[float] | None, warm: list[float] | None) -> str:
    return (
        f"| {name} | {c.apgr:.3f} | {c.cpt(0.5):.1%} | {c.cpt(0.8):.1%} | {c.quality_at(0.2):.3f} "
        f"| {c.quality_at(0.5):.3f} | {c.quality_at(0.8):.3f} | {fmt_us(cold)} | {fmt_us(warm)} |"
    )


def plot(path: str, curves: dict[str, Curve], title: str) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        sys.exit("--plot needs matplotlib: pip install matplotlib")
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, c in curves.items():
        ax.plot(c.shares * 100, c.quality, label=f"{name} (APGR {c.apgr:.2f})")
    any_curve = next(iter(curves.values()))
    ax.axhline(any_curve.weak, color="grey", linestyle="--", linewidth=0.8, label="always weak")
    ax.axhline(
        any_curve.strong, color="black", linestyle="--", linewidth=0.8, label="always strong"
    )
    ax.set_xlabel("strong-model calls (%)")
    ax.set_ylabel("mean score")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"curve written to {path}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file")
    parser.add_argument("--weak", required=True)
    parser.add_argument("--strong", required=True)
    parser.add_argument("--model", help="learned model file (default: the shipped one)")
    parser.add_argument("--plot", help="write the quality-vs-strong-share curves to this PNG")
    args = parser.parse_args(argv)
    rows = read_outcomes(args.file)
    for name in (args.weak, args.strong):
        missing = sum(name not in r.scores for r in rows)
        if missing:
            sys.exit(f"{args.file}: model {name!r} is not scored on {missing} of {len(rows)} rows")
    prompts = [r.prompt for r in rows]
    weak = np.array([r.scores[args.weak] for r in rows])
    strong = np.array([r.scores[args.strong] for r in rows])

    learned_router = Router.from_config(config("learned", args.model, 0))
    scorer: DifficultyScorer = learned_router.learned_routing().scorer
    start = time.perf_counter()
    features = feature_rows(scorer.encoder, prompts)
    embed_s = time.perf_counter() - start
    difficulty = scorer.model.difficulties(features)
    pair = None
    if {args.weak, args.strong} <= set(scorer.model.head_names):  # the file knows this pair
        pair = scorer.model.for_pair(args.weak, args.strong).difficulties(features)
    spec = learned_router.config.routing.complexity
    scores: dict[str, Callable[[], np.ndarray]] = {
        "learned": lambda: difficulty,
        **({"learned, pair heads": lambda: pair} if pair is not None else {}),
        "complexity": lambda: np.array(
            [LEVEL[classify_complexity(p, spec).level] for p in prompts]
        ),
        "length": lambda: np.array([len(p) for p in prompts], dtype=float),
        "random": lambda: np.random.default_rng(0).random(len(prompts)),
        "oracle": lambda: strong - weak,
    }
    curves = {name: routing_curve(f(), weak, strong) for name, f in scores.items()}

    sample = prompts[:LATENCY_PROMPTS]
    settle_heap()
    cached_router = Router.from_config(config("learned", args.model, 4096))
    complexity_router = Router.from_config(config("complexity", None, 0))
    step_router = Router.from_config(config("learned", args.model, 4096))
    step = (step_timings(step_router, sample, False), step_timings(step_router, sample, True))
    latency = {
        "learned": (timings(learned_router, sample, False), timings(cached_router, sample, True)),
        "complexity": (None, timings(complexity_router, sample, True)),
    }
    print(
        f"# {Path(args.file).name}: {len(rows)} prompts, weak {args.weak} "
        f"(mean {weak.mean():.3f}), strong {args.strong} (mean {strong.mean():.3f})"
    )
    print(
        f"# model {scorer.source} (encoder {scorer.encoder.name}); "
        f"embedding all prompts took {embed_s:.1f} s; {machine()}"
    )
    print(
        "| router | APGR | CPT(50%) | CPT(80%) | quality @20% | @50% | @80% "
        "| decision p50/p99, embedding | cached embedding |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name, c in curves.items():
        cold, warm = latency.get(name, (None, None))
        print(row(name, c, cold, warm))
    print(
        f"\nlearned decision alone (LearnedRouting.measure, {len(sample)} prompts) p50/p99: "
        f"embedding {fmt_us(step[0])}, cached {fmt_us(step[1])}"
    )
    if args.plot:
        plot(args.plot, curves, f"{Path(args.file).name}: {args.weak} -> {args.strong}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Cross-validation of the learned-routing recipe on unseen task types and unseen model pairs.

python benchmarks/router_cv.py OUTCOMES.jsonl [--embeddings-cache FILE.npz] [--max-tokens N]
    [--target disagreement|gain|irt_gain] [--alpha A] [--length-weight W]
    [--pair WEAK:STRONG ... | --all-pairs]

For each evaluation pair (default: five pairs of the LLMRouter data; --all-pairs: every pair
whose mean scores differ by at least 0.1), the pair's two models are removed from the training
target, so the pair is never seen. Then:

1. Leave one task type out: fit on the other task types, score the held-out type. Per fold,
   APGR of learned, prompt length, keyword complexity and random, averaged over the pairs that
   differ by at least 0.05 on that type; and pooled over all folds (mixed traffic of task types
   each scored by a model that never saw its type). Each cell is the mean over pairs, with the
   spread over pairs (sd) in brackets; the last rows give the spread over task types.
2. Task types seen, prompts held out (5 folds): the same figures per task type and pooled.

This is how the defaults in learned/train.py were chosen; nothing here reads test data.
Features are embedded once (minutes on 2 cores) and kept in --embeddings-cache.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

from _common import setup_env

setup_env()

import numpy as np  # noqa: E402
import numpy.typing as npt  # noqa: E402

from llm_router_middleware.config import load_config  # noqa: E402
from llm_router_middleware.learned.metrics import routing_curve  # noqa: E402
from llm_router_middleware.learned.outcomes import read_outcomes  # noqa: E402
from llm_router_middleware.learned.scorer import default_encoder  # noqa: E402
from llm_router_middleware.learned.train import (  # noqa: E402
    DEFAULT_ALPHA,
    DEFAULT_LENGTH_WEIGHT,
    DEFAULT_MAX_TOKENS,
    DEFAULT_TARGET,
    TARGETS,
    EmbeddingCache,
    common_models,
    difficulty_targets,
    fit_difficulty,
    score_matrix,
)
from llm_router_middleware.routing.complexity import classify_complexity  # noqa: E402

PAIRS = (
    "mistral-7b-instruct-v0.3:llama-3.1-nemotron-51b-instruct",
    "gemma-2-9b-it:llama-3.3-nemotron-super-49b-v1",
    "codegemma-7b:qwen2.5-7b-instruct",
    "llama3-chatqa-1.5-8b:llama-3.1-8b-instruct",
    "qwen2.5-7b-instruct:llama-3.1-nemotron-51b-instruct",
)
MIN_FOLD = 100  # task types with fewer prompts are trained on, not reported
MIN_GAP = 0.05
ALL_PAIRS_GAP = 0.1
PAIR_LINES = 8  # pooled figures printed pair by pair for the first pairs
ROUTERS = ("learned", "length", "complexity", "random", "ceiling")
Array = npt.NDArray[np.float64]
Predict = Callable[[Array, Array, Array], Array]  # (train mask, test mask, target) -> scores


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file")
    parser.add_argument("--embeddings-cache", help="keep the prompts' feature rows in this .npz")
    parser.add_argument(
        "--max-tokens", type=int, default=DEFAULT_MAX_TOKENS, help="encoder token cap"
    )
    parser.add_argument("--target", choices=TARGETS, default=DEFAULT_TARGET)
    parser.add_argument("--alpha", type=float, default=DEFAULT_ALPHA)
    parser.add_argument("--length-weight", type=float, default=DEFAULT_LENGTH_WEIGHT)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--pair", action="append", help="WEAK:STRONG (repeat)")
    group.add_argument(
        "--all-pairs",
        action="store_true",
        help=f"every pair whose mean scores differ by at least {ALL_PAIRS_GAP}",
    )
    args = parser.parse_args(argv)

    outcomes = read_outcomes(args.file)
    names = common_models(outcomes)
    scores = score_matrix(outcomes, names)
    pairs = [tuple(p.split(":", 1)) for p in (args.pair or PAIRS)]
    if not args.all_pairs:
        for pair in pairs:
            if len(pair) != 2 or not set(pair) <= set(names):
                raise SystemExit(
                    f"--pair {':'.join(pair)}: both must be models scored on every row"
                )
    else:
        means = scores.mean(axis=0)
        pairs = [
            (names[w], names[s])
            for w in range(len(names))
            for s in range(len(names))
            if means[s] - means[w] >= ALL_PAIRS_GAP
        ]
    tasks = np.asarray([o.task for o in outcomes])
    prompts = [o.prompt for o in outcomes]
    encoder = default_encoder(max_tokens=args.max_tokens)
    rows = EmbeddingCache(args.embeddings_cache).rows(encoder, prompts).astype(np.float64)
    model = {"name": "m", "model": "openai/m", "context_window": 1 << 20}
    model.update(input_cost_per_1m=1, output_cost_per_1m=1)
    spec = load_config({"models": [model]}).routing.complexity
    level = {"simple": 0.0, "medium": 1.0, "complex": 2.0}
    baselines = {
        "length": np.asarray([len(p) for p in prompts], dtype=np.float64),
        "complexity": np.asarray([level[classify_complexity(p, spec).level] for p in prompts]),
        "random": np.random.default_rng(0).random(len(prompts)),
    }

    def learned(train: Array, test: Array, y: Array) -> Array:
        w, b = fit_difficulty(
            rows[train], y[train], alpha=args.alpha, length_weight=args.length_weight
        )
        return np.asarray(rows[test] @ w + b, dtype=np.float64)

    n = len(outcomes)
    order = np.random.default_rng(0).permutation(n)
    by_type = [(t, tasks == t) for t in sorted(set(tasks))]
    kfold = [(str(f), np.isin(np.arange(n), order[f::5])) for f in range(5)]
    reported = [t for t, m in by_type if m.sum() >= MIN_FOLD]
    print(
        f"# {args.file}: {n} prompts, {len(by_type)} task types, {len(names)} models; encoder "
        f"{encoder.name}; target {args.target}, alpha {args.alpha:g}, length weight "
        f"{args.length_weight:g}; {len(pairs)} held-out pairs (each removed from the target)"
    )
    for title, folds in (
        ("Leave one task type out", by_type),
        ("Task types seen, prompts held out (5 folds)", kfold),
    ):
        per_type: dict[str, dict[str, list[float]]] = {
            t: {r: [] for r in ROUTERS} for t in reported
        }
        pooled: dict[str, list[float]] = {r: [] for r in ROUTERS}
        for weak, strong in pairs:
            a, b = names.index(weak), names.index(strong)
            keep = [i for i in range(len(names)) if i not in (a, b)]
            y, _ = difficulty_targets(scores[:, keep], args.target)
            oof = np.zeros(n)
            for _, held in folds:
                oof[held] = learned(~held, held, y)
            # not a router: the other models' actual mean gain (what a perfect difficulty gives)
            ceiling, _ = difficulty_targets(scores[:, keep], "gain")
            routed = {"learned": oof, **baselines, "ceiling": ceiling}
            for r, s in routed.items():
                pooled[r].append(routing_curve(s, scores[:, a], scores[:, b]).apgr)
            for t in reported:
                m = tasks == t
                if scores[m, b].mean() - scores[m, a].mean() < MIN_GAP:
                    continue
                for r, s in routed.items():
                    per_type[t][r].append(routing_curve(s[m], scores[m, a], scores[m, b]).apgr)
        print(f"\n## {title}: APGR, mean over the pairs with a gap >= {MIN_GAP} on the type\n")
        print("| task type | prompts | pairs | " + " | ".join(ROUTERS) + " |")
        print("|---|---|---|" + "---|" * len(ROUTERS))
        means: dict[str, list[float]] = {r: [] for r in ROUTERS}
        for t in reported:
            got = per_type[t]
            if not got["learned"]:
                continue
            cells = []
            for r in ROUTERS:
                v = float(np.mean(got[r]))
                means[r].append(v)
                cells.append(f"{v:.3f} ({np.std(got[r]):.2f})")
            count = int((tasks == t).sum())
            print(f"| {t} | {count} | {len(got['learned'])} | " + " | ".join(cells) + " |")
        print(
            "| **mean over task types** (sd over types) | | | "
            + " | ".join(f"**{np.mean(means[r]):.3f}** ({np.std(means[r]):.2f})" for r in ROUTERS)
            + " |"
        )
        wins = [
            sum(a > b for a, b in zip(means["learned"], means[r], strict=True)) for r in ROUTERS[1:]
        ]
        print(
            f"| learned above it, task types of {len(means['learned'])} | | | - | "
            + " | ".join(str(w) for w in wins)
            + " |"
        )
        print(
            f"| **pooled (all {n} prompts, out of fold)** | | {len(pairs)} | "
            + " | ".join(f"**{np.mean(pooled[r]):.3f}** ({np.std(pooled[r]):.2f})" for r in ROUTERS)
            + " |"
        )
        for (weak, strong), *values in zip(
            pairs[:PAIR_LINES], *(pooled[r] for r in ROUTERS), strict=False
        ):
            cells = " / ".join(f"{v:.2f}" for v in values)
            print(f"  pooled, {weak} -> {strong}: {cells}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

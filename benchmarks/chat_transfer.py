"""Does outcome data of another kind (e.g. judged chat) help the learned score, and does a score
trained without it work on it?

python benchmarks/chat_transfer.py BASE.jsonl EXTRA.jsonl --weak NAME --strong NAME
    [--base-cache FILE.npz] [--extra-cache FILE.npz] [--extra-weight K] [--boot N]

BASE is the training data (shared/data/llmrouter/train.jsonl), EXTRA an outcome file of another
task type with its own models (benchmarks/evalscope_battle_convert.py writes one); WEAK and
STRONG are EXTRA's models. Both use the shipped recipe (disagreement target, ridge, length
blend; learned/train.py defaults).

1. EXTRA held out, 5 folds over its prompts. The learned score trained on BASE alone (EXTRA's
   task type and models unseen), on BASE plus EXTRA's other folds (each EXTRA row repeated
   --extra-weight times), and on EXTRA's other folds alone; against length, complexity and
   random. APGR of the out-of-fold scores with a bootstrap 90 % interval over prompts, and the
   Spearman correlation of each score with the pair's actual |gain| per prompt.
2. BASE's leave-one-task-type-out figures (router_cv.py's five held-out pairs), trained with and
   without all of EXTRA added: whether the extra rows cost anything on the known task types.
3. With --test FILE: APGR on it (--test-pair) of the fits on all of BASE, with and without EXTRA.
Nothing here reads reserved evaluation sets; test data only with --test, after every choice.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from _common import setup_env

setup_env()

import numpy as np  # noqa: E402
import numpy.typing as npt  # noqa: E402
from router_cv import MIN_FOLD, MIN_GAP, PAIRS  # noqa: E402

from llm_router_middleware.config import load_config  # noqa: E402
from llm_router_middleware.learned.metrics import routing_curve  # noqa: E402
from llm_router_middleware.learned.outcomes import read_outcomes  # noqa: E402
from llm_router_middleware.learned.scorer import default_encoder  # noqa: E402
from llm_router_middleware.learned.train import (  # noqa: E402
    DEFAULT_ALPHA,
    DEFAULT_LENGTH_WEIGHT,
    DEFAULT_MAX_TOKENS,
    EmbeddingCache,
    common_models,
    difficulty_targets,
    fit_difficulty,
    score_matrix,
)
from llm_router_middleware.routing.complexity import classify_complexity  # noqa: E402

Array = npt.NDArray[np.float64]


def ranks(x: Array) -> Array:
    order = np.argsort(x, kind="stable")
    r = np.empty(len(x))
    r[order] = np.arange(len(x))
    # average ranks of ties
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=r)
    return np.asarray(sums[inverse] / counts[inverse], dtype=np.float64)


def spearman(a: Array, b: Array) -> float:
    return float(np.corrcoef(ranks(a), ranks(b))[0, 1])


def baselines(prompts: Sequence[str], seed: int) -> dict[str, Array]:
    model = {"name": "m", "model": "openai/m", "context_window": 1 << 20}
    model.update(input_cost_per_1m=1, output_cost_per_1m=1)
    spec = load_config({"models": [model]}).routing.complexity
    level = {"simple": 0.0, "medium": 1.0, "complex": 2.0}
    return {
        "length": np.asarray([len(p) for p in prompts], dtype=np.float64),
        "complexity": np.asarray([level[classify_complexity(p, spec).level] for p in prompts]),
        "random": np.random.default_rng(seed).random(len(prompts)),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base")
    parser.add_argument("extra")
    parser.add_argument("--weak", required=True)
    parser.add_argument("--strong", required=True)
    parser.add_argument("--base-cache")
    parser.add_argument("--extra-cache")
    parser.add_argument("--extra-weight", type=int, default=1, help="repeat EXTRA rows K times")
    parser.add_argument("--boot", type=int, default=1000, help="bootstrap resamples")
    parser.add_argument("--test", help="an outcome file to score both fits on (e.g. test.jsonl)")
    parser.add_argument("--test-pair", default=PAIRS[0], help="WEAK:STRONG of --test")
    parser.add_argument("--test-cache")
    parser.add_argument(
        "--max-tokens", type=int, default=DEFAULT_MAX_TOKENS, help="encoder token cap"
    )
    parser.add_argument("--alpha", type=float, default=DEFAULT_ALPHA)
    parser.add_argument("--length-weight", type=float, default=DEFAULT_LENGTH_WEIGHT)
    args = parser.parse_args(argv)

    base, extra = read_outcomes(args.base), read_outcomes(args.extra)
    base_names, extra_names = common_models(base), common_models(extra)
    base_scores = score_matrix(base, base_names)
    extra_scores = score_matrix(extra, extra_names)
    weak = extra_scores[:, extra_names.index(args.weak)]
    strong = extra_scores[:, extra_names.index(args.strong)]
    encoder = default_encoder(max_tokens=args.max_tokens)
    base_rows = EmbeddingCache(args.base_cache).rows(encoder, [o.prompt for o in base])
    extra_rows = EmbeddingCache(args.extra_cache).rows(encoder, [o.prompt for o in extra])
    base_x, extra_x = base_rows.astype(np.float64), extra_rows.astype(np.float64)
    extra_y, _ = difficulty_targets(extra_scores, "disagreement")

    def fit(x: Array, y: Array) -> tuple[Array, float]:
        w, b = fit_difficulty(x, y, alpha=args.alpha, length_weight=args.length_weight)
        return w.astype(np.float64), b

    def stack(xs: list[Array], ys: list[Array]) -> tuple[Array, Array]:
        return np.vstack(xs), np.concatenate(ys)

    n = len(extra)
    print(
        f"# {args.extra}: {n} prompts, weak {args.weak} (mean {weak.mean():.3f}), strong "
        f"{args.strong} (mean {strong.mean():.3f}), mean |gain| {np.abs(strong - weak).mean():.3f};"
        f" {args.base}: {len(base)} prompts, {len(base_names)} models; encoder {encoder.name};"
        f" alpha {args.alpha:g}, length weight {args.length_weight:g}, extra weight "
        f"{args.extra_weight}"
    )
    base_y, _ = difficulty_targets(base_scores, "disagreement")
    folds = np.random.default_rng(0).permutation(n) % 5
    oof = {
        k: np.zeros(n) for k in ("learned: base only", "learned: base + extra", "learned: extra")
    }
    wb = fit(base_x, base_y)
    for f in range(5):
        test, train = folds == f, folds != f
        oof["learned: base only"][test] = extra_x[test] @ wb[0] + wb[1]
        xs = [base_x] + [extra_x[train]] * args.extra_weight
        ys = [base_y] + [extra_y[train]] * args.extra_weight
        w, b = fit(*stack(xs, ys))
        oof["learned: base + extra"][test] = extra_x[test] @ w + b
        w, b = fit(extra_x[train], extra_y[train])
        oof["learned: extra"][test] = extra_x[test] @ w + b
    routers = {**oof, **baselines([o.prompt for o in extra], 0)}
    rng = np.random.default_rng(1)
    samples = [rng.integers(0, n, n) for _ in range(args.boot)]
    gain = np.abs(strong - weak)
    print("\n## EXTRA held out (5 folds over its prompts): APGR, bootstrap 90 % interval\n")
    print("| router | APGR | 90 % interval | Spearman with |gain| |")
    print("|---|---|---|---|")
    for name, s in routers.items():
        apgr = routing_curve(s, weak, strong).apgr
        boot = [routing_curve(s[i], weak[i], strong[i]).apgr for i in samples]
        lo, hi = np.nanpercentile(boot, [5, 95])
        print(f"| {name} | {apgr:.3f} | {lo:.2f} .. {hi:.2f} | {spearman(s, gain):+.3f} |")
    for name in oof:
        diff = [
            routing_curve(routers[name][i], weak[i], strong[i]).apgr
            - routing_curve(routers["length"][i], weak[i], strong[i]).apgr
            for i in samples
        ]
        lo, hi = np.nanpercentile(diff, [5, 95])
        print(f"  {name} minus length: 90 % interval {lo:+.3f} .. {hi:+.3f}")

    # 2. BASE leave-one-type-out, with and without EXTRA in training
    tasks = np.asarray([o.task for o in base])
    types = [t for t in sorted(set(tasks)) if (tasks == t).sum() >= MIN_FOLD]
    print(
        "\n## BASE, leave one task type out (router_cv pairs): without / with EXTRA in training\n"
    )
    print("| variant | mean over task types | pooled |")
    print("|---|---|---|")
    for label, add in (("without EXTRA", False), ("with EXTRA", True)):
        per_type: dict[str, list[float]] = {t: [] for t in types}
        pooled: list[float] = []
        for pair in PAIRS:
            w_name, s_name = pair.split(":")
            a, b = base_names.index(w_name), base_names.index(s_name)
            keep = [i for i in range(len(base_names)) if i not in (a, b)]
            y, _ = difficulty_targets(base_scores[:, keep], "disagreement")
            out = np.zeros(len(base))
            for t in sorted(set(tasks)):
                held = tasks == t
                xs, ys = [base_x[~held]], [y[~held]]
                if add:
                    xs += [extra_x] * args.extra_weight
                    ys += [extra_y] * args.extra_weight
                w, bias = fit(*stack(xs, ys))
                out[held] = base_x[held] @ w + bias
            pooled.append(routing_curve(out, base_scores[:, a], base_scores[:, b]).apgr)
            for t in types:
                m = tasks == t
                if base_scores[m, b].mean() - base_scores[m, a].mean() < MIN_GAP:
                    continue
                per_type[t].append(routing_curve(out[m], base_scores[m, a], base_scores[m, b]).apgr)
        means = [float(np.mean(v)) for v in per_type.values() if v]
        print(f"| {label} | {np.mean(means):.3f} | {np.mean(pooled):.3f} |")

    # 3. a test file, scored by the fits on all of BASE with and without all of EXTRA
    if args.test:
        test = read_outcomes(args.test)
        t_weak, t_strong = args.test_pair.split(":")
        t_scores = score_matrix(test, [t_weak, t_strong])
        t_x = EmbeddingCache(args.test_cache).rows(encoder, [o.prompt for o in test])
        t_x = t_x.astype(np.float64)
        w_all, b_all = fit(
            *stack(
                [base_x] + [extra_x] * args.extra_weight, [base_y] + [extra_y] * args.extra_weight
            )
        )
        scored = {
            "learned: base only": t_x @ wb[0] + wb[1],
            "learned: base + extra": t_x @ w_all + b_all,
            **baselines([o.prompt for o in test], 0),
        }
        print(f"\n## {args.test}, {t_weak} -> {t_strong}: APGR\n")
        for name, s in scored.items():
            print(f"  {name}: {routing_curve(s, t_scores[:, 0], t_scores[:, 1]).apgr:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

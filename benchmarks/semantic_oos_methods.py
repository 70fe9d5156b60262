"""Out-of-scope methods beside the default auto threshold, over the splits of semantic_splits.py.

    python benchmarks/semantic_oos_methods.py [--seeds N] [--cache DIR]

Every method sees only what a router sees at startup (the route examples and a background of
generic prompts) and is scored on the same near, far and mixed setups as semantic_splits.py.
Methods with a constant are run with each value; the value that scores best on one dataset's
setups is reported on the other dataset's, both ways (choice score: overall - max(0, 0.75 -
out-of-scope recall)). The methods:

- auto: the router's default, one threshold from auto_threshold.py (shipped background);
- auto, larger background: the shipped background plus the LLMRouter prompts of up to 160
  characters of the short-question tasks (natural_qa, trivia_qa, commonsense_qa, openbook_qa,
  arc_challenge, mbpp, math, gsm8k, commongen: ~3,200 prompts), closer to chat queries;
- per-route offsets: the auto objective, with route r's threshold t + g * (level_r - mean level),
  level = the route's 90th-percentile score over the background ("bg") or the median
  leave-one-out score of its own examples ("tightness");
- query-side background margin: accept when top score - b * (mean of the query's 5 nearest
  background prompts) clears t (t by the auto objective on the same adjusted scores);
- leave-two-out lift: in-scope scores from leave-one-out miss one example, so the positives are
  raised by c * (mean leave-one-out - leave-two-out score) before the threshold search;
- in-scope budget: the highest threshold whose estimated in-scope accuracy (leave-one-out) is
  within e of the best, ignoring the out-of-scope estimates; "auto capped by budget": the auto
  threshold, lowered to that one when it is higher;
- all-but-the-top: every vector centred on the background mean and stripped of its top D
  principal directions (fit on the background), then the auto threshold.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from semantic_splits import DATA, SETUPS, Dataset, Matrix, choice_score, draw, line, load

from llm_router_middleware.semantic import (
    LocalMiniLMEncoder,
    auto_threshold,
    background_vectors,
    default_cache_dir,
)
from llm_router_middleware.semantic.auto_threshold import leave_one_out, route_scores
from llm_router_middleware.semantic.encoders import normalize_rows

Labels = npt.NDArray[np.int_]
Predict = Callable[[Matrix, Matrix], Labels]  # (route scores, query vectors) -> route or -1
Method = Callable[[Matrix, list[int]], Predict]  # (route matrix, counts) -> predict
GRID = np.round(np.arange(-0.5, 1.0001, 0.0025), 4).astype(np.float32)
SHORT_TASKS = frozenset(
    {
        "natural_qa",
        "trivia_qa",
        "commonsense_qa",
        "openbook_qa",
        "arc_challenge",
        "mbpp",
        "math",
        "gsm8k",
        "commongen",
    }
)


def short_questions(cache: Path) -> Matrix:
    """Unit rows: the LLMRouter train prompts of <= 160 characters from SHORT_TASKS."""
    encoder = LocalMiniLMEncoder()
    path = cache / f"llmrouter-short-{encoder.name.replace(':', '_')}.npy"
    if path.exists():
        return normalize_rows(np.load(path))
    texts: set[str] = set()
    with (DATA / "llmrouter" / "train.jsonl").open(encoding="utf-8") as f:
        for raw in f:
            item = json.loads(raw)
            text = " ".join(item["prompt"].split())
            if item["task"] in SHORT_TASKS and len(text) <= 160:
                texts.add(text)
    vectors = encoder.encode(sorted(texts)).vectors
    cache.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return normalize_rows(vectors)


def masked_predict(thresholds: Matrix) -> Predict:
    """The router's rule: the best route that clears its own threshold, else -1."""

    def predict(scores: Matrix, queries: Matrix) -> Labels:
        masked = np.where(scores >= thresholds[None, :], scores, -np.inf)
        return np.where(np.isfinite(masked.max(axis=1)), masked.argmax(axis=1), -1)

    return predict


def pick(accuracy: Matrix, near: Matrix, far: Matrix) -> float:
    """The auto objective's choice (w = 1, near share 0.5, middle of the best plateau)."""
    objective = accuracy + 0.5 * near + 0.5 * far
    best = np.flatnonzero(objective >= objective.max() - 1e-9)
    return float(GRID[best[best.size // 2]])


def simulated(
    matrix: Matrix, counts: list[int], background: Matrix, lift: float = 0.0
) -> tuple[Matrix, Matrix, Matrix, Matrix, Labels]:
    """(in-scope positives, their rightness, near others-max per route, far scores, owner)."""
    own = np.repeat(np.arange(len(counts)), counts)
    rows = np.arange(own.size)
    loo = leave_one_out(matrix, counts, "max")
    positive = loo[rows, own] + lift
    others = loo.copy()
    others[rows, own] = -np.inf
    right = (positive > others.max(axis=1)).astype(np.float32)
    far = route_scores(background, matrix, counts, "max")
    far = far[far.max(axis=1) < np.median(loo[rows, own])]
    return positive, right, others, far, own


def offsets_method(background: Matrix, kind: str, gain: float) -> Method:
    def fit(matrix: Matrix, counts: list[int]) -> Predict:
        positive, right, others, far, own = simulated(matrix, counts, background)
        if kind == "bg":
            level = np.quantile(route_scores(background, matrix, counts, "max"), 0.9, axis=0)
        else:
            level = np.array([np.median(positive[own == r]) for r in range(len(counts))])
        offset = (gain * (level - level.mean())).astype(np.float32)
        grid = GRID[:, None]
        accuracy = ((right > 0)[None] & ((positive - offset[own])[None] >= grid)).mean(axis=1)
        near = ((others - offset).max(axis=1)[None] < grid).mean(axis=1)
        far_recall = ((far - offset).max(axis=1)[None] < grid).mean(axis=1)
        return masked_predict(pick(accuracy, near, far_recall) + offset)

    return fit


def top5_mean(sims: Matrix) -> Matrix:
    return -np.partition(-sims, 4, axis=1)[:, :5].mean(axis=1)


def query_side_method(background: Matrix, beta: float) -> Method:
    self_sims = background @ background.T
    np.fill_diagonal(self_sims, -np.inf)
    background_level = top5_mean(self_sims)

    def fit(matrix: Matrix, counts: list[int]) -> Predict:
        positive, right, others, _, _ = simulated(matrix, counts, background)
        correction = beta * top5_mean(matrix @ background.T)
        far_raw = route_scores(background, matrix, counts, "max").max(axis=1)
        keep = far_raw < np.median(positive)
        far = far_raw[keep] - beta * background_level[keep]
        grid = GRID[:, None]
        accuracy = ((right > 0)[None] & ((positive - correction)[None] >= grid)).mean(axis=1)
        near = ((others.max(axis=1) - correction)[None] < grid).mean(axis=1)
        t = pick(accuracy, near, (far[None] < grid).mean(axis=1))

        def predict(scores: Matrix, queries: Matrix) -> Labels:
            adjusted = scores.max(axis=1) - beta * top5_mean(queries @ background.T)
            return np.where(adjusted >= t, scores.argmax(axis=1), -1)

        return predict

    return fit


def leave_two_out_gap(matrix: Matrix, counts: list[int]) -> float:
    """Mean over examples of leave-one-out minus leave-two-out own-route score."""
    gaps: list[float] = []
    start = 0
    for count in counts:
        if count >= 3:
            sims = matrix[start : start + count] @ matrix[start : start + count].T
            np.fill_diagonal(sims, -np.inf)
            for i in range(count):
                dropped = [np.delete(sims[i], [i, j]).max() for j in range(count) if j != i]
                gaps.append(float(sims[i].max() - np.mean(dropped)))
        start += count
    return float(np.mean(gaps)) if gaps else 0.0


def lift_method(background: Matrix, c: float) -> Method:
    def fit(matrix: Matrix, counts: list[int]) -> Predict:
        lift = c * leave_two_out_gap(matrix, counts)
        positive, right, others, far, _ = simulated(matrix, counts, background, lift)
        grid = GRID[:, None]
        accuracy = ((right > 0)[None] & (positive[None] >= grid)).mean(axis=1)
        near = (others.max(axis=1)[None] < grid).mean(axis=1)
        far_recall = (far.max(axis=1)[None] < grid).mean(axis=1)
        t = pick(accuracy, near, far_recall)
        return masked_predict(np.full(len(counts), t, dtype=np.float32))

    return fit


def budget_method(background: Matrix, budget: float, cap: bool = False) -> Method:
    """The highest threshold that keeps the estimated in-scope accuracy within `budget` of its
    best (in-scope first: out-of-scope recall is whatever that threshold gives); with `cap`,
    the auto threshold unless that one is higher."""

    def fit(matrix: Matrix, counts: list[int]) -> Predict:
        positive, right, _, _, _ = simulated(matrix, counts, background)
        accuracy = ((right > 0)[None] & (positive[None] >= GRID[:, None])).mean(axis=1)
        t = float(GRID[np.flatnonzero(accuracy >= accuracy.max() - budget).max()])
        if cap:
            t = min(t, auto_threshold(matrix, counts, background).threshold)
        return masked_predict(np.full(len(counts), t, dtype=np.float32))

    return fit


def auto_method(background: Matrix) -> Method:
    def fit(matrix: Matrix, counts: list[int]) -> Predict:
        t = auto_threshold(matrix, counts, background).threshold
        return masked_predict(np.full(len(counts), t, dtype=np.float32))

    return fit


def all_but_the_top(background: Matrix, dims: int) -> Callable[[Matrix], Matrix]:
    mean = background.mean(axis=0)
    top = np.linalg.svd(background - mean, full_matrices=False)[2][:dims]

    def transform(x: Matrix) -> Matrix:
        y = x - mean
        return normalize_rows((y - (y @ top.T) @ top).astype(np.float32))

    return transform


def run(data: dict[str, Dataset], method: Method, seeds: int) -> dict[str, Matrix]:
    results: dict[str, Matrix] = {}
    for name in SETUPS:
        out = []
        for seed in range(seeds):
            matrix, counts, inside, truth, outside = draw(data, name, seed)
            predict = method(matrix, counts)
            right_in = predict(route_scores(inside, matrix, counts, "max"), inside) == truth
            right_out = predict(route_scores(outside, matrix, counts, "max"), outside) == -1
            overall = (right_in.sum() + right_out.sum()) / (right_in.size + right_out.size)
            out.append((overall, right_in.mean(), right_out.mean()))
        results[name] = np.array(out, dtype=np.float32)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--cache", type=Path, default=default_cache_dir() / "eval")
    args = parser.parse_args()
    encoder = LocalMiniLMEncoder()
    shipped = background_vectors(encoder)
    larger = np.concatenate([shipped, short_questions(args.cache)])
    data = {name: load(encoder, name, args.cache) for name in ("banking77", "snips")}
    families: dict[str, dict[str, Method]] = {
        "auto (default)": {"": auto_method(shipped)},
        "auto, +short questions": {"": auto_method(larger)},
        "offsets bg": {f"g={g}": offsets_method(shipped, "bg", g) for g in (0.5, 1.0)},
        "offsets tightness": {f"g={g}": offsets_method(shipped, "tight", g) for g in (0.5, 1.0)},
        "query-side bg": {f"b={b}": query_side_method(larger, b) for b in (0.25, 0.5, 1.0)},
        "in-scope budget": {f"e={e}": budget_method(shipped, e) for e in (0.05, 0.1, 0.15, 0.2)},
        "auto capped by budget": {
            f"e={e}": budget_method(shipped, e, cap=True) for e in (0.05, 0.1, 0.15)
        },
        "L2O lift": {f"c={c}": lift_method(shipped, c) for c in (1.0, 2.0)},
    }
    print(
        f"{args.seeds} seeds per setup; cells: overall (mean±sd) / in-scope / out-of-scope recall"
    )
    print(f"{'':26}" + "".join(f"{name:>30}" for name in SETUPS))
    chosen: list[str] = []
    for family, variants in families.items():
        results = {}
        for label, method in variants.items():
            results[label] = run(data, method, args.seeds)
            print(line(f"{family} {label}".strip(), results[label]), flush=True)
        chosen.append(cross_dataset(family, results))
    for dims in (1, 3, 8):
        transform = all_but_the_top(shipped, dims)
        moved = {k: (transform(a), b, transform(c), d) for k, (a, b, c, d) in data.items()}
        results = run(moved, auto_method(transform(shipped)), args.seeds)
        print(line(f"all-but-the-top D={dims}", results), flush=True)
    print("\n".join(chosen))


def cross_dataset(family: str, results: dict[str, dict[str, Matrix]]) -> str:
    cells = []
    for tuned, other in (("banking77", "snips"), ("snips", "banking77")):
        best = max(results, key=lambda k: choice_score(results[k], tuned))
        cells.append(
            f"chosen on {tuned}: {best} -> {other} {choice_score(results[best], other):.3f}"
        )
    return f"{family}: " + "; ".join(cells)


if __name__ == "__main__":
    main()

"""Thresholds chosen at startup from the route examples alone: no labelled negatives needed.

Three kinds of simulated queries, all scored exactly as the router scores a real one:

- in scope: every route example, scored leave-one-out (against every route's examples except
  itself); right when its own route wins and clears the threshold;
- out of scope, near: the same examples with their own route taken away (leave-one-route-out),
  which is what a prompt for an intent nobody wrote a route for looks like; right when its best
  other route does not clear the threshold;
- out of scope, far: the shipped background prompts (math, code, trivia, science...; see
  `background.py`); right when no route clears the threshold. Background prompts that score
  as high as a typical route example are in scope for that route and are left out.

The threshold maximises `in-scope accuracy + oos_weight * (near_share * near recall +
(1 - near_share) * far recall)` over a fine grid and takes the middle of the best plateau.
One global threshold: with a handful of examples per route, per-route thresholds overfit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from llm_router_middleware.semantic.encoders import FloatMatrix

Aggregation = str  # "max" | "mean", as in index.py

#: Weights chosen by cross-dataset evaluation (benchmarks/semantic_splits.py, docs/semantic.md).
DEFAULT_OOS_WEIGHT = 1.0
DEFAULT_NEAR_SHARE = 0.5
#: More examples than this are subsampled for the leave-one-out pass (it is quadratic).
MAX_CALIBRATION_EXAMPLES = 2000
_GRID = np.round(np.arange(-0.2, 1.0001, 0.0025), 4).astype(np.float32)


@dataclass(frozen=True)
class AutoThreshold:
    """The chosen threshold and what it is expected to do, estimated on the simulated queries."""

    threshold: float
    in_scope_accuracy: float
    near_recall: float
    far_recall: float
    n_examples: int
    n_background: int

    def summary(self) -> str:
        return (
            f"auto threshold {self.threshold:.3f} from {self.n_examples} route examples and "
            f"{self.n_background} background prompts: estimated in-scope accuracy "
            f"{self.in_scope_accuracy:.3f}, out-of-scope recall {self.near_recall:.3f} (other "
            f"intents) / {self.far_recall:.3f} (unrelated prompts)"
        )


def route_scores(
    queries: FloatMatrix, matrix: FloatMatrix, counts: Sequence[int], aggregation: Aggregation
) -> npt.NDArray[np.float32]:
    """(queries x routes): max (or mean) cosine over each route's example rows."""
    offsets = _offsets(counts)
    sims = queries @ matrix.T
    if aggregation == "mean":
        sums = np.add.reduceat(sims, offsets, axis=1)
        return (sums / np.asarray(counts, dtype=np.float32)).astype(np.float32)
    return np.maximum.reduceat(sims, offsets, axis=1).astype(np.float32, copy=False)


def leave_one_out(
    matrix: FloatMatrix, counts: Sequence[int], aggregation: Aggregation
) -> npt.NDArray[np.float32]:
    """(examples x routes) scores, each example left out of its own route (-1 if it was alone)."""
    n = matrix.shape[0]
    offsets = _offsets(counts)
    own = np.repeat(np.arange(len(counts)), counts)
    sims = matrix @ matrix.T
    if aggregation == "mean":
        np.fill_diagonal(sims, 0.0)
        left = np.tile(np.asarray(counts, dtype=np.float32), (n, 1))
        left[np.arange(n), own] -= 1.0
        out = np.add.reduceat(sims, offsets, axis=1) / np.maximum(left, 1.0)
        out[left == 0] = -1.0
    else:
        np.fill_diagonal(sims, -np.inf)
        out = np.maximum.reduceat(sims, offsets, axis=1)
    return np.maximum(out, -1.0).astype(np.float32)


def auto_threshold(
    matrix: FloatMatrix,
    counts: Sequence[int],
    background: FloatMatrix,
    *,
    aggregation: Aggregation = "max",
    oos_weight: float = DEFAULT_OOS_WEIGHT,
    near_share: float = DEFAULT_NEAR_SHARE,
    seed: int = 0,
) -> AutoThreshold:
    """One threshold for unit-row `matrix` (routes' examples stacked, `counts` per route)."""
    counts = [int(c) for c in counts]
    if not counts or any(c < 1 for c in counts) or sum(counts) != matrix.shape[0]:
        raise ValueError("counts must be positive and add up to the matrix rows")
    if not 0.0 <= near_share <= 1.0 or oos_weight < 0.0:
        raise ValueError("near_share must lie in [0, 1] and oos_weight be >= 0")
    matrix, counts = _subsample(matrix, counts, seed)
    n_routes = len(counts)
    own = np.repeat(np.arange(n_routes), counts)
    rows = np.arange(matrix.shape[0])
    loo = leave_one_out(matrix, counts, aggregation)
    positive = loo[rows, own]
    has_peer = np.repeat(np.asarray(counts) > 1, counts)
    right = (loo.argmax(axis=1) == own) & has_peer
    grid = _GRID[:, None]
    n_pos = max(int(has_peer.sum()), 1)
    accuracy = (right[None, :] & (positive[None, :] >= grid)).sum(axis=1) / n_pos
    share = near_share
    if n_routes > 1:
        others = loo.copy()
        others[rows, own] = -np.inf
        near = (others.max(axis=1)[None, :] < grid).mean(axis=1)
    else:
        near, share = np.ones(_GRID.size), 0.0
    far_scores = route_scores(background, matrix, counts, aggregation).max(axis=1)
    if has_peer.any():
        # a background prompt scoring like a typical route example is in scope for that
        # route (a "coding" route and the background's code prompts): not a negative
        far_scores = far_scores[far_scores < np.median(positive[has_peer])]
    if far_scores.size:
        far = (far_scores[None, :] < grid).mean(axis=1)
    else:
        far, share = np.ones(_GRID.size), 1.0 if n_routes > 1 else 0.0
    objective = accuracy + oos_weight * (share * near + (1.0 - share) * far)
    best = np.flatnonzero(objective >= objective.max() - 1e-9)
    pick = int(best[best.size // 2])
    return AutoThreshold(
        threshold=round(float(_GRID[pick]), 4),
        in_scope_accuracy=round(float(accuracy[pick]), 4),
        near_recall=round(float(near[pick]), 4),
        far_recall=round(float(far[pick]), 4),
        n_examples=int(matrix.shape[0]),
        n_background=int(far_scores.size),
    )


def _offsets(counts: Sequence[int]) -> npt.NDArray[np.intp]:
    return np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.intp)


def _subsample(matrix: FloatMatrix, counts: list[int], seed: int) -> tuple[FloatMatrix, list[int]]:
    total = sum(counts)
    if total <= MAX_CALIBRATION_EXAMPLES:
        return matrix, counts
    keep_share = MAX_CALIBRATION_EXAMPLES / total
    rng = np.random.default_rng(seed)
    kept_rows: list[npt.NDArray[np.intp]] = []
    kept_counts: list[int] = []
    for start, count in zip(_offsets(counts), counts, strict=True):
        take = max(1, min(count, round(count * keep_share)))
        kept_rows.append(start + np.sort(rng.choice(count, take, replace=False)))
        kept_counts.append(take)
    return np.ascontiguousarray(matrix[np.concatenate(kept_rows)]), kept_counts

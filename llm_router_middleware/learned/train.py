"""Fitting the difficulty model: ridge regression from (embedding, cheap features) to how much
the training data's models disagree on a prompt (the variance of their scores: for 0/1 scores
f(1 - f), f the share that got it right; a prompt where a stronger model can win), blended with
the prompt's length, then quantile knots that map scores to [0, 1]; plus one score head per model.

Deterministic: the held-out split is drawn from a seeded generator and the fit is closed-form.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..semantic.encoders import Encoder
from .features import FEATURE_NAMES
from .irt import fit_items
from .metrics import Curve, routing_curve
from .model import F32, DifficultyModel, clip_features
from .outcomes import Outcome
from .scorer import feature_rows

#: chosen by cross-validation across task types and model pairs (benchmarks/router_cv.py,
#: docs/learned.md): the target, the ridge strength and the weight of prompt length
DEFAULT_TARGET = "disagreement"
TARGETS = ("disagreement", "gain", "irt_gain")
DEFAULT_ALPHA = 0.3
DEFAULT_LENGTH_WEIGHT = 4.0
#: tokens of a prompt the encoder reads: the embedding's cost grows with them, the held-out
#: APGR did not (benchmarks/router_cv.py --max-tokens; docs/learned.md)
DEFAULT_MAX_TOKENS = 16
#: pairs whose mean scores differ by at least this much define "a stronger model"
MIN_PAIR_GAP = 0.05
HEAD_SAMPLE = 512
DEFAULT_SEED = 0
KNOTS = 101


def common_models(outcomes: Sequence[Outcome]) -> list[str]:
    common = set(outcomes[0].scores)
    for o in outcomes:
        common &= set(o.scores)
    return sorted(common)


def score_matrix(outcomes: Sequence[Outcome], names: Sequence[str]) -> npt.NDArray[np.float64]:
    return np.asarray([[o.scores[m] for m in names] for o in outcomes], dtype=np.float64)


def difficulty_targets(
    scores: npt.NDArray[Any], target: str = DEFAULT_TARGET
) -> tuple[npt.NDArray[np.float64], str]:
    """Per prompt (rows of ``scores``, one column per model): the training target, described.

    ``disagreement``: the variance of the models' scores on the prompt; no pair in particular,
    so it transfers to pairs never seen. ``gain``: the mean gain of the stronger model over the
    model pairs of the data (see ``gain_targets``). ``irt_gain``: the expected gain of the
    ablest model over the least able one under an item-response fit of every model (irt.py)."""
    s = np.asarray(scores, dtype=np.float64)
    if target == "disagreement":
        return s.var(axis=1), f"variance of the scores of {s.shape[1]} models"
    if target == "gain":
        y, pairs = gain_targets(s)
        what = f"mean gain of the stronger model over {pairs} model pairs"
        return y, what if pairs else "share of the models that failed the prompt"
    if target == "irt_gain":
        return fit_items(s).gain(), f"2PL item-response gain over {s.shape[1]} models"
    raise ValueError(f"unknown target {target!r} (known: {', '.join(TARGETS)})")


def gain_targets(scores: npt.NDArray[Any]) -> tuple[npt.NDArray[np.float64], int]:
    """Per prompt: the mean over model pairs (weak, strong), where strong's mean score beats
    weak's by at least MIN_PAIR_GAP, of strong's score minus weak's; and the number of pairs.
    With no such pair, 1 - the mean score (how often the models fail it)."""
    scores = np.asarray(scores, dtype=np.float64)
    names = range(scores.shape[1])
    means = scores.mean(axis=0)
    pairs = [
        (a, b)
        for a in range(len(names))
        for b in range(len(names))
        if means[b] - means[a] >= MIN_PAIR_GAP
    ]
    if not pairs:
        return 1.0 - scores.mean(axis=1), 0
    gains = np.stack([scores[:, b] - scores[:, a] for a, b in pairs])
    return gains.mean(axis=0), len(pairs)


def fit_ridge(
    features: npt.NDArray[Any],
    targets: npt.NDArray[Any],
    alpha: float = DEFAULT_ALPHA,
    *,
    weights: npt.NDArray[Any] | None = None,
    prior: tuple[npt.NDArray[Any], float] | None = None,
) -> tuple[F32, float]:
    """Ridge on standardised columns, returned with the standardisation folded in.

    ``prior`` (weights, bias) shrinks toward an existing model instead of toward zero: the fit
    used by feedback refits, so a few hundred outcomes adjust the model rather than replace it.
    """
    x = np.asarray(features, dtype=np.float64)
    y = np.asarray(targets, dtype=np.float64)
    w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=np.float64)
    total = float(w.sum())
    mean = (w @ x) / total
    scale = np.sqrt((w @ (x - mean) ** 2) / total) + 1e-6
    z = (x - mean) / scale
    # the intercept is never penalised: the mean target is the feedback's own
    y_mean = float((w @ y) / total)
    if prior is None:
        beta0 = np.zeros(x.shape[1])
    else:  # the prior model's slopes in standardised coordinates
        beta0 = np.asarray(prior[0], dtype=np.float64) * scale
    zw = z * w[:, None]
    gram = z.T @ zw + alpha * total * np.eye(x.shape[1])
    beta = np.linalg.solve(gram, zw.T @ (y - y_mean) + alpha * total * beta0)
    folded = beta / scale
    bias = y_mean - float(mean @ folded)
    return folded.astype(np.float32), bias


def fit_difficulty(
    rows: npt.NDArray[Any],
    targets: npt.NDArray[Any],
    *,
    alpha: float = DEFAULT_ALPHA,
    length_weight: float = DEFAULT_LENGTH_WEIGHT,
) -> tuple[F32, float]:
    """Ridge fit of ``targets``, plus ``length_weight`` times the prompt's standardised length
    (in units of the fit's own spread, so the blend is scale-free): still one weight vector.

    Length is the one signal that held up on every unseen task type and model pair in
    cross-validation; the embedding adds which kinds of prompt the models disagree on."""
    x = np.asarray(rows, dtype=np.float64)
    weights, bias = fit_ridge(x, targets, alpha)
    if length_weight:
        column = x.shape[1] - len(FEATURE_NAMES) + FEATURE_NAMES.index("log_chars")
        spread = float(np.std(x @ weights))
        length = x[:, column]
        step = length_weight * spread / (float(length.std()) + 1e-12)
        weights = weights.astype(np.float64)
        weights[column] += step
        bias -= step * float(length.mean())
    return np.asarray(weights, dtype=np.float32), bias


def fit_heads(
    features: npt.NDArray[Any], scores: npt.NDArray[Any], alpha: float = DEFAULT_ALPHA
) -> tuple[F32, F32]:
    """One ridge head per column of ``scores`` (each model's score), in one solve:
    (heads of shape (models, features), biases), standardisation folded in."""
    x = np.asarray(features, dtype=np.float64)
    y = np.asarray(scores, dtype=np.float64)
    mean = x.mean(axis=0)
    scale = x.std(axis=0) + 1e-6
    z = (x - mean) / scale
    y_mean = y.mean(axis=0)
    gram = z.T @ z + alpha * len(y) * np.eye(x.shape[1])
    heads = (np.linalg.solve(gram, z.T @ (y - y_mean)) / scale[:, None]).T
    return heads.astype(np.float32), (y_mean - heads @ mean).astype(np.float32)


def feature_range(rows: npt.NDArray[Any], dimension: int) -> tuple[F32, F32]:
    """The cheap features' (lowest, highest) values over ``rows``: the range the model is clipped
    to at scoring time (a linear model knows nothing beyond it)."""
    cheap = np.asarray(rows, dtype=np.float32)[:, dimension:]
    return cheap.min(axis=0), cheap.max(axis=0)


def quantile_knots(raw: npt.NDArray[Any]) -> F32:
    knots = np.quantile(np.asarray(raw, dtype=np.float64), np.linspace(0.0, 1.0, KNOTS))
    # strictly increasing, so np.interp is well defined even with ties
    knots = knots + np.arange(KNOTS) * 1e-9
    return knots.astype(np.float32)


class EmbeddingCache:
    """Feature rows of training prompts in an .npz keyed by encoder name and prompt digest, so
    repeated training runs on the same data skip the encoder."""

    def __init__(self, path: str | Path | None) -> None:
        self.path = Path(path) if path is not None else None

    def rows(self, encoder: Encoder, prompts: Sequence[str]) -> F32:
        digest = hashlib.sha256(encoder.name.encode())
        for p in prompts:
            digest.update(hashlib.sha256(p.encode()).digest())
        key = digest.hexdigest()
        if self.path is not None and self.path.is_file():
            with np.load(self.path, allow_pickle=False) as data:
                if str(data["key"]) == key:
                    return np.asarray(data["rows"], dtype=np.float32)
        rows = feature_rows(encoder, list(prompts))
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("wb") as fh:
                np.savez(fh, key=np.asarray(key), rows=rows)
        return rows


@dataclass(frozen=True)
class Evaluation:
    weak: str
    strong: str
    curve: Curve
    rows: int


def natural_pair(outcomes: Sequence[Outcome]) -> tuple[str, str]:
    """The lowest- and the highest-scoring model present in every row."""
    common = common_models(outcomes)
    if len(common) < 2:
        raise ValueError("the outcome data needs at least two models scored on every prompt")
    means = {m: float(np.mean([o.scores[m] for o in outcomes])) for m in sorted(common)}
    ranked = sorted(means, key=means.__getitem__)
    return ranked[0], ranked[-1]


def train(
    outcomes: Sequence[Outcome],
    encoder: Encoder,
    *,
    alpha: float = DEFAULT_ALPHA,
    target: str = DEFAULT_TARGET,
    length_weight: float = DEFAULT_LENGTH_WEIGHT,
    seed: int = DEFAULT_SEED,
    holdout: float = 0.1,
    pair: tuple[str, str] | None = None,
    cache: EmbeddingCache | None = None,
    source: str = "",
    log: Callable[[str], None] = lambda _: None,
) -> tuple[DifficultyModel, Evaluation | None]:
    """Fit on a seeded split, report the held-out curve, then refit on every row."""
    start = time.perf_counter()
    rows = (cache or EmbeddingCache(None)).rows(encoder, [o.prompt for o in outcomes])
    log(f"features of {len(outcomes)} prompts in {time.perf_counter() - start:.1f} s")
    names = common_models(outcomes)
    scores = score_matrix(outcomes, names)
    targets, described = difficulty_targets(scores, target)
    evaluation = None
    n = len(outcomes)
    if holdout > 0 and n >= 20:
        order = np.random.default_rng(seed).permutation(n)
        cut = max(1, round(n * holdout))
        test, fit_rows = order[:cut], order[cut:]
        weights, bias = fit_difficulty(
            rows[fit_rows], targets[fit_rows], alpha=alpha, length_weight=length_weight
        )
        weak, strong = pair or natural_pair(outcomes)
        held = [outcomes[i] for i in test]
        low, high = feature_range(rows[fit_rows], encoder.dimension)
        curve = routing_curve(
            clip_features(rows[test], encoder.dimension, low, high) @ weights + bias,
            [o.scores[weak] for o in held],
            [o.scores[strong] for o in held],
        )
        evaluation = Evaluation(weak, strong, curve, len(test))
    weights, bias = fit_difficulty(rows, targets, alpha=alpha, length_weight=length_weight)
    raw = rows @ weights + bias
    low, high = feature_range(rows, encoder.dimension)
    heads, head_bias = fit_heads(rows, scores, alpha)
    sample = np.random.default_rng(seed).permutation(n)[:HEAD_SAMPLE]
    meta = {
        "trained_on": source,
        "rows": n,
        "seed": seed,
        "alpha": alpha,
        "target": described,
        "length_weight": length_weight,
        "max_tokens": getattr(encoder, "max_tokens", None),
    }
    model = DifficultyModel(
        encoder_name=encoder.name,
        dimension=encoder.dimension,
        weights=weights,
        bias=bias,
        knots=quantile_knots(raw),
        meta=meta,
        head_names=tuple(names),
        heads=heads,
        head_bias=head_bias,
        head_sample=(rows[sample] @ heads.T + head_bias).astype(np.float32),
        feature_low=low,
        feature_high=high,
    )
    return model, evaluation

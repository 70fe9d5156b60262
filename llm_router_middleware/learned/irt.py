"""Item response theory over every model of the outcome data: a pair-agnostic difficulty target.

A two-parameter logistic model (2PL): model m answers prompt i with probability
sigmoid(a_i * (theta_m - b_i)); theta_m is the model's ability, b_i the prompt's difficulty,
a_i how sharply it separates weaker from stronger models. All are fitted jointly, by gradient
ascent on the Bernoulli log-likelihood (fractional scores count as soft outcomes), from every
model's score, not one pair's.

The target ``irt_gain`` is the expected gain, on the prompt, of a model at the data's highest
ability over one at its lowest: large where the prompt is hard for weak models but within reach
of strong ones, near zero where everybody passes or everybody fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]

ITERATIONS = 400
STEP = 0.5
#: pulls b toward 0 and a toward 1 where a prompt's outcomes say little (all pass / all fail)
SHRINK = 0.01


@dataclass(frozen=True)
class ItemFit:
    ability: Floats  # (models,), mean 0
    difficulty: Floats  # (prompts,)
    discrimination: Floats  # (prompts,), in [0.1, 5]

    def p_correct(self, ability: float) -> Floats:
        return _sigmoid(self.discrimination * (ability - self.difficulty))

    def gain(self) -> Floats:
        """Expected score of the highest-ability model minus the lowest's, per prompt."""
        return self.p_correct(float(self.ability.max())) - self.p_correct(float(self.ability.min()))


def _sigmoid(x: Floats) -> Floats:
    return np.asarray(1.0 / (1.0 + np.exp(-x)), dtype=np.float64)


def fit_items(scores: npt.NDArray[Any], iterations: int = ITERATIONS) -> ItemFit:
    """The 2PL fit of ``scores`` (prompts x models, values in [0, 1]); deterministic."""
    y = np.asarray(scores, dtype=np.float64)
    n, k = y.shape
    theta = np.zeros(k)
    b = np.zeros(n)
    a = np.ones(n)
    for _ in range(iterations):
        d = theta[None, :] - b[:, None]
        residual = y - _sigmoid(a[:, None] * d)
        weighted = residual * a[:, None]
        theta += STEP * 5.0 * weighted.sum(axis=0) / n
        b += STEP * 4.0 / k * (-weighted.sum(axis=1) - SHRINK * b)
        a = np.clip(
            a + STEP * 2.0 / k * ((residual * d).sum(axis=1) - SHRINK * (a - 1.0)), 0.1, 5.0
        )
        theta -= theta.mean()
    return ItemFit(theta, b, a)

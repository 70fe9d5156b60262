"""The item-response fit recovers known abilities and difficulties from simulated outcomes."""

from __future__ import annotations

import numpy as np

from llm_router_middleware.learned.irt import fit_items
from llm_router_middleware.learned.train import difficulty_targets


def _simulate(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    theta = np.linspace(-2.0, 2.0, 9)
    b = rng.normal(0.0, 1.5, 2000)
    p = 1.0 / (1.0 + np.exp(-1.5 * (theta[None, :] - b[:, None])))
    return (rng.random(p.shape) < p).astype(float), theta, b


def test_the_fit_recovers_the_order_of_abilities_and_the_difficulties() -> None:
    scores, theta, b = _simulate()
    fit = fit_items(scores)
    assert list(np.argsort(fit.ability)) == list(np.argsort(theta))
    assert abs(float(fit.ability.mean())) < 1e-9
    # nine 0/1 outcomes a prompt bound how well its difficulty can be known; compare the
    # informative prompts (not all passed, not all failed)
    informative = (scores.mean(axis=1) > 0) & (scores.mean(axis=1) < 1)
    assert np.corrcoef(fit.difficulty[informative], b[informative])[0, 1] > 0.8


def test_the_gain_is_largest_between_the_weakest_and_the_strongest() -> None:
    scores, _, b = _simulate()
    gain, described = difficulty_targets(scores, "irt_gain")
    assert "9 models" in described
    assert gain.shape == (len(b),)
    middle = np.abs(b) < 0.5
    extreme = np.abs(b) > 3.0
    assert gain[middle].mean() > 0.5 > 0.2 > gain[extreme].mean()

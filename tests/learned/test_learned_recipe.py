"""The training recipe: the disagreement target, the length blend, the recorded token cap."""

from __future__ import annotations

import numpy as np
import pytest

from llm_router_middleware.learned.features import FEATURE_NAMES
from llm_router_middleware.learned.model import DEFAULT_MODEL_PATH, DifficultyModel
from llm_router_middleware.learned.scorer import encoder_for
from llm_router_middleware.learned.train import (
    DEFAULT_MAX_TOKENS,
    difficulty_targets,
    fit_difficulty,
)


def test_disagreement_is_the_variance_of_the_models_scores() -> None:
    scores = np.array([[1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 1.0]])
    y, what = difficulty_targets(scores)
    assert y.tolist() == [0.0, 0.0, 0.25]  # all agree twice; half of them right: f(1 - f)
    assert what == "variance of the scores of 4 models"
    gain, _ = difficulty_targets(np.array([[0.0, 1.0], [1.0, 1.0], [0.0, 1.0]]), "gain")
    assert gain.tolist() == [1.0, 0.0, 1.0]
    with pytest.raises(ValueError, match="unknown target 'hard'"):
        difficulty_targets(scores, "hard")


def test_the_length_weight_moves_longer_prompts_up() -> None:
    rng = np.random.default_rng(0)
    rows = rng.normal(size=(200, 4 + len(FEATURE_NAMES)))
    length = 4 + FEATURE_NAMES.index("log_chars")
    y = rows[:, 0] - rows[:, length]  # the fit alone ranks short prompts higher
    plain, _ = fit_difficulty(rows, y, length_weight=0.0)
    blended, _ = fit_difficulty(rows, y, length_weight=4.0)
    assert plain[length] < 0 < blended[length]
    others = [i for i in range(rows.shape[1]) if i != length]
    assert np.array_equal(plain[others], blended[others])


def test_the_shipped_model_records_its_token_cap_and_gets_that_encoder() -> None:
    model = DifficultyModel.load(DEFAULT_MODEL_PATH)
    assert model.meta["max_tokens"] == DEFAULT_MAX_TOKENS
    assert model.meta["target"].startswith("variance of the scores of 9 models")
    encoder = encoder_for(model)
    assert encoder.name == model.encoder_name
    assert encoder.name.endswith(f"@{DEFAULT_MAX_TOKENS}")

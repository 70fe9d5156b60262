"""Prompts the training data never showed (other scripts, other lengths) are scored inside the
model's training range, not extrapolated below its lowest score."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from llm_router_middleware import ConfigError
from llm_router_middleware.learned.features import FEATURE_NAMES, cheap_features
from llm_router_middleware.learned.model import DEFAULT_MODEL_PATH, DifficultyModel
from llm_router_middleware.learned.scorer import DifficultyScorer, feature_rows

# the same question in English and in Chinese
ENGLISH = (
    "Explain how a hash table handles collisions, compare open addressing with separate "
    "chaining, and say which one you would pick for a cache with many deletions and why."
)
CHINESE = (
    "请解释哈希表如何处理冲突，比较开放寻址法和链地址法，并说明对于一个删除操作很多的缓存，"  # noqa: RUF001
    "你会选择哪一种，为什么？"  # noqa: RUF001
)


def feature(text: str, name: str) -> float:
    return float(cheap_features(text)[FEATURE_NAMES.index(name)])


def test_a_wide_character_counts_as_three_characters_and_half_a_word() -> None:
    assert feature("你好", "log_chars") == pytest.approx(np.log1p(6) / 10.0)
    assert feature("你好", "log_words") == pytest.approx(np.log1p(1 + 1.0) / 8.0)
    assert feature("为什么？", "question_marks") == pytest.approx(0.25)  # noqa: RUF001
    # text without wide characters reads as before
    assert feature("hello there", "log_chars") == pytest.approx(np.log1p(11) / 10.0)
    assert feature("héllo there", "log_words") == pytest.approx(np.log1p(2) / 8.0)
    # a Chinese prompt is about as long as its English version, not a fifth of it
    ratio = feature(CHINESE, "log_chars") / feature(ENGLISH, "log_chars")
    assert 0.85 < ratio < 1.1


def test_the_shipped_model_records_its_training_range() -> None:
    model = DifficultyModel.load(DEFAULT_MODEL_PATH)
    assert model.feature_low is not None
    assert model.feature_high is not None
    non_ascii = FEATURE_NAMES.index("non_ascii_share")
    assert model.feature_low[non_ascii] == 0.0
    assert 0.0 < model.feature_high[non_ascii] < 0.2  # English training prompts


def test_cheap_features_beyond_the_training_range_are_clipped_to_it() -> None:
    model = DifficultyModel.load(DEFAULT_MODEL_PATH)
    assert model.feature_low is not None
    assert model.feature_high is not None
    dim = model.dimension
    row = np.zeros(dim + len(FEATURE_NAMES), dtype=np.float32)
    row[0] = 1.0
    row[dim:] = model.feature_high
    at_edge = model.difficulty(row)
    beyond = row.copy()
    beyond[dim + FEATURE_NAMES.index("non_ascii_share")] = 0.95
    assert model.difficulty(beyond) == at_edge
    both = np.vstack([row, beyond])
    assert model.difficulties(both).tolist() == pytest.approx([at_edge, at_edge], abs=1e-6)


def test_a_chinese_prompt_is_not_floored_at_difficulty_zero() -> None:
    scorer = DifficultyScorer.load(cache_size=0)
    chinese = scorer.score(CHINESE).value
    # before the range: the non-ASCII weight extrapolated to 0.9 put it below every training
    # prompt (difficulty 0.0, the cheapest model at every threshold)
    assert chinese > 0.05
    unclipped = DifficultyModel(
        scorer.model.encoder_name,
        scorer.model.dimension,
        scorer.model.weights,
        scorer.model.bias,
        scorer.model.knots,
    )
    assert unclipped.difficulty(feature_rows(scorer.encoder, [CHINESE])[0]) == 0.0


def test_a_model_file_with_a_damaged_range_is_a_config_error(tmp_path: Path) -> None:
    model = DifficultyModel.load(DEFAULT_MODEL_PATH)
    assert model.feature_low is not None
    assert model.feature_high is not None
    bad = DifficultyModel(
        model.encoder_name,
        model.dimension,
        model.weights,
        model.bias,
        model.knots,
        feature_low=model.feature_high,
        feature_high=model.feature_low,
    )
    bad.save(tmp_path / "bad.npz")
    with pytest.raises(ConfigError, match="feature range"):
        DifficultyModel.load(tmp_path / "bad.npz")
    older = DifficultyModel(
        model.encoder_name, model.dimension, model.weights, model.bias, model.knots
    )
    older.save(tmp_path / "older.npz")  # a file written before the range existed still loads
    assert DifficultyModel.load(tmp_path / "older.npz").feature_low is None

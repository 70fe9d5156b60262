"""The model file: versioned, checked at load, and the shipped one works out of the box."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from llm_router_middleware import ConfigError
from llm_router_middleware.learned.model import DEFAULT_MODEL_PATH, DifficultyModel
from llm_router_middleware.learned.scorer import DifficultyScorer
from llm_router_middleware.semantic.encoders import Encoder, LocalMiniLMEncoder


def test_the_shipped_model_is_small_attributed_and_ranks_hard_over_easy(encoder: Encoder) -> None:
    assert DEFAULT_MODEL_PATH.stat().st_size < 200_000
    notice = (DEFAULT_MODEL_PATH.parent / "NOTICE").read_text()
    assert "MIT" in notice
    assert "LLMRouter" in notice
    scorer = DifficultyScorer(DifficultyModel.load(DEFAULT_MODEL_PATH), encoder, cache_size=16)
    hard = scorer.score(
        "Let n be the number of ordered triples (a, b, c) of positive integers with "
        "a*b*c = 2^10 * 3^7. Find n mod 1000, showing every step."
    )
    easy = scorer.score("What is the capital of France?")
    assert 0.0 <= easy.value < hard.value <= 1.0
    again = scorer.score("What is the capital of France?")
    assert again.cached
    assert again.value == easy.value


def _rewrite(path: Path, target: Path, **header: object) -> Path:
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    meta = json.loads(bytes(arrays["header"]).decode())
    meta.update(header)
    arrays["header"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    with target.open("wb") as fh:
        np.savez(fh, **arrays)
    return target


def test_a_stale_version_is_a_config_error(tmp_path: Path) -> None:
    stale = _rewrite(DEFAULT_MODEL_PATH, tmp_path / "old.npz", version=0)
    with pytest.raises(ConfigError, match=r"routing\.learned\.model.*old\.npz.*version 0"):
        DifficultyModel.load(stale)


@pytest.mark.parametrize(
    "content",
    [b"not a model at all", b"PK\x03\x04garbage"],
)
def test_a_foreign_file_is_a_config_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "foreign.npz"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match=r"routing\.learned\.model.*foreign\.npz"):
        DifficultyModel.load(path)
    other = tmp_path / "other.npz"
    np.savez(other, weights=np.zeros(3))
    with pytest.raises(ConfigError, match="no readable header"):
        DifficultyModel.load(other)
    with pytest.raises(ConfigError, match="does not exist"):
        DifficultyModel.load(tmp_path / "missing.npz")


def test_another_encoder_is_a_config_error_naming_both(tmp_path: Path) -> None:
    foreign = _rewrite(DEFAULT_MODEL_PATH, tmp_path / "e5.npz", encoder="local:e5-small")
    encoder = LocalMiniLMEncoder()
    with pytest.raises(ConfigError) as caught:
        DifficultyScorer.load(foreign, encoder=encoder)
    message = str(caught.value)
    assert "e5.npz" in message
    assert "local:e5-small" in message
    assert encoder.name in message


def test_damaged_arrays_are_a_config_error(tmp_path: Path) -> None:
    bad = _rewrite(DEFAULT_MODEL_PATH, tmp_path / "bad.npz", dimension=12)
    with pytest.raises(ConfigError, match="damaged"):
        DifficultyModel.load(bad)


def test_the_difficulty_ladder_matches_numpy_interp() -> None:
    model = DifficultyModel.load(DEFAULT_MODEL_PATH)
    grid = np.linspace(0.0, 1.0, len(model.knots))
    raws = np.linspace(float(model.knots[0]) - 0.1, float(model.knots[-1]) + 0.1, 501)
    mine = [model.from_raw(float(r)) for r in raws]
    assert np.allclose(mine, np.interp(raws, model.knots, grid), atol=1e-12)

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from llm_router_middleware.errors import ConfigError
from llm_router_middleware.semantic import (
    LocalMiniLMEncoder,
    SemanticRouter,
    SemanticSettings,
    auto_threshold,
    background_texts,
    background_vectors,
)
from llm_router_middleware.semantic.auto_threshold import leave_one_out, route_scores

ROUTES: list[dict[str, Any]] = [
    {
        "name": "billing",
        "model": "cheap",
        "utterances": [
            "I was charged twice for my subscription",
            "Where is my refund?",
            "Can I get a copy of my invoice?",
            "Why is there an extra fee on my bill?",
            "My card payment was taken two times",
        ],
    },
    {
        "name": "coding",
        "model": "coder",
        "utterances": [
            "Fix this Python function that throws a KeyError",
            "How do I reverse a linked list in Java?",
            "Write a SQL query that joins two tables",
            "Why does my JavaScript promise never resolve?",
            "My Rust code will not compile because of the borrow checker",
        ],
    },
    {
        "name": "travel",
        "model": "cheap",
        "utterances": [
            "Book me a flight to Lisbon next Friday",
            "Find a hotel near the station in Berlin",
            "Can I change my train ticket to a later time?",
            "What is the baggage allowance on my flight?",
            "Cancel my hotel reservation for tonight",
        ],
    },
]
IN_SCOPE = [
    ("you billed me two times this month, I want my money back", "billing"),
    ("my python script crashes with an IndexError", "coding"),
    ("I need a flight from Paris to Rome on Monday", "travel"),
    ("how do I get a refund for a double charge", "billing"),
    ("how do I fix a NullPointerException in my Java code", "coding"),
    ("reserve a hotel room in Madrid for two nights", "travel"),
]
OUT_OF_SCOPE = [
    "Tell me a bedtime story about dragons",
    "What is the capital of Mongolia?",
    "Write a haiku about autumn leaves",
    "Who won the football world cup in 1998?",
]


@pytest.fixture(scope="module")
def local() -> LocalMiniLMEncoder:
    return LocalMiniLMEncoder()


@pytest.fixture(scope="module")
def router(local: LocalMiniLMEncoder) -> SemanticRouter:
    settings = SemanticSettings.from_dict(
        {"routes": ROUTES, "default_route": "billing", "disk_cache": False}
    )
    semantic = SemanticRouter(settings, local)
    semantic.warm()
    return semantic


def test_default_threshold_is_calibrated_at_startup(router: SemanticRouter) -> None:
    calibration = router.calibration
    assert calibration is not None
    assert router.settings.threshold is None
    assert 0.2 < calibration.threshold < 0.8
    assert router.index.thresholds.tolist() == pytest.approx([calibration.threshold] * 3)
    assert calibration.n_examples == 15
    # the background's code prompts are in scope for "coding": left out as negatives
    assert 200 <= calibration.n_background < len(background_texts())
    assert calibration.far_recall >= 0.9
    assert "auto threshold" in calibration.summary()


@pytest.mark.parametrize(("prompt", "route"), IN_SCOPE)
def test_in_scope_prompts_match_their_route(
    router: SemanticRouter, prompt: str, route: str
) -> None:
    decision = router.decide(prompt)
    assert decision.matched, decision.reason
    assert decision.route == route


@pytest.mark.parametrize("prompt", OUT_OF_SCOPE)
def test_out_of_scope_prompts_take_the_default_route(router: SemanticRouter, prompt: str) -> None:
    decision = router.decide(prompt)
    assert not decision.matched, decision.reason
    assert decision.route == "billing"  # the default route
    assert "no route cleared" in decision.reason


def test_a_fixed_threshold_skips_calibration(local: LocalMiniLMEncoder) -> None:
    settings = SemanticSettings.from_dict({"routes": ROUTES, "threshold": 0.5, "disk_cache": False})
    router = SemanticRouter(settings, local)
    router.warm()
    assert router.calibration is None
    assert router.index.thresholds.tolist() == pytest.approx([0.5] * 3)


def test_threshold_auto_parses_and_bad_values_name_the_key() -> None:
    assert SemanticSettings.from_dict({"routes": ROUTES, "threshold": "auto"}).threshold is None
    with pytest.raises(ConfigError, match=r"routing\.semantic\.threshold.*number or \"auto\""):
        SemanticSettings.from_dict({"routes": ROUTES, "threshold": "automatic"})


def test_shipped_background_vectors_are_the_encoders(local: LocalMiniLMEncoder) -> None:
    shipped = background_vectors(local)
    texts = background_texts()
    assert shipped.shape == (len(texts), local.dimension)
    assert len(texts) >= 200
    sample = [0, len(texts) // 2, len(texts) - 1]
    fresh = local.encode([texts[i] for i in sample]).vectors
    assert np.sum(fresh * shipped[sample], axis=1).min() > 0.999


def test_other_encoders_embed_the_background_once_into_the_disk_cache(
    local: LocalMiniLMEncoder, tmp_path: Path
) -> None:
    short = LocalMiniLMEncoder(max_tokens=64)  # another name: the shipped vectors do not apply
    first = background_vectors(short, tmp_path)
    assert list(tmp_path.glob("*.npy"))
    again = background_vectors(short, tmp_path)
    assert np.array_equal(first, again)


def test_leave_one_out_excludes_the_example_itself() -> None:
    matrix = np.eye(4, dtype=np.float32)
    scores = leave_one_out(matrix, [2, 1, 1], "max")
    assert scores[0, 0] == 0.0  # orthogonal to its only peer
    assert scores[2, 1] == -1.0  # alone in its route: nothing left to match
    assert route_scores(matrix, matrix, [2, 1, 1], "max")[0].tolist() == [1.0, 0.0, 0.0]


def test_one_route_is_calibrated_against_the_background_alone() -> None:
    rng = np.random.default_rng(0)
    centre = rng.standard_normal(16)
    examples = centre + 0.3 * rng.standard_normal((5, 16))
    background = rng.standard_normal((50, 16))
    unit = [x / np.linalg.norm(x, axis=1, keepdims=True) for x in (examples, background)]
    result = auto_threshold(unit[0].astype(np.float32), [5], unit[1].astype(np.float32))
    assert result.far_recall == 1.0
    assert result.in_scope_accuracy == 1.0
    with pytest.raises(ValueError, match="counts"):
        auto_threshold(unit[0].astype(np.float32), [4], unit[1].astype(np.float32))

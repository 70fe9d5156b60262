from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from llm_router_middleware.semantic import (
    LocalMiniLMEncoder,
    calibrate,
    calibrate_embeddings,
)
from llm_router_middleware.semantic.calibrate import loo_scores, predict

LABELLED: list[tuple[str, str | None]] = [
    ("I was charged twice for my subscription", "billing"),
    ("Where is my refund?", "billing"),
    ("Can I get a copy of my invoice?", "billing"),
    ("Why is there an extra fee on my bill?", "billing"),
    ("My card payment was taken two times", "billing"),
    ("I want my money back for last month", "billing"),
    ("Fix this Python function that throws a KeyError", "coding"),
    ("How do I reverse a linked list in Java?", "coding"),
    ("Write a SQL query that joins two tables", "coding"),
    ("Why does my JavaScript promise never resolve?", "coding"),
    ("My Rust code will not compile because of the borrow checker", "coding"),
    ("How do I sort a list of dicts in Python?", "coding"),
    ("What is the capital of Mongolia?", None),
    ("Tell me a bedtime story about dragons", None),
    ("How tall is Mount Everest?", None),
    ("Recommend a good sci-fi novel", None),
]


@pytest.fixture(scope="module")
def encoder() -> LocalMiniLMEncoder:
    return LocalMiniLMEncoder()


def test_calibrate_reports_thresholds_and_holdout_accuracy(encoder: LocalMiniLMEncoder) -> None:
    report = calibrate(encoder, LABELLED, holdout=0.3, seed=1)
    assert set(report.thresholds) == {"billing", "coding"}
    assert all(-1.0 <= t <= 1.0 for t in report.thresholds.values())
    assert report.n_fit + report.n_holdout == len(LABELLED)
    assert report.n_holdout >= 3
    assert report.fit_accuracy >= 0.8
    assert report.holdout_accuracy >= 0.6
    assert "held out" in report.summary()


def test_calibrate_is_deterministic_for_a_seed(encoder: LocalMiniLMEncoder) -> None:
    assert calibrate(encoder, LABELLED, seed=3) == calibrate(encoder, LABELLED, seed=3)


def test_per_route_refinement_never_lowers_fit_accuracy(encoder: LocalMiniLMEncoder) -> None:
    vectors = encoder.encode([t for t, _ in LABELLED]).vectors
    labels = [r for _, r in LABELLED]
    plain = calibrate_embeddings(vectors, labels, seed=2)
    refined = calibrate_embeddings(vectors, labels, seed=2, per_route=True)
    assert refined.fit_accuracy >= plain.fit_accuracy


def test_leave_one_out_excludes_the_utterance_itself() -> None:
    vectors = np.eye(3, dtype=np.float32)
    scores = loo_scores(vectors, ["a", "a", "b"], ["a", "b"], "max")
    # orthogonal vectors: without itself, "a"'s first example scores 0 on "a"
    assert scores[0, 0] == 0.0
    assert scores[2, 1] == -1.0  # the only example of "b" has nothing left to match
    assert loo_scores(vectors, ["a", "a", "b"], ["a", "b"], "mean")[1, 0] == 0.0
    assert predict(scores, np.array([0.5, 0.5], dtype=np.float32)).tolist() == [-1, -1, -1]


def test_calibrate_rejects_bad_input(encoder: LocalMiniLMEncoder) -> None:
    with pytest.raises(ValueError, match="needs labelled"):
        calibrate(encoder, [])
    with pytest.raises(ValueError, match="'solo' has one labelled utterance"):
        calibrate(encoder, [("a", "solo"), ("b", "x"), ("c", "x")])
    with pytest.raises(ValueError, match="holdout"):
        calibrate(encoder, LABELLED, holdout=1.0)

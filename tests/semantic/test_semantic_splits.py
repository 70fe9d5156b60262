"""The split harness: near, far and mixed out-of-scope setups draw from the right places."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def _dataset(intents: int, offset: float, rng: np.random.Generator) -> tuple[Any, ...]:
    """40 train and 80 test unit vectors per intent; every vector's first coordinate is
    `offset`, so a test can tell which dataset a vector came from."""
    names = [f"i{offset:.0f}_{k}" for k in range(intents)]

    def block(per: int) -> tuple[Any, Any]:
        x = rng.normal(size=(intents * per, 8)).astype(np.float32)
        x[:, 0] = offset
        return x, np.repeat(np.array(names), per)

    xtr, ytr = block(40)
    xte, yte = block(80)
    return xtr, ytr, xte, yte


@pytest.fixture
def splits(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import semantic_splits

    return semantic_splits


@pytest.fixture
def data() -> dict[str, tuple[Any, ...]]:
    rng = np.random.default_rng(0)
    return {"banking77": _dataset(77, 1.0, rng), "snips": _dataset(7, 2.0, rng)}


def test_near_setup_takes_left_out_intents_of_the_same_dataset(
    splits: Any, data: dict[str, tuple[Any, ...]]
) -> None:
    matrix, counts, inside, truth, outside = splits.draw(data, "snips 5 routes", 3)
    assert counts == [5] * 5
    assert matrix.shape == (25, 8)
    assert inside.shape[0] == 5 * 60
    assert set(truth.tolist()) == set(range(5))
    assert outside.shape[0] == 60
    assert (outside[:, 0] == 2.0).all()  # SNIPS prompts only
    # the out-of-scope prompts are none of the route intents' test lines
    route_rows = {tuple(v) for v in inside.tolist()}
    assert not any(tuple(v) in route_rows for v in outside.tolist())


def test_far_and_mixed_setups_take_the_other_dataset(
    splits: Any, data: dict[str, tuple[Any, ...]]
) -> None:
    _, counts, inside, _, outside = splits.draw(data, "snips 7, banking77 out", 0)
    assert counts == [5] * 7
    assert inside.shape[0] == 420
    assert outside.shape[0] == 60
    assert (outside[:, 0] == 1.0).all()
    _, _, inside, _, outside = splits.draw(data, "banking77 10, snips out", 0)
    assert (inside[:, 0] == 1.0).all()
    assert (outside[:, 0] == 2.0).all()
    _, _, _, _, outside = splits.draw(data, "snips 5, mixed out", 0)
    assert outside.shape[0] == 60
    assert (outside[:, 0] == 2.0).sum() == 30
    assert (outside[:, 0] == 1.0).sum() == 30


def test_choice_score_groups_setups_by_the_dataset_of_their_routes(splits: Any) -> None:
    results = {
        name: np.array([[0.9, 0.9, 0.5 if ds == "snips" else 0.8]], dtype=np.float32)
        for name, (ds, *_rest) in splits.SETUPS.items()
    }
    assert splits.choice_score(results, "banking77") == pytest.approx(0.9)
    assert splits.choice_score(results, "snips") == pytest.approx(0.9 - 0.25)

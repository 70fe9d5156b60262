"""Feedback from the app's own outcomes: kept bounded, without text, and it moves decisions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from llm_router_middleware import Router
from llm_router_middleware.learned.cli import FEEDBACK_ALPHA
from llm_router_middleware.learned.feedback import FeedbackStore, refit
from llm_router_middleware.learned.model import DEFAULT_MODEL_PATH, DifficultyModel
from llm_router_middleware.learned.scorer import DifficultyScorer
from llm_router_middleware.state import MemoryStore
from llm_router_middleware.testing import Behavior, FakeProvider

# a middling prompt family: the app finds the cheap model fails these
FAMILY = [
    f"Summarise the clauses of this {kind} contract and list which party bears the risk of "
    f"{risk}, citing the clause numbers."
    for kind in ("supply", "lease", "licence", "service")
    for risk in ("late delivery", "data loss", "currency changes")
]
PROBE = "Summarise the clauses of this rental contract and say who bears the risk of fire."


def config(provider: FakeProvider, **learned: Any) -> dict[str, Any]:
    def model(name: str, quality: float, cost: float, window: int) -> dict[str, Any]:
        return {
            "name": name,
            "model": f"openai/fake-{name}",
            "api_base": provider.base_url,
            "api_key": "sk-test",
            "input_cost_per_1m": cost,
            "output_cost_per_1m": cost,
            "quality": quality,
            "context_window": window,
        }

    return {
        "models": [model("strong", 0.9, 5.0, 16000), model("weak", 0.3, 0.5, 8000)],
        "routing": {"strategy": "learned", "learned": learned},
    }


def test_failing_scores_send_similar_prompts_to_the_strong_model(
    fake_provider: FakeProvider, tmp_path: Path
) -> None:
    base = DifficultyScorer.load()
    start = max(base.score(p).value for p in [*FAMILY, PROBE])
    threshold = round(min(start + 0.05, 0.99), 4)
    router = Router.from_config(config(fake_provider, threshold=threshold))
    assert router.plan([{"role": "user", "content": PROBE}]).selected == "weak"
    for prompt in FAMILY:
        reply = router.complete([{"role": "user", "content": prompt}])
        assert reply.routing.model == "weak"
        assert router.record_score(reply.routing.request_id, 0.0)
        assert not router.record_score(reply.routing.request_id, 0.0)  # once per reply
    kept = router.learned_routing().feedback.outcomes()
    assert len(kept) == len(FAMILY)
    assert {o.source for o in kept} == {"score"}
    assert all(o.prompt is None for o in kept)  # no text unless the app opts in

    refitted = tmp_path / "refit.npz"
    refit(DifficultyModel.load(DEFAULT_MODEL_PATH), kept, FEEDBACK_ALPHA).save(refitted)
    after = Router.from_config(config(fake_provider, threshold=threshold, model=str(refitted)))
    plan = after.plan([{"role": "user", "content": PROBE}])
    assert plan.selected == "strong", plan.reason
    assert plan.attributes["learned.difficulty"] > base.score(PROBE).value


def test_passing_scores_lower_the_difficulty(fake_provider: FakeProvider) -> None:
    base = DifficultyScorer.load()
    router = Router.from_config(config(fake_provider, threshold=1.0))  # everything to weak
    for prompt in FAMILY:
        reply = router.complete([{"role": "user", "content": prompt}])
        router.record_score(reply.routing.request_id, 1.0)
    model = refit(base.model, router.learned_routing().feedback.outcomes(), FEEDBACK_ALPHA)
    row = base.score(PROBE).features
    assert model.difficulty(row) < base.model.difficulty(row)
    # the refit keeps the range the base model was trained on, widened by the app's prompts
    assert base.model.feature_low is not None
    assert base.model.feature_high is not None
    assert model.feature_low is not None
    assert model.feature_high is not None
    assert np.all(model.feature_low <= base.model.feature_low)
    assert np.all(model.feature_high >= base.model.feature_high)


def test_fallbacks_are_kept_and_the_ring_is_bounded(fake_provider: FakeProvider) -> None:
    fake_provider.set("fake-weak", Behavior(context_window=5))
    router = Router.from_config(
        config(fake_provider, threshold=0.99, feedback_limit=3, store_prompts=True)
    )
    for prompt in FAMILY[:5]:
        reply = router.complete([{"role": "user", "content": prompt}])
        assert reply.routing.model == "strong"
        assert reply.routing.fallback_count == 1
    kept = router.learned_routing().feedback.outcomes()
    assert len(kept) == 3
    assert {(o.model, o.source, o.score) for o in kept} == {("weak", "failure:context_window", 0.0)}
    assert [o.prompt for o in kept] == FAMILY[2:5]


def test_unknown_or_expired_ids_are_not_scored() -> None:
    store = MemoryStore()
    feedback = FeedbackStore(store, limit=10)
    assert not feedback.score("nope", 1.0)
    assert feedback.outcomes() == []

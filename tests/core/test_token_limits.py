"""Token limits (tpm) per model and per deployment, counted from the replies' usage."""

from __future__ import annotations

from typing import Any

from core_support import base_config

from llm_router_middleware import Router
from llm_router_middleware.testing import Behavior, FakeProvider

HI = [{"role": "user", "content": "hi"}]


def _router(provider: FakeProvider, **premium: Any) -> Router:
    config = base_config(provider, "native")
    config["models"][0].update(premium)
    return Router.from_config(config)


def test_a_model_over_its_tpm_is_rejected_in_planning(fake_provider: FakeProvider) -> None:
    fake_provider.set("fake-premium", Behavior(prompt_tokens=600, completion_tokens=400))
    router = _router(fake_provider, tpm=1500)
    first = router.complete(HI, max_tokens=50)
    assert first.routing.model == "premium"
    # 1,000 tokens counted from the reply's usage (not the ~60 estimated): the next call's
    # ~60 still fit under 1,500, the one after does not
    assert router.complete(HI, max_tokens=50).routing.model == "premium"
    plan = router.plan(HI, expected_output_tokens=50)
    assert plan.selected == "balanced"
    rejection = next(r for r in plan.rejected if r.model == "premium")
    assert rejection.code == "token_limit"
    assert "2,000 of 1,500 tokens used this minute" in rejection.reason
    reply = router.complete(HI, max_tokens=50)
    assert reply.routing.model == "balanced"
    assert fake_provider.count("fake-premium") == 2


def test_a_failed_call_gives_its_reserved_tokens_back(fake_provider: FakeProvider) -> None:
    fake_provider.set("fake-premium", Behavior(status=503))
    router = _router(fake_provider, tpm=400)
    for _ in range(3):  # each reserves ~270 tokens; without the release the 2nd would not fit
        assert router.complete(HI).routing.model == "balanced"
    assert fake_provider.count("fake-premium") == 3


def test_a_deployment_over_its_tpm_passes_to_its_sibling(fake_provider: FakeProvider) -> None:
    fake_provider.set("fake-east", Behavior(prompt_tokens=900, completion_tokens=100))
    router = _router(
        fake_provider,
        deployments=[
            {"name": "east", "model": "openai/fake-east", "tpm": 1000, "weight": 1000},
            {"name": "west", "model": "openai/fake-west", "weight": 0.001},
        ],
    )
    assert router.complete(HI, max_tokens=20).routing.deployment == "east"
    reply = router.complete(HI, max_tokens=20)
    assert (reply.routing.model, reply.routing.deployment) == ("premium", "west")
    skipped = reply.routing.attempts[0]
    assert (skipped.deployment, skipped.outcome, skipped.error_type) == (
        "east",
        "skipped",
        "token_limit",
    )
    assert "1,000 of 1,000 tokens" in (skipped.error_message or "")


def test_a_deployment_rpm_is_its_own(fake_provider: FakeProvider) -> None:
    router = _router(
        fake_provider,
        deployments=[
            {"name": "east", "model": "openai/fake-east", "rpm": 2, "weight": 1000},
            {"name": "west", "model": "openai/fake-west", "weight": 0.001},
        ],
    )
    used = [router.complete(HI).routing.deployment for _ in range(4)]
    assert used == ["east", "east", "west", "west"]

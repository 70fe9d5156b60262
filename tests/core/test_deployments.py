"""Deployments of one model over the fake provider: weights, fallback to a sibling before the
next model, per-deployment breakers, and what reply.routing, spans and the log say."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from core_support import SECRET, Spans, base_config

from llm_router_middleware import Router
from llm_router_middleware.testing import Behavior, FakeProvider

HI = [{"role": "user", "content": "hi"}]
OTHER_SECRET = "sk-deployment-b-SECRET-987654321"


def _router(provider: FakeProvider, **premium: Any) -> Router:
    config = base_config(provider, "native")
    config["models"][0].update(
        deployments=[
            {"name": "east", "model": "openai/fake-east", "weight": 3},
            {"name": "west", "model": "openai/fake-west", "weight": 1, "api_key": OTHER_SECRET},
        ],
        **premium,
    )
    config["traffic"] = {"seed": 7}
    return Router.from_config(config)


def test_weights_distribute_as_configured(fake_provider: FakeProvider) -> None:
    router = _router(fake_provider)
    used = [router.complete(HI).routing.deployment for _ in range(400)]
    east = used.count("east")
    # binomial(400, 0.75): mean 300, sd 8.7; 4 sd either side
    assert 265 <= east <= 335, east
    assert used.count("west") == 400 - east
    assert fake_provider.count("fake-east") == east
    assert fake_provider.count("fake-premium") == 0  # the model's own string is not called


def test_a_failing_deployment_falls_back_to_its_sibling_first(
    fake_provider: FakeProvider,
) -> None:
    fake_provider.set("fake-east", Behavior(status=500))
    router = _router(fake_provider)
    for _ in range(6):
        reply = router.complete(HI)
        assert reply.routing.model == "premium"
        assert reply.routing.deployment == "west"
        assert reply.routing.fallback_count == 0  # still the selected model
    assert fake_provider.count("fake-balanced") == 0
    tried = [(a.deployment, a.outcome) for a in reply.routing.attempts]
    assert tried[-1] == ("west", "success")


def test_both_deployments_failing_fall_back_to_the_next_model(
    fake_provider: FakeProvider,
) -> None:
    fake_provider.set("fake-east", Behavior(status=503))
    fake_provider.set("fake-west", Behavior(status=503))
    reply = _router(fake_provider).complete(HI)
    assert reply.routing.model == "balanced"
    assert reply.routing.deployment is None
    assert {(a.model, a.deployment) for a in reply.routing.attempts[:2]} == {
        ("premium", "east"),
        ("premium", "west"),
    }
    assert [a.outcome for a in reply.routing.attempts] == ["error", "error", "success"]


def test_each_deployment_has_its_own_breaker(fake_provider: FakeProvider) -> None:
    fake_provider.set("fake-east", Behavior(status=500))
    router = _router(fake_provider)
    config = base_config(fake_provider, "native")
    assert config  # the breaker trips after 5 consecutive failures (the default)
    for _ in range(40):
        router.complete(HI)
    calls_to_east = fake_provider.count("fake-east")
    assert calls_to_east == 5  # then its breaker is open: skipped without a call
    reply = router.complete(HI)
    skipped = [a for a in reply.routing.attempts if a.outcome == "skipped"]
    if skipped:  # east was drawn first: skipped on its open breaker
        assert skipped[0].deployment == "east"
        assert skipped[0].error_type == "breaker_open"
    assert reply.routing.deployment == "west"
    # the model itself stays in plans: its other deployment is healthy
    assert router.plan(HI).selected == "premium"


@pytest.mark.parametrize("balance", ["least_inflight", "latency"])
def test_other_balances_serve_from_deployments(fake_provider: FakeProvider, balance: str) -> None:
    router = _router(fake_provider, balance=balance)
    used = {router.complete(HI).routing.deployment for _ in range(20)}
    assert used <= {"east", "west"}
    assert used


def test_spans_and_log_name_the_deployment_never_its_key(
    fake_provider: FakeProvider, spans: Spans, caplog: pytest.LogCaptureFixture
) -> None:
    fake_provider.set("fake-east", Behavior(status=500))
    router = _router(fake_provider)
    with caplog.at_level(logging.INFO, logger="llm_router_middleware"):
        reply = router.complete(HI)
    assert reply.routing.deployment == "west"
    chats = spans.named("chat ")
    assert chats[-1].attributes is not None
    assert chats[-1].attributes["llm_router.deployment"] == "west"
    route = spans.route()
    assert route.attributes is not None
    assert route.attributes["llm_router.deployment"] == "west"
    text = " ".join(str(dict(s.attributes or {})) + str(s.events) for s in spans.all())
    assert OTHER_SECRET not in text
    assert SECRET not in text
    line = [r for r in caplog.records if "llm_router decision" in r.getMessage()][-1]
    assert line.llm_router["deployment"] == "west"  # type: ignore[attr-defined]
    assert OTHER_SECRET not in line.getMessage()
    assert fake_provider.requests[-1].api_key_suffix == OTHER_SECRET[-4:]


async def test_async_path_uses_deployments(fake_provider: FakeProvider) -> None:
    fake_provider.set("fake-east", Behavior(status=500))
    router = _router(fake_provider)
    reply = await router.acomplete(HI)
    assert (reply.routing.model, reply.routing.deployment) == ("premium", "west")

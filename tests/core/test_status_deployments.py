"""``Router.models_status()`` reports each model's deployments: weight, breaker, cooldown,
calls in flight, requests and tokens this minute; never a key or an address."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import replace

from core_support import SECRET, base_config

from llm_router_middleware import Router
from llm_router_middleware.status import DeploymentStatus
from llm_router_middleware.testing import Behavior, FakeProvider

HI = [{"role": "user", "content": "hi"}]
WEST_SECRET = "sk-deployment-west-SECRET-24680"


def _router(provider: FakeProvider) -> Router:
    config = base_config(provider, "native")
    config["models"][0]["deployments"] = [
        {"name": "east", "model": "openai/fake-east", "weight": 3, "rpm": 100},
        {"name": "west", "model": "openai/fake-west", "api_key": WEST_SECRET, "tpm": 10_000},
    ]
    config["traffic"] = {"seed": 7}
    config["breaker"] = {"consecutive_failures": 1, "cooldown_s": 60}
    return Router.from_config(config)


def test_deployments_are_reported_with_their_state_and_use(fake_provider: FakeProvider) -> None:
    # Requests and tokens are counted per clock minute: a run that crosses a minute's end
    # reads part of its counts in the next one, so it runs again (at most once a minute).
    for _ in range(2):
        fake_provider.reset()
        fake_provider.set("fake-east", Behavior(status=429, retry_after=120))
        fake_provider.set("fake-west", Behavior(reply="ok", prompt_tokens=10, completion_tokens=5))
        minute = int(time.time() // 60)
        router = _router(fake_provider)
        for _ in range(4):
            assert router.complete(HI).routing.deployment == "west"
        assert fake_provider.count("fake-east") == 1  # then its breaker is open: skipped
        status = {m.model: m for m in router.models_status()}
        (premium, *_rest) = asyncio.run(router.amodels_status())
        if int(time.time() // 60) == minute:
            break
    assert status["balanced"].deployments == ()
    east, west = status["premium"].deployments
    assert isinstance(east, DeploymentStatus)
    assert (east.name, east.weight, west.name, west.weight) == ("east", 3.0, "west", 1.0)
    assert not east.available
    assert east.breaker == "open"
    assert "breaker open" in east.reason
    assert east.retry_in_s is not None
    assert 50 < east.retry_in_s <= 60
    assert east.cooldown_s is not None
    assert 100 < east.cooldown_s <= 120
    assert (east.rpm, east.rpm_used, east.tpm, east.tpm_used) == (100, 1.0, None, None)
    assert west.available
    assert west.cooldown_s is None
    assert (west.rpm, west.rpm_used, west.tpm, west.tpm_used) == (None, None, 10_000, 60.0)
    assert (east.in_flight, west.in_flight) == (0, 0)
    assert [replace(d, retry_in_s=None, cooldown_s=None) for d in premium.deployments] == [
        replace(d, retry_in_s=None, cooldown_s=None) for d in (east, west)
    ]

    body = json.dumps([m.to_json() for m in router.models_status()])
    assert '"name": "west"' in body
    assert '"tpm_used": 60.0' in body
    for secret in (SECRET, WEST_SECRET, "127.0.0.1", "fake-east", "fake-west"):
        assert secret not in body


def test_a_call_in_flight_is_counted_on_its_deployment(fake_provider: FakeProvider) -> None:
    gate = threading.Event()

    def held(_messages: object) -> str:
        gate.wait(30)
        return "ok"

    fake_provider.set("fake-east", Behavior(status=500))
    fake_provider.set("fake-west", Behavior(reply=held))
    router = _router(fake_provider)
    replies: list[str | None] = []
    caller = threading.Thread(target=lambda: replies.append(router.complete(HI).routing.deployment))
    caller.start()
    try:
        while fake_provider.in_flight("fake-west") == 0:
            assert caller.is_alive()
            gate.wait(0.01)
        premium = next(m for m in router.models_status() if m.model == "premium")
        assert [(d.name, d.in_flight) for d in premium.deployments] == [("east", 0), ("west", 1)]
    finally:
        gate.set()
        caller.join(timeout=30)
    assert replies == ["west"]
    premium = next(m for m in router.models_status() if m.model == "premium")
    assert [d.in_flight for d in premium.deployments] == [0, 0]

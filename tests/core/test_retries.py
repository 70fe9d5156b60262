"""Retries of the same target on transient errors, and waiting for a cooling candidate."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from core_support import Spans, base_config

from llm_router_middleware import (
    NoModelAvailableError,
    ProviderRequestError,
    RequestContext,
    Router,
)
from llm_router_middleware.testing import Behavior, FakeProvider

HI = [{"role": "user", "content": "hi"}]


def _router(
    provider: FakeProvider, traffic: dict[str, Any] | None = None, **premium: Any
) -> Router:
    config = base_config(provider, "native")
    config["models"][0].update(premium)
    config["traffic"] = {"seed": 3, "retry_backoff_s": 0.01, **(traffic or {})}
    return Router.from_config(config)


def test_a_429_with_a_short_retry_after_is_retried_after_it(
    fake_provider: FakeProvider, spans: Spans
) -> None:
    fake_provider.set("fake-premium", Behavior(fail_times=1, fail_status=429, retry_after=0.2))
    reply = _router(fake_provider, retries=2).complete(HI)
    assert reply.routing.model == "premium"
    outcomes = [(a.model, a.outcome, a.retry) for a in reply.routing.attempts]
    assert outcomes == [("premium", "error", 0), ("premium", "success", 1)]
    first, second = fake_provider.requests
    assert second.timestamp - first.timestamp >= 0.2  # Retry-After honoured
    chats = spans.named("chat ")
    assert [dict(s.attributes or {}).get("llm_router.retry") for s in chats] == [None, 1]
    assert fake_provider.count("fake-balanced") == 0


async def test_an_overload_is_retried_on_the_async_path(
    fake_provider: FakeProvider,
) -> None:
    fake_provider.set("fake-premium", Behavior(fail_times=2, fail_status=503))
    reply = await _router(fake_provider, retries=2).acomplete(HI)
    assert [a.retry for a in reply.routing.attempts] == [0, 1, 2]
    assert reply.routing.model == "premium"


def test_retries_are_bounded(fake_provider: FakeProvider) -> None:
    fake_provider.set("fake-premium", Behavior(status=503))
    reply = _router(fake_provider, retries=2).complete(HI)
    assert fake_provider.count("fake-premium") == 3
    assert reply.routing.model == "balanced"


def test_no_retry_by_default(fake_provider: FakeProvider) -> None:
    fake_provider.set("fake-premium", Behavior(fail_times=1, fail_status=429))
    assert _router(fake_provider).complete(HI).routing.model == "balanced"
    assert fake_provider.count("fake-premium") == 1


def test_a_retry_after_past_the_deadline_falls_back_instead(fake_provider: FakeProvider) -> None:
    fake_provider.set("fake-premium", Behavior(fail_times=1, fail_status=429, retry_after=2))
    router = _router(fake_provider, retries=3)
    reply = router.complete(HI, context=RequestContext().with_timeout(1.0))
    assert reply.routing.model == "balanced"
    assert fake_provider.count("fake-premium") == 1


def test_a_retry_after_longer_than_the_cap_falls_back(fake_provider: FakeProvider) -> None:
    fake_provider.set("fake-premium", Behavior(fail_times=1, fail_status=429, retry_after=3))
    router = _router(fake_provider, {"retry_max_wait_s": 1.0}, retries=3)
    assert router.complete(HI).routing.model == "balanced"
    assert fake_provider.count("fake-premium") == 1


@pytest.mark.parametrize("status", [400, 422])
def test_a_client_error_is_never_retried(fake_provider: FakeProvider, status: int) -> None:
    fake_provider.set("fake-premium", Behavior(status=status))
    with pytest.raises(ProviderRequestError):
        _router(fake_provider, retries=3).complete(HI)
    assert fake_provider.count("fake-premium") == 1


def test_a_deployment_is_retried_before_its_sibling(fake_provider: FakeProvider) -> None:
    fake_provider.set("fake-east", Behavior(fail_times=1, fail_status=503))
    router = _router(
        fake_provider,
        retries=1,
        deployments=[
            {"name": "east", "model": "openai/fake-east", "weight": 1000},
            {"name": "west", "model": "openai/fake-west", "weight": 0.001},
        ],
    )
    reply = router.complete(HI)
    assert [(a.deployment, a.retry, a.outcome) for a in reply.routing.attempts] == [
        ("east", 0, "error"),
        ("east", 1, "success"),
    ]
    assert fake_provider.count("fake-west") == 0


def _cool_all(router: Router, seconds: float) -> None:
    for name in router.config.models:
        router.cooldowns.start(name, seconds)


def test_waits_for_the_first_candidate_to_recover(
    fake_provider: FakeProvider, spans: Spans
) -> None:
    router = _router(fake_provider, {"wait_for_recovery_s": 2.0})
    _cool_all(router, 0.3)
    reply = router.complete(HI)
    assert reply.routing.model == "premium"
    waited = dict(spans.route().attributes or {})["llm_router.recovery_wait_s"]
    assert isinstance(waited, float)
    assert 0.2 <= waited <= 0.4  # the cooldown's remainder when planned


def test_fails_at_once_when_recovery_is_too_far(fake_provider: FakeProvider) -> None:
    router = _router(fake_provider, {"wait_for_recovery_s": 0.5})
    _cool_all(router, 30)
    with pytest.raises(NoModelAvailableError) as caught:
        router.complete(HI)
    assert caught.value.retry_after_s is not None
    assert caught.value.retry_after_s > 29
    assert fake_provider.count() == 0


def test_a_connection_error_is_retried(fake_provider: FakeProvider) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens there once the socket is closed
    router = _router(fake_provider, retries=1, api_base=f"http://127.0.0.1:{port}/v1")
    reply = router.complete(HI)
    assert [(a.model, a.error_type, a.retry) for a in reply.routing.attempts] == [
        ("premium", "connection", 0),
        ("premium", "connection", 1),
        ("balanced", None, 0),
    ]

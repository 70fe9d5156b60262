"""The async paths do their state round trips on redis-py's asyncio client, the sync paths on
the sync client: shown with a store whose sync client points at a port nothing listens on."""

from __future__ import annotations

from typing import Any

import pytest
import redis

from llm_router_middleware import BudgetExhaustedError, RequestContext, Router
from llm_router_middleware.state.failover import FailoverStore
from llm_router_middleware.testing import Behavior, FakeProvider

HI = [{"role": "user", "content": "hi"}]
USER = RequestContext(user_id="async-user")


@pytest.fixture
def split_router(fake_provider: FakeProvider, split_store: FailoverStore) -> Router:
    """Async operations reach the real Redis; sync ones a dead port."""
    config: dict[str, Any] = {
        "models": [
            {
                "name": "only",
                "model": "openai/fake-only",
                "api_base": fake_provider.base_url,
                "api_key": "sk-async-test-0123456789",
                "input_cost_per_1m": 10.0,
                "output_cost_per_1m": 20.0,
                "context_window": 8000,
                "rpm": 1000,
            }
        ],
        "budgets": {"per_user_usd": 1.0},
    }
    return Router.from_config(config, store=split_store)


async def test_acomplete_never_touches_the_sync_client(
    split_router: Router, redis_url: str
) -> None:
    reply = await split_router.acomplete(HI, USER, max_tokens=16)
    # planning, reservation, rate count, settlement and the breaker's success count: async
    assert not split_router.degraded
    window = redis.Redis.from_url(redis_url).hgetall(f"{split_router.prefix}:outcomes:only")
    requests = sum(int(v) for k, v in window.items() if k.startswith(b"r"))
    assert (requests, window.get(b"c")) == (1, b"0")  # one success counted, no streak
    spend = await split_router.aspend(USER)
    assert spend.scope("user:async-user").spent_usd == pytest.approx(reply.routing.cost_usd)
    assert (await split_router.ahealth()).state == "redis"


async def test_astream_settles_on_the_asyncio_client(split_router: Router) -> None:
    stream = await split_router.handle(USER).astream(HI, max_tokens=16)
    chunks = [chunk async for chunk in stream]
    assert chunks
    assert not split_router.degraded
    spend = await split_router.aspend(USER)
    assert spend.scope("user:async-user").spent_usd == pytest.approx(stream.routing.cost_usd)
    assert stream.routing.cost_usd > 0


def test_the_sync_path_uses_the_sync_client(split_router: Router) -> None:
    # the sync client's Redis is unreachable: degraded at once, and a user this process never
    # read has no known budget base, so the local allowance refuses to spend on them
    with pytest.raises(BudgetExhaustedError):
        split_router.complete(HI, USER, max_tokens=16)
    assert split_router.degraded


async def test_async_failures_record_breakers_and_release_reservations_in_redis(
    fake_provider: FakeProvider, redis_url: str
) -> None:
    def model(name: str) -> dict[str, Any]:
        return {
            "name": name,
            "model": f"openai/fake-{name}",
            "api_base": fake_provider.base_url,
            "api_key": "sk-async-test-0123456789",
            "input_cost_per_1m": 10.0,
            "output_cost_per_1m": 20.0,
            "context_window": 8000,
        }

    fake_provider.set("fake-down", Behavior(status=503))
    config: dict[str, Any] = {
        "models": [model("down"), model("up")],
        "routing": {"strategy": "fixed", "fallbacks": ["down", "up"]},
        "budgets": {"per_user_usd": 1.0},
        "breaker": {"consecutive_failures": 2},
        "state": {"backend": "redis", "redis_url": redis_url},
    }
    router = Router.from_config(config)
    try:
        costs = [(await router.acomplete(HI, USER, max_tokens=16)).routing for _ in range(3)]
        assert [r.model for r in costs] == ["up", "up", "up"]
        # two failures recorded (the breaker opens), then "down" is left out of the plan
        assert [r.fallback_count for r in costs] == [1, 1, 0]
        status = {m.model: m for m in await router.amodels_status()}
        assert status["down"].breaker == "open"
        spend = (await router.aspend(USER)).scope("user:async-user").spent_usd
        assert spend == pytest.approx(sum(r.cost_usd for r in costs))  # failed: released
        assert not router.degraded
    finally:
        await router.store.aclose()  # type: ignore[attr-defined]

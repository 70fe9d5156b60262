"""A hedged acomplete does all its state I/O on redis-py's asyncio client: shown with a store
whose sync client points at a port nothing listens on (any sync call would degrade it)."""

from __future__ import annotations

from typing import Any

import pytest
import redis

from llm_router_middleware import RequestContext, Router
from llm_router_middleware.state.failover import FailoverStore
from llm_router_middleware.testing import Behavior, FakeProvider

HI = [{"role": "user", "content": "hi"}]
USER = RequestContext(user_id="hedged-user")


def model(provider: FakeProvider, name: str) -> dict[str, Any]:
    return {
        "name": name,
        "model": f"openai/fake-{name}",
        "api_base": provider.base_url,
        "api_key": "sk-hedge-test-0123456789",
        "input_cost_per_1m": 10.0,
        "output_cost_per_1m": 20.0,
        "context_window": 8000,
    }


@pytest.fixture
def split_router(fake_provider: FakeProvider, split_store: FailoverStore) -> Router:
    config: dict[str, Any] = {
        "models": [model(fake_provider, "slow"), model(fake_provider, "fast")],
        "routing": {"strategy": "fixed", "fallbacks": ["slow", "fast"]},
        "tiers": {"default": {"hedge": True, "hedge_after_s": 0.2}},
        "budgets": {"per_user_usd": 1.0},
    }
    return Router.from_config(config, store=split_store)


async def test_hedged_acomplete_settles_both_calls_on_the_asyncio_client(
    split_router: Router, fake_provider: FakeProvider, redis_url: str
) -> None:
    fake_provider.set("fake-slow", Behavior(latency_s=30.0))
    reply = await split_router.acomplete(HI, USER, max_tokens=16)
    routing = reply.routing
    assert routing.model == "fast"
    assert [a.outcome for a in routing.attempts] == ["hedged_loser", "success"]
    assert not split_router.degraded  # no sync round trip happened
    spend = await split_router.aspend(USER)
    assert spend.scope("user:hedged-user").spent_usd == pytest.approx(
        routing.cost_usd + routing.hedged_cost_usd
    )
    assert routing.hedged_cost_usd == pytest.approx(routing.plan.prompt_tokens * 10.0 / 1e6)
    window = redis.Redis.from_url(redis_url).hgetall(f"{split_router.prefix}:outcomes:slow")
    assert window == {}  # the loser counted nothing on its breaker

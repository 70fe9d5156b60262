"""The response cache in the Redis state store: shared by two routers (two workers) on one
redis-server, keyed by a hash (never the prompt), expiring by TTL."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import redis

from llm_router_middleware import RequestContext, Router
from llm_router_middleware.cache import Entry, StoreEntries
from llm_router_middleware.state import RedisStore
from llm_router_middleware.testing import Behavior, FakeProvider

ASK = [{"role": "user", "content": "Summarise our refund policy for me"}]
ALICE = RequestContext(user_id="alice")


def _config(provider: FakeProvider, redis_url: str) -> dict[str, Any]:
    return {
        "models": [
            {
                "name": "only",
                "model": "openai/fake-only",
                "api_base": provider.base_url,
                "api_key": "sk-cache-test-0123456789",
                "input_cost_per_1m": 10.0,
                "output_cost_per_1m": 20.0,
                "context_window": 8000,
                "transport": "native",
            }
        ],
        "tiers": {"default": {"cache": True}},
        "budgets": {"per_user_usd": 1.0},
        "cache": {"backend": "state", "ttl_s": 120},
        "state": {"backend": "redis", "redis_url": redis_url, "key_prefix": "cachetest"},
    }


def test_two_routers_share_cached_replies_through_redis(
    fake_provider: FakeProvider, redis_url: str
) -> None:
    fake_provider.set("fake-only", Behavior(reply="Refunds within 30 days.", prompt_tokens=50))
    first, second = (Router.from_config(_config(fake_provider, redis_url)) for _ in range(2))
    try:
        answered = first.handle(ALICE).complete(ASK)
        assert answered.routing.cache is None
        spent = second.spend(ALICE).scopes[0].spent_usd
        assert spent > 0
        hit = asyncio.run(second.handle(ALICE).acomplete(ASK))  # the async twin reads Redis too
        assert (hit.routing.cache, hit.routing.cost_usd) == ("exact", 0.0)
        assert hit.choices[0].message.content == "Refunds within 30 days."
        assert fake_provider.count("fake-only") == 1
        assert second.spend(ALICE).scopes[0].spent_usd == spent
        # another user misses, even through the shared store
        bob = second.handle(RequestContext(user_id="bob")).complete(ASK)
        assert bob.routing.cache is None
        assert fake_provider.count("fake-only") == 2

        client = redis.Redis.from_url(redis_url)
        keys = [k.decode() for k in client.scan_iter("cachetest:cache:*")]
        assert len(keys) == 2  # alice's and bob's
        for key in keys:
            digest = key.removeprefix("cachetest:cache:")
            assert len(digest) == 64
            assert int(digest, 16) >= 0
            assert 0 < client.pttl(key) <= 120_000
    finally:
        for router in (first, second):
            close = getattr(router.store, "close", None)
            if callable(close):
                close()


def test_an_unreachable_store_is_a_miss_never_a_failed_call(
    closed_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    store = RedisStore.from_url(f"redis://127.0.0.1:{closed_port}/0")
    entries = StoreEntries(store, "cachetest", ttl_s=60)
    try:
        entries.put("k", Entry("only", 0.0, {"choices": []}))  # skipped, not raised
        assert entries.get("k") is None
        assert asyncio.run(entries.aget("k")) is None
    finally:
        store.close()
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("response cache: the state store failed" in w for w in warnings)
    assert not any(str(closed_port) in w for w in warnings)  # no address in the log

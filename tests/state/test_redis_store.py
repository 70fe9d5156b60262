"""Redis as the shared state: two routers ("workers") on one Redis see each other's state."""

from __future__ import annotations

import asyncio
import json
import math
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import llm_router_middleware.state as state_package
from llm_router_middleware import (
    BudgetExhaustedError,
    ConfigError,
    RequestContext,
    Router,
)
from llm_router_middleware.state import RedisStore, RedisUnavailableError
from llm_router_middleware.state.failover import FailoverStore
from llm_router_middleware.state.redis import redact_url
from llm_router_middleware.testing import Behavior, FakeProvider

HI = [{"role": "user", "content": "hi"}]
USER = RequestContext(user_id="u1")

Build = Callable[..., Router]


def _model(provider: FakeProvider, name: str, quality: float, cost: float) -> dict[str, Any]:
    return {
        "name": name,
        "model": f"openai/fake-{name}",
        "api_base": provider.base_url,
        "api_key": "sk-state-test-0123456789",
        "input_cost_per_1m": cost,
        "output_cost_per_1m": 2 * cost,
        "quality": quality,
        "context_window": 8000,
        "timeout_s": 5.0,
    }


@pytest.fixture
def worker(fake_provider: FakeProvider, redis_url: str) -> Iterator[Build]:
    """Builds routers that share ``redis_url``, as separate worker processes would."""
    routers: list[Router] = []

    def build(key_prefix: str = "llmr", **sections: Any) -> Router:
        config: dict[str, Any] = {
            "models": [
                _model(fake_provider, "premium", 0.9, 10.0),
                _model(fake_provider, "balanced", 0.7, 3.0),
            ],
            "routing": {"strategy": "fixed", "fallbacks": ["premium", "balanced"]},
            "state": {"backend": "redis", "redis_url": redis_url, "key_prefix": key_prefix},
            **sections,
        }
        router = Router.from_config(config)
        routers.append(router)
        return router

    yield build
    for router in routers:
        assert isinstance(router.store, FailoverStore)
        router.store.close()


def rejections(router: Router, model: str) -> list[str]:
    return [r.code for r in router.plan(HI, USER).rejected if r.model == model]


def test_the_redis_backend_is_built_from_the_config(worker: Build, redis_url: str) -> None:
    store = worker().store
    assert isinstance(store, FailoverStore)  # a RedisStore that degrades when Redis is lost
    assert isinstance(store.primary, RedisStore)
    assert store.url == redis_url
    assert store.on_unavailable == "local"


def test_budget_spent_on_one_worker_bounds_the_other(
    worker: Build, fake_provider: FakeProvider
) -> None:
    a, b = worker(budgets={"per_user_usd": 1.5}), worker(budgets={"per_user_usd": 1.5})
    fake_provider.set_default(Behavior(prompt_tokens=100_000, completion_tokens=0))
    reply = a.handle(USER).complete(HI)
    assert reply.routing.cost_usd == pytest.approx(1.0)  # 100k tokens at $10 per million
    assert b.ledger.spent("u1", "default")["user:u1"] == pytest.approx(1.0)
    plan = b.plan(HI, USER)
    assert plan.budget_scope == "user:u1"
    assert plan.budget_remaining_usd == pytest.approx(0.5)

    asyncio.run(a.handle(USER).acomplete(HI))  # settles the actual cost, over the limit
    fake_provider.clear()
    with pytest.raises(BudgetExhaustedError):
        b.handle(USER).complete(HI)
    assert fake_provider.count() == 0
    other = b.handle(RequestContext(user_id="u2")).complete(HI)  # other users are unaffected
    assert other.routing.model == "premium"


def test_a_breaker_tripped_on_one_worker_is_open_on_the_other(
    worker: Build, fake_provider: FakeProvider
) -> None:
    breaker = {"consecutive_failures": 2, "cooldown_s": 30}
    a, b = worker(breaker=breaker), worker(breaker=breaker)
    fake_provider.set("fake-premium", Behavior(status=500))
    for _ in range(2):
        assert asyncio.run(a.handle(USER).acomplete(HI)).routing.model == "balanced"
    assert rejections(b, "premium") == ["breaker_open"]
    fake_provider.clear()
    assert b.handle(USER).complete(HI).routing.model == "balanced"
    assert fake_provider.count("fake-premium") == 0
    b.breakers.reset("premium")  # an operator's reset on one worker closes it for all
    assert rejections(a, "premium") == []


def test_a_cooldown_started_on_one_worker_holds_on_the_other(
    worker: Build, fake_provider: FakeProvider
) -> None:
    # Retry-After outlasts the breaker it opened (1 s) as a cooldown
    breaker = {"consecutive_failures": 1, "cooldown_s": 1}
    a, b = worker(breaker=breaker), worker(breaker=breaker)
    fake_provider.set("fake-premium", Behavior(status=429, retry_after=30))
    assert a.handle(USER).complete(HI).routing.model == "balanced"
    assert b.cooldowns.remaining(["premium"])["premium"] > 25.0
    assert rejections(b, "premium") == ["breaker_open"]
    fake_provider.clear()
    assert b.handle(USER).complete(HI).routing.model == "balanced"
    assert fake_provider.count("fake-premium") == 0
    remaining = b.cooldowns.remaining(["premium"])["premium"]
    assert 25.0 < remaining <= 30.0


def test_key_prefixes_keep_two_deployments_apart(
    worker: Build, fake_provider: FakeProvider
) -> None:
    breaker = {"consecutive_failures": 1}
    a, other = worker(breaker=breaker), worker(key_prefix="staging", breaker=breaker)
    fake_provider.set("fake-premium", Behavior(status=429, retry_after=30))
    a.handle(USER).complete(HI)
    assert rejections(a, "premium") == ["breaker_open"]
    assert rejections(other, "premium") == []


@pytest.mark.parametrize(
    "url",
    [
        "redis://:hunter2-secret@127.0.0.1:{port}/0",
        "redis://admin:hunter2-secret@127.0.0.1:{port}/0",
        "redis://127.0.0.1:{port}/0?password=hunter2-secret",
    ],
)
def test_unreachable_redis_fails_at_startup_without_the_password(
    url: str, fake_provider: FakeProvider, closed_port: int
) -> None:
    config = {
        "models": [_model(fake_provider, "premium", 0.9, 10.0)],
        "state": {"backend": "redis", "redis_url": url.format(port=closed_port)},
    }
    with pytest.raises(ConfigError) as caught:
        Router.from_config(config)
    error = caught.value
    assert error.key == "state.redis_url"
    assert "cannot reach Redis at redis://" in error.message
    assert "***" in error.message
    assert "hunter2" not in error.message
    assert "hunter2" not in repr(error.__cause__) + repr(error.__context__)


def test_a_malformed_url_is_a_config_error(fake_provider: FakeProvider) -> None:
    config = {
        "models": [_model(fake_provider, "premium", 0.9, 10.0)],
        "state": {"backend": "redis", "redis_url": "redis://:hunter2@127.0.0.1:6379/0?db=x"},
    }
    with pytest.raises(ConfigError) as caught:
        Router.from_config(config)
    assert caught.value.key == "state.redis_url"
    assert "hunter2" not in caught.value.message


def test_losing_redis_later_raises_an_error_that_names_no_address(closed_port: int) -> None:
    url = f"redis://:hunter2-secret@127.0.0.1:{closed_port}/0"
    with RedisStore.from_url(url) as store, pytest.raises(RedisUnavailableError) as caught:
        store.get_numbers(["k"])
    error = caught.value
    assert error.status_code == 503
    assert error.url == f"redis://:***@127.0.0.1:{closed_port}/0"  # for the server's log
    body = json.dumps(error.to_json())
    for leak in ("hunter2", "redis://", "127.0.0.1", str(closed_port)):
        assert leak not in error.message
        assert leak not in body
    assert error.headers() == {"retry-after": "1"}


async def test_the_async_twins_raise_the_same_error(closed_port: int) -> None:
    url = f"redis://:hunter2-secret@127.0.0.1:{closed_port}/0"
    with RedisStore.from_url(url) as store, pytest.raises(RedisUnavailableError) as caught:
        await store.aget_numbers(["k"])
    assert caught.value.url == f"redis://:***@127.0.0.1:{closed_port}/0"
    assert "127.0.0.1" not in caught.value.message


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://localhost:6379/0", "redis://localhost:6379/0"),
        ("redis://:s3cret@host:6379/0", "redis://:***@host:6379/0"),
        ("rediss://user:s3cret@host/1", "rediss://user:***@host/1"),
        ("redis://user@host", "redis://user@host"),
        ("unix:///tmp/r.sock?db=1&password=s3cret", "unix:///tmp/r.sock?db=1&password=***"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_reserve_keeps_unlimited_scopes_unchecked(redis_url: str) -> None:
    with RedisStore.from_url(redis_url) as store:
        assert store.reserve([("k", math.inf)], 1e12) is None
        assert store.get_numbers(["k"]) == [1e12]


def test_redis_store_is_exported_lazily_and_names_the_extra_when_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert state_package.RedisStore is RedisStore
    monkeypatch.setitem(sys.modules, "redis", None)  # as if redis-py were not installed
    monkeypatch.delitem(sys.modules, "llm_router_middleware.state.redis")
    monkeypatch.delattr(state_package, "redis")
    with pytest.raises(ImportError, match=r"llm-router-middleware\[redis\]"):
        _ = state_package.RedisStore

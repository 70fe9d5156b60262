"""The Router's read API: a user's spend per scope, each model's breaker and cooldown, and a
readiness summary (sync and async twins agree)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from llm_router_middleware import (
    AllModelsFailedError,
    HealthReport,
    ModelStatus,
    RequestContext,
    Router,
    SpendReport,
)
from llm_router_middleware.testing import Behavior, FakeProvider

HI = [{"role": "user", "content": "hi"}]
BUDGETS = {"per_user_usd": 1.0, "per_tier_usd": {"pro": 5.0}, "global_usd": 100.0}
TIERS = {"pro": {}}


def test_spend_per_scope_after_calls(make_router: Callable[..., Router]) -> None:
    router = make_router(budgets=BUDGETS, tiers=TIERS)
    alice = RequestContext(user_id="alice", tier="pro")
    costs = [router.complete(HI, alice).routing.cost_usd for _ in range(3)]
    report = router.spend(alice)
    assert isinstance(report, SpendReport)
    assert [s.scope for s in report.scopes] == ["user:alice", "tier:pro", "global"]
    user = report.scope("user:alice")
    assert user.spent_usd == pytest.approx(sum(costs))
    assert (user.limit_usd, user.remaining_usd) == (1.0, pytest.approx(1.0 - sum(costs)))
    assert report.scope("tier:pro").limit_usd == 5.0
    assert report.remaining_usd == pytest.approx(1.0 - sum(costs))  # the tightest scope
    assert router.spend("alice", tier="pro") == report  # by budget key and tier
    assert router.spend("bob", tier="pro").scope("user:bob").spent_usd == 0.0
    with pytest.raises(KeyError, match="user:carol"):
        report.scope("user:carol")


def test_unlimited_scopes_report_spend_without_a_limit(make_router: Callable[..., Router]) -> None:
    router = make_router()
    reply = router.complete(HI, RequestContext(user_id="u"))
    report = router.spend("u")
    assert report.remaining_usd is None
    assert report.scope("global").spent_usd == pytest.approx(reply.routing.cost_usd)
    assert report.scope("user:u").limit_usd is None


def test_breakers_and_cooldowns_are_reported_and_health_follows(
    make_router: Callable[..., Router], fake_provider: FakeProvider
) -> None:
    router = make_router(breaker={"consecutive_failures": 2, "cooldown_s": 60})
    assert all(m.available and m.breaker == "closed" for m in router.models_status())
    assert router.health().ready
    assert router.health().status_code == 200

    fake_provider.set("fake-premium", Behavior(status=500))
    fake_provider.set("fake-balanced", Behavior(status=429, retry_after=300))
    router.complete(HI)  # premium fails, balanced asks for 300 s, cheap answers
    router.complete(HI)  # both fail again: both breakers open, balanced's Retry-After holds
    status = {m.model: m for m in router.models_status()}
    assert isinstance(status["premium"], ModelStatus)
    assert (status["premium"].breaker, status["premium"].available) == ("open", False)
    assert status["premium"].retry_in_s == pytest.approx(60, abs=5)
    assert status["premium"].cooldown_s is None
    assert status["balanced"].cooldown_s == pytest.approx(300, abs=5)
    assert status["balanced"].breaker == "open"
    assert not status["balanced"].available
    assert status["cheap"].available

    report = router.health()
    assert isinstance(report, HealthReport)
    assert (report.ready, report.state, report.degraded) == (True, "memory", False)
    assert report.to_json()["models"][0]["breaker"] == "open"

    fake_provider.set("fake-cheap", Behavior(status=500))
    for _ in range(2):  # cheap's breaker opens too: nothing takes calls
        with pytest.raises(AllModelsFailedError):
            router.complete(HI)
    report = router.health()
    assert not report.ready
    assert report.status_code == 503


async def test_async_twins_read_the_same(make_router: Callable[..., Router]) -> None:
    router = make_router(budgets=BUDGETS, tiers=TIERS)
    alice = RequestContext(user_id="alice", tier="pro")
    await router.acomplete(HI, alice)
    assert await router.aspend(alice) == router.spend(alice)
    assert await router.amodels_status() == router.models_status()
    assert (await router.ahealth()) == router.health()


def test_an_unknown_tier_is_named(make_router: Callable[..., Router]) -> None:
    with pytest.raises(Exception, match="'gold'"):
        make_router().spend("u", tier="gold")

"""Hedged requests over the fake provider (real HTTP on loopback, both transports): a slow first
model gets a second call beside it, the first answer wins, the loser's HTTP request is closed."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import pytest
from core_support import Spans
from starlette.types import Message

from llm_router_middleware import RequestContext, Router
from llm_router_middleware.disconnect import DisconnectWatcher
from llm_router_middleware.errors import ClientDisconnectedError
from llm_router_middleware.testing import Behavior, FakeProvider

HI = [{"role": "user", "content": "hi"}]
USER = RequestContext(user_id="u1")


def wait_for(check: Callable[[], bool], seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


async def until(check: Callable[[], bool], seconds: float = 10.0) -> bool:
    for _ in range(int(seconds / 0.02)):
        if check():
            return True
        await asyncio.sleep(0.02)
    return check()


def breaker_untouched(router: Router, name: str) -> bool:
    (status,) = [s for s in router.models_status() if s.model == name]
    outcomes = router.store.get_many([router.breakers._outcomes + name])[0]
    return status.breaker == "closed" and status.available and outcomes is None


async def test_slow_first_model_is_hedged_and_cancelled(
    make_router: Callable[..., Router],
    fake_provider: FakeProvider,
    spans: Spans,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake_provider.set("fake-premium", Behavior(latency_s=30.0))
    router = make_router(budgets={"per_user_usd": 1.0})
    llm = router.handle(USER).with_policy(hedge_after_s=0.2)
    with caplog.at_level(logging.INFO, logger="llm_router_middleware"):
        reply = await llm.acomplete(HI)

    routing = reply.routing
    assert routing.model == "balanced"
    assert reply.choices[0].message.content == "Hello from the fake provider."
    assert [(a.model, a.outcome) for a in routing.attempts] == [
        ("premium", "hedged_loser"),
        ("balanced", "success"),
    ]
    assert routing.attempts[0].error_message == "cancelled: balanced answered first"
    # the first model's HTTP request was closed: the provider saw its client leave
    assert wait_for(lambda: fake_provider.disconnects("fake-premium") == 1)
    assert fake_provider.in_flight("fake-premium") == 0
    # the loser is charged its prompt tokens at its input price; the ledger holds both
    premium = router.config.models["premium"]
    assert routing.hedged_cost_usd == pytest.approx(
        premium.estimate_cost(routing.plan.prompt_tokens, 0)
    )
    assert routing.hedged_cost_usd > 0
    spent = router.ledger.spent("u1", "default")["user:u1"]
    assert spent == pytest.approx(routing.cost_usd + routing.hedged_cost_usd)
    # a hedged loser never counts against its breaker
    assert breaker_untouched(router, "premium")

    route = dict(spans.route().attributes or {})
    assert route["llm_router.hedge.started"] is True
    assert route["llm_router.hedge.winner"] == "balanced"
    assert route["llm_router.hedge.delay_source"] == "configured"
    assert route["llm_router.hedge.after_s"] == 0.2
    assert route["llm_router.hedge.cost_usd"] == pytest.approx(routing.hedged_cost_usd)
    chats = {s.name: dict(s.attributes or {}) for s in spans.named("chat ")}
    assert chats["chat fake-premium"]["llm_router.hedge.outcome"] == "loser"
    assert chats["chat fake-balanced"]["llm_router.hedge.outcome"] == "winner"
    (line,) = [r for r in caplog.records if hasattr(r, "llm_router")]
    fields: dict[str, Any] = line.llm_router  # type: ignore[attr-defined]
    assert fields["hedged"] == "balanced"
    assert fields["hedge_winner"] == "balanced"
    assert fields["model_used"] == "balanced"


async def test_a_first_answer_within_the_delay_starts_no_hedge(
    make_router: Callable[..., Router], fake_provider: FakeProvider, spans: Spans
) -> None:
    router = make_router()
    reply = await router.handle(USER).with_policy(hedge=True, hedge_after_s=5.0).acomplete(HI)
    assert reply.routing.model == "premium"
    assert [a.outcome for a in reply.routing.attempts] == ["success"]
    assert reply.routing.hedged_cost_usd == 0.0
    assert fake_provider.count("fake-balanced") == 0
    assert dict(spans.route().attributes or {})["llm_router.hedge.started"] is False


def hedge_route(spans: Spans) -> dict[str, Any]:
    """The hedge attributes of the last routing span, then clear the spans for the next call."""
    route = {k: v for k, v in (spans.route().attributes or {}).items() if ".hedge." in k}
    spans.clear()
    return route


async def test_the_hedge_waits_for_the_first_models_p95_once_it_has_history(
    make_router: Callable[..., Router], fake_provider: FakeProvider, spans: Spans
) -> None:
    # The delays are set so no outcome depends on the machine's speed: a history of calls
    # taking at least 1 s, then a call answering at once (well inside that p95) and a call
    # that never answers (hedged at the p95, long before the configured 30 s or its 5 s timeout)
    router = make_router(routing={"latency": {"min_samples": 2, "window": 8}})
    llm = router.handle(USER).with_policy(hedge=True, hedge_after_s=30.0)
    fake_provider.set("fake-premium", Behavior(latency_s=1.0))
    for _ in range(2):
        assert (await llm.acomplete(HI)).routing.model == "premium"
        assert hedge_route(spans)["llm_router.hedge.delay_source"] == "configured"
    p95, samples = router.latency.p95("premium") or (0.0, 0)
    assert (samples, p95 >= 1.0) == (2, True)

    fake_provider.set("fake-premium", Behavior())
    fast = await llm.acomplete(HI)
    assert hedge_route(spans) == {
        "llm_router.hedge.after_s": round(p95, 6),
        "llm_router.hedge.delay_source": "p95",
        "llm_router.hedge.started": False,
    }
    assert [(a.model, a.outcome) for a in fast.routing.attempts] == [("premium", "success")]
    assert fake_provider.count("fake-balanced") == 0

    p95, samples = router.latency.p95("premium") or (0.0, 0)
    assert (samples, p95 >= 1.0) == (3, True)
    fake_provider.set("fake-premium", Behavior(hang=True))
    hedged = await llm.acomplete(HI)
    route = hedge_route(spans)
    assert (route["llm_router.hedge.delay_source"], route["llm_router.hedge.after_s"]) == (
        "p95",
        round(p95, 6),
    )
    assert route["llm_router.hedge.started"] is True
    # hedged, not timed out: the hang was cancelled when balanced answered
    assert [(a.model, a.outcome) for a in hedged.routing.attempts] == [
        ("premium", "hedged_loser"),
        ("balanced", "success"),
    ]


async def test_a_fast_failure_falls_back_before_the_hedge(
    make_router: Callable[..., Router], fake_provider: FakeProvider
) -> None:
    fake_provider.set("fake-premium", Behavior(status=503))
    router = make_router()
    reply = await router.handle(USER).with_policy(hedge_after_s=5.0).acomplete(HI)
    assert [(a.model, a.outcome) for a in reply.routing.attempts] == [
        ("premium", "error"),
        ("balanced", "success"),
    ]
    assert reply.routing.hedged_cost_usd == 0.0


async def test_a_tier_hedges_acomplete_and_sync_complete_stays_sequential(
    make_router: Callable[..., Router], fake_provider: FakeProvider
) -> None:
    # premium answers after 1.5 s, inside its 5 s timeout: the hedge sent at 0.1 s has 1.4 s to
    # win, and an unhedged call waits for premium however slow the machine is
    fake_provider.set("fake-premium", Behavior(latency_s=1.5))
    router = make_router(tiers={"default": {"hedge": True, "hedge_after_s": 0.1}})
    assert (await router.handle(USER).acomplete(HI)).routing.model == "balanced"
    assert router.handle(USER).complete(HI).routing.model == "premium"  # async-only
    # a view can turn its tier's hedging off
    off = await router.handle(USER).with_policy(hedge=False).acomplete(HI)
    assert off.routing.model == "premium"


async def test_a_client_that_leaves_cancels_both_hedged_calls_and_pays_nothing(
    make_router: Callable[..., Router], fake_provider: FakeProvider, spans: Spans
) -> None:
    fake_provider.set("fake-premium", Behavior(hang=True))
    fake_provider.set("fake-balanced", Behavior(hang=True))
    router = make_router(budgets={"per_user_usd": 1.0})
    router.warm()  # import litellm now, not inside the wait below
    queue: asyncio.Queue[Message] = asyncio.Queue()
    llm = router.handle(USER).with_policy(hedge_after_s=0.1)
    llm.disconnect = DisconnectWatcher(queue.get)
    call = asyncio.ensure_future(llm.acomplete(HI))
    assert await until(lambda: fake_provider.in_flight() == 2)  # the first call and its hedge
    queue.put_nowait({"type": "http.disconnect"})
    with pytest.raises(ClientDisconnectedError):
        await asyncio.wait_for(call, 10)
    assert await until(lambda: fake_provider.disconnects() == 2)
    assert fake_provider.disconnects("fake-premium") == 1
    assert fake_provider.disconnects("fake-balanced") == 1
    assert router.ledger.spent("u1", "default")["user:u1"] == 0.0
    assert breaker_untouched(router, "premium")
    assert breaker_untouched(router, "balanced")
    route = dict(spans.route().attributes or {})
    assert route["error.type"] == "client_disconnected"
    assert len(spans.named("chat ")) == 2  # both attempt spans ended

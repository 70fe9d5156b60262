"""Latency-aware routing over the fake provider: the ``latency`` strategy learns which model
answers faster, a tier's ``max_latency_s`` filters a model that missed it (with the figures),
and streams record their time to first token."""

from __future__ import annotations

from collections.abc import Callable

from core_support import Spans

from llm_router_middleware import RequestContext, Router
from llm_router_middleware.testing import Behavior, FakeProvider

HI = [{"role": "user", "content": "hi"}]
USER = RequestContext(user_id="u1")
ORDER = ["premium", "balanced", "cheap"]


async def test_latency_strategy_picks_the_faster_model_after_observing_both(
    make_router: Callable[..., Router], fake_provider: FakeProvider, spans: Spans
) -> None:
    fake_provider.set("fake-premium", Behavior(latency_s=2.0))  # far above a loaded call
    router = make_router(
        routing={"strategy": "latency", "fallbacks": ORDER, "cost": {"quality_floor": 0.5}}
    )
    llm = router.handle(USER)
    first = await llm.acomplete(HI)  # nothing measured yet: config order, measured one by one
    second = await llm.acomplete(HI)
    assert (first.routing.model, second.routing.model) == ("premium", "balanced")
    assert "premium has no latency observed yet, tried first" in first.routing.reason
    third = await llm.acomplete(HI)
    assert third.routing.model == "balanced"  # cheap is below the quality floor
    figures = router.latency.figures(ORDER)
    assert set(figures) == {"premium", "balanced"}
    assert figures["premium"].ewma_s > figures["balanced"].ewma_s
    assert third.routing.reason.startswith(
        "latency: fastest meeting quality floor 0.5 -> balanced (ewma "
    )
    assert f"next premium ewma {figures['premium'].ewma_s:.3f} s" in third.routing.reason
    assert [(r.model, r.code) for r in third.routing.plan.rejected] == [("cheap", "quality")]


def test_tier_latency_objective_filters_a_model_that_missed_it(
    make_router: Callable[..., Router], fake_provider: FakeProvider, spans: Spans
) -> None:
    fake_provider.set("fake-premium", Behavior(latency_s=0.4))
    router = make_router(tiers={"default": {"max_latency_s": 0.3}})
    llm = router.handle(USER)
    assert llm.complete(HI).routing.model == "premium"  # not measured yet: not filtered
    spans.clear()
    reply = llm.complete(HI)
    assert reply.routing.model == "balanced"
    (slow,) = reply.routing.plan.rejected
    assert slow.code == "latency"
    ewma = router.latency.figures(["premium"])["premium"].ewma_s
    assert slow.reason == (
        f"premium: ewma latency {ewma:.3f} s over its last 1 calls > max_latency_s 0.3 s"
    )
    route = spans.route()
    assert dict(route.attributes or {})["llm_router.latency.objective_s"] == 0.3
    (event,) = [e for e in route.events if e.name == "llm_router.candidate_rejected"]
    assert dict(event.attributes or {})["llm_router.filter"] == "latency"


async def test_streams_record_time_to_first_token(
    make_router: Callable[..., Router], fake_provider: FakeProvider
) -> None:
    router = make_router()
    chunks = await router.handle(USER).astream(HI)
    text = "".join([c.choices[0].delta.content or "" async for c in chunks if c.choices])
    assert text == "Hello from the fake provider."
    seen = router.latency.figures(["premium"])["premium"]
    assert seen.ttft_s is not None
    assert 0 < seen.ttft_s <= seen.ewma_s

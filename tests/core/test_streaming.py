"""stream()/astream(): fallback before the first chunk, cost settled at the end."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from core_support import HI, Spans, streamed

from llm_router_middleware import AllModelsFailedError, RequestContext, Router
from llm_router_middleware.testing import Behavior, FakeProvider


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_stream_falls_back_before_the_first_chunk_and_settles_cost(
    mode: str, make_router: Callable[..., Router], fake_provider: FakeProvider, spans: Spans
) -> None:
    fake_provider.set("fake-premium", Behavior(status=503))
    fake_provider.set(
        "fake-balanced", Behavior(reply="one two three", prompt_tokens=10, completion_tokens=3)
    )
    router = make_router(budgets={"per_user_usd": 1.0})
    text, routing = streamed(router, mode)
    assert text == "one two three"
    assert routing.model == "balanced"
    assert routing.fallback_count == 1
    # balanced: $3/M in, $6/M out
    assert routing.cost_usd == pytest.approx(10 * 3e-6 + 3 * 6e-6)
    assert router.ledger.spent("u1", "default")["user:u1"] == pytest.approx(routing.cost_usd)
    route = spans.route()
    assert dict(route.attributes or {})["llm_router.model_used"] == "balanced"
    ok = next(s for s in spans.named("chat ") if s.name == "chat fake-balanced")
    assert dict(ok.attributes or {})["gen_ai.usage.output_tokens"] == 3


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_stream_with_every_model_failing(
    mode: str, make_router: Callable[..., Router], fake_provider: FakeProvider
) -> None:
    fake_provider.set_default(Behavior(status=500))
    with pytest.raises(AllModelsFailedError):
        streamed(make_router(), mode)


def test_an_error_after_the_first_chunk_cannot_fall_back(transport: str) -> None:
    from core_support import base_config

    from llm_router_middleware.streaming import StreamInterruptedError

    with FakeProvider() as provider:
        provider.set_default(
            Behavior(reply="one two three four five six", stream_chunk_delay_s=0.3)
        )
        router = Router.from_config(base_config(provider, transport, budgets={"per_user_usd": 1.0}))
        stream = router.handle(RequestContext(user_id="u1")).stream(HI)
        chunks = iter(stream)
        next(chunks)  # the first chunk arrived: premium is committed
        provider.stop()  # the provider goes away mid-stream
        with pytest.raises(StreamInterruptedError) as caught:
            list(chunks)
    assert caught.value.model == "premium"
    assert caught.value.status_code == 502
    assert provider.count("fake-balanced") == 0
    # what was streamed is charged (prompt + the streamed words), not the whole estimate
    spent = router.ledger.spent("u1", "default")["user:u1"]
    assert 0.0 < spent < router.plan(HI, RequestContext(user_id="u2")).estimates_usd["premium"]

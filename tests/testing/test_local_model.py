"""End to end with a real model: llama-cpp-python's OpenAI-compatible server running Gemma 3
270M on loopback, behind the router, with the fake provider as the fallback, on each transport
(the native OpenAI-compatible client and litellm).

Needs the ``[local]`` extra. Under ``make test`` (``LLM_ROUTER_REQUIRE_LOCAL=1``) a missing
extra fails this test; run by hand without it, the test is skipped and says why.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from typing import Any

import pytest

from llm_router_middleware import RequestContext, Router
from llm_router_middleware.testing import Behavior, FakeProvider
from llm_router_middleware.testing.local_model import LocalModelServer, missing_local_extra
from llm_router_middleware.transport.reply import Reply

ASK = [{"role": "user", "content": "Name one colour."}]
MAX_TOKENS = 8


@pytest.fixture
def local_server() -> Iterator[LocalModelServer]:
    """A server per test: the test stops it halfway."""
    missing = missing_local_extra()
    if missing is not None:
        if os.environ.get("LLM_ROUTER_REQUIRE_LOCAL") == "1":
            pytest.fail(f"the end-to-end test needs a real model: {missing}", pytrace=False)
        pytest.skip(missing)
    with LocalModelServer() as server:
        yield server


def config(server: LocalModelServer, provider: FakeProvider, transport: str) -> dict[str, Any]:
    return {
        "models": [
            {
                "name": "local",
                "model": "openai/gemma",
                "api_base": server.base_url,
                "api_key": "none",  # llama_cpp.server checks no key unless started with one
                "input_cost_per_1m": 0.0,
                "output_cost_per_1m": 0.0,
                "context_window": server.n_ctx,
                "timeout_s": 60.0,
                "transport": transport,
            },
            {
                "name": "cloud",
                "model": "openai/fake-cloud",
                "api_base": provider.base_url,
                "api_key": "sk-test",
                "input_cost_per_1m": 2.5,
                "output_cost_per_1m": 10.0,
                "context_window": 8000,
                "transport": transport,
            },
        ],
        "routing": {"strategy": "fixed", "fallbacks": ["local", "cloud"]},
        "budgets": {"per_user_usd": 1.0},
    }


@pytest.mark.parametrize("transport", ["native", "litellm"])
def test_a_real_model_answers_and_streams_for_free_then_falls_back_when_it_stops(
    local_server: LocalModelServer, fake_provider: FakeProvider, transport: str
) -> None:
    fake_provider.set("fake-cloud", Behavior(reply="From the cloud.", completion_tokens=3))
    router = Router.from_config(config(local_server, fake_provider, transport))
    handle = router.handle(RequestContext(user_id="u1"))

    reply = handle.complete(ASK, max_tokens=MAX_TOKENS)
    assert (type(reply) is Reply) == (transport == "native")  # the path asked for answered
    assert reply.routing.model == "local"
    assert reply.routing.fallback_count == 0
    assert reply.choices[0].message.content
    assert reply.usage.prompt_tokens > 0  # counted by the real server's tokenizer
    assert 0 < reply.usage.completion_tokens <= MAX_TOKENS
    assert reply.routing.cost_usd == 0.0

    async def stream() -> tuple[str, Any]:
        chunks = await handle.astream(ASK, max_tokens=MAX_TOKENS)
        parts = [c.choices[0].delta.content or "" async for c in chunks if c.choices]
        return "".join(parts), chunks.routing

    text, routing = asyncio.run(stream())
    assert text.strip()
    assert routing.model == "local"
    assert routing.cost_usd == 0.0
    assert router.ledger.spent("u1", "default")["user:u1"] == 0.0
    assert fake_provider.count() == 0

    local_server.stop()  # the local model goes away: connections are refused
    fallback = handle.complete(ASK, max_tokens=MAX_TOKENS)
    assert fallback.routing.model == "cloud"
    assert fallback.routing.fallback_count == 1
    assert [a.outcome for a in fallback.routing.attempts] == ["error", "success"]
    assert fallback.choices[0].message.content == "From the cloud."
    assert fallback.routing.cost_usd > 0.0
    assert router.ledger.spent("u1", "default")["user:u1"] == pytest.approx(
        fallback.routing.cost_usd
    )

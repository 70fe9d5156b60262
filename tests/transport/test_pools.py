"""One pooled client per process and event loop; a loop's session closes when the loop ends."""

from __future__ import annotations

import asyncio

from llm_router_middleware.testing import FakeProvider
from llm_router_middleware.transport import NativeTransport
from llm_router_middleware.transport.pools import POOLS
from llm_router_middleware.transport.request import Endpoint

HI = [{"role": "user", "content": "hi"}]


def test_calls_in_one_loop_share_a_session_closed_with_the_loop(
    fake_provider: FakeProvider,
) -> None:
    transport = NativeTransport(Endpoint.of("openai/fake-x", fake_provider.base_url))
    call = {"messages": HI, "api_key": "sk-x", "timeout": 5.0}

    async def two_calls() -> tuple[object, object, int]:
        await transport.acomplete(call)
        first = await POOLS.session()
        await transport.acomplete(call)
        return first, await POOLS.session(), POOLS.open_sessions()

    first, second, open_during = asyncio.run(two_calls())
    assert first is second
    assert open_during >= 1
    assert first.closed  # type: ignore[attr-defined]
    assert POOLS.open_sessions() == 0  # nothing left behind by the finished loop
    assert fake_provider.count("fake-x") == 2


def test_sync_calls_share_one_client(fake_provider: FakeProvider) -> None:
    transport = NativeTransport(Endpoint.of("openai/fake-x", fake_provider.base_url))
    call = {"messages": HI, "api_key": "sk-x", "timeout": 5.0}
    transport.complete(call)
    client = POOLS.sync()
    reply = transport.complete(call)
    assert POOLS.sync() is client
    assert reply.choices[0].message.content == "Hello from the fake provider."

"""One pooled client per process and event loop; a loop's session closes when the loop ends."""

from __future__ import annotations

import asyncio

import pytest

from llm_router_middleware.testing import Behavior, FakeProvider
from llm_router_middleware.transport import NativeTransport, UpstreamError
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


def test_cookies_a_provider_sets_are_not_sent_back(fake_provider: FakeProvider) -> None:
    """The provider sets a cookie on an error answer; the next call on the same client (the
    process's sync client, then one loop's session) carries no Cookie header. By host name:
    a cookie jar would not keep a cookie set by an IP address anyway."""
    base = fake_provider.base_url.replace("127.0.0.1", "localhost")
    transport = NativeTransport(Endpoint.of("openai/fake-x", base))
    call = {"messages": HI, "api_key": "sk-x", "timeout": 5.0}

    def sets_cookie() -> None:
        fake_provider.set("fake-x", Behavior(status=429, headers={"Set-Cookie": "sid=abc; Path=/"}))

    def answers() -> None:
        fake_provider.set("fake-x", Behavior())

    sets_cookie()
    with pytest.raises(UpstreamError):
        transport.complete(call)
    answers()
    transport.complete(call)
    sent_sync = fake_provider.requests[-1].headers

    async def in_one_loop() -> dict[str, str]:
        sets_cookie()
        with pytest.raises(UpstreamError):
            await transport.acomplete(call)
        answers()
        await transport.acomplete(call)
        return fake_provider.requests[-1].headers

    sent_async = asyncio.run(in_one_loop())
    assert fake_provider.count("fake-x") == 4
    for sent in (sent_sync, sent_async):
        assert "cookie" not in {name.lower() for name in sent}

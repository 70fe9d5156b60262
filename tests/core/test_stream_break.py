"""A stream the provider breaks mid-way: a slow reader still gets every word sent before the
break, then StreamInterruptedError (sync and async, on both transports)."""

from __future__ import annotations

import asyncio
import time

import pytest
from core_support import HI, base_config

from llm_router_middleware import RequestContext, Router
from llm_router_middleware.streaming import StreamInterruptedError
from llm_router_middleware.testing import Behavior, FakeProvider


def _read_slowly(router: Router, mode: str, got: list[str]) -> None:
    """Stream HI, pausing after each chunk so the rest and the break wait in the buffer."""
    handle = router.handle(RequestContext(user_id="u1"))
    if mode == "sync":
        for chunk in handle.stream(HI):
            time.sleep(0.1)
            if chunk.choices:
                got.append(chunk.choices[0].delta.content or "")
        return

    async def run() -> None:
        async for chunk in await handle.astream(HI):
            await asyncio.sleep(0.1)
            if chunk.choices:
                got.append(chunk.choices[0].delta.content or "")

    asyncio.run(run())


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_words_sent_before_a_break_reach_a_slow_reader(mode: str, transport: str) -> None:
    got: list[str] = []
    with FakeProvider() as provider:
        provider.set_default(Behavior(reply="one two three four five six", stream_break_after=3))
        router = Router.from_config(base_config(provider, transport))
        with pytest.raises(StreamInterruptedError) as caught:
            _read_slowly(router, mode, got)
    assert "".join(got) == "one two three "
    assert caught.value.model == "premium"

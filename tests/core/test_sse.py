"""The framework-free SSE body: framing, the done and error events, and what closing it early
does upstream (the framework tests cover the same over each framework's server)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from llm_router_middleware import RequestContext, Router, StreamInterruptedError
from llm_router_middleware.messages import count_tokens
from llm_router_middleware.sse import aevents, delta_text, error_data, events, frame
from llm_router_middleware.testing import Behavior, FakeProvider

HI = [{"role": "user", "content": "hi"}]
WORDS = "alpha beta gamma delta epsilon zeta"


def decode(parts: list[bytes]) -> list[tuple[str | None, Any]]:
    out = []
    for part in parts:
        text = part.decode()
        assert text.endswith("\n\n")
        lines = text.strip("\n").split("\n")
        event = lines[0].removeprefix("event: ") if lines[0].startswith("event: ") else None
        out.append((event, json.loads(lines[-1].removeprefix("data: "))))
    return out


def body(router: Router, mode: str, render: Callable[[Any], Any] = delta_text) -> list[bytes]:
    handle = router.handle(RequestContext(user_id="u1"))
    if mode == "sync":
        return list(events(handle.stream(HI), render))

    async def run() -> list[bytes]:
        return [part async for part in aevents(await handle.astream(HI), render)]

    return asyncio.run(run())


def test_frame_is_one_event_with_json_data() -> None:
    assert frame({"content": "a\nb"}) == b'data: {"content":"a\\nb"}\n\n'
    assert frame({"x": 1}, "done") == b'event: done\ndata: {"x":1}\n\n'


def test_an_unexpected_error_says_nothing_about_itself() -> None:
    data = error_data(RuntimeError("secret path /srv/app"))
    assert data == {
        "error": {"type": "internal_error", "message": "the stream failed", "status": 500}
    }
    interrupted = StreamInterruptedError("model 'x' failed", model="x", attempts=())
    assert error_data(interrupted)["error"] == {
        "type": "stream_interrupted",
        "message": "model 'x' failed",
        "status": 502,
    }


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_text_events_then_done(
    mode: str, make_router: Callable[..., Router], fake_provider: FakeProvider
) -> None:
    fake_provider.set_default(Behavior(reply=WORDS, prompt_tokens=4, completion_tokens=6))
    router = make_router(budgets={"per_user_usd": 1.0})
    decoded = decode(body(router, mode))
    assert "".join(d["content"] for e, d in decoded if e is None) == WORDS
    assert [e for e, _ in decoded].count("done") == 1
    event, data = decoded[-1]
    assert event == "done"
    assert data["routing"]["model"] == "premium"
    assert data["routing"]["cost_usd"] == pytest.approx(4 * 10e-6 + 6 * 20e-6)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_render_chooses_the_data_and_a_failing_render_is_an_error_event(
    mode: str, make_router: Callable[..., Router], fake_provider: FakeProvider
) -> None:
    fake_provider.set_default(Behavior(reply=WORDS))
    router = make_router(budgets={"per_user_usd": 1.0})
    ids = decode(body(router, mode, lambda chunk: {"id": chunk.id}))
    assert {d["id"] for e, d in ids if e is None} == {ids[0][1]["id"]}

    def broken(chunk: Any) -> Any:
        raise KeyError("oops")

    event, data = decode(body(router, mode, broken))[-1]
    assert event == "error"
    assert data["error"]["type"] == "internal_error"


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_closing_the_body_early_closes_the_upstream_call_and_charges_what_it_carried(
    mode: str, make_router: Callable[..., Router], fake_provider: FakeProvider
) -> None:
    # a word a second: the body is closed long before the provider would send its second word
    # (at 0.2 s a loaded machine could close it late, and the provider had sent "beta " too)
    fake_provider.set_default(Behavior(reply=WORDS, stream_chunk_delay_s=1.0))
    router = make_router(budgets={"per_user_usd": 1.0})
    handle = router.handle(RequestContext(user_id="u1"))

    if mode == "sync":
        sync_body = events(handle.stream(HI))
        first = next(sync_body)
        sync_body.close()
    else:

        async def run() -> bytes:
            async_body = aevents(await handle.astream(HI))
            first = await anext(async_body)
            await async_body.aclose()
            return first

        first = asyncio.run(run())
    assert json.loads(first.decode().removeprefix("data: "))["content"] == "alpha "
    deadline = time.monotonic() + 10
    while not fake_provider.streams and time.monotonic() < deadline:
        time.sleep(0.02)
    [record] = fake_provider.streams
    assert not record.completed  # the provider saw us hang up
    assert record.sent == "alpha "
    spent = router.ledger.spent("u1", "default")["user:u1"]
    prompt = router.plan(HI).prompt_tokens
    completion = count_tokens([{"role": "assistant", "content": "alpha "}]) - 6
    assert spent == pytest.approx(router.config.models["premium"].estimate_cost(prompt, completion))

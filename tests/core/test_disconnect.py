"""A client that goes away cancels the model call it was waiting for (real uvicorn, real HTTP)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import uvicorn
from core_support import Spans, base_config
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route
from starlette.types import Message

from llm_router_middleware import LLMRouterMiddleware, RequestContext, Router
from llm_router_middleware.disconnect import DisconnectWatcher
from llm_router_middleware.testing import Behavior, FakeProvider


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def served(fake_provider: FakeProvider, transport: str) -> Iterator[tuple[str, Router]]:
    router = Router.from_config(
        base_config(fake_provider, transport, budgets={"per_user_usd": 1.0})
    )

    async def chat(request: Request) -> JSONResponse:
        body = await request.json()
        reply = await request.state.llm.acomplete(body["messages"])
        return JSONResponse({"model": reply.routing.model})

    async def stream(request: Request) -> StreamingResponse:
        body = await request.json()
        chunks = await request.state.llm.astream(body["messages"])

        async def text() -> AsyncIterator[str]:
            async for chunk in chunks:
                if chunk.choices:
                    yield chunk.choices[0].delta.content or ""

        return StreamingResponse(text())

    app = Starlette(
        routes=[Route("/chat", chat, methods=["POST"]), Route("/stream", stream, methods=["POST"])],
        middleware=[
            Middleware(
                LLMRouterMiddleware, router=router, context=lambda r: RequestContext(user_id="u1")
            )
        ],
    )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}", router
    server.should_exit = True
    thread.join(timeout=10)


@pytest.mark.parametrize("path", ["/chat", "/stream"])  # acomplete; astream before chunk one
def test_model_call_is_cancelled_when_the_client_goes_away(
    path: str, served: tuple[str, Router], fake_provider: FakeProvider, spans: Spans
) -> None:
    url, router = served
    fake_provider.set("fake-premium", Behavior(hang=True))
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(
            f"{url}{path}", json={"messages": [{"role": "user", "content": "hi"}]}, timeout=0.5
        )
    deadline = time.monotonic() + 10
    while not spans.named("route ") and time.monotonic() < deadline:
        time.sleep(0.05)
    route = spans.route()
    assert dict(route.attributes or {})["error.type"] == "client_disconnected"
    assert fake_provider.count("fake-balanced") == 0  # no fallback for a client that left
    assert router.ledger.spent("u1", "default")["user:u1"] == 0.0  # reservation released
    assert router.plan([{"role": "user", "content": "hi"}]).selected == "premium"  # no breaker hit


def test_a_live_client_still_gets_its_answer(served: tuple[str, Router]) -> None:
    url, _ = served
    reply = httpx.post(
        f"{url}/chat", json={"messages": [{"role": "user", "content": "hi"}]}, timeout=10
    )
    assert reply.json() == {"model": "premium"}
    streamed = httpx.post(
        f"{url}/stream", json={"messages": [{"role": "user", "content": "hi"}]}, timeout=10
    )
    assert streamed.text == "Hello from the fake provider."


async def test_watcher_replays_body_messages_and_cancels_only_on_disconnect() -> None:
    queue: asyncio.Queue[Message] = asyncio.Queue()
    for part in (b"a", b"b"):
        queue.put_nowait({"type": "http.request", "body": part, "more_body": part == b"a"})
    watcher = DisconnectWatcher(queue.get)

    async def guarded_call() -> None:
        assert watcher.arm()
        try:
            await asyncio.sleep(10)  # stands for the model call
        finally:
            watcher.disarm()

    call = asyncio.ensure_future(guarded_call())
    await asyncio.sleep(0.01)
    assert not call.done()  # body messages filed, the client is still there
    queue.put_nowait({"type": "http.disconnect"})
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(call, 1)
    assert watcher.fired
    assert (await watcher())["body"] == b"a"  # the app still gets the body, in order
    assert (await watcher())["body"] == b"b"
    assert (await watcher())["type"] == "http.disconnect"
    assert watcher.arm() is False  # a later call is refused at once


async def test_app_reads_through_the_watcher_when_nothing_is_armed() -> None:
    queue: asyncio.Queue[Message] = asyncio.Queue()
    queue.put_nowait({"type": "http.request", "body": b"x", "more_body": False})
    watcher = DisconnectWatcher(queue.get)
    assert (await asyncio.wait_for(watcher(), 1))["body"] == b"x"
    queue.put_nowait({"type": "http.disconnect"})
    assert (await asyncio.wait_for(watcher(), 1))["type"] == "http.disconnect"
    assert not watcher.fired

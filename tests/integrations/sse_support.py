"""Shared by the Server-Sent Events tests of every framework: a two-model config over the fake
provider, an SSE parser, real servers on loopback (uvicorn for ASGI, werkzeug for WSGI), a
client that leaves mid-stream, and the charge a stream cut off after some text must cost."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn
from werkzeug.serving import make_server

from llm_router_middleware import Router
from llm_router_middleware.messages import count_tokens
from llm_router_middleware.testing import Behavior, FakeProvider, StreamRecord

MESSAGES = [{"role": "user", "content": "tell me a story"}]
USER = "u1"
LONG = "one two three four five six seven eight nine ten eleven twelve"
# slow enough that the router has read each chunk long before the next one is sent
SLOW = Behavior(reply=LONG, stream_chunk_delay_s=0.3)


def sse_config(provider: FakeProvider) -> dict[str, Any]:
    """``first`` then ``second``, both allowed to every user; budgets so charges are visible."""
    common = {"api_base": provider.base_url, "api_key": "sk-test", "context_window": 8000}
    return {
        "models": [
            {
                "name": "first",
                "model": "openai/fake-first",
                "input_cost_per_1m": 5.0,
                "output_cost_per_1m": 15.0,
                **common,
            },
            {
                "name": "second",
                "model": "openai/fake-second",
                "input_cost_per_1m": 1.0,
                "output_cost_per_1m": 2.0,
                **common,
            },
        ],
        "routing": {"strategy": "fixed", "fallbacks": ["first", "second"]},
        "budgets": {"per_user_usd": 1.0},
    }


def parse(body: str) -> list[tuple[str, dict[str, Any]]]:
    """The events of an SSE body as (event name, JSON data); unnamed events are "message"."""
    events = []
    for block in body.replace("\r\n", "\n").split("\n\n"):
        if not block.strip():
            continue
        name, data = "message", []
        for line in block.split("\n"):
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "event":
                name = value
            elif field == "data":
                data.append(value)
        events.append((name, json.loads("\n".join(data))))
    return events


def text_of(events: list[tuple[str, dict[str, Any]]]) -> str:
    return "".join(data["content"] for name, data in events if name == "message")


def error_of(body: dict[str, Any]) -> dict[str, Any]:
    """The error object of a JSON error answer, ``{"error": ...}`` or FastAPI's ``{"detail"}``."""
    found = body.get("error") or body.get("detail")
    assert isinstance(found, dict), body
    return found


def spent(router: Router) -> float:
    return float(router.ledger.spent(USER, router.config.routing.default_tier)[f"user:{USER}"])


def charge_for(router: Router, model: str, streamed: str) -> float:
    """What a stream of ``model`` cut off after ``streamed`` must cost: the prompt, plus the
    streamed text counted as reply tokens."""
    prompt = router.plan(MESSAGES).prompt_tokens
    completion = count_tokens([{"role": "assistant", "content": streamed}]) - 6
    return router.config.models[model].estimate_cost(prompt, completion)


def stream_ended(provider: FakeProvider, timeout_s: float = 10.0) -> StreamRecord:
    """The fake provider's record of the one stream it served, once that stream has ended."""
    deadline = time.monotonic() + timeout_s
    while not provider.streams and time.monotonic() < deadline:
        time.sleep(0.02)
    streams = provider.streams
    assert len(streams) == 1, streams
    return streams[0]


def settled(router: Router, expected: float, timeout_s: float = 10.0) -> float:
    """The user's spend once it reaches ``expected`` (the server settles after the client left)."""
    deadline = time.monotonic() + timeout_s
    while abs(spent(router) - expected) > 1e-12 and time.monotonic() < deadline:
        time.sleep(0.02)
    return spent(router)


def read_then_leave(url: str, words: int, **request: Any) -> str:
    """Read the SSE response until ``words`` text events have arrived, then hang up."""
    received = ""
    count = 0
    with httpx.stream("POST", url, timeout=10, **request) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("data: ") and '"content"' in line:
                received += json.loads(line.removeprefix("data: "))["content"]
                count += 1
                if count == words:
                    break
    return received


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serve_asgi(app: Any) -> Iterator[str]:
    """``app`` under uvicorn on a free loopback port; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def serve_wsgi(app: Any) -> Iterator[str]:
    """``app`` under werkzeug's threaded WSGI server (uvicorn's WSGI bridge never closes a
    response body, so a WSGI app could not see its client leave); yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)

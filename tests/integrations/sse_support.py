"""Shared by the Server-Sent Events tests of every framework: a two-model config over the fake
provider, an SSE parser, real servers on loopback (uvicorn for ASGI, werkzeug for WSGI), a
client that leaves mid-stream, the charge a stream cut off after some text must cost, and the
scenarios every framework's tests run (``expect_*``, three of them as ``SSEScenarios``)."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
from werkzeug.serving import make_server

from llm_router_middleware import Router
from llm_router_middleware.messages import count_tokens
from llm_router_middleware.testing import Behavior, FakeProvider, StreamRecord

MESSAGES = [{"role": "user", "content": "tell me a story"}]
_WORDS = re.compile(r"\s*\S+\s*|\s+")  # how the fake provider cuts a reply into chunks
USER = "u1"
LONG = "one two three four five six seven eight nine ten eleven twelve"
# A reply of 40 words, a word every 0.3 s: the stream would take 12 s to complete, while the
# server hangs up on it a chunk or two after its client left (a WSGI server learns it when a
# write fails), so a complete stream means the client's leaving was missed, not a slow machine.
SLOW_REPLY = " ".join([LONG] * 3 + ["thirteen two three four"])
SLOW = Behavior(reply=SLOW_REPLY, stream_chunk_delay_s=0.3)


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


def settled_on_one_of(router: Router, charges: list[float], timeout_s: float = 10.0) -> float:
    """The one of ``charges`` the user's spend reaches (the server settles after the client
    left), else the spend as it stands after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        now = spent(router)
        for charge in charges:
            if abs(now - charge) <= 1e-12:
                return charge
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


@dataclass(frozen=True)
class Answer:
    """The parts of a response the scenarios read, from any framework's client."""

    status_code: int
    headers: Mapping[str, str]  # names in lower case
    text: str

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


def answer(status: int, headers: Any, text: str) -> Answer:
    return Answer(status, {str(k).lower(): str(v) for k, v in headers.items()}, text)


Post = Callable[[], Answer]


def expect_events_then_done(post: Post, router: Router, provider: FakeProvider) -> None:
    """The first model fails before its first chunk: the second one's text, then ``done``."""
    provider.set("fake-first", Behavior(status=503))
    provider.set("fake-second", Behavior(reply=LONG, prompt_tokens=7, completion_tokens=12))
    response = post()
    assert response.status_code == 200
    assert response.content_type.startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-cache"
    events = parse(response.text)
    assert text_of(events) == LONG, response.text
    name, done = events[-1]
    assert name == "done"
    routing = done["routing"]
    assert routing["model"] == "second"
    assert routing["fallback_count"] == 1
    assert [a["outcome"] for a in routing["attempts"]] == ["error", "success"]
    assert routing["cost_usd"] == pytest.approx(7 * 1e-6 + 12 * 2e-6)  # the usage chunk's
    assert spent(router) == pytest.approx(routing["cost_usd"])


def expect_json_error_before_the_first_chunk(
    post: Post, router: Router, provider: FakeProvider
) -> None:
    """Every model fails before a chunk: a plain JSON error, nothing charged."""
    provider.set_default(Behavior(status=503))
    response = post()
    assert response.status_code == 502
    assert response.content_type == "application/json"
    assert error_of(json.loads(response.text))["type"] == "all_models_failed"
    assert spent(router) == 0.0


def expect_error_event_mid_stream(post: Post, router: Router, provider: FakeProvider) -> None:
    """The stream breaks after two words: they are kept, an ``error`` event ends the stream
    (the 200 had gone), no fallback, and the words streamed are charged.

    A word every 0.3 s, the break 0.3 s after the second: the native transport (aiohttp)
    loses a chunk that is still unread in its buffer when the connection breaks (its reader
    raises the break before returning buffered data), so with no delay a loaded machine that
    read "two " late saw "one " alone about once in 150 runs."""
    provider.set("fake-first", Behavior(reply=LONG, stream_break_after=2, stream_chunk_delay_s=0.3))
    response = post()
    assert response.status_code == 200
    events = parse(response.text)
    assert text_of(events) == "one two ", response.text
    name, data = events[-1]
    assert (name, data["error"]["type"], data["error"]["status"]) == (
        "error",
        "stream_interrupted",
        502,
    )
    assert "first" in data["error"]["message"]
    assert "done" not in [n for n, _ in events]
    assert provider.count("fake-second") == 0
    assert spent(router) == pytest.approx(charge_for(router, "first", "one two "))


def expect_leaving_stops_the_stream(
    url: str, router: Router, provider: FakeProvider, **request: Any
) -> None:
    """A client reads two words of a slow stream and hangs up: the server stops the upstream
    call and charges the prompt plus the text the router had read. That is at least what the
    client got and at most what the provider sent: the provider may have sent a word the
    router had not read yet when it hung up (more likely on a loaded machine)."""
    provider.set("fake-first", SLOW)
    received = read_then_leave(url, words=2, **request)
    record = stream_ended(provider)
    assert received == "one two "
    assert not record.completed  # the provider saw its client (the router) hang up
    assert record.sent.startswith(received)
    sent = _WORDS.findall(record.sent)
    charges = [charge_for(router, "first", "".join(sent[:n])) for n in range(2, len(sent) + 1)]
    assert settled_on_one_of(router, charges) in charges
    assert charges[-1] < charge_for(router, "first", SLOW_REPLY)


class SSEScenarios:
    """The scenarios every framework answers alike. A test module subclasses this as
    ``TestScenarios`` and defines the ``post`` fixture (one per client and server kind) and the
    ``router`` fixture behind it."""

    def test_events_then_done_with_the_routing(
        self, post: Post, router: Router, fake_provider: FakeProvider
    ) -> None:
        expect_events_then_done(post, router, fake_provider)

    def test_failure_before_the_first_chunk_is_a_json_error(
        self, post: Post, router: Router, fake_provider: FakeProvider
    ) -> None:
        expect_json_error_before_the_first_chunk(post, router, fake_provider)

    def test_failure_mid_stream_is_an_error_event(
        self, post: Post, router: Router, fake_provider: FakeProvider
    ) -> None:
        expect_error_event_mid_stream(post, router, fake_provider)

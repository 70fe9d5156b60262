"""Server-Sent Events in Django (``StreamingHttpResponse``): sync views under WSGI and async
views under ASGI, with Django's test clients and over real HTTP (werkzeug for WSGI, uvicorn for
ASGI), against the fake provider's faults: every model failing before the first chunk, a break
mid-stream, a client that leaves."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from asgiref.sync import async_to_sync
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.wsgi import WSGIHandler
from django.test import AsyncClient, Client, override_settings
from sse_support import (
    LONG,
    SLOW,
    USER,
    charge_for,
    parse,
    read_then_leave,
    serve_asgi,
    serve_wsgi,
    settled,
    spent,
    sse_config,
    stream_ended,
    text_of,
)

from llm_router_middleware import Router
from llm_router_middleware.testing import Behavior, FakeProvider

# (server stack, view kind): Django reads a sync body whole under ASGI, so async views there
STACKS = {"wsgi": "sync", "asgi": "async"}
COOKIE = {"cookie": f"login={USER}"}


class Answer:
    def __init__(self, status: int, content_type: str, text: str) -> None:
        self.status_code = status
        self.content_type = content_type
        self.text = text


@pytest.fixture
def router(fake_provider: FakeProvider) -> Iterator[Router]:
    router = Router.from_config(sse_config(fake_provider))
    with override_settings(ROOT_URLCONF="django_sse_app", LLM_ROUTER=router):
        yield router


def _test_client(stack: str) -> Answer:
    path = f"/{STACKS[stack]}/chat/"
    if stack == "wsgi":
        client = Client()
        client.cookies["login"] = USER
        response: Any = client.post(path)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        return Answer(response.status_code, response["content-type"], body.decode())

    async def run() -> Answer:
        async_client = AsyncClient()
        async_client.cookies["login"] = USER
        response: Any = await async_client.post(path)
        if response.streaming:
            body = b"".join([part async for part in response.streaming_content])
        else:
            body = response.content
        return Answer(response.status_code, response["content-type"], body.decode())

    return async_to_sync(run)()


def _server(stack: str) -> Any:
    return serve_wsgi(WSGIHandler()) if stack == "wsgi" else serve_asgi(ASGIHandler())


@pytest.fixture(params=[(c, s) for c in ("testclient", "server") for s in STACKS])
def post(request: pytest.FixtureRequest, router: Router) -> Iterator[Callable[[], Answer]]:
    client_kind, stack = request.param
    if client_kind == "testclient":
        yield lambda: _test_client(stack)
        return
    with _server(stack) as url:

        def via_http() -> Answer:
            response = httpx.post(f"{url}/{STACKS[stack]}/chat/", headers=COOKIE, timeout=10)
            return Answer(response.status_code, response.headers["content-type"], response.text)

        yield via_http


def test_events_then_done_with_the_routing(
    post: Callable[[], Answer], router: Router, fake_provider: FakeProvider
) -> None:
    fake_provider.set("fake-first", Behavior(status=503))
    fake_provider.set("fake-second", Behavior(reply=LONG, prompt_tokens=7, completion_tokens=12))
    response = post()
    assert response.status_code == 200
    assert response.content_type.startswith("text/event-stream")
    events = parse(response.text)
    assert text_of(events) == LONG
    name, done = events[-1]
    assert name == "done"
    assert done["routing"]["model"] == "second"
    assert done["routing"]["fallback_count"] == 1
    assert done["routing"]["cost_usd"] == pytest.approx(7 * 1e-6 + 12 * 2e-6)
    assert spent(router) == pytest.approx(done["routing"]["cost_usd"])


def test_failure_before_the_first_chunk_is_a_json_error(
    post: Callable[[], Answer], router: Router, fake_provider: FakeProvider
) -> None:
    fake_provider.set_default(Behavior(status=503))
    response = post()
    assert response.status_code == 502
    assert response.content_type == "application/json"
    assert '"all_models_failed"' in response.text
    assert spent(router) == 0.0


def test_failure_mid_stream_is_an_error_event(
    post: Callable[[], Answer], router: Router, fake_provider: FakeProvider
) -> None:
    fake_provider.set("fake-first", Behavior(reply=LONG, stream_break_after=2))
    response = post()
    assert response.status_code == 200
    events = parse(response.text)
    assert text_of(events) == "one two "
    name, data = events[-1]
    assert (name, data["error"]["type"], data["error"]["status"]) == (
        "error",
        "stream_interrupted",
        502,
    )
    assert fake_provider.count("fake-second") == 0
    assert spent(router) == pytest.approx(charge_for(router, "first", "one two "))


@pytest.mark.parametrize("stack", sorted(STACKS))
def test_a_client_that_leaves_stops_the_upstream_call_and_pays_what_was_streamed(
    stack: str, router: Router, fake_provider: FakeProvider
) -> None:
    fake_provider.set("fake-first", SLOW)
    with _server(stack) as url:
        received = read_then_leave(f"{url}/{STACKS[stack]}/chat/", words=2, headers=COOKIE)
        record = stream_ended(fake_provider)
        assert not record.completed
        assert record.sent.startswith(received)
        expected = charge_for(router, "first", record.sent)
        assert settled(router, expected) == pytest.approx(expected)
    assert 0.0 < expected < charge_for(router, "first", LONG)

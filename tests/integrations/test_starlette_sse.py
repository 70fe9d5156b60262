"""Server-Sent Events in Starlette (through the ASGI middleware) and FastAPI (through ``setup``):
with each framework's TestClient and over real HTTP under uvicorn, against the fake provider's
faults: every model failing before the first chunk, a break mid-stream, a client that leaves."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from llm_router_middleware.integrations import fastapi as fastapi_integration
from llm_router_middleware.integrations.starlette import sse_response
from sse_support import (
    LONG,
    MESSAGES,
    SLOW,
    USER,
    charge_for,
    error_of,
    parse,
    read_then_leave,
    serve_asgi,
    settled,
    spent,
    sse_config,
    stream_ended,
    text_of,
)
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient

from llm_router_middleware import LLMRouterMiddleware, RequestContext, Router
from llm_router_middleware.testing import Behavior, FakeProvider


def user(request: Any) -> RequestContext:
    return RequestContext(user_id=USER)


def starlette_app(router: Router) -> Starlette:
    async def chat(request: Request) -> Response:
        return await sse_response(request.state.llm, MESSAGES)

    return Starlette(
        routes=[Route("/chat", chat, methods=["POST"])],
        middleware=[Middleware(LLMRouterMiddleware, router=router, context=user)],
    )


def fastapi_app(router: Router) -> FastAPI:
    app = FastAPI()
    fastapi_integration.setup(app, router, context=user)

    @app.post("/chat")
    async def chat(llm: fastapi_integration.LLM) -> Response:
        return await fastapi_integration.sse_response(llm, MESSAGES)

    return app


APPS: dict[str, Callable[[Router], Any]] = {"starlette": starlette_app, "fastapi": fastapi_app}


@pytest.fixture(params=sorted(APPS))
def app_router(request: pytest.FixtureRequest, fake_provider: FakeProvider) -> tuple[Any, Router]:
    router = Router.from_config(sse_config(fake_provider))
    return APPS[request.param](router), router


@pytest.fixture(params=["testclient", "uvicorn"])
def post(
    request: pytest.FixtureRequest, app_router: tuple[Any, Router]
) -> Iterator[Callable[[], httpx.Response]]:
    app, _ = app_router
    if request.param == "testclient":
        with TestClient(app) as client:
            yield lambda: client.post("/chat")
        return
    with serve_asgi(app) as url:
        yield lambda: httpx.post(f"{url}/chat", timeout=10)


def test_events_then_done_with_the_routing(
    post: Callable[[], httpx.Response], app_router: tuple[Any, Router], fake_provider: FakeProvider
) -> None:
    _, router = app_router
    fake_provider.set("fake-first", Behavior(status=503))
    fake_provider.set("fake-second", Behavior(reply=LONG, prompt_tokens=7, completion_tokens=12))
    response = post()
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-cache"
    events = parse(response.text)
    assert text_of(events) == LONG
    name, done = events[-1]
    assert name == "done"
    routing = done["routing"]
    assert routing["model"] == "second"
    assert routing["fallback_count"] == 1
    assert [a["outcome"] for a in routing["attempts"]] == ["error", "success"]
    assert routing["cost_usd"] == pytest.approx(7 * 1e-6 + 12 * 2e-6)  # the usage chunk's
    assert spent(router) == pytest.approx(routing["cost_usd"])


def test_failure_before_the_first_chunk_is_a_json_error(
    post: Callable[[], httpx.Response], app_router: tuple[Any, Router], fake_provider: FakeProvider
) -> None:
    _, router = app_router
    fake_provider.set_default(Behavior(status=503))
    response = post()
    assert response.status_code == 502
    assert response.headers["content-type"] == "application/json"
    assert error_of(response.json())["type"] == "all_models_failed"
    assert spent(router) == 0.0


def test_failure_mid_stream_is_an_error_event(
    post: Callable[[], httpx.Response], app_router: tuple[Any, Router], fake_provider: FakeProvider
) -> None:
    _, router = app_router
    fake_provider.set("fake-first", Behavior(reply=LONG, stream_break_after=2))
    response = post()
    assert response.status_code == 200  # the stream had started: only an event can say it
    events = parse(response.text)
    assert text_of(events) == "one two "
    name, data = events[-1]
    assert name == "error"
    assert data["error"]["type"] == "stream_interrupted"
    assert data["error"]["status"] == 502
    assert "first" in data["error"]["message"]
    assert "done" not in [n for n, _ in events]
    assert fake_provider.count("fake-second") == 0  # no fallback once text was sent
    assert spent(router) == pytest.approx(charge_for(router, "first", "one two "))


def test_a_client_that_leaves_stops_the_upstream_call_and_pays_what_was_streamed(
    app_router: tuple[Any, Router], fake_provider: FakeProvider
) -> None:
    app, router = app_router
    fake_provider.set("fake-first", SLOW)
    with serve_asgi(app) as url:
        received = read_then_leave(f"{url}/chat", words=2)
        record = stream_ended(fake_provider)
        assert received == "one two "
        assert not record.completed  # the provider saw its client (the router) hang up
        assert record.sent.startswith(received)  # at most what was in flight when it left
        expected = charge_for(router, "first", record.sent)
        assert settled(router, expected) == pytest.approx(expected)
    assert 0.0 < expected < charge_for(router, "first", LONG)

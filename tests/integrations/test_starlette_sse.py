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
    MESSAGES,
    USER,
    Answer,
    Post,
    SSEScenarios,
    answer,
    expect_leaving_stops_the_stream,
    serve_asgi,
    sse_config,
)
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient

from llm_router_middleware import LLMRouterMiddleware, RequestContext, Router
from llm_router_middleware.testing import FakeProvider


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


@pytest.fixture
def router(app_router: tuple[Any, Router]) -> Router:
    return app_router[1]


@pytest.fixture(params=["testclient", "uvicorn"])
def post(request: pytest.FixtureRequest, app_router: tuple[Any, Router]) -> Iterator[Post]:
    app, _ = app_router
    if request.param == "testclient":
        with TestClient(app) as client:
            yield lambda: of(client.post("/chat"))
        return
    with serve_asgi(app) as url:
        yield lambda: of(httpx.post(f"{url}/chat", timeout=10))


def of(response: httpx.Response) -> Answer:
    return answer(response.status_code, response.headers, response.text)


class TestScenarios(SSEScenarios):
    """Events then done, a JSON error before the first chunk, an error event mid-stream."""


def test_a_client_that_leaves_stops_the_upstream_call_and_pays_what_was_streamed(
    app_router: tuple[Any, Router], fake_provider: FakeProvider
) -> None:
    app, router = app_router
    with serve_asgi(app) as url:
        expect_leaving_stops_the_stream(f"{url}/chat", router, fake_provider)

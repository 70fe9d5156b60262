"""Server-Sent Events in Django (``StreamingHttpResponse``): sync views under WSGI and async
views under ASGI, with Django's test clients and over real HTTP (werkzeug for WSGI, uvicorn for
ASGI), against the fake provider's faults: every model failing before the first chunk, a break
mid-stream, a client that leaves."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from asgiref.sync import async_to_sync
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.wsgi import WSGIHandler
from django.test import AsyncClient, Client, override_settings
from sse_support import (
    USER,
    Answer,
    Post,
    SSEScenarios,
    answer,
    expect_leaving_stops_the_stream,
    serve_asgi,
    serve_wsgi,
    sse_config,
)

from llm_router_middleware import Router
from llm_router_middleware.testing import FakeProvider

# (server stack, view kind): Django reads a sync body whole under ASGI, so async views there
STACKS = {"wsgi": "sync", "asgi": "async"}
COOKIE = {"cookie": f"login={USER}"}


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
        return answer(response.status_code, response.headers, body.decode())

    async def run() -> Answer:
        async_client = AsyncClient()
        async_client.cookies["login"] = USER
        response: Any = await async_client.post(path)
        if response.streaming:
            body = b"".join([part async for part in response.streaming_content])
        else:
            body = response.content
        return answer(response.status_code, response.headers, body.decode())

    return async_to_sync(run)()


def _server(stack: str) -> Any:
    return serve_wsgi(WSGIHandler()) if stack == "wsgi" else serve_asgi(ASGIHandler())


@pytest.fixture(params=[(c, s) for c in ("testclient", "server") for s in STACKS])
def post(request: pytest.FixtureRequest, router: Router) -> Iterator[Post]:
    client_kind, stack = request.param
    if client_kind == "testclient":
        yield lambda: _test_client(stack)
        return
    with _server(stack) as url:

        def via_http() -> Answer:
            response = httpx.post(f"{url}/{STACKS[stack]}/chat/", headers=COOKIE, timeout=10)
            return answer(response.status_code, response.headers, response.text)

        yield via_http


class TestScenarios(SSEScenarios):
    """Events then done, a JSON error before the first chunk, an error event mid-stream."""


@pytest.mark.parametrize("stack", sorted(STACKS))
def test_a_client_that_leaves_stops_the_upstream_call_and_pays_what_was_streamed(
    stack: str, router: Router, fake_provider: FakeProvider
) -> None:
    with _server(stack) as url:
        url = f"{url}/{STACKS[stack]}/chat/"
        expect_leaving_stops_the_stream(url, router, fake_provider, headers=COOKIE)

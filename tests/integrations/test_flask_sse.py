"""Server-Sent Events in Flask (``stream_with_context``), from sync and async views: with
Flask's test client and over real HTTP under werkzeug's server, against the fake provider's
faults: every model failing before the first chunk, a break mid-stream, a client that leaves."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from flask import Flask
from flask.typing import ResponseReturnValue
from llm_router_middleware.integrations.flask import LLMRouter, llm, sse_response
from sse_support import (
    MESSAGES,
    USER,
    Answer,
    Post,
    SSEScenarios,
    answer,
    expect_leaving_stops_the_stream,
    serve_wsgi,
    sse_config,
)

from llm_router_middleware import RequestContext, Router
from llm_router_middleware.testing import FakeProvider

VIEWS = ["sync", "async"]


def make_app(router: Router) -> Flask:
    app = Flask(__name__)
    LLMRouter(app, router=router, context=lambda request: RequestContext(user_id=USER))

    @app.post("/sync/chat")
    def chat_sync() -> ResponseReturnValue:
        return sse_response(llm, MESSAGES)

    @app.post("/async/chat")
    async def chat_async() -> ResponseReturnValue:
        return sse_response(llm, MESSAGES)

    return app


@pytest.fixture
def router(fake_provider: FakeProvider) -> Router:
    return Router.from_config(sse_config(fake_provider))


@pytest.fixture(params=[(c, v) for c in ("testclient", "werkzeug") for v in VIEWS])
def post(request: pytest.FixtureRequest, router: Router) -> Iterator[Post]:
    client_kind, view = request.param
    app = make_app(router)
    if client_kind == "testclient":
        client = app.test_client()

        def via_test_client() -> Answer:
            response = client.post(f"/{view}/chat")
            return answer(response.status_code, response.headers, response.get_data(True))

        yield via_test_client
        return
    with serve_wsgi(app) as url:

        def via_http() -> Answer:
            response = httpx.post(f"{url}/{view}/chat", timeout=10)
            return answer(response.status_code, response.headers, response.text)

        yield via_http


class TestScenarios(SSEScenarios):
    """Events then done, a JSON error before the first chunk, an error event mid-stream."""


@pytest.mark.parametrize("view", VIEWS)
def test_a_client_that_leaves_stops_the_upstream_call_and_pays_what_was_streamed(
    view: str, router: Router, fake_provider: FakeProvider
) -> None:
    with serve_wsgi(make_app(router)) as url:
        expect_leaving_stops_the_stream(f"{url}/{view}/chat", router, fake_provider)

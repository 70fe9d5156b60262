"""Server-Sent Events in Flask (``stream_with_context``), from sync and async views: with
Flask's test client and over real HTTP under werkzeug's server, against the fake provider's
faults: every model failing before the first chunk, a break mid-stream, a client that leaves."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest
from flask import Flask
from flask.typing import ResponseReturnValue
from llm_router_middleware.integrations.flask import LLMRouter, llm, sse_response
from sse_support import (
    LONG,
    MESSAGES,
    SLOW,
    USER,
    charge_for,
    parse,
    read_then_leave,
    serve_wsgi,
    settled,
    spent,
    sse_config,
    stream_ended,
    text_of,
)

from llm_router_middleware import RequestContext, Router
from llm_router_middleware.testing import Behavior, FakeProvider

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


class Answer:
    """The parts of a response the tests read, from either client."""

    def __init__(self, status: int, content_type: str, text: str) -> None:
        self.status_code = status
        self.content_type = content_type
        self.text = text


@pytest.fixture
def router(fake_provider: FakeProvider) -> Router:
    return Router.from_config(sse_config(fake_provider))


@pytest.fixture(params=[(c, v) for c in ("testclient", "werkzeug") for v in VIEWS])
def post(request: pytest.FixtureRequest, router: Router) -> Iterator[Callable[[], Answer]]:
    client_kind, view = request.param
    app = make_app(router)
    if client_kind == "testclient":
        client = app.test_client()

        def via_test_client() -> Answer:
            response = client.post(f"/{view}/chat")
            return Answer(response.status_code, response.content_type, response.get_data(True))

        yield via_test_client
        return
    with serve_wsgi(app) as url:

        def via_http() -> Answer:
            response = httpx.post(f"{url}/{view}/chat", timeout=10)
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


@pytest.mark.parametrize("view", VIEWS)
def test_a_client_that_leaves_stops_the_upstream_call_and_pays_what_was_streamed(
    view: str, router: Router, fake_provider: FakeProvider
) -> None:
    fake_provider.set("fake-first", SLOW)
    with serve_wsgi(make_app(router)) as url:
        received = read_then_leave(f"{url}/{view}/chat", words=2)
        # a WSGI server learns that its client left when a write fails: a chunk or two later
        record = stream_ended(fake_provider)
        assert not record.completed
        assert record.sent.startswith(received)
        expected = charge_for(router, "first", record.sent)
        assert settled(router, expected) == pytest.approx(expected)
    assert 0.0 < expected < charge_for(router, "first", LONG)

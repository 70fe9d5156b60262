"""Flask: request.llm and the llm proxy in sync and async views, through the test client."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, jsonify, request
from flask.typing import ResponseReturnValue
from integration_support import (
    MESSAGES,
    SPOOFED,
    Spans,
    async_context,
    login_context,
    make_config,
)
from llm_router_middleware.integrations.flask import LLMRouter, get_router, llm, llm_policy

from llm_router_middleware import ConfigError, Router, get_llm
from llm_router_middleware.testing import Behavior, FakeProvider

VIEWS = ["sync", "async"]


def reply_json(reply: Any) -> ResponseReturnValue:
    return jsonify(
        model=reply.routing.model,
        tier=reply.routing.tier,
        fallback_count=reply.routing.fallback_count,
        content=reply.choices[0].message.content,
        user_id=llm.context().user_id,
        same_handle=get_llm() is request.llm,  # type: ignore[attr-defined]
    )


def create_app(config: dict[str, Any] | None = None, **options: Any) -> Flask:
    app = Flask(__name__)
    if config is not None:
        app.config["LLM_ROUTER"] = config
    LLMRouter(app, **options)

    @app.get("/sync/chat/<room>")
    def chat_sync(room: str) -> ResponseReturnValue:
        return reply_json(request.llm.complete(MESSAGES))  # type: ignore[attr-defined]

    @app.get("/async/chat/<room>")
    async def chat_async(room: str) -> ResponseReturnValue:
        return reply_json(await request.llm.acomplete(MESSAGES))  # type: ignore[attr-defined]

    @app.get("/sync/policy")
    @llm_policy(tier="pro", models=["cheap"])
    def policy_sync() -> ResponseReturnValue:
        return reply_json(llm.complete(MESSAGES))

    @app.get("/async/policy")
    @llm_policy(tier="pro", models=["cheap"])
    async def policy_async() -> ResponseReturnValue:
        return reply_json(await llm.acomplete(MESSAGES))

    @app.get("/sync/plain")
    def plain_sync() -> ResponseReturnValue:
        return {"ok": True}

    @app.get("/async/plain")
    async def plain_async() -> ResponseReturnValue:
        return {"ok": True}

    return app


@pytest.fixture
def app(router_config: dict[str, Any]) -> Flask:
    return create_app(router_config, context=login_context)


@pytest.mark.parametrize("view", VIEWS)
def test_anonymous_request_gets_the_default_tier(
    view: str, app: Flask, fake_provider: FakeProvider
) -> None:
    response = app.test_client().get(f"/{view}/chat/lobby")
    assert response.status_code == 200
    body = response.get_json()
    assert (body["model"], body["tier"], body["user_id"]) == ("cheap", "free", None)
    assert body["content"] == "Hello from the fake provider."
    assert body["same_handle"] is True
    assert fake_provider.count("fake-cheap") == 1


@pytest.mark.parametrize("view", VIEWS)
def test_the_app_resolver_gives_the_user_and_tier(
    view: str, app: Flask, fake_provider: FakeProvider
) -> None:
    client = app.test_client()
    client.set_cookie("login", "alice:pro")
    body = client.get(f"/{view}/chat/lobby").get_json()
    assert (body["model"], body["tier"], body["user_id"]) == ("premium", "pro", "alice")


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("resolver", ["app", "none"])
def test_spoofed_tier_headers_change_nothing(
    view: str, resolver: str, router_config: dict[str, Any], fake_provider: FakeProvider
) -> None:
    app = create_app(router_config, context=login_context if resolver == "app" else None)
    body = app.test_client().get(f"/{view}/chat/lobby", headers=SPOOFED).get_json()
    assert (body["model"], body["tier"], body["user_id"]) == ("cheap", "free", None)
    assert fake_provider.count("fake-premium") == 0


@pytest.mark.parametrize("view", VIEWS)
def test_fallback_and_errors_as_json(view: str, app: Flask, fake_provider: FakeProvider) -> None:
    client = app.test_client()
    client.set_cookie("login", "alice:pro")
    fake_provider.set("fake-premium", Behavior(status=503))
    body = client.get(f"/{view}/chat/lobby").get_json()
    assert (body["model"], body["fallback_count"]) == ("cheap", 1)
    fake_provider.set("fake-cheap", Behavior(status=429))
    response = client.get(f"/{view}/chat/lobby")
    assert response.status_code == 502
    error = response.get_json()["error"]
    assert error["type"] == "all_models_failed"
    assert [a["model"] for a in error["attempts"]] == ["premium", "cheap"]


@pytest.mark.parametrize("view", VIEWS)
def test_exhausted_budget_is_a_json_402(view: str, fake_provider: FakeProvider) -> None:
    config = make_config(
        fake_provider, budgets={"per_tier_usd": {"free": 0.0}, "on_exhausted": "refuse"}
    )
    response = create_app(config).test_client().get(f"/{view}/chat/lobby")
    assert response.status_code == 402
    assert response.get_json()["error"]["type"] == "budget_exhausted"
    assert fake_provider.count() == 0


@pytest.mark.parametrize("view", VIEWS)
def test_llm_policy_narrows_one_view(view: str, app: Flask, fake_provider: FakeProvider) -> None:
    client = app.test_client()
    client.set_cookie("login", "carol:free")
    body = client.get(f"/{view}/policy").get_json()
    assert (body["model"], body["tier"], body["user_id"]) == ("cheap", "pro", "carol")
    assert body["same_handle"] is True
    assert fake_provider.count("fake-premium") == 0


@pytest.mark.parametrize("view", VIEWS)
def test_async_resolver_in_sync_and_async_views(view: str, router_config: dict[str, Any]) -> None:
    app = create_app(router_config, context=async_context)
    body = app.test_client().get(f"/{view}/chat/lobby").get_json()
    assert (body["model"], body["user_id"]) == ("premium", "from-async-resolver")


@pytest.mark.parametrize("view", VIEWS)
def test_endpoint_is_the_url_rule(view: str, app: Flask, spans: Spans) -> None:
    assert app.test_client().get(f"/{view}/chat/room-42").status_code == 200
    route = spans.route()
    assert route.attributes is not None
    assert route.attributes["llm_router.endpoint"] == f"/{view}/chat/<room>"


@pytest.mark.parametrize("view", VIEWS)
def test_a_view_that_does_not_use_the_llm_costs_no_call(
    view: str, app: Flask, fake_provider: FakeProvider, spans: Spans
) -> None:
    assert app.test_client().get(f"/{view}/plain").get_json() == {"ok": True}
    assert fake_provider.count() == 0
    assert spans.named("route ") == []


def test_extension_registration_and_config_errors(router_config: dict[str, Any]) -> None:
    router = Router.from_config(router_config)
    ext = LLMRouter(router=router)
    first, second = Flask("first"), Flask("second")
    ext.init_app(first)
    ext.init_app(second)
    for app in (first, second):
        assert app.extensions["llm_router"] is router  # as the README says
        with app.app_context():
            assert get_router() is router
    with pytest.raises(ConfigError, match=r"LLM_ROUTER'\]: is not set"):
        LLMRouter(Flask("missing"))
    bad = Flask("bad")
    bad.config["LLM_ROUTER"] = {**router_config, "routing": {"fallbacks": ["nope"]}}
    with pytest.raises(ConfigError, match=r"LLM_ROUTER'\]\.routing\.fallbacks\[0\]"):
        LLMRouter(bad)
    with pytest.raises(RuntimeError, match="outside of application context"):
        llm.complete(MESSAGES)


def test_a_view_policy_the_tier_forbids_fails_at_init(router_config: dict[str, Any]) -> None:
    app = Flask("policies")

    @app.get("/premium")
    @llm_policy(tier="free", models=["premium"])
    def premium_only() -> dict[str, bool]:
        return {"ok": True}

    with pytest.raises(ConfigError, match="'premium' not allowed for tier 'free'"):
        LLMRouter(app, router=Router.from_config(router_config))


@pytest.fixture
def flask_instrumented(app: Flask) -> Iterator[Flask]:
    from opentelemetry.instrumentation.flask import FlaskInstrumentor

    FlaskInstrumentor.instrument_app(app)
    try:
        yield app
    finally:
        FlaskInstrumentor.uninstrument_app(app)


@pytest.mark.parametrize("view", VIEWS)
def test_route_span_is_a_child_of_the_flask_server_span(
    view: str, flask_instrumented: Flask, spans: Spans
) -> None:
    assert flask_instrumented.test_client().get(f"/{view}/chat/lobby").status_code == 200
    server, route = spans.server(), spans.route()
    assert server.name == f"GET /{view}/chat/<room>"
    assert route.context.trace_id == server.context.trace_id
    assert route.parent is not None
    assert route.parent.span_id == server.context.span_id


def test_async_views_leave_no_litellm_logging_behind(app: Flask) -> None:
    """Each async view runs on a new event loop. litellm queues its success logging on the
    loop; without settling it there the queue was carried from loop to loop ("LoggingWorker:
    event loop changed; carried N pending"), one more entry per request."""
    from litellm.litellm_core_utils.logging_worker import GLOBAL_LOGGING_WORKER

    client = app.test_client()
    pending = []
    for _ in range(5):
        assert client.get("/async/chat/lobby").status_code == 200
        pending.append(GLOBAL_LOGGING_WORKER.pending_count)
    assert pending == [0, 0, 0, 0, 0]


def test_a_view_registered_after_init_is_checked_as_it_registers(
    router_config: dict[str, Any],
) -> None:
    app = Flask("late")
    LLMRouter(app, router=Router.from_config(router_config))

    def premium_only() -> dict[str, bool]:
        return {"ok": True}

    with pytest.raises(ConfigError, match="'premium' not allowed for tier 'free'"):
        app.add_url_rule(
            "/premium", view_func=llm_policy(tier="free", models=["premium"])(premium_only)
        )
    assert "premium_only" not in app.view_functions  # refused, not half-registered

    @app.get("/cheap")
    @llm_policy(tier="free", models=["cheap"])
    def cheap_only() -> dict[str, bool]:
        return {"ok": True}

    assert app.view_functions["cheap_only"] is cheap_only

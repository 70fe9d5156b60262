"""FastAPI: the LLM dependency with setup() or with the core ASGI middleware, sync and async
endpoints, through TestClient and httpx.AsyncClient."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.testclient import TestClient
from integration_support import (
    MESSAGES,
    SPOOFED,
    Spans,
    async_context,
    login_context,
    make_config,
)
from llm_router_middleware.integrations.fastapi import (
    LLM,
    llm_dependency,
    llm_policy,
    setup,
)

from llm_router_middleware import (
    ConfigError,
    LLMRouterMiddleware,
    RequestContext,
    RequestLLM,
    Router,
    get_llm,
)
from llm_router_middleware.testing import Behavior, FakeProvider

WIRINGS = ["setup", "middleware"]
VIEWS = ["sync", "async"]


class User:
    def __init__(self, user_id: str, plan: str) -> None:
        self.id, self.plan = user_id, plan


def current_user(request: Request) -> User | None:
    """The app's own auth dependency."""
    login = request.cookies.get("login")
    if not login:
        return None
    user_id, _, plan = login.partition(":")
    return User(user_id, plan)


def user_context(user: Annotated[User | None, Depends(current_user)]) -> RequestContext:
    return RequestContext(user_id=user.id, tier=user.plan) if user else RequestContext()


UserLLM = Annotated[RequestLLM, Depends(llm_dependency(user_context))]
CheapProLLM = Annotated[RequestLLM, Depends(llm_policy(tier="pro", models=["cheap"]))]


def reply_json(reply: Any, handle: RequestLLM) -> dict[str, Any]:
    return {
        "model": reply.routing.model,
        "tier": reply.routing.tier,
        "fallback_count": reply.routing.fallback_count,
        "content": reply.choices[0].message.content,
        "user_id": handle.context().user_id,
        "same_handle": get_llm() is handle,
    }


def create_app(router: Router, wiring: str, context: Any = login_context) -> FastAPI:
    app = FastAPI()
    if wiring == "setup":
        setup(app, router, context=context)
    else:
        app.add_middleware(LLMRouterMiddleware, router=router, context=context)

    @app.get("/sync/chat/{room}")
    def chat_sync(room: str, llm: LLM) -> dict[str, Any]:
        return reply_json(llm.complete(MESSAGES), llm)

    @app.get("/async/chat/{room}")
    async def chat_async(room: str, llm: LLM) -> dict[str, Any]:
        return reply_json(await llm.acomplete(MESSAGES), llm)

    @app.get("/sync/policy")
    def policy_sync(llm: CheapProLLM) -> dict[str, Any]:
        return reply_json(llm.complete(MESSAGES), llm)

    @app.get("/async/policy")
    async def policy_async(llm: CheapProLLM) -> dict[str, Any]:
        return reply_json(await llm.acomplete(MESSAGES), llm)

    @app.get("/sync/user")
    def user_sync(llm: UserLLM, user: Annotated[User | None, Depends(current_user)]) -> Any:
        return reply_json(llm.complete(MESSAGES), llm)

    @app.get("/async/user")
    async def user_async(llm: UserLLM) -> dict[str, Any]:
        return reply_json(await llm.acomplete(MESSAGES), llm)

    @app.get("/sync/plain")
    def plain_sync() -> dict[str, bool]:
        return {"ok": True}

    return app


def error_of(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    error: dict[str, Any] = body["detail"] if "detail" in body else body["error"]
    return error


@pytest.fixture
def router(router_config: dict[str, Any]) -> Router:
    return Router.from_config(router_config)


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("wiring", WIRINGS)
def test_anonymous_request_gets_the_default_tier(
    wiring: str, view: str, router: Router, fake_provider: FakeProvider
) -> None:
    response = TestClient(create_app(router, wiring)).get(f"/{view}/chat/lobby")
    assert response.status_code == 200
    body = response.json()
    assert (body["model"], body["tier"], body["user_id"]) == ("cheap", "free", None)
    assert body["content"] == "Hello from the fake provider."
    assert body["same_handle"] is True
    assert fake_provider.count("fake-cheap") == 1


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("wiring", WIRINGS)
async def test_async_client_and_the_app_resolver(
    wiring: str, view: str, router: Router, fake_provider: FakeProvider
) -> None:
    transport = httpx.ASGITransport(app=create_app(router, wiring))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get(f"/{view}/chat/lobby", cookies={"login": "alice:pro"})
    body = response.json()
    assert (body["model"], body["tier"], body["user_id"]) == ("premium", "pro", "alice")
    assert fake_provider.count("fake-premium") == 1


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("wiring", WIRINGS)
@pytest.mark.parametrize("path", ["chat/lobby", "user"])
def test_spoofed_tier_headers_change_nothing(
    wiring: str, view: str, path: str, router: Router, fake_provider: FakeProvider
) -> None:
    body = TestClient(create_app(router, wiring)).get(f"/{view}/{path}", headers=SPOOFED).json()
    assert (body["model"], body["tier"], body["user_id"]) == ("cheap", "free", None)
    assert fake_provider.count("fake-premium") == 0


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("wiring", WIRINGS)
def test_context_from_the_apps_auth_dependency(
    wiring: str, view: str, router: Router, fake_provider: FakeProvider
) -> None:
    client = TestClient(create_app(router, wiring, context=None))
    client.cookies["login"] = "dave:pro"
    body = client.get(f"/{view}/user").json()
    assert (body["model"], body["tier"], body["user_id"]) == ("premium", "pro", "dave")


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("wiring", WIRINGS)
def test_fallback_and_errors_as_json(
    wiring: str, view: str, router: Router, fake_provider: FakeProvider
) -> None:
    client = TestClient(create_app(router, wiring))
    client.cookies["login"] = "alice:pro"
    fake_provider.set("fake-premium", Behavior(status=503))
    body = client.get(f"/{view}/chat/lobby").json()
    assert (body["model"], body["fallback_count"]) == ("cheap", 1)
    fake_provider.set("fake-cheap", Behavior(status=500))
    response = client.get(f"/{view}/chat/lobby")
    assert response.status_code == 502
    error = error_of(response)
    assert error["type"] == "all_models_failed"
    assert [a["model"] for a in error["attempts"]] == ["premium", "cheap"]
    assert set(response.json()) == {"error"}  # the same shape as every other integration


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("wiring", WIRINGS)
def test_exhausted_budget_is_a_json_402(
    wiring: str, view: str, fake_provider: FakeProvider
) -> None:
    config = make_config(
        fake_provider, budgets={"per_tier_usd": {"free": 0.0}, "on_exhausted": "refuse"}
    )
    app = create_app(Router.from_config(config), wiring)
    response = TestClient(app).get(f"/{view}/chat/lobby")
    assert response.status_code == 402
    assert error_of(response)["type"] == "budget_exhausted"
    assert fake_provider.count() == 0


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("wiring", WIRINGS)
def test_llm_policy_dependency_narrows_one_endpoint(
    wiring: str, view: str, router: Router, fake_provider: FakeProvider
) -> None:
    client = TestClient(create_app(router, wiring))
    client.cookies["login"] = "carol:free"
    body = client.get(f"/{view}/policy").json()
    assert (body["model"], body["tier"], body["user_id"]) == ("cheap", "pro", "carol")
    assert body["same_handle"] is True
    assert fake_provider.count("fake-premium") == 0


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("wiring", WIRINGS)
def test_async_resolver_works_in_sync_endpoints_too(wiring: str, view: str, router: Router) -> None:
    body = (
        TestClient(create_app(router, wiring, context=async_context))
        .get(f"/{view}/chat/lobby")
        .json()
    )
    assert (body["model"], body["user_id"]) == ("premium", "from-async-resolver")


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("wiring", WIRINGS)
def test_endpoint_is_the_route_path(wiring: str, view: str, router: Router, spans: Spans) -> None:
    assert TestClient(create_app(router, wiring)).get(f"/{view}/chat/r42").status_code == 200
    route = spans.route()
    assert route.attributes is not None
    assert route.attributes["llm_router.endpoint"] == f"/{view}/chat/{{room}}"


def test_openapi_schema_stays_clean(router: Router) -> None:
    paths = create_app(router, "setup").openapi()["paths"]
    chat = paths["/sync/chat/{room}"]["get"]
    assert [p["name"] for p in chat["parameters"]] == ["room"]
    for path in ("/async/policy", "/async/user", "/sync/plain"):
        operation = paths[path]["get"]
        assert "parameters" not in operation, path
        assert "requestBody" not in operation, path


def test_without_setup_or_middleware_the_error_says_what_to_do(router: Router) -> None:
    app = FastAPI()

    @app.get("/")
    async def index(llm: LLM) -> str:
        return "unreachable"

    with pytest.raises(RuntimeError, match=r"setup\(app, router\)"):
        TestClient(app).get("/")


@pytest.fixture
def instrumented(router: Router) -> Iterator[FastAPI]:
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    app = create_app(router, "setup")
    FastAPIInstrumentor.instrument_app(app)
    try:
        yield app
    finally:
        FastAPIInstrumentor.uninstrument_app(app)


@pytest.mark.parametrize("view", VIEWS)
def test_route_span_is_a_child_of_the_fastapi_server_span(
    view: str, instrumented: FastAPI, spans: Spans
) -> None:
    assert TestClient(instrumented).get(f"/{view}/chat/lobby").status_code == 200
    server, route = spans.server(), spans.route()
    assert server.name == f"GET /{view}/chat/{{room}}"
    assert route.context.trace_id == server.context.trace_id
    assert route.parent is not None
    assert route.parent.span_id == server.context.span_id


@pytest.mark.parametrize("view", VIEWS)
def test_one_handle_for_core_get_llm_and_endpoint_without_resolver(
    view: str, router: Router, spans: Spans
) -> None:
    """setup(app, router) with no resolver: the core get_llm() works in an endpoint that does not
    declare LLM (it answered 500 before), and the route template still reaches the span."""
    app = FastAPI()
    setup(app, router)

    @app.get("/sync/helper/{room}")
    def helper_sync(room: str) -> dict[str, Any]:
        return {"model": get_llm().complete(MESSAGES).routing.model}

    @app.get("/async/helper/{room}")
    async def helper_async(room: str) -> dict[str, Any]:
        return {"model": (await get_llm().acomplete(MESSAGES)).routing.model}

    response = TestClient(app).get(f"/{view}/helper/lobby")
    assert response.status_code == 200, response.text
    assert response.json() == {"model": "cheap"}
    route = spans.route()
    assert route.attributes["llm_router.endpoint"] == f"/{view}/helper/{{room}}"


# module level: the test module's annotations are strings, resolved in its globals
FreePremiumLLM = Annotated[RequestLLM, Depends(llm_policy(tier="free", models=["premium"]))]
FreeCheapLLM = Annotated[RequestLLM, Depends(llm_policy(tier="free", models=["cheap"]))]


def test_an_endpoint_policy_the_tier_forbids_fails_at_startup(router: Router) -> None:
    app = FastAPI()
    setup(app, router)

    @app.get("/fine")
    async def fine(llm: LLM) -> dict[str, bool]:
        return {"ok": True}

    @app.get("/premium")
    async def premium(llm: FreePremiumLLM) -> dict[str, bool]:
        return {"ok": True}

    forbidden = r"GET /premium.*'premium' not allowed for tier 'free'"
    with pytest.raises(ConfigError, match=forbidden), TestClient(app):
        pass


def test_endpoint_policies_the_tiers_allow_start_cleanly(router: Router) -> None:
    app = FastAPI()
    setup(app, router)

    @app.get("/cheap")
    async def cheap(llm: FreeCheapLLM) -> dict[str, str]:
        return {"model": (await llm.acomplete(MESSAGES)).routing.model}

    with TestClient(app) as client:
        assert client.get("/cheap").json() == {"model": "cheap"}

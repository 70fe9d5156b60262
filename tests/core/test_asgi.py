"""The pure ASGI middleware, driven through Starlette's TestClient and real HTTP upstream."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from core_support import Spans, base_config
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket

from llm_router_middleware import (
    ContextRejected,
    HeaderContextResolver,
    LLMRouterMiddleware,
    RequestContext,
    Router,
    get_llm,
)
from llm_router_middleware.resolvers import sign
from llm_router_middleware.testing import Behavior, FakeProvider

USERS = {
    "token-alice": RequestContext(user_id="alice", tier="free"),
    "token-bob": RequestContext(user_id="bob", tier="pro"),
}


def session_resolver(request: Request) -> RequestContext:
    token = request.headers.get("authorization", "").removeprefix("Bearer ")
    return USERS.get(token, RequestContext())


async def async_session_resolver(request: Request) -> RequestContext:
    return session_resolver(request)


def build_app(
    router: Router, resolver: Any = session_resolver, calls: list[str] | None = None
) -> Starlette:
    async def chat(request: Request) -> JSONResponse:
        body = await request.json()
        reply = await request.state.llm.acomplete(body["messages"])
        r = reply.routing
        return JSONResponse(
            {
                "model": r.model,
                "tier": r.tier,
                "fallbacks": r.fallback_count,
                "content": reply.choices[0].message.content,
            }
        )

    def chat_sync(request: Request) -> JSONResponse:
        reply = request.state.llm.complete([{"role": "user", "content": "hi"}])
        return JSONResponse({"model": reply.routing.model, "tier": reply.routing.tier})

    async def deep(request: Request) -> JSONResponse:
        reply = await get_llm().acomplete([{"role": "user", "content": "hi"}])
        return JSONResponse({"model": reply.routing.model})

    async def health(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    async def stream(request: Request) -> StreamingResponse:
        async def parts() -> Any:
            for i in range(3):
                yield f"part{i}\n"

        return StreamingResponse(parts())

    async def ws(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text("llm" if "llm" in websocket.scope.get("state", {}) else "none")
        await websocket.close()

    def counting(request: Request) -> Any:
        if calls is not None:
            calls.append(request.url.path)
        return resolver(request)

    return Starlette(
        routes=[
            Route("/chat", chat, methods=["POST"]),
            Route("/chat-sync", chat_sync),
            Route("/deep", deep),
            Route("/health", health),
            Route("/stream", stream),
            Route("/rooms/{room}/chat", chat, methods=["POST"]),
            WebSocketRoute("/ws", ws),
        ],
        middleware=[Middleware(LLMRouterMiddleware, router=router, context=counting)],
    )


@pytest.fixture
def router(fake_provider: FakeProvider) -> Router:
    return Router.from_config(
        base_config(
            fake_provider,
            tiers={
                "free": {"models": ["cheap"]},
                "pro": {"models": ["premium", "balanced", "cheap"]},
            },
            routing={
                "strategy": "fixed",
                "fallbacks": ["premium", "balanced", "cheap"],
                "default_tier": "anonymous",
            },
            budgets={"per_user_usd": 1.0},
        )
    )


HI = {"messages": [{"role": "user", "content": "hi"}]}


@pytest.mark.parametrize("resolver", [session_resolver, async_session_resolver])
def test_tier_comes_from_the_apps_resolver(router: Router, resolver: Any) -> None:
    with TestClient(build_app(router, resolver)) as client:
        alice = client.post("/chat", json=HI, headers={"authorization": "Bearer token-alice"})
        bob = client.post("/chat", json=HI, headers={"authorization": "Bearer token-bob"})
        anon = client.post("/chat", json=HI)
    assert alice.json()["model"] == "cheap"
    assert alice.json()["tier"] == "free"
    assert bob.json()["model"] == "premium"
    assert bob.json()["tier"] == "pro"
    assert anon.json()["tier"] == "anonymous"


def test_sync_endpoint_in_threadpool_and_context_variable(router: Router) -> None:
    with TestClient(build_app(router)) as client:
        sync = client.get("/chat-sync", headers={"authorization": "Bearer token-bob"})
        deep = client.get("/deep", headers={"authorization": "Bearer token-alice"})
    assert sync.json() == {"model": "premium", "tier": "pro"}
    assert deep.json() == {"model": "cheap"}


def test_spoofed_tier_header_changes_nothing(router: Router, fake_provider: FakeProvider) -> None:
    with TestClient(build_app(router)) as client:
        reply = client.post(
            "/chat",
            json=HI,
            headers={"x-user-tier": "pro", "x-llm-tier": "pro", "x-llm-user": "bob"},
        )
    assert reply.json()["tier"] == "anonymous"
    spent = router.ledger.spent("bob", "pro")
    assert spent["user:bob"] == 0.0
    assert spent.get("tier:pro", 0.0) == 0.0


def test_endpoint_that_never_uses_the_llm_never_resolves_context(router: Router) -> None:
    calls: list[str] = []
    with TestClient(build_app(router, calls=calls)) as client:
        assert client.get("/health").text == "ok"
        assert client.get("/stream").text == "part0\npart1\npart2\n"
        client.post("/chat", json=HI)
    assert calls == ["/chat"]


def test_websocket_and_lifespan_pass_through(router: Router) -> None:
    with TestClient(build_app(router)) as client, client.websocket_connect("/ws") as socket:
        assert socket.receive_text() == "none"


def test_route_template_is_attributed(router: Router, spans: Spans) -> None:
    with TestClient(build_app(router)) as client:
        client.post("/rooms/42/chat", json=HI)
    attrs = dict(spans.route().attributes or {})
    assert attrs["llm_router.endpoint"] == "/rooms/{room}/chat"


@pytest.mark.parametrize(
    ("setup", "body", "status", "error_type"),
    [
        (None, {"messages": [{"role": "robot", "content": "x"}]}, 400, "invalid_request"),
        (None, {"messages": "hello"}, 400, "invalid_request"),
        (Behavior(status=503), HI, 502, "all_models_failed"),
        (
            Behavior(status=400, error_message="bad temperature"),
            HI,
            400,
            "provider_rejected_request",
        ),
    ],
)
def test_router_errors_become_json_answers(
    router: Router,
    fake_provider: FakeProvider,
    setup: Behavior | None,
    body: Any,
    status: int,
    error_type: str,
) -> None:
    if setup is not None:
        fake_provider.set_default(setup)
    with TestClient(build_app(router), raise_server_exceptions=False) as client:
        reply = client.post("/chat", json=body)
    assert reply.status_code == status
    assert reply.headers["content-type"] == "application/json"
    assert reply.json()["error"]["type"] == error_type
    assert "Traceback" not in reply.text


def test_exhausted_budget_answers_402(fake_provider: FakeProvider) -> None:
    router = Router.from_config(
        base_config(fake_provider, budgets={"per_user_usd": 0.0}, tiers={"pro": {}, "free": {}})
    )
    with TestClient(build_app(router)) as client:
        reply = client.post("/chat", json=HI, headers={"authorization": "Bearer token-bob"})
    assert reply.status_code == 402
    assert reply.json()["error"]["type"] == "budget_exhausted"
    assert reply.json()["error"]["scope"] == "user:bob"
    assert fake_provider.count() == 0


def test_resolver_that_raises_gives_500_json_without_details(router: Router) -> None:
    def broken(request: Request) -> RequestContext:
        raise KeyError("db password is hunter2")

    with TestClient(build_app(router, broken), raise_server_exceptions=False) as client:
        reply = client.post("/chat", json=HI)
    assert reply.status_code == 500
    assert reply.json()["error"]["type"] == "context_error"
    assert "KeyError" in reply.json()["error"]["message"]
    assert "hunter2" not in reply.text


def test_resolver_can_refuse_a_request(router: Router) -> None:
    def refuse(request: Request) -> RequestContext:
        raise ContextRejected("log in first", status_code=401)

    with TestClient(build_app(router, refuse)) as client:
        reply = client.post("/chat", json=HI)
    assert reply.status_code == 401
    assert reply.json()["error"]["message"] == "log in first"


def test_unknown_tier_from_resolver_is_a_clear_error(router: Router) -> None:
    with TestClient(
        build_app(router, lambda r: RequestContext(tier="platinum")), raise_server_exceptions=False
    ) as client:
        reply = client.post("/chat", json=HI)
    assert reply.status_code == 500
    assert "platinum" in reply.json()["error"]["message"]


def test_header_resolver_requires_a_valid_signature(router: Router) -> None:
    resolver = HeaderContextResolver(secret="s3cret")
    with TestClient(build_app(router, resolver)) as client:
        forged = client.post("/chat", json=HI, headers={"x-llm-user": "bob", "x-llm-tier": "pro"})
        signed = client.post(
            "/chat",
            json=HI,
            headers={
                "x-llm-user": "bob",
                "x-llm-tier": "pro",
                "x-llm-signature": sign("s3cret", "bob", "pro"),
            },
        )
        plain = client.post("/chat", json=HI)
    assert forged.status_code == 401
    assert signed.json()["tier"] == "pro"
    assert plain.json()["tier"] == "anonymous"


def test_header_resolver_refuses_to_exist_without_proof() -> None:
    with pytest.raises(ValueError, match="secret or trusted_proxies"):
        HeaderContextResolver()


def test_trusted_proxy_header_resolver(router: Router) -> None:
    resolver = HeaderContextResolver(trusted_proxies=["10.0.0.0/8"])
    assert resolver.resolve({"x-llm-tier": "pro"}, "10.1.2.3").tier == "pro"
    with pytest.raises(ContextRejected):
        resolver.resolve({"x-llm-tier": "pro"}, "203.0.113.9")


async def test_real_asgi_client_async(router: Router) -> None:
    transport = httpx.ASGITransport(app=build_app(router))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        reply = await client.post("/chat", json=HI, headers={"authorization": "Bearer token-bob"})
    assert reply.json()["model"] == "premium"


def test_middleware_policy_validates_at_startup(router: Router) -> None:
    from llm_router_middleware import ConfigError, Policy

    with pytest.raises(ConfigError, match="unknown model 'gpt-9'"):
        LLMRouterMiddleware(build_app(router), router=router, policy=Policy(models=("gpt-9",)))


def test_every_breaker_open_answers_503_with_retry_after(fake_provider: FakeProvider) -> None:
    router = Router.from_config(
        base_config(fake_provider, breaker={"consecutive_failures": 1, "cooldown_s": 30})
    )
    fake_provider.set_default(Behavior(status=500))
    with TestClient(build_app(router), raise_server_exceptions=False) as client:
        first = client.post("/chat", json=HI)
        fake_provider.clear()
        second = client.post("/chat", json=HI)
    assert first.status_code == 502  # each model failed once: every breaker opened
    assert second.status_code == 503
    assert 1 <= int(second.headers["retry-after"]) <= 30
    error = second.json()["error"]
    assert error["type"] == "no_model_available"
    assert {r["model"] for r in error["rejected"]} == {"premium", "balanced", "cheap"}
    assert fake_provider.count() == 0  # nothing was sent to a provider with an open breaker

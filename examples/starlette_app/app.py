"""A Starlette app whose views call LLMs through ``request.state.llm``.

Who is asking comes from the app's own authentication: a server-side session (cookie
``session``) or an API token (``Authorization: Bearer <token>``), both mapped to users here on
the server. A client-supplied tier header is ignored: the tier is a property of the user.

    POST /chat    {"messages": [...]}  -> the reply's text and how it was routed
    GET  /health                       -> never touches the LLM (and pays almost nothing for it)

Run it on its own (a fake provider on 127.0.0.1:8900, the app on 127.0.0.1:8000):

    python examples/starlette_app/app.py
    curl -s localhost:8000/chat -H 'Authorization: Bearer demo-token-bob' \\
         -d '{"messages": [{"role": "user", "content": "hello"}]}'
    python examples/starlette_app/app.py --demo    # two requests through a test client

With OTEL_EXPORTER_OTLP_ENDPOINT set (http://localhost:4318 for examples/jaeger-compose.yml),
every request's spans are exported: the HTTP server span, its route span and the chat spans.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from llm_router_middleware import (
    ContextRejected,
    LLMRouterMiddleware,
    RequestContext,
    RequestLLM,
    Router,
)

CONFIG_PATH = Path(__file__).resolve().parent.parent / "router.toml"


@dataclass(frozen=True, slots=True)
class User:
    id: str
    tier: str


# Stand-ins for the app's session store and API-token table (a database in a real app).
SESSIONS: dict[str, User] = {"sess-alice-7f3a": User("alice", "free")}
API_TOKENS: dict[str, User] = {
    "demo-token-alice": User("alice", "free"),
    "demo-token-bob": User("bob", "pro"),
}


def current_user(request: Request) -> User | None:
    """The authenticated user, or None for an anonymous visitor."""
    authorization = request.headers.get("authorization")
    if authorization is not None:
        scheme, _, token = authorization.partition(" ")
        user = API_TOKENS.get(token.strip()) if scheme.lower() == "bearer" else None
        if user is None:
            raise ContextRejected("unknown or malformed bearer token", status_code=401)
        return user
    session = request.cookies.get("session")
    if session is not None:
        return SESSIONS.get(session)  # an expired session is just anonymous
    return None


def resolve_context(request: Request) -> RequestContext:
    """Called by the middleware on the first LLM call of a request, never for /health."""
    user = current_user(request)
    if user is None:
        return RequestContext()  # the config's default tier
    return RequestContext(user_id=user.id, tier=user.tier)


def bad_request(message: str) -> JSONResponse:
    return JSONResponse({"error": {"type": "invalid_request", "message": message}}, 400)


async def chat(request: Request) -> JSONResponse:
    try:
        body = await request.json()
    except ValueError:
        return bad_request('the body must be JSON: {"messages": [...]}')
    if not isinstance(body, dict) or "messages" not in body:
        return bad_request("the body must be a JSON object with a 'messages' list")
    llm: RequestLLM = request.state.llm
    # Router errors (malformed messages -> 400, budget exhausted -> 402, every model failed ->
    # 502, ...) propagate to the middleware, which answers them as JSON.
    reply: Any = await llm.acomplete(body["messages"])
    routing = reply.routing
    return JSONResponse(
        {
            "content": reply.choices[0].message.content,
            "routing": {
                "model": routing.model,
                "strategy": routing.strategy,
                "reason": routing.reason,
                "tier": routing.tier,
                "fallback_count": routing.fallback_count,
                "downgraded": routing.downgraded,
                "cost_usd": routing.cost_usd,
                "estimated_cost_usd": routing.estimated_cost_usd,
                "request_id": routing.request_id,
                "attempts": [
                    {
                        "model": a.model,
                        "outcome": a.outcome,
                        "error_type": a.error_type,
                        "status_code": a.status_code,
                        "latency_ms": round(a.latency_s * 1000, 2),
                    }
                    for a in routing.attempts
                ],
            },
        }
    )


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


def load_router(
    path: str | os.PathLike[str] = CONFIG_PATH, *, api_base: str | None = None
) -> Router:
    """The router from ``path``; ``api_base`` replaces every model's (the fake provider's URL)."""
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    if api_base is not None:
        for model in data["models"]:
            model["api_base"] = api_base
    return Router.from_config(data)


def create_app(router: Router, *, trace_http: bool = True) -> Starlette:
    middleware = [Middleware(LLMRouterMiddleware, router=router, context=resolve_context)]
    if trace_http:
        try:
            from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
        except ImportError:  # optional: without it the route spans are roots
            pass
        else:  # outermost, so the routing spans nest under the HTTP server span
            middleware.insert(
                0, Middleware(OpenTelemetryMiddleware, exclude_spans=["receive", "send"])
            )
    routes = [Route("/chat", chat, methods=["POST"]), Route("/health", health, methods=["GET"])]
    return Starlette(routes=routes, middleware=middleware)


def demo(app: Starlette) -> None:
    from starlette.testclient import TestClient

    client = TestClient(app)
    for token, prompt in (("demo-token-bob", "hello"), ("demo-token-alice", "Compare designs")):
        response = client.post(
            "/chat",
            json={"messages": [{"role": "user", "content": prompt}]},
            headers={"Authorization": f"Bearer {token}"},
        )
        routing = response.json().get("routing", {})
        print(f"{token:18} {response.status_code} model={routing.get('model')}")


def main(argv: list[str]) -> None:
    import uvicorn

    from llm_router_middleware import configure_telemetry
    from llm_router_middleware.testing import Behavior, FakeProvider

    configure_telemetry("llm-router-starlette-example")  # when OTEL_EXPORTER_OTLP_ENDPOINT is set
    port = 0 if "--demo" in argv else 8900
    with FakeProvider(Behavior(reply="A fake answer.", completion_tokens=250), port=port) as fake:
        app = create_app(load_router(api_base=fake.base_url))
        if "--demo" in argv:
            demo(app)
            return
        print(f"fake provider on {fake.base_url}; app on http://127.0.0.1:8000")
        uvicorn.run(app, host="127.0.0.1", port=8000, log_level="info")


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])

"""``llm_policy(cache=True, cache_shared=...)`` through FastAPI's test client: one endpoint's
replies are cached (per user, or for everyone when declared shareable), another's are not."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from integration_support import MESSAGES
from llm_router_middleware.integrations.fastapi import LLM, llm_policy, setup

from llm_router_middleware import RequestContext, RequestLLM, Router
from llm_router_middleware.testing import Behavior, FakeProvider

PerUser = Annotated[RequestLLM, Depends(llm_policy(cache=True))]
Shared = Annotated[RequestLLM, Depends(llm_policy(cache=True, cache_shared=True))]


def _context(request: Any) -> RequestContext:
    return RequestContext(user_id=request.headers.get("x-test-user"))


def _app(router: Router) -> FastAPI:
    app = FastAPI()
    setup(app, router, context=_context)

    def body(reply: Any) -> dict[str, Any]:
        return {"content": reply.choices[0].message.content, "cache": reply.routing.cache}

    @app.get("/per-user")
    async def per_user(llm: PerUser) -> dict[str, Any]:
        return body(await llm.acomplete(MESSAGES))

    @app.get("/shared")
    def shared(llm: Shared) -> dict[str, Any]:
        return body(llm.complete(MESSAGES))

    @app.get("/plain")
    async def plain(llm: LLM) -> dict[str, Any]:
        return body(await llm.acomplete(MESSAGES))

    return app


def test_views_opt_in_and_declare_replies_shareable(
    router_config: dict[str, Any], fake_provider: FakeProvider
) -> None:
    fake_provider.set_default(Behavior(reply=lambda m: f"reply #{fake_provider.count()}"))
    client = TestClient(_app(Router.from_config(router_config)))

    def get(path: str, user: str) -> dict[str, Any]:
        response = client.get(path, headers={"x-test-user": user})
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()
        return data

    assert get("/per-user", "alice") == {"content": "reply #1", "cache": None}
    assert get("/per-user", "alice") == {"content": "reply #1", "cache": "exact"}
    assert get("/per-user", "bob") == {"content": "reply #2", "cache": None}
    assert get("/shared", "alice") == {"content": "reply #3", "cache": None}
    assert get("/shared", "bob") == {"content": "reply #3", "cache": "exact"}
    assert get("/plain", "alice")["cache"] is None
    assert get("/plain", "alice")["cache"] is None
    assert fake_provider.count() == 5

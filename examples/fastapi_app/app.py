"""FastAPI + llm-router-middleware against a local fake provider (no API key needed).

python examples/fastapi_app/app.py           # serves http://127.0.0.1:8000 (see /docs)
python examples/fastapi_app/app.py --demo    # sends a few requests, prints the decisions

curl -H "Authorization: Bearer alice-token" http://127.0.0.1:8000/chat?q=hello
"""

from __future__ import annotations

import os
import sys
from typing import Annotated, Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from fastapi import Depends, FastAPI, Request
from llm_router_middleware.integrations.fastapi import (
    llm_dependency,
    llm_policy,
    setup,
)

from llm_router_middleware import RequestContext, RequestLLM, Router

# The app's own users: a bearer token is checked against its user table, never trusted as is.
USERS = {"alice-token": ("alice", "pro"), "bob-token": ("bob", "free")}


def router_config(base_url: str) -> dict[str, Any]:
    common = {"api_base": base_url, "api_key": "sk-fake", "context_window": 8000}
    return {
        "models": [
            {
                "name": "cheap",
                "model": "openai/fake-cheap",
                "input_cost_per_1m": 0.1,
                "output_cost_per_1m": 0.2,
                "quality": 0.3,
                **common,
            },
            {
                "name": "premium",
                "model": "openai/fake-premium",
                "input_cost_per_1m": 5.0,
                "output_cost_per_1m": 15.0,
                "quality": 0.9,
                **common,
            },
        ],
        "routing": {"strategy": "fixed", "fallbacks": ["premium", "cheap"], "default_tier": "free"},
        "tiers": {"free": {"models": ["cheap"]}, "pro": {"models": ["premium", "cheap"]}},
    }


def current_user(request: Request) -> tuple[str, str] | None:
    token = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    return USERS.get(token)


def llm_context(
    user: Annotated[tuple[str, str] | None, Depends(current_user)],
) -> RequestContext:
    return RequestContext(user_id=user[0], tier=user[1]) if user else RequestContext()


UserLLM = Annotated[RequestLLM, Depends(llm_dependency(llm_context))]
SummaryLLM = Annotated[
    RequestLLM, Depends(llm_policy(models=["cheap"], llm=llm_dependency(llm_context)))
]


def create_app(base_url: str) -> FastAPI:
    app = FastAPI(title="llm-router-middleware FastAPI example")
    setup(app, Router.from_config(router_config(base_url)))

    @app.get("/chat")
    async def chat(q: str, llm: UserLLM) -> dict[str, Any]:
        reply = await llm.acomplete([{"role": "user", "content": q}])
        return {
            "answer": reply.choices[0].message.content,
            "model": reply.routing.model,
            "tier": reply.routing.tier,
            "fallbacks": reply.routing.fallback_count,
        }

    @app.get("/summary")
    def summary(q: str, llm: SummaryLLM) -> dict[str, Any]:  # sync endpoint, narrowed policy
        reply = llm.complete([{"role": "user", "content": f"Summarise: {q}"}])
        return {
            "answer": reply.choices[0].message.content,
            "model": reply.routing.model,
            "tier": reply.routing.tier,
            "fallbacks": reply.routing.fallback_count,
        }

    return app


def demo(base_url: str) -> list[tuple[str, str, int, dict[str, Any]]]:
    from fastapi.testclient import TestClient

    client = TestClient(create_app(base_url))
    rows = []
    for who, path, headers in [
        ("anonymous", "/chat?q=hi", {}),
        ("anonymous + spoofed X-LLM-Tier: pro", "/chat?q=hi", {"X-LLM-Tier": "pro"}),
        ("alice (pro)", "/chat?q=hi", {"Authorization": "Bearer alice-token"}),
        (
            "alice, /summary (cheap only)",
            "/summary?q=report",
            {"Authorization": "Bearer alice-token"},
        ),
    ]:
        response = client.get(path, headers=headers)
        rows.append((who, path, response.status_code, response.json()))
    return rows


def main(argv: list[str]) -> None:
    from llm_router_middleware.testing import FakeProvider

    with FakeProvider() as provider:
        if "--demo" in argv:
            for who, path, status, body in demo(provider.base_url):
                print(
                    f"{who:38} {path:20} {status}  model={body.get('model')} "
                    f"tier={body.get('tier')}"
                )
            return
        import uvicorn

        uvicorn.run(create_app(provider.base_url), host="127.0.0.1", port=8000)


if __name__ == "__main__":
    main(sys.argv[1:])

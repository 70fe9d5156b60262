"""FastAPI + llm-router-middleware against a local fake provider (no API key needed).

python examples/fastapi_app/app.py           # serves http://127.0.0.1:8000 (see /docs)
python examples/fastapi_app/app.py --demo    # sends a few requests, prints the decisions

With OTEL_EXPORTER_OTLP_ENDPOINT set (http://localhost:4318 for examples/jaeger-compose.yml),
every request's spans are exported: the HTTP server span, its route span and the chat spans.

curl -H "Authorization: Bearer alice-token" http://127.0.0.1:8000/chat?q=hello
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # examples/shared.py

from fastapi import Depends, FastAPI, Request
from llm_router_middleware.integrations.fastapi import (
    llm_dependency,
    llm_policy,
    setup,
)
from shared import DemoRow, export_spans, print_rows, router_config, run_demo

from llm_router_middleware import RequestContext, RequestLLM, Router

# The app's own users: a bearer token is checked against its user table, never trusted as is.
USERS = {"alice-token": ("alice", "pro"), "bob-token": ("bob", "free")}


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


def create_app(base_url: str, *, traced: bool = False) -> FastAPI:
    app = FastAPI(title="llm-router-middleware FastAPI example")
    setup(app, Router.from_config(router_config(base_url)))
    if traced and not getattr(app, "_is_instrumented_by_opentelemetry", False):
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        FastAPIInstrumentor.instrument_app(app)  # the HTTP server span the route spans nest in

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


def demo(base_url: str, *, traced: bool = False) -> list[DemoRow]:
    from fastapi.testclient import TestClient

    client = TestClient(create_app(base_url, traced=traced))

    def get(url: str, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        response = client.get(url, headers=headers)
        return response.status_code, response.json()

    return run_demo(get)


def main(argv: list[str]) -> None:
    from llm_router_middleware.testing import FakeProvider

    traced = export_spans("llm-router-fastapi-example")
    with FakeProvider() as provider:
        if "--demo" in argv:
            print_rows(demo(provider.base_url, traced=traced))
            return
        import uvicorn

        uvicorn.run(create_app(provider.base_url, traced=traced), host="127.0.0.1", port=8000)


if __name__ == "__main__":
    main(sys.argv[1:])

"""Flask + llm-router-middleware against a local fake provider (no API key needed).

python examples/flask_app/app.py           # serves http://127.0.0.1:5000
python examples/flask_app/app.py --demo    # sends a few requests, prints the decisions

With OTEL_EXPORTER_OTLP_ENDPOINT set (http://localhost:4318 for examples/jaeger-compose.yml),
every request's spans are exported: the HTTP server span, its route span and the chat spans.

curl -H "Authorization: Bearer alice-token" http://127.0.0.1:5000/chat?q=hello
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # examples/shared.py

from flask import Flask, request
from flask.typing import ResponseReturnValue
from llm_router_middleware.integrations.flask import LLMRouter, llm, llm_policy
from shared import DemoRow, export_spans, print_rows, router_config, run_demo

from llm_router_middleware import RequestContext

# The app's own users (think flask-login): a token is checked against its table.
USERS = {"alice-token": ("alice", "pro"), "bob-token": ("bob", "free")}


def current_user_context(req: Any) -> RequestContext:
    token = req.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    user = USERS.get(token)
    return RequestContext(user_id=user[0], tier=user[1]) if user else RequestContext()


def create_app(base_url: str, *, traced: bool = False) -> Flask:
    app = Flask(__name__)
    app.config["LLM_ROUTER"] = router_config(base_url)
    LLMRouter(app, context=current_user_context)
    if traced and not getattr(app, "_is_instrumented_by_opentelemetry", False):
        from opentelemetry.instrumentation.flask import FlaskInstrumentor

        FlaskInstrumentor().instrument_app(app)  # the HTTP server span the route spans nest in

    @app.get("/chat")
    async def chat() -> ResponseReturnValue:
        reply = await request.llm.acomplete(  # type: ignore[attr-defined]
            [{"role": "user", "content": request.args.get("q", "hello")}]
        )
        return {
            "answer": reply.choices[0].message.content,
            "model": reply.routing.model,
            "tier": reply.routing.tier,
            "fallbacks": reply.routing.fallback_count,
        }

    @app.get("/summary")
    @llm_policy(models=["cheap"])
    def summary() -> ResponseReturnValue:  # sync view, narrowed policy, the `llm` proxy
        reply = llm.complete([{"role": "user", "content": f"Summarise: {request.args['q']}"}])
        return {
            "answer": reply.choices[0].message.content,
            "model": reply.routing.model,
            "tier": reply.routing.tier,
            "fallbacks": reply.routing.fallback_count,
        }

    return app


def demo(base_url: str, *, traced: bool = False) -> list[DemoRow]:
    client = create_app(base_url, traced=traced).test_client()

    def get(url: str, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        response = client.get(url, headers=headers)
        return response.status_code, response.get_json()

    return run_demo(get)


def main(argv: list[str]) -> None:
    from llm_router_middleware.testing import FakeProvider

    traced = export_spans("llm-router-flask-example")
    with FakeProvider() as provider:
        if "--demo" in argv:
            print_rows(demo(provider.base_url, traced=traced))
            return
        create_app(provider.base_url, traced=traced).run(host="127.0.0.1", port=5000)


if __name__ == "__main__":
    main(sys.argv[1:])

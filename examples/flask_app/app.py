"""Flask + llm-router-middleware against a local fake provider (no API key needed).

python examples/flask_app/app.py           # serves http://127.0.0.1:5000
python examples/flask_app/app.py --demo    # sends a few requests, prints the decisions

curl -H "Authorization: Bearer alice-token" http://127.0.0.1:5000/chat?q=hello
"""

from __future__ import annotations

import os
import sys
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from flask import Flask, request
from flask.typing import ResponseReturnValue
from llm_router_middleware.integrations.flask import LLMRouter, llm, llm_policy

from llm_router_middleware import RequestContext

# The app's own users (think flask-login): a token is checked against its table.
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


def current_user_context(req: Any) -> RequestContext:
    token = req.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    user = USERS.get(token)
    return RequestContext(user_id=user[0], tier=user[1]) if user else RequestContext()


def create_app(base_url: str) -> Flask:
    app = Flask(__name__)
    app.config["LLM_ROUTER"] = router_config(base_url)
    LLMRouter(app, context=current_user_context)

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


def demo(base_url: str) -> list[tuple[str, str, int, dict[str, Any]]]:
    client = create_app(base_url).test_client()
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
        rows.append((who, path, response.status_code, response.get_json()))
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
        create_app(provider.base_url).run(host="127.0.0.1", port=5000)


if __name__ == "__main__":
    main(sys.argv[1:])

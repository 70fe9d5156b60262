"""`make demo-local`: routing between a real model on this machine and the fake "cloud" provider.

Starts llama-cpp-python's OpenAI-compatible server with Gemma 3 270M (the [local] extra), the
project's fake provider as a paid cloud model, and a Starlette app (uvicorn) whose endpoints
answer with `complete()` and with Server-Sent Events (`sse_response`). Then, over real HTTP:
an answer and a stream from the local model (cost 0), and the same after the local server is
stopped: the router falls back to the cloud model and charges it.

    python examples/demo_local.py
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import httpx
import uvicorn
from llm_router_middleware.integrations.starlette import sse_response
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from llm_router_middleware import LLMRouterMiddleware, RequestContext, Router
from llm_router_middleware.testing import Behavior, FakeProvider
from llm_router_middleware.testing.local_model import LocalModelServer, missing_local_extra

PROMPT = "In one sentence: why is the sky blue?"
MAX_TOKENS = 48


def router_config(local: LocalModelServer, cloud: FakeProvider) -> dict[str, Any]:
    return {
        "models": [
            {
                "name": "local-gemma",
                "model": f"openai/{local.alias}",
                "api_base": local.base_url,
                "api_key": "none",
                "input_cost_per_1m": 0.0,  # runs on this machine: free
                "output_cost_per_1m": 0.0,
                "context_window": local.n_ctx,
                "timeout_s": 60.0,
            },
            {
                "name": "cloud",
                "model": "openai/fake-cloud",
                "api_base": cloud.base_url,
                "api_key": "sk-demo",
                "input_cost_per_1m": 2.5,
                "output_cost_per_1m": 10.0,
                "context_window": 8000,
            },
        ],
        "routing": {"strategy": "fixed", "fallbacks": ["local-gemma", "cloud"]},
        "budgets": {"per_user_usd": 1.0},
    }


def create_app(router: Router) -> Starlette:
    def body(request: Request, payload: dict[str, Any]) -> list[dict[str, str]]:
        return [{"role": "user", "content": str(payload.get("prompt", PROMPT))}]

    async def chat(request: Request) -> Response:
        reply = await request.state.llm.acomplete(
            body(request, await request.json()), max_tokens=MAX_TOKENS
        )
        routing = reply.routing
        return JSONResponse(
            {
                "content": reply.choices[0].message.content,
                "model": routing.model,
                "fallback_count": routing.fallback_count,
                "cost_usd": routing.cost_usd,
                "usage": {
                    "prompt_tokens": reply.usage.prompt_tokens,
                    "completion_tokens": reply.usage.completion_tokens,
                },
            }
        )

    async def stream(request: Request) -> Response:
        messages = body(request, await request.json())
        return await sse_response(request.state.llm, messages, max_tokens=MAX_TOKENS)

    return Starlette(
        routes=[Route("/chat", chat, methods=["POST"]), Route("/stream", stream, methods=["POST"])],
        middleware=[
            Middleware(
                LLMRouterMiddleware,
                router=router,
                context=lambda request: RequestContext(user_id="demo-user"),
            )
        ],
    )


def show_answer(client: httpx.Client) -> None:
    answer = client.post("/chat", json={"prompt": PROMPT}).json()
    print(
        f"  POST /chat    -> {answer['model']} (fallbacks {answer['fallback_count']}), "
        f"usage {answer['usage']}, cost ${answer['cost_usd']:.6f}"
    )
    print(f"                   {answer['content'].strip()!r}")


def show_stream(client: httpx.Client) -> None:
    print("  POST /stream  -> ", end="", flush=True)
    started = time.perf_counter()
    first: float | None = None
    event = "message"
    with client.stream("POST", "/stream", json={"prompt": PROMPT}) as response:
        for line in response.iter_lines():
            if line.startswith("event: "):
                event = line.removeprefix("event: ")
            elif line.startswith("data: "):
                data = json.loads(line.removeprefix("data: "))
                if event == "message":
                    first = first or time.perf_counter() - started
                    print(data["content"], end="", flush=True)
                else:
                    routing = data.get("routing", data)
                    print(f"\n                   [{event}] {json.dumps(routing)[:160]}")
                event = "message"
    if first is not None:
        print(f"                   first text after {first * 1000:.0f} ms")


def main() -> int:
    missing = missing_local_extra()
    if missing is not None:
        print(f"demo-local needs the [local] extra: {missing}", file=sys.stderr)
        return 1
    print("starting the local model server (llama-cpp-python, Gemma 3 270M Q4_K_M) ...")
    with FakeProvider() as cloud, LocalModelServer() as local:
        cloud.set("fake-cloud", Behavior(reply="The cloud says: Rayleigh scattering."))
        router = Router.from_config(router_config(local, cloud))
        server = uvicorn.Server(
            uvicorn.Config(create_app(router), host="127.0.0.1", port=0, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
                print("\n1. the local model answers, for free")
                show_answer(client)
                show_stream(client)
                local.stop()
                print("\n2. the local model server is stopped: the router falls back to the cloud")
                show_answer(client)
                show_stream(client)
        finally:
            server.should_exit = True
            thread.join(timeout=10)
        spent = router.ledger.spent("demo-user", "default")["user:demo-user"]
        print(f"\ndemo-user spent ${spent:.6f}: only the cloud model's answers cost anything")
    return 0


if __name__ == "__main__":
    sys.exit(main())

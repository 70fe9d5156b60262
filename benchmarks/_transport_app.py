"""The apps benchmarks/transport.py serves with uvicorn (2 workers): one endpoint calls a model
through ours (native transport, behind LLMRouterMiddleware), the others through a raw client.

Configured by environment: BENCH_UPSTREAM (the fake provider's base URL).
"""

from __future__ import annotations

import json
import os
from typing import Any

import aiohttp
import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from llm_router_middleware import LLMRouterMiddleware, RequestContext, Router

UPSTREAM = os.environ.get("BENCH_UPSTREAM", "http://127.0.0.1:9/v1")
URL = UPSTREAM + "/chat/completions"
KEY = "sk-bench-not-a-real-key"
MESSAGES = [{"role": "user", "content": "Hi! What is the capital of France?"}]
HEADERS = {"content-type": "application/json", "authorization": f"Bearer {KEY}"}
BODY = json.dumps({"model": "gpt-4o-mini", "messages": MESSAGES}).encode()

ROUTER = Router.from_config(
    {
        "models": [
            {
                "name": "cheap",
                "model": "openai/gpt-4o-mini",
                "api_base": UPSTREAM,
                "api_key": KEY,
                "input_cost_per_1m": 0.15,
                "output_cost_per_1m": 0.6,
                "context_window": 128000,
                "transport": "native",
            }
        ]
    }
)
_clients: dict[str, Any] = {}


async def ours(request: Request) -> JSONResponse:
    reply = await request.state.llm.acomplete(MESSAGES)
    return JSONResponse({"text": reply.choices[0].message.content})


async def raw_aiohttp(request: Request) -> JSONResponse:
    session = _clients.get("aiohttp")
    if session is None:
        session = _clients["aiohttp"] = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=1024)
        )
    async with session.post(URL, data=BODY, headers=HEADERS) as answer:
        reply = json.loads(await answer.read())
    return JSONResponse({"text": reply["choices"][0]["message"]["content"]})


async def raw_httpx(request: Request) -> JSONResponse:
    client = _clients.get("httpx")
    if client is None:
        client = _clients["httpx"] = httpx.AsyncClient(
            limits=httpx.Limits(max_connections=1024), timeout=30
        )
    answer = await client.post(URL, content=BODY, headers=HEADERS)
    reply = json.loads(answer.content)
    return JSONResponse({"text": reply["choices"][0]["message"]["content"]})


app = Starlette(
    routes=[
        Route("/ours", ours),
        Route("/raw-aiohttp", raw_aiohttp),
        Route("/raw-httpx", raw_httpx),
    ],
    middleware=[
        Middleware(
            LLMRouterMiddleware, router=ROUTER, context=lambda r: RequestContext(user_id="u1")
        )
    ],
)

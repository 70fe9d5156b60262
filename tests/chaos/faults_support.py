"""Helpers for the chaos tests and benchmarks/chaos.py: a fake provider with a seeded mix of
faults, a chat app served by uvicorn on loopback, and a load driver that counts outcomes."""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from llm_router_middleware import LLMRouterMiddleware, RequestContext, Router
from llm_router_middleware.client import litellm_module
from llm_router_middleware.testing import Behavior, FakeProvider

PRIMARY, FALLBACK = "primary", "fallback"
MESSAGES = [{"role": "user", "content": "Summarise the plot of Hamlet in one line."}]

# 30 % faults: 10 % 429 with Retry-After 1, 10 % 503, 10 % hangs past the 0.5 s timeout
MIXED_FAULTS: tuple[tuple[float, Behavior], ...] = (
    (0.10, Behavior(status=429, retry_after=1)),
    (0.10, Behavior(status=503)),
    (0.10, Behavior(hang=True)),
)


class FaultyProvider(FakeProvider):
    """A FakeProvider where chosen models draw a fault per request from a seeded mix: the n-th
    request to a model gets the same fault in every run."""

    def __init__(self, seed: int = 7) -> None:
        super().__init__()
        self.seed = seed
        self._mixes: dict[str, tuple[tuple[float, Behavior], ...]] = {}

    def set_mix(self, model: str, mix: Sequence[tuple[float, Behavior]]) -> None:
        with self._lock:
            self._mixes[model] = tuple(mix)
            self._served.pop(model, None)

    def clear_mix(self, model: str) -> None:
        with self._lock:
            self._mixes.pop(model, None)

    def _next(self, model: str) -> tuple[Behavior, int, int]:
        behavior, index, request_id = super()._next(model)
        with self._lock:
            mix = self._mixes.get(model)
        if mix:
            draw = _unit(self.seed, model, index)
            for share, fault in mix:
                if draw < share:
                    return fault, index, request_id
                draw -= share
        return behavior, index, request_id


def _unit(seed: int, model: str, index: int) -> float:
    digest = hashlib.blake2b(f"{seed}:{model}:{index}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def two_model_config(
    provider: FakeProvider | str,
    *,
    breaker: Mapping[str, Any] | None = None,
    timeout_s: float = 0.5,
    **sections: Any,
) -> dict[str, Any]:
    """A cheap primary (timing out after ``timeout_s``) and a fallback that costs twice as
    much (with a generous timeout), both on the fake provider (or at this base URL)."""
    base_url = provider if isinstance(provider, str) else provider.base_url

    def model(name: str, cost: float, quality: float, timeout_s: float) -> dict[str, Any]:
        return {
            "name": name,
            "model": f"openai/fake-{name}",
            "api_base": base_url,
            "api_key": "sk-chaos-test",
            "input_cost_per_1m": cost,
            "output_cost_per_1m": 2 * cost,
            "quality": quality,
            "context_window": 8000,
            "timeout_s": timeout_s,
        }

    config: dict[str, Any] = {
        "models": [model(PRIMARY, 1.0, 0.8, timeout_s), model(FALLBACK, 2.0, 0.8, 30.0)],
        "routing": {"strategy": "fixed", "fallbacks": [PRIMARY, FALLBACK]},
        "breaker": dict(breaker or {}),
    }
    config.update(sections)
    return config


def chat_app(router: Router) -> Starlette:
    """POST /chat {"messages": [...], ...params}: what an app exposing the router looks like."""

    async def chat(request: Request) -> JSONResponse:
        body = await request.json()
        if not isinstance(body, dict):
            return JSONResponse({"error": "the body must be a JSON object"}, status_code=400)
        params = {k: v for k, v in body.items() if k not in ("messages", "user")}
        reply = await request.state.llm.acomplete(body.get("messages"), **params)
        routing = reply.routing
        return JSONResponse({"model": routing.model, "cost_usd": routing.cost_usd})

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    def context(request: Request) -> RequestContext:
        return RequestContext(user_id=request.headers.get("x-user", "u1"))

    return Starlette(
        routes=[Route("/chat", chat, methods=["POST"]), Route("/health", health)],
        middleware=[Middleware(LLMRouterMiddleware, router=router, context=context)],
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serve(router: Router) -> Iterator[str]:
    """The chat app on uvicorn in a background thread; yields its base URL. litellm is imported
    first, as an app would at startup, so no request waits for the import."""
    litellm_module()
    port = free_port()
    config = uvicorn.Config(
        chat_app(router),
        host="127.0.0.1",
        port=port,
        log_level="error",
        lifespan="off",
        timeout_keep_alive=120,  # no race between a closing idle connection and its reuse
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start within 10 s")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@dataclass
class Run:
    """What the clients saw: answers per model, errors per status, the cost charged."""

    models: Counter[str] = field(default_factory=Counter)
    errors: Counter[int] = field(default_factory=Counter)
    error_bodies: list[str] = field(default_factory=list)
    cost_usd: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.models.values()) + sum(self.errors.values())

    def share(self, model: str) -> float:
        return self.models[model] / self.total if self.total else 0.0


async def drive(
    url: str, requests: int, *, concurrency: int = 32, body: Mapping[str, Any] | None = None
) -> Run:
    """``requests`` POST /chat with ``concurrency`` in flight; counts what came back."""
    run = Run()
    payload = dict(body or {"messages": MESSAGES, "max_tokens": 50})
    queue = iter(range(requests))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=60.0, limits=limits) as client:

        async def worker() -> None:
            for _ in queue:
                try:
                    reply = await client.post("/chat", json=payload)
                except httpx.TransportError as exc:  # counted, never hidden
                    run.errors[0] += 1
                    run.error_bodies.append(f"{type(exc).__name__}: {exc}")
                    continue
                if reply.status_code == 200:
                    data = reply.json()
                    run.models[data["model"]] += 1
                    run.cost_usd += data["cost_usd"]
                else:
                    run.errors[reply.status_code] += 1
                    if len(run.error_bodies) < 5:
                        run.error_bodies.append(reply.text[:300])

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return run


class TransitionLog:
    """Counts the breaker transitions logged while it is installed (a logging handler)."""

    def __init__(self) -> None:
        import logging

        self.opened: Counter[str] = Counter()
        self.closed: Counter[str] = Counter()
        self.reasons: list[str] = []
        self.first_open_at: float | None = None
        log = self

        class _Handler(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                to = getattr(record, "llm_router_breaker_to", None)
                model = getattr(record, "llm_router_model", "?")
                if to == "open":
                    log.opened[model] += 1
                    if log.first_open_at is None:
                        log.first_open_at = record.created
                    log.reasons.append(str(getattr(record, "llm_router_reason", "")))
                elif to == "closed":
                    log.closed[model] += 1

        self._handler = _Handler(level=logging.INFO)
        self._logger = logging.getLogger("llm_router_middleware.breaker")

    def __enter__(self) -> TransitionLog:
        import logging

        self._level = self._logger.level
        self._logger.setLevel(logging.INFO)
        self._logger.addHandler(self._handler)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._logger.removeHandler(self._handler)
        self._logger.setLevel(self._level)

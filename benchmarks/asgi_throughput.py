"""Starlette throughput on an endpoint that never uses the LLM: bare, with LLMRouterMiddleware
(pure ASGI), with a no-op pure ASGI middleware, and with a BaseHTTPMiddleware doing the same
job as ours, driven in process through a minimal ASGI scope/receive/send loop, in interleaved
rounds. Optionally (when `wrk` is installed) the same apps under uvicorn.

    python benchmarks/asgi_throughput.py [--rounds 30] [--per-round 500] [--wrk]

Target (issue 2): with / without LLMRouterMiddleware >= 0.98.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, settle_heap, setup_env

setup_env()

from starlette.applications import Starlette  # noqa: E402
from starlette.middleware import Middleware  # noqa: E402
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.responses import JSONResponse, Response  # noqa: E402
from starlette.routing import Route  # noqa: E402
from starlette.types import ASGIApp, Message, Receive, Scope, Send  # noqa: E402

from llm_router_middleware import LLMRouterMiddleware, RequestContext, RequestLLM, Router  # noqa: E402

TARGET = 0.98
CONFIG = {
    "models": [
        {
            "name": "cheap",
            "model": "openai/gpt-4o-mini",
            "api_base": "http://127.0.0.1:9/v1",  # never called: the endpoint does not use it
            "api_key": "sk-bench",
            "input_cost_per_1m": 0.15,
            "output_cost_per_1m": 0.6,
            "context_window": 128000,
        }
    ]
}


def resolve(request: Request) -> RequestContext:
    return RequestContext(user_id="u1")


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


class NoopASGI:
    """The least a pure ASGI middleware can do: forward the call."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


class BaseHTTPEquivalent(BaseHTTPMiddleware):
    """Our middleware's job (a lazy handle on request.state) written as BaseHTTPMiddleware."""

    def __init__(self, app: ASGIApp, router: Router) -> None:
        super().__init__(app)
        self.router = router

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        request.state.llm = RequestLLM(self.router, resolver=resolve, request=request)
        return await call_next(request)


def apps(router: Router) -> dict[str, ASGIApp]:
    routes = [Route("/health", health)]
    ours = Middleware(LLMRouterMiddleware, router=router, context=resolve)
    return {
        "bare Starlette": Starlette(routes=routes),
        "+ LLMRouterMiddleware": Starlette(routes=routes, middleware=[ours]),
        "+ no-op pure ASGI": Starlette(routes=routes, middleware=[Middleware(NoopASGI)]),
        "+ BaseHTTPMiddleware equiv.": Starlette(
            routes=routes, middleware=[Middleware(BaseHTTPEquivalent, router=router)]
        ),
    }


def driver(app: ASGIApp) -> Callable[[int], Awaitable[None]]:
    """Serve ``n`` GET /health requests to ``app`` with no server and no sockets."""
    base: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/health",
        "raw_path": b"/health",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"bench"), (b"user-agent", b"bench")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    request: Message = {"type": "http.request", "body": b"", "more_body": False}

    async def receive() -> Message:
        return request

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start" and message["status"] != 200:
            raise RuntimeError(f"unexpected status {message['status']}")

    async def run(n: int) -> None:
        for _ in range(n):
            await app(dict(base), receive, send)

    return run


async def in_process(rounds: int, per_round: int) -> dict[str, list[float]]:
    """Requests per second of each app, one figure per round; apps take turns each round."""
    router = Router.from_config(CONFIG)
    runs = {name: driver(app) for name, app in apps(router).items()}
    for run in runs.values():
        await run(200)  # warm: builds each middleware stack
    settle_heap()
    rates: dict[str, list[float]] = {name: [] for name in runs}
    clock = time.perf_counter
    for _ in range(rounds):
        for name, run in runs.items():
            t0 = clock()
            await run(per_round)
            rates[name].append(per_round / (clock() - t0))
    return rates


def with_wrk(seconds: int) -> dict[str, float] | None:
    """Each app under uvicorn (one worker) on loopback, loaded by wrk; None without wrk."""
    if shutil.which("wrk") is None:
        return None
    import socket
    import threading

    import uvicorn

    router = Router.from_config(CONFIG)
    results: dict[str, float] = {}
    for name, app in apps(router).items():
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(app, log_level="error", access_log=False))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.01)
        url = f"http://127.0.0.1:{port}/health"
        subprocess.run(["wrk", "-t1", "-c16", "-d1s", url], capture_output=True, check=False)
        out = subprocess.run(
            ["wrk", "-t1", "-c32", f"-d{seconds}s", url],
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        line = next((x for x in out.splitlines() if x.startswith("Requests/sec")), "")
        results[name] = float(line.split()[-1]) if line else float("nan")
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--per-round", type=int, default=500)
    parser.add_argument("--wrk", action="store_true", help="also measure under uvicorn with wrk")
    parser.add_argument("--wrk-seconds", type=int, default=5)
    args = parser.parse_args(argv)
    print("asgi_throughput.py: Starlette GET /health (no LLM use), in process, interleaved rounds")
    print(machine())
    rates = asyncio.run(in_process(args.rounds, args.per_round))
    bare = statistics.median(rates["bare Starlette"])
    print(f"\n  {'':30}{'median req/s':>14}{'p10 req/s':>12}{'vs bare':>10}")
    for name, values in rates.items():
        med = statistics.median(values)
        p10 = sorted(values)[len(values) // 10]
        print(f"  {name:30}{med:14.0f}{p10:12.0f}{med / bare:10.3f}")
    # Per-round ratios pair each round's figures, cancelling drift between rounds.
    paired = [
        o / b for o, b in zip(rates["+ LLMRouterMiddleware"], rates["bare Starlette"], strict=True)
    ]
    based = [
        o / b
        for o, b in zip(rates["+ BaseHTTPMiddleware equiv."], rates["bare Starlette"], strict=True)
    ]
    per_request_us = 1e6 / statistics.median(rates["+ LLMRouterMiddleware"]) - 1e6 / bare
    print(
        f"\n  with / without LLMRouterMiddleware: {statistics.median(paired):.3f} "
        f"(median of per-round ratios; target >= {TARGET}); "
        f"about {per_request_us:+.1f} µs per request"
    )
    print(f"  BaseHTTPMiddleware equivalent / bare: {statistics.median(based):.3f}")
    if args.wrk:
        figures = with_wrk(args.wrk_seconds)
        if figures is None:
            print("\n  wrk is not installed: skipped the uvicorn figure (apt-get install wrk)")
        else:
            print(f"\n  uvicorn + wrk (-c32, {args.wrk_seconds} s each, one after another):")
            base = figures["bare Starlette"]
            for name, rps in figures.items():
                print(f"  {name:30}{rps:14.0f} req/s {rps / base:10.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Shared state under faults: a redis-server that can be killed and restarted, an app served by
uvicorn with several worker processes on it, and a load generator that keeps every answer.

Also used by ``benchmarks/chaos_state.py`` for the larger published run.

The app (``create_app``, run by uvicorn as a factory in each worker) reads its router config
from the JSON file named by ``CHAOS_ROUTER_CONFIG`` and serves:
- ``POST /chat`` (header ``x-user``): ``acomplete``; answers the model and the cost charged;
- ``GET /spend/{user}``: ``Router.aspend``, the user's spend today per scope;
- ``GET /health``: ``Router.ahealth`` plus the worker's pid and whether litellm is imported.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import redis

HERE = Path(__file__).resolve().parent
MESSAGES = [{"role": "user", "content": "hello there, how are you today?"}]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(check: Any, what: str, timeout_s: float = 60.0, every_s: float = 0.05) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not happen within {timeout_s:g} s")
        time.sleep(every_s)


class RedisProcess:
    """A private redis-server on a fixed port that can be killed (SIGKILL) and started again.
    Writes are fsynced to an append-only file, so a restart finds every acknowledged write."""

    def __init__(self, workdir: Path, port: int | None = None) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not on PATH: run scripts/ensure-redis.sh")
        self.binary = binary
        self.workdir = workdir
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [
            self.binary,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "yes",
            "--appendfsync", "always",
            "--dir", str(self.workdir),
            "--logfile", str(self.workdir / "redis.log"),
        ]  # fmt: skip
        self.process = subprocess.Popen(command, cwd=self.workdir, stdin=subprocess.DEVNULL)
        with redis.Redis.from_url(self.url, socket_timeout=1.0) as client:

            def answers() -> bool:
                try:
                    return bool(client.ping())
                except redis.RedisError:
                    return False

            wait_for(answers, "redis-server answering PING", timeout_s=20.0)

    def kill(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
            self.process = None

    def flush(self) -> None:
        with redis.Redis.from_url(self.url) as client:
            client.flushall()

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
            self.process = None


def router_config(
    provider_base_url: str,
    redis_url: str,
    *,
    per_user_usd: float,
    on_unavailable: str = "local",
) -> dict[str, Any]:
    """Two priced models on the fake provider, a per-user daily budget, state in Redis."""

    def model(name: str, quality: float, cost: float) -> dict[str, Any]:
        return {
            "name": name,
            "model": f"openai/fake-{name}",
            "api_base": provider_base_url,
            "api_key": "sk-chaos-test-0123456789",
            "input_cost_per_1m": cost,
            "output_cost_per_1m": 2 * cost,
            "quality": quality,
            "context_window": 8000,
            "max_output_tokens": 64,
            "timeout_s": 10.0,
        }

    return {
        "models": [model("primary", 0.9, 30.0), model("backup", 0.7, 20.0)],
        "routing": {"strategy": "fixed", "fallbacks": ["primary", "backup"]},
        "budgets": {"per_user_usd": per_user_usd, "on_exhausted": "refuse"},
        "state": {"backend": "redis", "redis_url": redis_url, "on_unavailable": on_unavailable},
    }


# --- the app each uvicorn worker runs ------------------------------------------------------------


def create_app() -> Any:
    """The uvicorn factory: the config comes from the file named by CHAOS_ROUTER_CONFIG."""
    return build_app(json.loads(Path(os.environ["CHAOS_ROUTER_CONFIG"]).read_text()))


def build_app(config: dict[str, Any]) -> Any:
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from llm_router_middleware import LLMRouterMiddleware, RequestContext, Router

    router = Router.from_config(config)

    async def chat(request: Request) -> JSONResponse:
        reply = await request.state.llm.acomplete(MESSAGES, max_tokens=16)
        return JSONResponse({"model": reply.routing.model, "cost": reply.routing.cost_usd})

    async def spend(request: Request) -> JSONResponse:
        report = await router.aspend(request.path_params["user"])
        scope = report.scopes[0]
        return JSONResponse(
            {"scope": scope.scope, "spent": scope.spent_usd, "remaining": scope.remaining_usd}
        )

    async def health(request: Request) -> JSONResponse:
        report = await router.ahealth()
        body = report.to_json()
        body["pid"] = os.getpid()
        body["litellm_loaded"] = "litellm" in sys.modules
        return JSONResponse(body)

    def user_of(request: Request) -> RequestContext:
        return RequestContext(user_id=request.headers.get("x-user"))

    return Starlette(
        routes=[
            Route("/chat", chat, methods=["POST"]),
            Route("/spend/{user}", spend),
            Route("/health", health),
        ],
        middleware=[Middleware(LLMRouterMiddleware, router=router, context=user_of)],
    )


@contextmanager
def served(config: dict[str, Any], workdir: Path, *, workers: int = 2) -> Iterator[str]:
    """uvicorn with ``workers`` processes serving ``create_app`` for ``config``: the base URL,
    once every worker has answered ``/health``."""
    path = workdir / f"router-{os.urandom(4).hex()}.json"
    path.write_text(json.dumps(config))
    port = free_port()
    env = {
        **os.environ,
        "CHAOS_ROUTER_CONFIG": str(path),
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
    }
    log = (workdir / f"uvicorn-{port}.log").open("wb")
    command = [
        sys.executable, "-m", "uvicorn", "state_support:create_app", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
        "--log-level", "warning", "--no-access-log", "--timeout-graceful-shutdown", "5",
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=HERE, env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        pids: set[int] = set()

        def all_up() -> bool:
            if process.poll() is not None:
                raise RuntimeError(f"uvicorn exited: {(workdir / log.name).read_text()[-3000:]}")
            try:
                pids.add(httpx.get(f"{url}/health", timeout=5.0).json()["pid"])
            except httpx.HTTPError:
                return False
            return len(pids) >= workers

        wait_for(all_up, f"{workers} uvicorn workers answering", timeout_s=120.0, every_s=0.1)
        yield url
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()


@contextmanager
def served_in_process(config: dict[str, Any]) -> Iterator[str]:
    """One uvicorn server in a thread of this process (litellm is imported once already)."""
    import threading

    import uvicorn

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(build_app(config), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started, "uvicorn starting", timeout_s=60.0)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)


# --- load ----------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """Every answer of a run: status counts, costs charged per user, error bodies."""

    statuses: Counter[int] = field(default_factory=Counter)
    charged: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    models: Counter[str] = field(default_factory=Counter)
    bodies: list[str] = field(default_factory=list)  # of answers other than 200 and 402

    def add(self, other: Outcome) -> None:
        self.statuses.update(other.statuses)
        self.models.update(other.models)
        for user, cost in other.charged.items():
            self.charged[user] += cost
        self.bodies += other.bodies

    @property
    def failed(self) -> int:
        """Answers that were neither a reply nor a budget refusal."""
        return sum(n for status, n in self.statuses.items() if status not in (200, 402))


async def _load(
    url: str,
    users: Sequence[str],
    requests: int,
    concurrency: int,
    events: Sequence[tuple[int, Callable[[], None]]],
) -> Outcome:
    outcome = Outcome()
    queue = iter(range(requests))
    pending = sorted(events, key=lambda event: event[0])
    actions: list[asyncio.Future[None]] = []
    loop = asyncio.get_running_loop()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    # generous: a loaded CI machine may queue a call for long, and a timeout is not an answer
    async with httpx.AsyncClient(base_url=url, timeout=120.0, limits=limits) as client:

        async def worker() -> None:
            for index in queue:
                user = users[index % len(users)]
                try:
                    response = await client.post("/chat", headers={"x-user": user})
                except httpx.HTTPError as exc:
                    outcome.statuses[0] += 1
                    outcome.bodies.append(repr(exc))
                else:
                    outcome.statuses[response.status_code] += 1
                    if response.status_code == 200:
                        body = response.json()
                        outcome.charged[user] += body["cost"]
                        outcome.models[body["model"]] += 1
                    elif response.status_code != 402:
                        outcome.bodies.append(response.text)
                answered = sum(outcome.statuses.values())
                while pending and answered >= pending[0][0]:  # the load goes on meanwhile
                    actions.append(loop.run_in_executor(None, pending.pop(0)[1]))

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        await asyncio.gather(*actions)
    return outcome


def load(
    url: str,
    users: Sequence[str],
    requests: int,
    concurrency: int = 16,
    events: Sequence[tuple[int, Callable[[], None]]] = (),
) -> Outcome:
    """``requests`` POST /chat, round-robin over ``users``, ``concurrency`` at a time; each
    event ``(n, action)`` runs ``action`` in a thread once ``n`` answers have come back."""
    return asyncio.run(_load(url, users, requests, concurrency, events))


def spent(url: str, user: str) -> float:
    value: float = httpx.get(f"{url}/spend/{user}", timeout=10.0).json()["spent"]
    return value


def health_of_every_worker(url: str, workers: int) -> dict[int, dict[str, Any]]:
    """One /health answer per worker pid (polls until each worker has answered)."""
    seen: dict[int, dict[str, Any]] = {}

    def all_seen() -> bool:
        body = httpx.get(f"{url}/health", timeout=10.0).json()
        seen[body["pid"]] = body
        return len(seen) >= workers

    wait_for(all_seen, "every worker answering /health", timeout_s=30.0, every_s=0.02)
    return seen


def wait_until_recovered(url: str, workers: int, timeout_s: float = 60.0) -> None:
    """Until every worker says it is no longer degraded (its probe found Redis again)."""
    recovered: set[int] = set()

    def all_back() -> bool:
        body = httpx.get(f"{url}/health", timeout=10.0).json()
        if body["degraded"]:
            recovered.discard(body["pid"])
        else:
            recovered.add(body["pid"])
        return len(recovered) >= workers

    wait_for(all_back, "every worker leaving degraded mode", timeout_s=timeout_s, every_s=0.1)

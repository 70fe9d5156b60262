"""The README's first command (`make demo`): the example app over real HTTP, no API key needed.

Starts the project's fake OpenAI-compatible provider and the Starlette example app (uvicorn) on
127.0.0.1, sends a scripted handful of requests, and prints how each was routed: complexity
routing, a fallback, an open circuit breaker, a budget downgrade and refusal, a bad request.
Then the spans: one line each on the console, or OTLP/HTTP to `OTEL_EXPORTER_OTLP_ENDPOINT`.

    python examples/demo.py
    OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 python examples/demo.py   # to Jaeger
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
import uvicorn
from demo_tracing import clip, setup_tracing
from starlette.types import ASGIApp
from starlette_app.app import create_app, load_router

from llm_router_middleware.testing import Behavior, FakeProvider

WIDTH = 120
BILLED_OUTPUT_TOKENS = 250  # the fake provider bills every answer as this many output tokens

SIMPLE = "Hi! What is the capital of France?"
HARD = (
    "Compare two storage engines step by step and analyze the trade-offs of a write-ahead "
    "log against shadow paging for an embedded database."
)

ANONYMOUS: dict[str, str] = {}
ALICE = {"Cookie": "session=sess-alice-7f3a"}  # a server-side session
BOB = {"Authorization": "Bearer demo-token-bob"}  # an API token


@dataclass(frozen=True, slots=True)
class Step:
    label: str
    who: str
    headers: dict[str, str]
    body: Any  # the JSON body, or bytes sent as is
    setup: Callable[[FakeProvider], None] | None = None


@dataclass(frozen=True, slots=True)
class Row:
    label: str
    who: str  # user/tier
    status: int
    strategy: str
    model: str
    fallbacks: str
    cost: str
    attempts: str  # "premium 503 -> balanced ok"
    reason: str


def ask(prompt: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": prompt}]}


def premium_down(provider: FakeProvider) -> None:
    provider.set("fake-premium", Behavior(status=503, retry_after=None))


def answers(provider: FakeProvider) -> None:
    for name in ("cheap", "balanced", "premium"):
        reply = f"({name}) Here is an answer from the fake provider."
        provider.set(f"fake-{name}", Behavior(reply=reply, completion_tokens=BILLED_OUTPUT_TOKENS))


SCRIPT: tuple[Step, ...] = (
    # Complexity routing: the prompt decides the model.
    Step("simple prompt", "bob", BOB, ask(SIMPLE)),
    Step("hard prompt", "bob", BOB, ask(HARD)),
    # The tier comes from the user on the server, never from a client header.
    Step("spoofed X-Tier: pro", "anonymous", {"X-Tier": "pro", "X-User-Tier": "pro"}, ask(HARD)),
    # Budget: the free tier's small daily budget runs out.
    Step("hard, full budget", "alice", ALICE, ask(HARD)),
    Step("hard, budget low", "alice", ALICE, ask(HARD)),
    Step("hard, budget lower", "alice", ALICE, ask(HARD)),
    Step("hard, budget gone", "alice", ALICE, ask(HARD)),
    # Fallback, then the breaker opens after two failures in a row and premium is skipped.
    Step("premium 503", "bob", BOB, ask(HARD), setup=premium_down),
    Step("premium 503 again", "bob", BOB, ask(HARD)),
    Step("breaker open", "bob", BOB, ask(HARD)),
    # Bad requests are 400 JSON answers, never a stack trace.
    Step("malformed messages", "bob", BOB, {"messages": [{"role": "wizard", "content": "hi"}]}),
    Step("body is not JSON", "bob", BOB, b"{not json"),
)


# --- the servers ------------------------------------------------------------------------------
@contextlib.contextmanager
def serve(app: ASGIApp) -> Iterator[str]:
    """Serve ``app`` with uvicorn on an ephemeral loopback port in a thread; yield its URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def run_script(base_url: str, provider: FakeProvider, steps: Sequence[Step] = SCRIPT) -> list[Row]:
    rows: list[Row] = []
    with httpx.Client(base_url=base_url, timeout=30) as client:
        health = client.get("/health")
        health.raise_for_status()
        for step in steps:
            if step.setup is not None:
                step.setup(provider)
            if isinstance(step.body, bytes):
                headers = {**step.headers, "Content-Type": "application/json"}
                response = client.post("/chat", content=step.body, headers=headers)
            else:
                response = client.post("/chat", json=step.body, headers=step.headers)
            rows.append(to_row(step, response))
    return rows


def to_row(step: Step, response: httpx.Response) -> Row:
    data = response.json()
    if response.status_code == 200:
        routing = data["routing"]
        model = routing["model"] + (" (downgr.)" if routing["downgraded"] else "")
        return Row(
            step.label,
            f"{step.who}/{routing['tier']}",
            200,
            routing["strategy"],
            model,
            str(routing["fallback_count"]),
            f"${routing['cost_usd']:.5f}",
            trail(routing["attempts"]),
            routing["reason"],
        )
    error = data.get("error", {})
    return Row(
        step.label,
        f"{step.who}/{USER_TIERS[step.who]}",
        response.status_code,
        "-",
        "-",
        "-",
        "-",
        error.get("type", "-"),
        error.get("message", ""),
    )


def trail(attempts: Sequence[dict[str, Any]]) -> str:
    steps = []
    for a in attempts:
        if a["outcome"] == "success":
            steps.append(f"{a['model']} ok")
        else:
            code = a["status_code"] or a["error_type"] or a["outcome"]
            steps.append(f"{a['model']} {code}")
    return " -> ".join(steps)


# --- the table ---------------------------------------------------------------------------------
COLUMNS = (
    ("#", 2),
    ("request", 19),
    ("user/tier", 17),
    ("http", 4),
    ("strategy", 10),
    ("model", 16),
    ("fb", 2),
    ("cost", 8),
    ("attempts", 26),
)
USER_TIERS = {"alice": "free", "bob": "pro", "anonymous": "default"}  # for error rows


def format_table(rows: Sequence[Row], width: int = WIDTH) -> str:
    """One line per request, then its routing reason (or error message) indented below."""
    header = " ".join(name.ljust(w) for name, w in COLUMNS).rstrip()
    lines = [header, "-" * width]
    for i, row in enumerate(rows, 1):
        values = (
            str(i),
            row.label,
            row.who,
            str(row.status),
            row.strategy,
            row.model,
            row.fallbacks,
            row.cost,
            row.attempts,
        )
        cells = [clip(v, w).ljust(w) for v, (_, w) in zip(values, COLUMNS, strict=True)]
        lines.append(" ".join(cells).rstrip())
        # the whole reason, wrapped under the row (never cut: it is what the demo is about)
        wrapped = textwrap.wrap(" ".join(row.reason.split()), width - 5) or [""]
        lines.append("   └ " + wrapped[0])
        lines.extend("     " + more for more in wrapped[1:])
    return "\n".join(lines)


# --- main --------------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    # Decision log lines (logger "llm_router_middleware") are quiet unless asked for.
    verbose = "--log" in (argv if argv is not None else sys.argv[1:])
    logging.basicConfig(
        level=logging.INFO if verbose else logging.ERROR,
        format="%(levelname)s %(name)s: %(message)s",
    )
    tracing = setup_tracing()
    started = time.perf_counter()
    from llm_router_middleware.client import litellm_module

    litellm = litellm_module()  # import litellm (about 2.5 s) once, before the first request
    litellm.encoding.encode("warm up")  # and load the tokenizer the planner counts tokens with
    imported = time.perf_counter()
    with FakeProvider() as provider:
        answers(provider)
        router = load_router(api_base=provider.base_url)
        with serve(create_app(router)) as base_url:
            rows = run_script(base_url, provider)
    done = time.perf_counter()
    print(
        f"llm-router-middleware demo: fake provider and app on 127.0.0.1, "
        f"{len(rows)} requests in {done - imported:.2f} s "
        f"(litellm import {imported - started:.2f} s)\n",
        file=out,
    )
    print(format_table(rows), file=out)
    tracing.finish(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

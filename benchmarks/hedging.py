"""Tail latency of `acomplete()` with and without hedging, against the local fake provider.

    python benchmarks/hedging.py [--requests 300] [--slow-share 0.04] [--seed 7]

The first model ("tail") answers in 50 ms, except a `--slow-share` of its calls which take
1 s (a provider's slow tail); the second ("steady") always answers in 80 ms. Both variants
run the same plan (tail first, steady as the fallback), in interleaved rounds; the hedged one
starts steady when tail has not answered within tail's observed p95 (after a warm-up that gives
the tracker its history). Printed: latency percentiles, the share of requests that started a
second call, and what the hedges cost (the losers' prompt tokens) against the winners' spend.
Sleeps on loopback dominate, so the figures hold on a loaded machine; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import Stats, machine, setup_env, table

setup_env()

from llm_router_middleware import RequestContext, Router  # noqa: E402
from llm_router_middleware.testing import Behavior, FakeProvider  # noqa: E402

HI = [{"role": "user", "content": "Hi! What is the capital of France?"}]
USER = RequestContext(user_id="bench")


def slow_tail(share: float, seed: int) -> Any:
    rng = random.Random(seed)
    lock = threading.Lock()

    def reply(messages: list[dict[str, Any]]) -> str:
        with lock:
            slow = rng.random() < share
        time.sleep(1.0 if slow else 0.05)
        return "Paris."

    return reply


def config(base: str) -> dict[str, Any]:
    def model(name: str) -> dict[str, Any]:
        return {
            "name": name,
            "model": f"openai/{name}",
            "api_base": base,
            "api_key": "sk-bench-not-a-real-key",
            "input_cost_per_1m": 1.0,
            "output_cost_per_1m": 4.0,
            "context_window": 16000,
            "transport": "native",
        }

    return {
        "models": [model("tail"), model("steady")],
        "routing": {"strategy": "fixed", "fallbacks": ["tail", "steady"]},
    }


async def run(requests: int, share: float, seed: int) -> None:
    with FakeProvider() as provider:
        provider.set("tail", Behavior(reply=slow_tail(share, seed)))
        provider.set("steady", Behavior(latency_s=0.08, reply="Paris."))
        router = Router.from_config(config(provider.base_url))
        plain = router.handle(USER)
        hedged = plain.with_policy(hedge=True)
        for _ in range(40):  # history: tail's p95 becomes the hedge delay
            await plain.acomplete(HI)
        p95, samples = router.latency.p95("tail") or (0.0, 0)
        times: dict[str, list[float]] = {"sequential": [], "hedged (p95)": []}
        started = winner_cost = hedge_cost = 0.0
        for _ in range(requests):
            for name, llm in (("sequential", plain), ("hedged (p95)", hedged)):
                t0 = time.perf_counter()
                reply = await llm.acomplete(HI)
                times[name].append((time.perf_counter() - t0) * 1000)
                if llm is hedged:
                    routing = reply.routing
                    started += any(a.outcome == "hedged_loser" for a in routing.attempts)
                    winner_cost += routing.cost_usd
                    hedge_cost += routing.hedged_cost_usd
        print(f"hedging.py: acomplete() tail latency, fake provider on 127.0.0.1\n{machine()}")
        print(
            f"tail: 50 ms, {share:.0%} of calls 1 s; steady: 80 ms; {requests} requests per "
            f"variant; hedge delay = tail's p95 after warm-up: {p95 * 1000:.0f} ms over "
            f"{samples} calls"
        )
        print("\n".join(table({k: Stats.of(v) for k, v in times.items()}, "sequential", "ms")))
        print(
            f"hedged: a second call started on {started / requests:.1%} of requests; the "
            f"losers were charged ${hedge_cost:.8f} ({hedge_cost / winner_cost:.1%} of the "
            "winners' spend)"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--slow-share", type=float, default=0.04)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    asyncio.run(run(args.requests, args.slow_share, args.seed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

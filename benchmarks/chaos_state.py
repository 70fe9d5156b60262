"""Shared state under faults, at scale: uvicorn with two worker processes on one redis-server,
the fake provider upstream, many concurrent requests for users with small daily budgets.

    python benchmarks/chaos_state.py [--requests 10000] [--users 20] [--budget 0.15]

Scenarios (the same as tests/chaos/test_state_chaos.py, larger):
1. two workers, Redis up: is the spend recorded in Redis equal to the sum of the costs the
   clients were told, and does any user go over budget?
2. Redis killed (SIGKILL) after a third of the requests and started again after two thirds,
   ``on_unavailable = "local"``: failed requests, overspend, and the spend reconciled once both
   workers have written their outage back.
3. the same with ``on_unavailable = "refuse"`` (one tenth of the requests): every answer during
   the outage a 503 naming no address.

Figures come from the clients' answers and the Router's read API (``/spend``, ``/health``);
nothing is asserted. The machine is shared: throughput is noisy, the counts are not.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "chaos"))
from _common import machine, setup_env

setup_env()

from state_support import (  # noqa: E402
    Outcome,
    RedisProcess,
    load,
    router_config,
    served,
    spent,
    wait_until_recovered,
)

from llm_router_middleware.testing import FakeProvider  # noqa: E402

INFRA = ("redis", "127.0.0.1", "unreachable", "refused")


def report(name: str, outcome: Outcome, url: str, budget: float, seconds: float) -> None:
    users = sorted(outcome.charged)
    recorded = {user: spent(url, user) for user in users}
    drift = max(abs(recorded[u] - outcome.charged[u]) for u in users)
    over = [max(0.0, recorded[u] - budget) for u in users]
    cost = sum(outcome.charged.values()) / max(1, outcome.statuses[200])
    total = sum(outcome.statuses.values())
    print(f"\n== {name}")
    print(f"  requests {total} in {seconds:.1f} s ({total / seconds:.0f}/s)")
    answers = dict(sorted(outcome.statuses.items()))
    print(f"  answers: {answers}  failed (not 200/402): {outcome.failed}")
    if outcome.failed:
        print(f"  first failures: {outcome.bodies[:3]}")
    print(f"  models: {dict(outcome.models)}")
    print(f"  users {len(users)}, budget ${budget:.2f} each; mean call cost ${cost:.6f}")
    print(
        f"  spend recorded in Redis ${sum(recorded.values()):.6f}, told to clients "
        f"${sum(outcome.charged.values()):.6f}; largest per-user difference ${drift:.2e}"
    )
    print(
        f"  overspend: {sum(1 for o in over if o > 1e-9)} of {len(users)} users over budget; "
        f"largest ${max(over):.6f} ({max(over) / cost:.1f} calls), total ${sum(over):.6f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--budget", type=float, default=0.15)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    print(machine())
    n, budget, concurrency = args.requests, args.budget, args.concurrency
    with tempfile.TemporaryDirectory() as tmp, FakeProvider() as provider:
        workdir = Path(tmp)
        redis = RedisProcess(workdir)
        redis.start()
        try:
            config = router_config(provider.base_url, redis.url, per_user_usd=budget)
            with served(config, workdir, workers=2) as url:
                users = [f"steady-{i}" for i in range(args.users)]
                started = time.monotonic()
                outcome = load(url, users, n, concurrency)
                report("two workers, Redis up", outcome, url, budget, time.monotonic() - started)

                users = [f"outage-{i}" for i in range(args.users)]
                events = [(n // 3, redis.kill), (2 * n // 3, redis.start)]
                started = time.monotonic()
                outcome = load(url, users, n, concurrency, events=events)
                seconds = time.monotonic() - started
                wait_until_recovered(url, workers=2)
                name = 'Redis killed at 1/3, back at 2/3, on_unavailable = "local"'
                report(name, outcome, url, budget, seconds)

            config = router_config(
                provider.base_url, redis.url, per_user_usd=budget, on_unavailable="refuse"
            )
            with served(config, workdir, workers=2) as url:
                users = [f"refuse-{i}" for i in range(args.users)]
                small = max(30, n // 10)
                events = [(small // 3, redis.kill), (2 * small // 3, redis.start)]
                outcome = load(url, users, small, concurrency, events=events)
                wait_until_recovered(url, workers=2)
                leaks = sum(any(word in body for word in INFRA) for body in outcome.bodies)
                types = {json.loads(b)["error"]["type"] for b in outcome.bodies if b[:1] == "{"}
                print('\n== Redis killed at 1/3, back at 2/3, on_unavailable = "refuse"')
                print(f"  answers: {dict(sorted(outcome.statuses.items()))}; error types {types}")
                print(f"  bodies naming infrastructure (address, port, driver error): {leaks}")
        finally:
            redis.stop()


if __name__ == "__main__":
    main()

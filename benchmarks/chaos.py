"""Reliability under faults, at scale: the chaos suite's faulty-primary and dead-primary
scenarios (tests/chaos/test_faults.py) over real HTTP (uvicorn, one worker) to the fake provider.

    python benchmarks/chaos.py [--requests 10000] [--concurrency 32] [--scenario faulty|dead|both]

faulty: the primary fails 30 % of calls, seeded (10 % 429 with Retry-After 1, 10 % 503, 10 % hangs
        past its 0.5 s timeout); breaker failure_rate 0.5, consecutive_failures 5.
dead:   the primary answers 503 to everything.
The fallback costs twice as much as the primary. Printed per scenario: the share of requests each
model answered, the errors clients saw, breaker openings (and their reasons), requests that
reached the primary after its breaker first opened, and the spend against an all-primary spend.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "chaos"))
from _common import machine, setup_env

setup_env()

from faults_support import (  # noqa: E402
    FALLBACK,
    MIXED_FAULTS,
    PRIMARY,
    FaultyProvider,
    TransitionLog,
    drive,
    serve,
    two_model_config,
)

from llm_router_middleware import Router  # noqa: E402
from llm_router_middleware.testing import Behavior  # noqa: E402

BREAKER: dict[str, Any] = {
    "failure_rate": 0.5,
    "consecutive_failures": 5,
    "min_requests": 20,
    "cooldown_s": 5.0,
}


def scenario(name: str, requests: int, concurrency: int) -> dict[str, Any]:
    with FaultyProvider(seed=0) as provider:
        if name == "faulty":
            provider.set_mix(f"fake-{PRIMARY}", MIXED_FAULTS)
        else:
            provider.set(f"fake-{PRIMARY}", Behavior(status=503))
        router = Router.from_config(two_model_config(provider, timeout_s=0.5, breaker=BREAKER))
        with serve(router) as url, TransitionLog() as log:
            started = time.time()
            run = asyncio.run(drive(url, requests, concurrency=concurrency))
            elapsed = time.time() - started
        opened_at = log.first_open_at
        after = [r for r in provider.requests if opened_at is not None and r.timestamp > opened_at]
        # what the same answers would have cost from the primary alone
        primary_only = (
            run.cost_usd
            / (run.models[PRIMARY] + 2 * run.models[FALLBACK] or 1)
            * (run.models[PRIMARY] + run.models[FALLBACK])
        )
        return {
            "requests": run.total,
            "primary_share": run.share(PRIMARY),
            "fallback_share": run.share(FALLBACK),
            "errors": sum(run.errors.values()),
            "error_statuses": dict(run.errors),
            "openings": log.opened[PRIMARY],
            "reasons": Counter(r.split(" over ")[0].split(" (")[0] for r in log.reasons),
            "primary_calls": provider.count(f"fake-{PRIMARY}"),
            "reached_after_open": sum(1 for r in after if r.model == f"fake-{PRIMARY}"),
            "requests_after_open": sum(1 for r in after if r.model == f"fake-{FALLBACK}"),
            "spend_usd": run.cost_usd,
            "primary_only_usd": primary_only,
            "elapsed_s": elapsed,
        }


def report(name: str, figures: dict[str, Any]) -> list[str]:
    lines = [
        f"== {name}: {figures['requests']} requests in {figures['elapsed_s']:.0f} s",
        f"  answered by primary       {figures['primary_share']:7.1%}",
        f"  answered by fallback      {figures['fallback_share']:7.1%}",
        f"  user-visible errors       {figures['errors']:7d}  {figures['error_statuses'] or ''}",
        f"  breaker openings          {figures['openings']:7d}  {dict(figures['reasons'])}",
        f"  calls to the primary      {figures['primary_calls']:7d}",
        f"  spend                     ${figures['spend_usd']:.4f} "
        f"(the same answers from the primary alone: ${figures['primary_only_usd']:.4f})",
    ]
    if name == "dead" and figures["openings"]:
        reached, after = figures["reached_after_open"], figures["requests_after_open"]
        share = reached / after if after else 0.0
        lines.append(
            f"  after the first opening   {reached} of {after} requests reached the primary "
            f"({share:.2%})"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--scenario", choices=["faulty", "dead", "both"], default="both")
    args = parser.parse_args(argv)
    print(machine())
    print(f"breaker: {BREAKER}; primary timeout 0.5 s; concurrency {args.concurrency}")
    names = ["faulty", "dead"] if args.scenario == "both" else [args.scenario]
    for name in names:
        print("\n".join(report(name, scenario(name, args.requests, args.concurrency))), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

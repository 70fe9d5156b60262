"""Breakers on one redis-server shared by two processes: every outcome of both is counted."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import redis

from llm_router_middleware.config.schema import BreakerSpec
from llm_router_middleware.resilience import BreakerBoard, BreakerState
from llm_router_middleware.state import RedisStore

SPEC = BreakerSpec(
    consecutive_failures=20,
    failure_rate=0.5,
    window_s=60.0,
    min_requests=10,
    cooldown_s=30.0,
    half_open_probes=1,
)

# --- two processes on one redis-server --------------------------------------------------------

_WORKER = textwrap.dedent(
    """
    import sys
    from llm_router_middleware.config.schema import BreakerSpec
    from llm_router_middleware.resilience import BreakerBoard
    from llm_router_middleware.state import RedisStore

    url, successes, failures = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    spec = BreakerSpec(
        consecutive_failures=20, failure_rate=0.5, window_s=60.0, min_requests=10, cooldown_s=30.0,
        half_open_probes=1,
    )
    with RedisStore.from_url(url) as store:
        board = BreakerBoard(store, spec)
        moves = [board.record_success("m") for _ in range(successes)]
        moves += [board.record_failure("m") for _ in range(failures)]
    print(sum(m is not None for m in moves))
    """
)


def _workers(url: str, successes: int, failures: int) -> int:
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, url, str(successes), str(failures)],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(2)
    ]
    moves = 0
    for proc in procs:
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0
        moves += int(out)
    return moves


def test_two_processes_on_one_redis_count_every_outcome(redis_url: str) -> None:
    assert _workers(redis_url, 150, 0) == 0  # 300 successes from two workers at once
    assert _workers(redis_url, 0, 6) == 0  # then 12 failures: 12 of 312, and 12 in a row
    with redis.Redis.from_url(redis_url, decode_responses=True) as client:
        window = client.hgetall("llmr:outcomes:m")
    requests = sum(int(v) for k, v in window.items() if k.startswith("r"))
    failures = sum(int(v) for k, v in window.items() if k.startswith("f"))
    assert (requests, failures, int(window["c"])) == (312, 12, 12)
    with RedisStore.from_url(redis_url) as store:
        assert BreakerBoard(store, SPEC).statuses(["m"])["m"].state is BreakerState.CLOSED
        assert _workers(redis_url, 0, 4) == 1  # 20 in a row across the two workers: one trip
        assert BreakerBoard(store, SPEC).statuses(["m"])["m"].state is BreakerState.OPEN

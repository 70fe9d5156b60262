"""A breaker sees every outcome: successes as well as failures, in any interleaving of requests,
threads and processes, so ``min_requests`` and the failure rate are over all requests."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from breaker_support import SPEC, Clock, spec

from llm_router_middleware import Router
from llm_router_middleware.resilience import BreakerBoard, BreakerState
from llm_router_middleware.state import MemoryStore
from llm_router_middleware.testing import Behavior, FakeProvider

# the streak rule out of the way (20 in a row): these tests are about the rate's counts
RATE_ONLY = spec(consecutive_failures=20)


def test_a_burst_of_failures_after_many_successes_does_not_meet_min_requests() -> None:
    board = BreakerBoard(MemoryStore(), RATE_ONLY)
    for _ in range(100):
        assert board.record_success("m") is None
    moves = [board.record_failure("m") for _ in range(12)]
    assert moves == [None] * 12  # 12 failures over 112 requests: 0.11, not 1.0 over 12
    assert board.statuses(["m"])["m"].state is BreakerState.CLOSED


def test_the_failure_rate_still_trips_over_all_requests() -> None:
    board = BreakerBoard(MemoryStore(), RATE_ONLY)
    for _ in range(10):
        board.record_success("m")
    moves = [board.record_failure("m") for _ in range(11)]
    assert moves[:10] == [None] * 10  # 10 of 20: not above 0.5
    assert moves[10] is not None
    assert moves[10].reason == "failure rate 0.52 over 60s (21 requests)"


def test_threads_interleaving_outcomes_count_every_one() -> None:
    store = MemoryStore()
    board = BreakerBoard(store, spec(consecutive_failures=9, failure_rate=0.3))

    def worker(_: int) -> list[Any]:  # 20 % failures per thread: at most 8 in a row overall
        return [
            board.record_failure("m") if i % 5 == 4 else board.record_success("m")
            for i in range(200)
        ]

    with ThreadPoolExecutor(8) as pool:
        moves = [m for ms in pool.map(worker, range(8)) for m in ms]
    assert len(moves) == 1600
    assert moves.count(None) == 1600
    _, requests, failures, _ = store.tally("llmr:outcomes:m", 0, 0, False, 60.0)
    assert (requests, failures) == (1601, 320)  # this call's success included


# --- through the router: successes of requests planned while the model had no record ----------


def _faulty_config(provider: FakeProvider) -> dict[str, Any]:
    def model(name: str) -> dict[str, Any]:
        return {
            "name": name,
            "model": f"openai/fake-{name}",
            "api_base": provider.base_url,
            "api_key": "sk-test",
            "input_cost_per_1m": 1.0,
            "output_cost_per_1m": 2.0,
            "context_window": 8000,
        }

    return {
        "models": [model("flaky"), model("spare")],
        "routing": {"strategy": "fixed", "fallbacks": ["flaky", "spare"]},
        # cannot trip on 40 requests in any order: what counts is what the breaker counted
        "breaker": {"consecutive_failures": 41, "failure_rate": 1.0, "min_requests": 20},
    }


FLAKY = Behavior(latency_s=0.3, failure_rate=0.3, fail_status=503, seed=1)
MESSAGES = [{"role": "user", "content": "hello"}]


def _failures(count: int) -> int:
    return sum(FLAKY.failure_status(i, "fake-flaky") is not None for i in range(count))


def _counted(router: Router) -> tuple[int, int]:
    """(requests, failures) in flaky's breaker window (the tally that reads them adds one
    success, taken off here)."""
    key = f"{router.prefix}:outcomes:flaky"
    _, requests, failures, _ = router.store.tally(key, 0, 0, False, 60.0)
    return requests - 1, failures


def test_concurrent_async_requests_planned_while_healthy_all_count(
    fake_provider: FakeProvider,
) -> None:
    """40 requests planned at once while the breaker had no record: their successes must be
    counted, or the failures among them look consecutive (12 of 40 here) and trip it. The
    counts are asserted, not the trip: in which order the 40 answers arrive is the machine's
    choice, and some orders put the 12 in a row even when every success is counted."""
    assert _failures(40) >= 10
    fake_provider.set("fake-flaky", FLAKY)
    router = Router.from_config(_faulty_config(fake_provider))

    async def run() -> list[str]:
        replies = await asyncio.gather(*(router.acomplete(MESSAGES) for _ in range(40)))
        return [r.routing.model for r in replies]

    models = asyncio.run(run())
    assert models.count("spare") == _failures(40)
    assert _counted(router) == (40, _failures(40))


def test_concurrent_threads_planned_while_healthy_all_count(fake_provider: FakeProvider) -> None:
    fake_provider.set("fake-flaky", FLAKY)
    router = Router.from_config(_faulty_config(fake_provider))
    with ThreadPoolExecutor(40) as pool:
        models = [r.routing.model for r in pool.map(lambda _: router.complete(MESSAGES), range(40))]
    assert models.count("spare") == _failures(40)
    assert _counted(router) == (40, _failures(40))


def test_a_streak_that_the_usual_failure_rate_explains_does_not_trip() -> None:
    board = BreakerBoard(MemoryStore(), SPEC)
    for i in range(100):  # 30 % failures, never two in a row
        board.record_failure("m") if i % 10 in (0, 3, 6) else board.record_success("m")
    moves = [board.record_failure("m") for _ in range(8)]
    assert moves[:7] == [None] * 7  # 0.3^7 > 1e-4: a run of 7 is what 30 % failures give
    assert moves[7] is not None
    assert moves[7].reason == "8 consecutive failures"
    fresh = BreakerBoard(MemoryStore(), SPEC)  # no history: the configured streak decides
    assert [fresh.record_failure("m") for _ in range(5)][-1] is not None


def test_a_straggler_failing_while_half_open_does_not_reopen() -> None:
    """A call planned while the breaker was closed and still in flight when it went half-open
    is not a probe: only the probes decide."""
    clock = Clock()
    board = BreakerBoard(MemoryStore(), SPEC, clock=clock)
    for _ in range(SPEC.consecutive_failures):
        board.record_failure("m")
    clock.now += SPEC.cooldown_s
    assert board.acquire("m")[0]  # the probe
    assert board.record_failure("m", probe=False) is None  # a straggler's timeout
    assert board.record_success("m", probe=False) is None  # a straggler's success
    assert board.statuses(["m"])["m"].state is BreakerState.HALF_OPEN
    closed = board.record_success("m")
    assert closed is not None
    assert closed.to_state is BreakerState.CLOSED

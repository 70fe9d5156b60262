from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

import pytest
from breaker_support import SPEC, Clock, spec

from llm_router_middleware.resilience import BreakerBoard, BreakerState, Transition
from llm_router_middleware.state.memory import MemoryStore


class CountingStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.reads = 0
        self.writes = 0

    def get_many(self, keys: Sequence[str]) -> list[str | None]:
        self.reads += 1
        return super().get_many(keys)

    def compare_and_set(
        self, key: str, expected: str | None, new: str, ttl_s: float | None = None
    ) -> bool:
        self.writes += 1
        return super().compare_and_set(key, expected, new, ttl_s)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store() -> CountingStore:
    return CountingStore()


@pytest.fixture
def board(store: CountingStore, clock: Clock) -> BreakerBoard:
    return BreakerBoard(store, SPEC, clock=clock)


def state(board: BreakerBoard, model: str = "m") -> BreakerState:
    return board.statuses([model])[model].state


def trip(board: BreakerBoard, model: str = "m") -> Transition:
    moves = [board.record_failure(model) for _ in range(SPEC.consecutive_failures)]
    assert moves[:-1] == [None] * (SPEC.consecutive_failures - 1)
    assert moves[-1] is not None
    return moves[-1]


def test_healthy_breaker_has_no_record_and_one_tally_per_outcome(
    board: BreakerBoard, store: CountingStore
) -> None:
    """Each outcome is one atomic tally (counted, never lost); the state record is written
    only when the state changes."""
    for _ in range(100):
        assert board.acquire("m") == (True, None)
        assert board.record_success("m") is None
    assert store.writes == 0
    assert store.get_many([board.key("m")]) == [None]
    status = board.statuses(["m"])["m"]
    assert (status.state, status.allows, status.retry_in_s) == (BreakerState.CLOSED, True, None)


def test_trips_on_consecutive_failures(board: BreakerBoard) -> None:
    for _ in range(4):
        assert board.record_failure("m") is None
    move = board.record_failure("m")
    assert move == Transition("m", BreakerState.CLOSED, BreakerState.OPEN, "5 consecutive failures")
    status = board.statuses(["m"])["m"]
    assert (status.state, status.allows, status.retry_in_s) == (BreakerState.OPEN, False, 30.0)
    assert "5 consecutive failures" in status.reason
    assert board.blocked(["m", "other"]) == {"m": status.reason}
    assert board.acquire("m") == (False, None)


def test_a_success_resets_the_consecutive_count(board: BreakerBoard) -> None:
    for _ in range(4):
        board.record_failure("m")
    board.record_success("m")
    for _ in range(4):
        assert board.record_failure("m") is None
    assert state(board) is BreakerState.CLOSED


def test_trips_on_failure_rate(board: BreakerBoard, clock: Clock) -> None:
    moves = []
    for _ in range(5):  # alternate: never 5 in a row
        moves.append(board.record_failure("m"))
        moves.append(board.record_success("m"))
        clock.now += 1
    assert moves == [None] * 10  # 5/10 = 0.50 is not above the 0.5 threshold
    move = board.record_failure("m")  # 6/11
    assert move is not None
    assert move.to_state is BreakerState.OPEN
    assert move.reason == "failure rate 0.55 over 60s (11 requests)"


def test_no_rate_trip_below_min_requests(board: BreakerBoard) -> None:
    lenient = BreakerBoard(MemoryStore(), spec(consecutive_failures=100, failure_rate=0.1))
    for _ in range(9):  # 100% failures, but only 9 requests
        assert lenient.record_failure("m") is None
    assert lenient.statuses(["m"])["m"].state is BreakerState.CLOSED
    assert lenient.record_failure("m") is not None


def test_old_failures_leave_the_window(board: BreakerBoard, clock: Clock) -> None:
    for _ in range(4):
        board.record_failure("m")
    clock.now += SPEC.window_s + 1
    for _ in range(4):
        assert board.record_failure("m") is None
    assert state(board) is BreakerState.CLOSED


def test_half_open_after_cooldown(board: BreakerBoard, clock: Clock, store: CountingStore) -> None:
    trip(board)
    clock.now += 29.9
    assert board.acquire("m") == (False, None)
    clock.now += 0.1
    writes = store.writes
    status = board.statuses(["m"])["m"]
    assert (status.state, status.allows) == (BreakerState.HALF_OPEN, True)
    assert board.blocked(["m"]) == {}
    assert store.writes == writes  # reading never writes
    allowed, move = board.acquire("m")
    assert allowed
    assert move == Transition(
        "m", BreakerState.OPEN, BreakerState.HALF_OPEN, "cooldown 30s elapsed"
    )


def test_probe_limit(board: BreakerBoard, clock: Clock) -> None:
    trip(board)
    clock.now += SPEC.cooldown_s
    assert board.acquire("m")[0]
    assert board.acquire("m") == (False, None)  # one probe already in flight
    assert not board.statuses(["m"])["m"].allows
    assert "m" in board.blocked(["m"])
    board.release("m")  # the probe ended without a verdict (a bad request)
    assert board.acquire("m") == (True, None)


def test_probe_limit_of_two(clock: Clock) -> None:
    board = BreakerBoard(
        MemoryStore(),
        spec(consecutive_failures=1, cooldown_s=10.0, half_open_probes=2),
        clock=clock,
    )
    board.record_failure("m")
    clock.now += 10
    assert [board.acquire("m")[0] for _ in range(3)] == [True, True, False]


def test_a_lost_probe_frees_its_slot(clock: Clock) -> None:
    board = BreakerBoard(MemoryStore(), SPEC, clock=clock, probe_lease_s=60)
    trip(board)
    clock.now += SPEC.cooldown_s
    assert board.acquire("m")[0]
    clock.now += 59
    assert not board.acquire("m")[0]
    clock.now += 1
    assert board.acquire("m")[0]


def test_probe_success_closes(board: BreakerBoard, clock: Clock) -> None:
    trip(board)
    clock.now += SPEC.cooldown_s
    board.acquire("m")
    move = board.record_success("m")
    assert move == Transition("m", BreakerState.HALF_OPEN, BreakerState.CLOSED, "probe succeeded")
    assert state(board) is BreakerState.CLOSED
    for _ in range(4):  # counters were reset
        assert board.record_failure("m") is None


def test_probe_failure_reopens_with_a_fresh_cooldown(board: BreakerBoard, clock: Clock) -> None:
    trip(board)
    clock.now += SPEC.cooldown_s + 100
    board.acquire("m")
    move = board.record_failure("m")
    assert move == Transition("m", BreakerState.HALF_OPEN, BreakerState.OPEN, "probe failed")
    status = board.statuses(["m"])["m"]
    assert (status.state, status.retry_in_s) == (BreakerState.OPEN, SPEC.cooldown_s)
    clock.now += SPEC.cooldown_s
    assert board.acquire("m")[0]


def test_results_while_open_change_nothing(board: BreakerBoard) -> None:
    trip(board)
    assert board.record_failure("m") is None
    assert board.record_success("m") is None
    assert state(board) is BreakerState.OPEN


def test_reset(board: BreakerBoard) -> None:
    trip(board)
    board.reset("m")
    assert state(board) is BreakerState.CLOSED
    assert board.acquire("m") == (True, None)


def test_concurrent_failures_trip_exactly_once(board: BreakerBoard) -> None:
    moves: list[Transition | None] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        for _ in range(25):
            move = board.record_failure("m")
            with lock:
                moves.append(move)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(moves) == 200
    opened = [m for m in moves if m is not None]
    assert len(opened) == 1
    assert (opened[0].from_state, opened[0].to_state) == (BreakerState.CLOSED, BreakerState.OPEN)


def test_concurrent_probes_respect_the_limit(board: BreakerBoard, clock: Clock) -> None:
    trip(board)
    clock.now += SPEC.cooldown_s
    results: list[tuple[bool, Transition | None]] = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        results.append(board.acquire("m"))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(allowed for allowed, _ in results) == 1
    assert sum(move is not None for _, move in results) == 1


def test_two_workers_share_one_store(clock: Clock) -> None:
    store = MemoryStore()
    one = BreakerBoard(store, SPEC, clock=clock)
    two = BreakerBoard(store, SPEC, clock=clock)
    for _ in range(3):
        one.record_failure("m")
    for _ in range(2):
        two.record_failure("m")
    assert two.statuses(["m"])["m"].state is BreakerState.OPEN
    assert one.blocked(["m"]).keys() == {"m"}
    clock.now += SPEC.cooldown_s
    assert one.acquire("m")[0]
    assert two.acquire("m") == (False, None)  # the probe slot is taken by the other worker
    assert two.record_success("m") is not None
    assert one.statuses(["m"])["m"].state is BreakerState.CLOSED
    assert BreakerBoard(store, SPEC, prefix="other", clock=clock).blocked(["m"]) == {}


def test_statuses_is_one_read(board: BreakerBoard, store: CountingStore) -> None:
    models = [f"m{i}" for i in range(10)]
    trip(board, "m3")
    store.reads = 0
    statuses = board.statuses(models)
    assert store.reads == 1
    assert [m for m, s in statuses.items() if not s.allows] == ["m3"]


def test_corrupt_record_reads_as_closed(board: BreakerBoard, store: CountingStore) -> None:
    store.set(board.key("m"), "{not json")
    assert state(board) is BreakerState.CLOSED
    moves = [board.record_failure("m") for _ in range(SPEC.consecutive_failures)]
    assert moves[-1] is not None  # the corrupt record was replaced by a fresh one
    assert state(board) is BreakerState.OPEN


def test_transitions_are_logged(
    board: BreakerBoard, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="llm_router_middleware.breaker")
    trip(board)
    clock.now += SPEC.cooldown_s
    board.acquire("m")
    board.record_success("m")
    records = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert records == [
        (logging.WARNING, "circuit breaker m: closed -> open (5 consecutive failures)"),
        (logging.INFO, "circuit breaker m: open -> half_open (cooldown 30s elapsed)"),
        (logging.INFO, "circuit breaker m: half_open -> closed (probe succeeded)"),
    ]

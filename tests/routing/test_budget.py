from __future__ import annotations

import threading
from datetime import datetime
from types import MappingProxyType
from zoneinfo import ZoneInfo

import pytest

from llm_router_middleware.config.schema import BudgetSpec
from llm_router_middleware.routing import (
    BudgetLedger,
    BudgetSnapshot,
    LatencyTracker,
    Reservation,
)
from llm_router_middleware.state import MemoryStore


def budgets(**overrides: object) -> BudgetSpec:
    values: dict[str, object] = {
        "per_user_usd": 1.0,
        "per_tier_usd": MappingProxyType({"free": 5.0}),
        "global_usd": 100.0,
        "timezone": "UTC",
        "on_exhausted": "downgrade",
        "refuse_status": 402,
    }
    values.update(overrides)
    return BudgetSpec(**values)  # type: ignore[arg-type]


def at(iso: str, tz: str = "UTC") -> float:
    return datetime.fromisoformat(iso).replace(tzinfo=ZoneInfo(tz)).timestamp()


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_snapshot_names_the_binding_scope() -> None:
    clock = Clock(at("2026-11-26T10:00:00"))
    ledger = BudgetLedger(MemoryStore(), budgets(), prefix="t", clock=clock)
    assert ledger.snapshot("u1", "free") == BudgetSnapshot(1.0, "user:u1", "2026-11-26")
    assert ledger.snapshot(None, "free") == BudgetSnapshot(5.0, "tier:free", "2026-11-26")
    assert ledger.snapshot(None, "pro") == BudgetSnapshot(100.0, "global", "2026-11-26")
    unlimited = BudgetLedger(
        MemoryStore(),
        budgets(per_user_usd=None, per_tier_usd=MappingProxyType({}), global_usd=None),
        clock=clock,
    )
    assert unlimited.snapshot("u1", "free") == BudgetSnapshot(None, None, "2026-11-26")


def test_snapshot_of_spent_scopes_names_the_first_with_nothing_left() -> None:
    """Ties go to the first scope (user, tier, global); an overspent scope reads 0 left."""
    clock = Clock(at("2026-11-26T10:00:00"))
    store = MemoryStore()
    ledger = BudgetLedger(store, budgets(per_user_usd=5.0), prefix="t", clock=clock)
    store.incr("t:budget:2026-11-26:user:u1", 1.0)
    store.incr("t:budget:2026-11-26:tier:free", 1.0)  # both have 4 left
    assert ledger.snapshot("u1", "free") == BudgetSnapshot(4.0, "user:u1", "2026-11-26")
    store.incr("t:budget:2026-11-26:global", 99.5)  # global: 0.5 left
    assert ledger.snapshot("u1", "free") == BudgetSnapshot(0.5, "global", "2026-11-26")
    store.incr("t:budget:2026-11-26:tier:free", 7.0)  # tier overspent, global 0.5 left
    store.incr("t:budget:2026-11-26:global", 1.0)  # global overspent too: the tier is first
    assert ledger.snapshot("u1", "free") == BudgetSnapshot(0.0, "tier:free", "2026-11-26")


def test_snapshot_reads_a_scope_spent_as_nan_as_nothing_left() -> None:
    clock = Clock(at("2026-11-26T10:00:00"))
    store = MemoryStore()
    ledger = BudgetLedger(store, budgets(), prefix="t", clock=clock)
    store.set("t:budget:2026-11-26:global", "nan")
    assert ledger.snapshot("u1", "free") == BudgetSnapshot(0.0, "global", "2026-11-26")
    store.set("t:budget:2026-11-26:user:u1", "nan")  # the first of two at 0 left
    assert ledger.snapshot("u1", "free") == BudgetSnapshot(0.0, "user:u1", "2026-11-26")


def test_reserve_settle_release() -> None:
    ledger = BudgetLedger(MemoryStore(), budgets(), clock=Clock(at("2026-11-26T10:00:00")))
    r = ledger.reserve("u1", "free", 0.4)
    assert isinstance(r, Reservation)
    assert r.amount == 0.4
    assert ledger.spent("u1", "free") == pytest.approx(
        {"user:u1": 0.4, "tier:free": 0.4, "global": 0.4}
    )
    ledger.settle(r, 0.1)  # the call cost less than estimated
    assert ledger.snapshot("u1", "free").remaining_usd == pytest.approx(0.9)
    r2 = ledger.reserve("u1", "free", 0.5)
    assert isinstance(r2, Reservation)
    ledger.release(r2)
    assert ledger.spent("u1", "free")["user:u1"] == pytest.approx(0.1)
    assert ledger.spent("u2", "free") == pytest.approx(
        {"user:u2": 0.0, "tier:free": 0.1, "global": 0.1}
    )


def test_refusal_names_the_refusing_scope_and_changes_nothing() -> None:
    ledger = BudgetLedger(
        MemoryStore(), budgets(per_user_usd=1.0), clock=Clock(at("2026-11-26T10:00:00"))
    )
    assert isinstance(ledger.reserve("u1", "free", 0.75), Reservation)
    refused = ledger.reserve("u1", "free", 0.5)
    assert isinstance(refused, BudgetSnapshot)
    assert (refused.scope, refused.window) == ("user:u1", "2026-11-26")
    assert refused.remaining_usd == pytest.approx(0.25)
    assert ledger.spent("u1", "free")["global"] == pytest.approx(0.75)
    # another user still fits, until the tier runs out
    for user in ("u2", "u3", "u4", "u5"):
        assert isinstance(ledger.reserve(user, "free", 1.0), Reservation)
    refused = ledger.reserve("u6", "free", 0.5)
    assert isinstance(refused, BudgetSnapshot)
    assert refused.scope == "tier:free"
    assert refused.remaining_usd == pytest.approx(0.25)


def test_zero_budget_refuses_paid_but_passes_free_calls() -> None:
    ledger = BudgetLedger(MemoryStore(), budgets(per_user_usd=0.0), clock=Clock(0.0))
    refused = ledger.reserve("u1", "free", 0.0001)
    assert isinstance(refused, BudgetSnapshot)
    assert (refused.scope, refused.remaining_usd) == ("user:u1", 0.0)
    free = ledger.reserve("u1", "free", 0.0)
    assert isinstance(free, Reservation)
    assert free.amount == 0.0
    ledger.release(free)
    # even when a settle overshot the limit, a free call still passes
    paid = BudgetLedger(MemoryStore(), budgets(per_user_usd=0.01), clock=Clock(0.0))
    r = paid.reserve("u1", "free", 0.01)
    assert isinstance(r, Reservation)
    paid.settle(r, 0.05)
    assert paid.snapshot("u1", "free").remaining_usd == 0.0
    assert isinstance(paid.reserve("u1", "free", 0.0), Reservation)


def test_anonymous_requests_have_no_user_ledger() -> None:
    ledger = BudgetLedger(MemoryStore(), budgets(per_user_usd=0.0), clock=Clock(0.0))
    r = ledger.reserve(None, "free", 0.5)
    assert isinstance(r, Reservation)
    assert set(ledger.spent(None, "free")) == {"tier:free", "global"}


def test_concurrent_reservations_never_overspend() -> None:
    store = MemoryStore()
    ledger = BudgetLedger(store, budgets(per_user_usd=1.0), clock=Clock(0.0))
    granted: list[Reservation] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def hammer() -> None:
        start.wait()
        for _ in range(200):
            r = ledger.reserve("u1", "free", 0.003)
            if isinstance(r, Reservation):
                with lock:
                    granted.append(r)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    spent = ledger.spent("u1", "free")["user:u1"]
    assert spent <= 1.0 + 1e-9
    assert len(granted) == 333  # every reservation that fits was granted, no more
    assert spent == pytest.approx(333 * 0.003)


def test_day_rolls_over_at_local_midnight_in_a_non_utc_zone() -> None:
    clock = Clock(at("2026-11-26T23:59:00", "America/New_York"))
    store = MemoryStore()
    ledger = BudgetLedger(store, budgets(timezone="America/New_York"), clock=clock)
    r = ledger.reserve("u1", "free", 1.0)
    assert isinstance(r, Reservation)
    assert r.window == "2026-11-26"  # already 2026-11-27 in UTC
    assert r.expires_at == at("2026-11-27T01:00:00", "America/New_York")
    assert isinstance(ledger.reserve("u1", "free", 0.1), BudgetSnapshot)
    clock.now += 120  # 00:01 local on the 27th
    snap = ledger.snapshot("u1", "free")
    assert snap == BudgetSnapshot(1.0, "user:u1", "2026-11-27")
    assert isinstance(ledger.reserve("u1", "free", 0.5), Reservation)
    # settling yesterday's reservation charges yesterday's window
    ledger.settle(r, 0.2)
    assert ledger.spent("u1", "free")["user:u1"] == pytest.approx(0.5)


def test_window_ttl_is_end_of_local_day_plus_an_hour() -> None:
    clock = Clock(at("2026-03-08T12:00:00", "Asia/Tokyo"))
    ttls: list[float | None] = []

    class Spy(MemoryStore):
        def reserve(self, limits: object, amount: float, ttl_s: float | None = None) -> str | None:
            ttls.append(ttl_s)
            return super().reserve(limits, amount, ttl_s)  # type: ignore[arg-type]

    ledger = BudgetLedger(Spy(), budgets(timezone="Asia/Tokyo"), clock=clock)
    ledger.reserve("u1", "free", 0.1)
    assert ttls == [pytest.approx(12 * 3600 + 3600)]


def test_latency_ewma() -> None:
    tracker = LatencyTracker(alpha=0.5)
    assert tracker.snapshot(["a", "b"]) == {}
    tracker.observe("a", 1.0)
    tracker.observe("a", 3.0)
    tracker.observe("b", 0.25)
    assert tracker.snapshot(["a", "b", "c"]) == {"a": 2.0, "b": 0.25}
    assert tracker.snapshot([]) == {}
    with pytest.raises(ValueError, match="alpha"):
        LatencyTracker(alpha=0.0)


def test_latency_concurrent_observations_are_not_lost() -> None:
    tracker = LatencyTracker(alpha=1.0)
    threads = [threading.Thread(target=tracker.observe, args=("a", 2.0)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert tracker.snapshot(["a"]) == {"a": 2.0}


def test_latency_is_forgotten_after_its_ttl() -> None:
    now = [0.0]
    tracker = LatencyTracker(alpha=0.5, ttl_s=60.0, clock=lambda: now[0])
    tracker.observe("a", 4.0)
    now[0] = 30.0
    assert tracker.snapshot(["a"]) == {"a": 4.0}
    now[0] = 100.0
    assert tracker.snapshot(["a"]) == {}
    tracker.observe("a", 1.0)  # a fresh start, not averaged with the stale value
    assert tracker.snapshot(["a"]) == {"a": 1.0}

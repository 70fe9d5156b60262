from __future__ import annotations

from collections.abc import Sequence

import pytest

from llm_router_middleware.resilience import Cooldowns
from llm_router_middleware.state.memory import MemoryStore


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def cooldowns(clock: Clock) -> Cooldowns:
    return Cooldowns(MemoryStore(clock=clock), clock=clock)


def test_no_cooldown_by_default(cooldowns: Cooldowns) -> None:
    assert cooldowns.remaining(["a", "b"]) == {}


def test_start_and_count_down(cooldowns: Cooldowns, clock: Clock) -> None:
    cooldowns.start("a", 10)
    assert cooldowns.remaining(["a", "b"]) == {"a": 10}
    clock.now += 4
    assert cooldowns.remaining(["a", "b"]) == pytest.approx({"a": 6})
    clock.now += 6
    assert cooldowns.remaining(["a"]) == {}


def test_extends_but_never_shortens(cooldowns: Cooldowns, clock: Clock) -> None:
    cooldowns.start("a", 30)
    cooldowns.start("a", 5)
    assert cooldowns.remaining(["a"]) == pytest.approx({"a": 30})
    clock.now += 20
    cooldowns.start("a", 5)  # 10 s are left: 5 more would shorten it
    assert cooldowns.remaining(["a"]) == pytest.approx({"a": 10})
    cooldowns.start("a", 60)
    assert cooldowns.remaining(["a"]) == pytest.approx({"a": 60})


@pytest.mark.parametrize("seconds", [0, -5, float("nan")])
def test_non_positive_is_ignored(cooldowns: Cooldowns, seconds: float) -> None:
    cooldowns.start("a", seconds)
    assert cooldowns.remaining(["a"]) == {}


def test_clear(cooldowns: Cooldowns) -> None:
    cooldowns.start("a", 30)
    cooldowns.clear("a")
    assert cooldowns.remaining(["a"]) == {}


def test_shared_between_workers(clock: Clock) -> None:
    store = MemoryStore(clock=clock)
    one, two = Cooldowns(store, clock=clock), Cooldowns(store, clock=clock)
    one.start("a", 12)
    assert two.remaining(["a"]) == {"a": 12}
    assert Cooldowns(store, prefix="other", clock=clock).remaining(["a"]) == {}


def test_one_read_per_lookup(clock: Clock) -> None:
    class CountingStore(MemoryStore):
        reads = 0

        def get_many(self, keys: Sequence[str]) -> list[str | None]:
            CountingStore.reads += 1
            return super().get_many(keys)

    cooldowns = Cooldowns(CountingStore(clock=clock), clock=clock)
    cooldowns.remaining([f"m{i}" for i in range(10)])
    assert CountingStore.reads == 1

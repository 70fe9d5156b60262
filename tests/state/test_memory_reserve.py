"""MemoryStore.reserve writes each key as it passes and puts the earlier ones back when a
later key refuses: the store it leaves (values, expiries, insertion order, evictions) is the
one checking every key before writing any leaves, which ``_reserve_parsed`` still does."""

from __future__ import annotations

import math
import random
from typing import Any

from llm_router_middleware.state import MemoryStore


def _twins(seed: int, maxsize: int) -> tuple[MemoryStore, MemoryStore, list[float]]:
    """Two stores with the same random contents (live, expired, string-valued entries)."""
    rng = random.Random(seed)
    now = [100.0]
    stores = (
        MemoryStore(maxsize=maxsize, clock=lambda: now[0]),
        MemoryStore(maxsize=maxsize, clock=lambda: now[0]),
    )
    for i in range(rng.randrange(0, 8)):
        key = f"k{rng.randrange(6)}"
        kind = rng.random()
        amount, ttl = rng.choice([0.25, 0.5, 1.0, 2.0]), rng.choice([None, 1.0])
        for store in stores:
            if kind < 0.15 and i == 0:
                store.set(key, "0.5")
            else:
                store.incr(key, amount, ttl_s=ttl)
    now[0] = 100.0 + rng.choice([0.0, 2.0])  # 2.0: the 1 s entries have expired
    return stores[0], stores[1], now


def _two_pass(store: MemoryStore, limits: list[tuple[str, float]], amount: float) -> Any:
    now = store._clock()
    with store._lock:
        return store._reserve_parsed(limits, amount, now + 60.0, now)


def test_one_pass_reserve_leaves_what_checking_first_leaves() -> None:
    for seed in range(400):
        rng = random.Random(seed)
        maxsize = rng.choice([4, 6, 100])
        fast, slow, _ = _twins(seed, maxsize)
        keys = rng.sample([f"k{i}" for i in range(6)], rng.randrange(1, 4))
        limits = [(key, rng.choice([1.0, 2.5, math.inf])) for key in keys]
        amount = rng.choice([0.25, 1.0, 3.0])
        assert fast.reserve(limits, amount, ttl_s=60.0) == _two_pass(slow, limits, amount), seed
        assert list(fast._data.items()) == list(slow._data.items()), seed


def test_a_refusal_after_written_keys_puts_them_back() -> None:
    now = [100.0]
    store = MemoryStore(clock=lambda: now[0])
    store.incr("user", 1.0)
    store.incr("gone", 1.0, ttl_s=1.0)
    store.incr("tier", 9.5)
    now[0] = 102.0
    before = list(store._data.items())
    limits = [("user", 10.0), ("new", 10.0), ("gone", 10.0), ("tier", 10.0)]
    assert store.reserve(limits, 1.0) == "tier"
    # the expired entry is dropped, as any read of it would; the rest is as it was
    assert list(store._data.items()) == [item for item in before if item[0] != "gone"]


def test_a_refusal_puts_a_key_listed_twice_back_as_it_was() -> None:
    store = MemoryStore()
    store.incr("old", 1.0)
    before = list(store._data.items())
    assert store.reserve([("new", 9.0), ("new", 9.0), ("old", 1.5)], 1.0) == "old"
    assert store.reserve([("old", 9.0), ("old", 9.0), ("new", 0.5)], 1.0) == "new"
    assert list(store._data.items()) == before

"""One contract for every StateStore backend: in memory, and Redis with either decoding."""

from __future__ import annotations

import asyncio
import json
import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, cast

import pytest
import redis

from llm_router_middleware.state import MemoryStore, RedisStore, StateStore
from llm_router_middleware.state.failover import FailoverStore

BACKENDS = ["memory", "redis", "redis-decoded", "failover", "redis-async", "failover-async"]


class ThroughAsyncTwins:
    """Runs every StateStore operation through the store's asyncio twin (``aget_numbers``...)
    on a loop in its own thread, so the whole contract checks the async paths too."""

    def __init__(self, store: RedisStore | FailoverStore) -> None:
        self._store = store
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

    def _run(self, name: str, *args: Any) -> Any:
        coroutine = getattr(self._store, f"a{name}")(*args)
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=10)

    def get_numbers(self, keys: Sequence[str]) -> list[float]:
        return cast(list[float], self._run("get_numbers", keys))

    def incr(self, key: str, amount: float, ttl_s: float | None = None) -> float:
        return cast(float, self._run("incr", key, amount, ttl_s))

    def reserve(
        self, limits: Sequence[tuple[str, float]], amount: float, ttl_s: float | None = None
    ) -> str | None:
        return cast("str | None", self._run("reserve", limits, amount, ttl_s))

    def hincr(self, key: str, fields: Mapping[str, float], ttl_s: float | None = None) -> None:
        self._run("hincr", key, fields, ttl_s)

    def hgetall(self, key: str) -> dict[str, float]:
        return cast(dict[str, float], self._run("hgetall", key))

    def get_many(self, keys: Sequence[str]) -> list[str | None]:
        return cast("list[str | None]", self._run("get_many", keys))

    def set(self, key: str, value: str, ttl_s: float | None = None) -> None:
        self._run("set", key, value, ttl_s)

    def compare_and_set(
        self, key: str, expected: str | None, new: str, ttl_s: float | None = None
    ) -> bool:
        return cast(bool, self._run("compare_and_set", key, expected, new, ttl_s))

    def delete(self, key: str) -> None:
        self._run("delete", key)

    def tally(
        self,
        key: str,
        bucket: int,
        keep_from: int,
        failed: bool,
        ttl_s: float,
        peek: str | None = None,
    ) -> tuple[int, int, int, str | None]:
        result = self._run("tally", key, bucket, keep_from, failed, ttl_s, peek)
        return cast(tuple[int, int, int, str | None], result)

    def close(self) -> None:
        async def shut() -> None:
            await self._store.aclose()

        asyncio.run_coroutine_threadsafe(shut(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest) -> Iterator[StateStore]:
    if request.param == "memory":
        yield MemoryStore()
        return
    url: str = request.getfixturevalue("redis_url")
    if request.param == "redis-decoded":
        with RedisStore(redis.Redis.from_url(url, decode_responses=True), url=url) as backend:
            yield backend
        return
    redis_store = RedisStore.from_url(url)
    backend: RedisStore | FailoverStore = redis_store
    if request.param.startswith("failover"):
        backend = FailoverStore(redis_store)
    if request.param.endswith("-async"):
        driven = ThroughAsyncTwins(backend)
        yield driven
        driven.close()
        return
    yield backend
    backend.close()


def wait_until(check: Callable[[], bool], timeout_s: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_backends_satisfy_the_protocol(store: StateStore) -> None:
    assert isinstance(store, StateStore)


def test_missing_keys_read_zero_none_and_empty(store: StateStore) -> None:
    assert store.get_numbers(["a", "b"]) == [0.0, 0.0]
    assert store.get_many(["a", "b"]) == [None, None]
    assert store.hgetall("h") == {}
    assert store.get_numbers([]) == []
    assert store.get_many([]) == []
    store.delete("never-written")


def test_incr_adds_and_returns_the_new_value(store: StateStore) -> None:
    assert store.incr("n", 1.5) == 1.5
    assert store.incr("n", -0.25) == 1.25
    assert store.incr("m", 2) == 2.0
    assert store.get_numbers(["n", "missing", "m"]) == [1.25, 0.0, 2.0]


def test_incr_sets_the_ttl_only_when_it_creates_the_key(store: StateStore) -> None:
    store.incr("short", 1.0, ttl_s=0.3)
    store.incr("short", 1.0, ttl_s=60.0)  # does not extend the first TTL
    assert store.get_numbers(["short"]) == [2.0]
    assert wait_until(lambda: store.get_numbers(["short"]) == [0.0])

    store.incr("forever", 1.0)
    store.incr("forever", 1.0, ttl_s=0.2)  # the key exists without a TTL: it keeps none
    time.sleep(0.4)
    assert store.get_numbers(["forever"]) == [2.0]


def test_reserve_adds_to_every_key_or_to_none(store: StateStore) -> None:
    limits = [("user", 1.0), ("tier", 0.5), ("global", math.inf)]
    assert store.reserve(limits, 0.25, ttl_s=60.0) is None
    assert store.get_numbers(["user", "tier", "global"]) == [0.25, 0.25, 0.25]
    assert store.reserve(limits, 0.25) is None  # reaching a limit exactly is allowed
    assert store.reserve(limits, 0.125) == "tier"  # refused: nothing changes
    assert store.get_numbers(["user", "tier", "global"]) == [0.5, 0.5, 0.5]


def test_reserve_returns_the_first_key_that_refuses(store: StateStore) -> None:
    store.incr("a", 0.9)
    store.incr("b", 0.9)
    assert store.reserve([("a", 1.0), ("b", 1.0)], 0.5) == "a"
    assert store.reserve([("b", 1.0), ("a", 1.0)], 0.5) == "b"
    assert store.reserve([("c", 5.0), ("b", 1.0)], 0.5) == "b"
    assert store.get_numbers(["a", "b", "c"]) == [0.9, 0.9, 0.0]


def test_reserve_gives_new_keys_the_ttl_and_keeps_existing_ones(store: StateStore) -> None:
    store.incr("old", 1.0)
    assert store.reserve([("old", 10.0), ("new", 10.0)], 1.0, ttl_s=0.2) is None
    assert wait_until(lambda: store.get_numbers(["new"]) == [0.0])
    assert store.get_numbers(["old"]) == [2.0]


def test_reserve_from_eight_threads_never_overspends(store: StateStore) -> None:
    limits = [("user", 10.0), ("global", 1e9)]
    amount = 0.125  # exact in binary: 80 reservations reach the limit exactly
    granted: list[int] = []
    start = threading.Barrier(8)

    def worker() -> None:
        start.wait()
        mine = sum(store.reserve(limits, amount, ttl_s=60.0) is None for _ in range(20))
        granted.append(mine)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(granted) == 80
    assert store.get_numbers(["user", "global"]) == [10.0, 10.0]


def test_hincr_adds_to_several_fields_and_hgetall_reads_floats(store: StateStore) -> None:
    store.hincr("arm", {"n": 1, "sum": 0.5})
    store.hincr("arm", {"n": 1, "sum": 0.25, "errors": 1})
    assert store.hgetall("arm") == {"n": 2.0, "sum": 0.75, "errors": 1.0}
    store.hincr("arm", {})
    assert store.hgetall("arm") == {"n": 2.0, "sum": 0.75, "errors": 1.0}


def test_hincr_sets_the_ttl_only_when_it_creates_the_hash(store: StateStore) -> None:
    store.hincr("short", {"n": 1}, ttl_s=0.3)
    store.hincr("short", {"n": 1}, ttl_s=60.0)
    assert store.hgetall("short") == {"n": 2.0}
    assert wait_until(lambda: store.hgetall("short") == {})


def test_set_and_get_many_round_trip_text(store: StateStore) -> None:
    record = json.dumps({"s": "o", "r": "café ☕"}, ensure_ascii=False)
    store.set("breaker", record)
    store.set("other", "x", ttl_s=60.0)
    assert store.get_many(["breaker", "missing", "other"]) == [record, None, "x"]


def test_set_with_a_ttl_expires_and_without_one_clears_it(store: StateStore) -> None:
    store.set("gone", "1", ttl_s=0.2)
    assert store.get_many(["gone"]) == ["1"]
    assert wait_until(lambda: store.get_many(["gone"]) == [None])
    store.set("kept", "1", ttl_s=0.2)
    store.set("kept", "2")  # a set without a TTL makes the key permanent
    time.sleep(0.4)
    assert store.get_many(["kept"]) == ["2"]


def test_compare_and_set(store: StateStore) -> None:
    assert store.compare_and_set("k", None, "v1") is True  # None expects the key absent
    assert store.compare_and_set("k", None, "v2") is False
    assert store.compare_and_set("k", "wrong", "v2") is False
    assert store.get_many(["k"]) == ["v1"]
    assert store.compare_and_set("k", "v1", "v2") is True
    assert store.get_many(["k"]) == ["v2"]
    assert store.compare_and_set("k", "v2", "v2") is True
    assert store.compare_and_set("absent", "v1", "v2") is False
    assert store.get_many(["absent"]) == [None]


def test_compare_and_set_with_a_ttl_expires(store: StateStore) -> None:
    assert store.compare_and_set("lease", None, "mine", ttl_s=0.2) is True
    assert store.compare_and_set("lease", None, "theirs") is False
    assert wait_until(lambda: store.get_many(["lease"]) == [None])
    assert store.compare_and_set("lease", None, "theirs") is True


def test_compare_and_set_lets_exactly_one_thread_win(store: StateStore) -> None:
    wins: list[bool] = []
    start = threading.Barrier(8)

    def worker(n: int) -> None:
        start.wait()
        wins.append(store.compare_and_set("leader", None, f"worker-{n}"))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wins.count(True) == 1


def test_delete_removes_keys_of_every_kind(store: StateStore) -> None:
    store.incr("n", 1.0)
    store.set("s", "x")
    store.hincr("h", {"f": 1.0})
    for key in ("n", "s", "h", "missing"):
        store.delete(key)
    assert store.get_numbers(["n"]) == [0.0]
    assert store.get_many(["s"]) == [None]
    assert store.hgetall("h") == {}


def test_tally_counts_outcomes_in_a_sliding_window(store: StateStore) -> None:
    store.set("b", "record")
    assert store.tally("w", 10, 1, False, 60.0, peek="b") == (0, 1, 0, "record")
    assert store.tally("w", 10, 1, True, 60.0) == (1, 2, 1, None)
    assert store.tally("w", 11, 2, True, 60.0, peek="absent") == (2, 3, 2, None)
    assert store.tally("w", 12, 11, False, 60.0) == (0, 2, 1, None)  # bucket 10 dropped
    assert store.tally("w", 12, 11, True, 60.0) == (1, 3, 2, None)
    # the last failure left the window: the streak starts afresh
    assert store.tally("w", 30, 25, True, 60.0) == (1, 1, 1, None)


def test_tally_from_eight_threads_counts_every_outcome(store: StateStore) -> None:
    def worker(n: int) -> None:
        for i in range(50):
            store.tally("w", 5, 0, (i + n) % 4 == 0, 60.0)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    _, requests, failures, _ = store.tally("w", 5, 0, False, 60.0)
    assert (requests, failures) == (401, 100)


def test_memory_count_success_is_a_tally_of_a_success() -> None:
    """The memory store's fast success count (the breaker's path on every answered call)
    leaves the window as ``tally(..., False, ...)`` does, and reads the peeked key alike."""
    fast, slow = MemoryStore(), MemoryStore()
    for store in (fast, slow):
        store.set("b", "record")
        store.tally("w", 10, 1, True, 60.0)
        store.tally("w", 10, 1, True, 60.0)
    assert fast.count_success("w", 11, 2, 60.0, peek="b") == "record"
    assert slow.tally("w", 11, 2, False, 60.0, peek="b")[3] == "record"
    assert fast.count_success("w", 12, 11, 60.0) is None  # bucket 10 dropped
    slow.tally("w", 12, 11, False, 60.0)
    assert (
        fast.tally("w", 12, 11, True, 60.0)
        == slow.tally("w", 12, 11, True, 60.0)
        == (1, 3, 1, None)
    )
    assert fast.count_success("w", 13, 4, 60.0, peek="absent") is None


def test_memory_count_success_reads_an_expired_peek_as_absent() -> None:
    now = [100.0]
    store = MemoryStore(clock=lambda: now[0])
    store.set("b", "record", ttl_s=5.0)
    store.tally("w", 10, 1, True, 60.0)
    assert store.count_success("w", 10, 1, 60.0, peek="b") == "record"
    now[0] = 106.0
    assert store.count_success("w", 10, 1, 60.0, peek="b") is None
    assert store.get_many(["b"]) == [None]
    assert store.tally("w", 10, 1, False, 60.0) == (0, 4, 1, None)


def test_memory_charge_is_a_reserve_without_limits() -> None:
    """The memory store's settlement path: every key charged, whatever its limit, with the
    TTL given to new keys only; as ``reserve`` with every limit infinite."""
    now = [100.0]
    fast, slow = MemoryStore(clock=lambda: now[0]), MemoryStore(clock=lambda: now[0])
    for store in (fast, slow):
        store.incr("old", 5.0)
        store.incr("expiring", 5.0, ttl_s=1.0)
    now[0] = 102.0
    limits = [("old", 1.0), ("new", 0.0), ("expiring", 1.0)]
    fast.charge(limits, 0.5, ttl_s=10.0)
    assert slow.reserve([(k, math.inf) for k, _ in limits], 0.5, ttl_s=10.0) is None
    for store in (fast, slow):
        assert store.get_numbers(["old", "new", "expiring"]) == [5.5, 0.5, 0.5]
    now[0] = 113.0  # past the new keys' TTL; "old" has none
    for store in (fast, slow):
        assert store.get_numbers(["old", "new", "expiring"]) == [5.5, 0.0, 0.0]

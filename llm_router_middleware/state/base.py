"""The StateStore protocol: the few atomic operations routing needs, shaped to map onto Redis.

Numbers are floats (USD, counts); strings carry small JSON records (breaker state). Every write
takes an optional TTL in seconds so windows and cooldowns expire by themselves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable


@runtime_checkable
class StateStore(Protocol):
    def get_numbers(self, keys: Sequence[str]) -> list[float]:
        """Values of numeric keys; a missing key reads 0.0 (Redis: MGET)."""

    def incr(self, key: str, amount: float, ttl_s: float | None = None) -> float:
        """Add ``amount`` and return the new value; set the TTL if the key is new
        (Redis: INCRBYFLOAT + EXPIRE NX)."""

    def reserve(
        self, limits: Sequence[tuple[str, float]], amount: float, ttl_s: float | None = None
    ) -> str | None:
        """Atomically add ``amount`` to every key iff each stays within its limit.

        Returns None on success, else the first key that would exceed its limit and changes
        nothing (Redis: one Lua script)."""

    def hincr(self, key: str, fields: Mapping[str, float], ttl_s: float | None = None) -> None:
        """Add to several fields of a hash at once (Redis: HINCRBYFLOAT in a MULTI)."""

    def hgetall(self, key: str) -> dict[str, float]:
        """Every field of a numeric hash (Redis: HGETALL)."""

    def get_many(self, keys: Sequence[str]) -> list[str | None]:
        """Values of string keys, None where missing (Redis: MGET)."""

    def set(self, key: str, value: str, ttl_s: float | None = None) -> None:
        """Set a string key (Redis: SET PX)."""

    def compare_and_set(
        self, key: str, expected: str | None, new: str, ttl_s: float | None = None
    ) -> bool:
        """Set ``key`` to ``new`` only if it currently holds ``expected`` (None = absent)
        (Redis: a Lua script)."""

    def delete(self, key: str) -> None:
        """Remove a key of either kind."""

    def tally(
        self,
        key: str,
        bucket: int,
        keep_from: int,
        failed: bool,
        ttl_s: float,
        peek: str | None = None,
    ) -> tuple[int, int, int, str | None]:
        """Count one outcome in a bucketed window and return what the window holds now.

        Atomically: drop the buckets older than ``keep_from``, add one request (and one failure
        if ``failed``) to ``bucket``, extend the failure streak by one on a failure (afresh
        when its last failure has left the window) or reset it to 0 on a success, and refresh
        the key's TTL. Returns ``(streak, requests, failures,
        value of peek)``: requests and failures summed over the kept buckets, and the string
        key ``peek`` read in the same step (None when absent or not asked). Used by circuit
        breakers so that every outcome, from any worker, is counted in one round trip
        (Redis: one Lua script over a hash)."""


@runtime_checkable
class AsyncStateStore(Protocol):
    """The asyncio twins of StateStore's operations, for a store that does I/O (Redis). The
    router's async paths use them when the store has them; a store without them (the memory
    store, which never waits) is called directly."""

    async def aget_numbers(self, keys: Sequence[str]) -> list[float]: ...

    async def aincr(self, key: str, amount: float, ttl_s: float | None = None) -> float: ...

    async def areserve(
        self, limits: Sequence[tuple[str, float]], amount: float, ttl_s: float | None = None
    ) -> str | None: ...

    async def ahincr(
        self, key: str, fields: Mapping[str, float], ttl_s: float | None = None
    ) -> None: ...

    async def ahgetall(self, key: str) -> dict[str, float]: ...

    async def aget_many(self, keys: Sequence[str]) -> list[str | None]: ...

    async def aset(self, key: str, value: str, ttl_s: float | None = None) -> None: ...

    async def acompare_and_set(
        self, key: str, expected: str | None, new: str, ttl_s: float | None = None
    ) -> bool: ...

    async def adelete(self, key: str) -> None: ...

    async def atally(
        self,
        key: str,
        bucket: int,
        keep_from: int,
        failed: bool,
        ttl_s: float,
        peek: str | None = None,
    ) -> tuple[int, int, int, str | None]: ...

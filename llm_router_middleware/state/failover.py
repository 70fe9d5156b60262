"""What the router does when its shared store (Redis) is lost, ``[state] on_unavailable``.

``"local"`` (the default): the router keeps serving from this process's memory. Breakers,
cooldowns and rate counts continue locally (a breaker starts closed). Numeric state continues
from the last value this process read from the store, and a budget may spend only this
process's share of what was left at that read (``(limit - last read) / workers``, the live
workers counted by a heartbeat in the store), so all workers together stay within what was
left. Every numeric change made meanwhile (reservations, settlements, rate counts, experiment
results) is kept as a delta and added back to the store when it answers again, each write
once (write tokens, oplog.py); breaker and cooldown records made locally are dropped then. A
key this process never read (a user it has not served) has no known base: spending on it is
refused until the store returns.

``"refuse"``: every call answers 503 (``state_unavailable``) until the store returns.

Either way the store is not retried per call: one background probe (a PING) at most every
``probe_interval_s`` decides when it is back. The address and the driver's error go to the
server log, never to a client.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .degraded import DegradableStore, OnUnavailable
from .redis import RedisUnavailableError

__all__ = ["FailoverStore", "OnUnavailable", "RedisUnavailableError"]


class FailoverStore(DegradableStore):
    """A RedisStore that degrades instead of failing. Sync and async methods, like RedisStore."""

    # --- StateStore --------------------------------------------------------------------------
    # Each operation names what it does on the store, what it does locally while the store is
    # away, and (numeric state) what it remembers of the store's answer for a local allowance.

    def get_numbers(self, keys: Sequence[str]) -> list[float]:
        return self._run(
            lambda: self.primary.get_numbers(keys),
            lambda: self._ledger.numbers(keys),
            seen=lambda values: self._ledger.remember(keys, values),
            beat=True,
        )

    async def aget_numbers(self, keys: Sequence[str]) -> list[float]:
        return await self._arun(
            lambda: self.primary.aget_numbers(keys),
            lambda: self._ledger.numbers(keys),
            seen=lambda values: self._ledger.remember(keys, values),
            beat=True,
        )

    def incr(self, key: str, amount: float, ttl_s: float | None = None) -> float:
        op = self._oplog.next()
        return self._run(
            lambda: self.primary.incr(key, amount, ttl_s, op),
            lambda: self._ledger.incr(key, amount, ttl_s),
            seen=lambda value: self._ledger.remember_one(key, value),
            unsure=lambda: self._ledger.unsure(op, [(key, amount)], ttl_s),
        )

    async def aincr(self, key: str, amount: float, ttl_s: float | None = None) -> float:
        op = self._oplog.next()
        return await self._arun(
            lambda: self.primary.aincr(key, amount, ttl_s, op),
            lambda: self._ledger.incr(key, amount, ttl_s),
            seen=lambda value: self._ledger.remember_one(key, value),
            unsure=lambda: self._ledger.unsure(op, [(key, amount)], ttl_s),
        )

    def reserve(
        self, limits: Sequence[tuple[str, float]], amount: float, ttl_s: float | None = None
    ) -> str | None:
        op = self._oplog.next()
        return self._run(
            lambda: self.primary.reserve(limits, amount, ttl_s, op),
            lambda: self._ledger.reserve(limits, amount, ttl_s),
            seen=lambda refused: self._ledger.granted(refused, limits, amount),
            unsure=lambda: self._ledger.unsure(op, [(k, amount) for k, _ in limits], ttl_s),
        )

    async def areserve(
        self, limits: Sequence[tuple[str, float]], amount: float, ttl_s: float | None = None
    ) -> str | None:
        op = self._oplog.next()
        return await self._arun(
            lambda: self.primary.areserve(limits, amount, ttl_s, op),
            lambda: self._ledger.reserve(limits, amount, ttl_s),
            seen=lambda refused: self._ledger.granted(refused, limits, amount),
            unsure=lambda: self._ledger.unsure(op, [(k, amount) for k, _ in limits], ttl_s),
        )

    def hincr(self, key: str, fields: Mapping[str, float], ttl_s: float | None = None) -> None:
        op = self._oplog.next()
        self._run(
            lambda: self.primary.hincr(key, fields, ttl_s, op),
            lambda: self._ledger.hincr(key, fields, ttl_s),
            unsure=lambda: self._ledger.unsure_hash(op, key, fields, ttl_s),
        )

    async def ahincr(
        self, key: str, fields: Mapping[str, float], ttl_s: float | None = None
    ) -> None:
        op = self._oplog.next()
        await self._arun(
            lambda: self.primary.ahincr(key, fields, ttl_s, op),
            lambda: self._ledger.hincr(key, fields, ttl_s),
            unsure=lambda: self._ledger.unsure_hash(op, key, fields, ttl_s),
        )

    def hgetall(self, key: str) -> dict[str, float]:
        return self._run(
            lambda: self.primary.hgetall(key),
            lambda: self._ledger.hash(key),
            seen=lambda table: self._ledger.remember_hash(key, table),
        )

    async def ahgetall(self, key: str) -> dict[str, float]:
        return await self._arun(
            lambda: self.primary.ahgetall(key),
            lambda: self._ledger.hash(key),
            seen=lambda table: self._ledger.remember_hash(key, table),
        )

    def get_many(self, keys: Sequence[str]) -> list[str | None]:
        return self._run(lambda: self.primary.get_many(keys), lambda: self._local.get_many(keys))

    async def aget_many(self, keys: Sequence[str]) -> list[str | None]:
        return await self._arun(
            lambda: self.primary.aget_many(keys), lambda: self._local.get_many(keys)
        )

    def set(self, key: str, value: str, ttl_s: float | None = None) -> None:
        self._run(
            lambda: self.primary.set(key, value, ttl_s), lambda: self._local.set(key, value, ttl_s)
        )

    async def aset(self, key: str, value: str, ttl_s: float | None = None) -> None:
        await self._arun(
            lambda: self.primary.aset(key, value, ttl_s),
            lambda: self._local.set(key, value, ttl_s),
        )

    def compare_and_set(
        self, key: str, expected: str | None, new: str, ttl_s: float | None = None
    ) -> bool:
        return self._run(
            lambda: self.primary.compare_and_set(key, expected, new, ttl_s),
            lambda: self._local.compare_and_set(key, expected, new, ttl_s),
        )

    async def acompare_and_set(
        self, key: str, expected: str | None, new: str, ttl_s: float | None = None
    ) -> bool:
        return await self._arun(
            lambda: self.primary.acompare_and_set(key, expected, new, ttl_s),
            lambda: self._local.compare_and_set(key, expected, new, ttl_s),
        )

    def delete(self, key: str) -> None:
        self._run(lambda: self.primary.delete(key), lambda: self._local.delete(key))

    async def adelete(self, key: str) -> None:
        await self._arun(lambda: self.primary.adelete(key), lambda: self._local.delete(key))

    def tally(
        self,
        key: str,
        bucket: int,
        keep_from: int,
        failed: bool,
        ttl_s: float,
        peek: str | None = None,
    ) -> tuple[int, int, int, str | None]:
        args = (key, bucket, keep_from, failed, ttl_s, peek)
        return self._run(lambda: self.primary.tally(*args), lambda: self._local.tally(*args))

    async def atally(
        self,
        key: str,
        bucket: int,
        keep_from: int,
        failed: bool,
        ttl_s: float,
        peek: str | None = None,
    ) -> tuple[int, int, int, str | None]:
        args = (key, bucket, keep_from, failed, ttl_s, peek)
        return await self._arun(
            lambda: self.primary.atally(*args), lambda: self._local.tally(*args)
        )

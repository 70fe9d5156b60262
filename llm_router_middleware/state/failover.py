"""What the router does when its shared store (Redis) is lost, ``[state] on_unavailable``.

``"local"`` (the default): the router keeps serving from this process's memory. Breakers,
cooldowns and rate counts continue locally (a breaker starts closed). Numeric state continues
from the last value this process read from the store, and a budget may spend only this
process's share of what was left at that read (``(limit - last read) / workers``, the live
workers counted by a heartbeat in the store), so all workers together stay within what was
left. Every numeric change made meanwhile (reservations, settlements, rate counts, experiment
results) is kept as a delta and added back to the store when it answers again; breaker and
cooldown records made locally are dropped then. A key this process never read (a user it has
not served) has no known base: spending on it is refused until the store returns.

``"refuse"``: every call answers 503 (``state_unavailable``) until the store returns.

Either way the store is not retried per call: one background probe (a PING) at most every
``probe_interval_s`` decides when it is back. The address and the driver's error go to the
server log, never to a client.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Literal, TypeVar

from .heartbeat import Heartbeat
from .memory import MemoryStore
from .outage import OutageLedger
from .redis import RedisStore, RedisUnavailableError

logger = logging.getLogger("llm_router_middleware.state")

T = TypeVar("T")
OnUnavailable = Literal["local", "refuse"]


class FailoverStore:
    """A RedisStore that degrades instead of failing. Sync and async methods, like RedisStore."""

    def __init__(
        self,
        primary: RedisStore,
        *,
        on_unavailable: OnUnavailable = "local",
        key_prefix: str = "llmr",
        probe_interval_s: float = 1.0,
        heartbeat_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.primary = primary
        self.on_unavailable = on_unavailable
        self._refuse = on_unavailable == "refuse"
        self._probe_interval_s = probe_interval_s
        self._clock = clock
        self._lock = threading.Lock()
        self._down: RedisUnavailableError | None = None
        self._down_since = 0.0
        self._next_probe = 0.0
        self._probing = False
        self._local = MemoryStore()
        self._ledger = OutageLedger()
        self._heartbeat = Heartbeat(
            primary, self._ledger, key_prefix=key_prefix, every_s=heartbeat_s, clock=clock
        )
        self.outages = 0  # times the store was lost
        self.probes = 0  # reconnect probes made
        self.written_back = 0  # keys whose outage deltas went back to the store

    # --- status --------------------------------------------------------------------------

    @property
    def degraded(self) -> bool:
        """True while the store is unreachable (serving locally, or refusing)."""
        return self._down is not None

    @property
    def available(self) -> bool:
        """False while the store is unreachable and the router refuses calls."""
        return self._down is None or not self._refuse

    @property
    def workers(self) -> int:
        """Live workers at the last heartbeat (a budget's local share is 1 / workers)."""
        return self._ledger.workers

    @property
    def url(self) -> str:
        return self.primary.url

    def degraded_for_s(self) -> float | None:
        return self._clock() - self._down_since if self._down is not None else None

    def ping(self) -> None:
        self.primary.ping()

    def close(self) -> None:
        self.primary.close()

    async def aclose(self) -> None:
        await self.primary.aclose()

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
        return self._run(
            lambda: self.primary.incr(key, amount, ttl_s),
            lambda: self._ledger.incr(key, amount, ttl_s),
            seen=lambda value: self._ledger.remember_one(key, value),
        )

    async def aincr(self, key: str, amount: float, ttl_s: float | None = None) -> float:
        return await self._arun(
            lambda: self.primary.aincr(key, amount, ttl_s),
            lambda: self._ledger.incr(key, amount, ttl_s),
            seen=lambda value: self._ledger.remember_one(key, value),
        )

    def reserve(
        self, limits: Sequence[tuple[str, float]], amount: float, ttl_s: float | None = None
    ) -> str | None:
        return self._run(
            lambda: self.primary.reserve(limits, amount, ttl_s),
            lambda: self._ledger.reserve(limits, amount, ttl_s),
            seen=lambda refused: self._ledger.granted(refused, limits, amount),
        )

    async def areserve(
        self, limits: Sequence[tuple[str, float]], amount: float, ttl_s: float | None = None
    ) -> str | None:
        return await self._arun(
            lambda: self.primary.areserve(limits, amount, ttl_s),
            lambda: self._ledger.reserve(limits, amount, ttl_s),
            seen=lambda refused: self._ledger.granted(refused, limits, amount),
        )

    def hincr(self, key: str, fields: Mapping[str, float], ttl_s: float | None = None) -> None:
        self._run(
            lambda: self.primary.hincr(key, fields, ttl_s),
            lambda: self._ledger.hincr(key, fields, ttl_s),
        )

    async def ahincr(
        self, key: str, fields: Mapping[str, float], ttl_s: float | None = None
    ) -> None:
        await self._arun(
            lambda: self.primary.ahincr(key, fields, ttl_s),
            lambda: self._ledger.hincr(key, fields, ttl_s),
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

    # --- one operation: the store while it answers, else the local state --------------------

    def _run(
        self,
        primary: Callable[[], T],
        local: Callable[[], T],
        *,
        seen: Callable[[T], object] | None = None,
        beat: bool = False,
    ) -> T:
        """``primary`` while the store answers (``seen`` then keeps what it said); on its loss
        mark it lost and run ``local`` (or refuse). If the probe brought the store back while
        we waited for the lock, run against the store again."""
        while True:
            if self._down is None:
                try:
                    if beat:
                        self._heartbeat.beat()
                    value = primary()
                except RedisUnavailableError as exc:
                    self._lose(exc)
                else:
                    if seen is not None:
                        seen(value)
                    return value
            with self._lock:
                if self._down is not None:
                    return self._local_or_refuse(local)

    async def _arun(
        self,
        primary: Callable[[], Awaitable[T]],
        local: Callable[[], T],
        *,
        seen: Callable[[T], object] | None = None,
        beat: bool = False,
    ) -> T:
        while True:
            if self._down is None:
                try:
                    if beat:
                        await self._heartbeat.abeat()
                    value = await primary()
                except RedisUnavailableError as exc:
                    self._lose(exc)
                else:
                    if seen is not None:
                        seen(value)
                    return value
            with self._lock:
                if self._down is not None:
                    return self._local_or_refuse(local)

    def _local_or_refuse(self, local: Callable[[], T]) -> T:
        """Under the lock, while the store is down: start the probe if due, then refuse
        (``"refuse"``) or run ``local``."""
        down = self._down
        assert down is not None
        self._maybe_probe()
        if self._refuse:
            raise RedisUnavailableError(down.url, down.detail)
        return local()

    # --- the heartbeat, while the store answers --------------------------------------------

    def heartbeat(self) -> None:
        """Mark this worker live now, at startup (``Router.warm``), so that every worker is
        counted before traffic starts; the first call then counts the live workers again."""
        if self._down is not None:
            return
        self._heartbeat.reset()
        try:
            self._heartbeat.beat()
        except RedisUnavailableError as exc:
            self._lose(exc)
        self._heartbeat.reset()

    # --- losing and finding the store ----------------------------------------------------

    def _lose(self, exc: RedisUnavailableError) -> None:
        with self._lock:
            if self._down is not None:
                return
            self._down = exc
            self._down_since = self._clock()
            self._next_probe = self._down_since + self._probe_interval_s
            self.outages += 1
        mode = "refusing calls" if self._refuse else "continuing on this process's state"
        logger.warning(
            "state store %s unreachable (%s): router degraded, %s",
            exc.url,
            exc.detail,
            mode,
            extra={"llm_router_degraded": True},
        )

    def _maybe_probe(self) -> None:
        """Under the lock: start the background probe if it is due and not running."""
        now = self._clock()
        if self._probing or now < self._next_probe:
            return
        self._probing = True
        self._next_probe = now + self._probe_interval_s
        threading.Thread(target=self._probe, name="llm-router-state-probe", daemon=True).start()

    def probe(self) -> bool:
        """Try the store now (PING); when it answers, write the outage's deltas back and
        leave degraded mode. True when the store is back."""
        with self._lock:
            if self._probing:
                return False
            self._probing = True
        self._probe()
        return self._down is None

    def _probe(self) -> None:
        self.probes += 1
        try:
            self.primary.ping()
            with self._lock:
                self._write_back()
        except RedisUnavailableError as exc:
            logger.debug("state store %s still unreachable: %s", exc.url, exc.detail)
        finally:
            with self._lock:
                self._probing = False

    def _write_back(self) -> None:
        """Under the lock: add the outage's deltas to the store, then serve from it again."""
        if self._down is None:
            return
        written = self._ledger.write_back(self.primary)
        self._local = MemoryStore()
        self._heartbeat.reset()
        outage = self._clock() - self._down_since
        self._down = None
        self.written_back += written
        logger.warning(
            "state store %s reachable again after %.1fs: %d keys written back, router recovered",
            self.primary.url,
            outage,
            written,
            extra={"llm_router_degraded": False},
        )

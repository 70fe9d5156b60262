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
import os
import threading
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Literal, TypeVar

from .memory import MemoryStore
from .outage import OutageLedger
from .redis import RedisStore, RedisUnavailableError

logger = logging.getLogger("llm_router_middleware.state")

T = TypeVar("T")
OnUnavailable = Literal["local", "refuse"]

_NODES_WINDOW_S = 10.0  # a worker that beat in this window or the one before counts as live


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
        self._heartbeat_s = heartbeat_s
        self._clock = clock
        self._lock = threading.Lock()
        self._down: RedisUnavailableError | None = None
        self._down_since = 0.0
        self._next_probe = 0.0
        self._probing = False
        self._local = MemoryStore()
        self._ledger = OutageLedger()
        self._node = os.urandom(6).hex()
        self._nodes_key = f"{key_prefix}:nodes:"
        self._next_beat = 0.0
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

    def get_numbers(self, keys: Sequence[str]) -> list[float]:
        if self._down is None:
            try:
                self._beat()
                values = self.primary.get_numbers(keys)
            except RedisUnavailableError as exc:
                self._lose(exc)
            else:
                self._ledger.remember(keys, values)
                return values
        return self._degraded(lambda: self._ledger.numbers(keys), lambda: self.get_numbers(keys))

    async def aget_numbers(self, keys: Sequence[str]) -> list[float]:
        if self._down is None:
            try:
                await self._abeat()
                values = await self.primary.aget_numbers(keys)
            except RedisUnavailableError as exc:
                self._lose(exc)
            else:
                self._ledger.remember(keys, values)
                return values
        return await self._adegraded(
            lambda: self._ledger.numbers(keys), lambda: self.aget_numbers(keys)
        )

    def incr(self, key: str, amount: float, ttl_s: float | None = None) -> float:
        if self._down is None:
            try:
                value = self.primary.incr(key, amount, ttl_s)
            except RedisUnavailableError as exc:
                self._lose(exc)
            else:
                self._ledger.known[key] = value
                return value
        return self._degraded(
            lambda: self._ledger.incr(key, amount, ttl_s), lambda: self.incr(key, amount, ttl_s)
        )

    async def aincr(self, key: str, amount: float, ttl_s: float | None = None) -> float:
        if self._down is None:
            try:
                value = await self.primary.aincr(key, amount, ttl_s)
            except RedisUnavailableError as exc:
                self._lose(exc)
            else:
                self._ledger.known[key] = value
                return value
        return await self._adegraded(
            lambda: self._ledger.incr(key, amount, ttl_s), lambda: self.aincr(key, amount, ttl_s)
        )

    def reserve(
        self, limits: Sequence[tuple[str, float]], amount: float, ttl_s: float | None = None
    ) -> str | None:
        if self._down is None:
            try:
                refused = self.primary.reserve(limits, amount, ttl_s)
            except RedisUnavailableError as exc:
                self._lose(exc)
            else:
                if refused is None:
                    self._ledger.advance(limits, amount)
                return refused
        return self._degraded(
            lambda: self._ledger.reserve(limits, amount, ttl_s),
            lambda: self.reserve(limits, amount, ttl_s),
        )

    async def areserve(
        self, limits: Sequence[tuple[str, float]], amount: float, ttl_s: float | None = None
    ) -> str | None:
        if self._down is None:
            try:
                refused = await self.primary.areserve(limits, amount, ttl_s)
            except RedisUnavailableError as exc:
                self._lose(exc)
            else:
                if refused is None:
                    self._ledger.advance(limits, amount)
                return refused
        return await self._adegraded(
            lambda: self._ledger.reserve(limits, amount, ttl_s),
            lambda: self.areserve(limits, amount, ttl_s),
        )

    def hincr(self, key: str, fields: Mapping[str, float], ttl_s: float | None = None) -> None:
        if self._down is None:
            try:
                self.primary.hincr(key, fields, ttl_s)
                return
            except RedisUnavailableError as exc:
                self._lose(exc)
        self._degraded(
            lambda: self._ledger.hincr(key, fields, ttl_s), lambda: self.hincr(key, fields, ttl_s)
        )

    async def ahincr(
        self, key: str, fields: Mapping[str, float], ttl_s: float | None = None
    ) -> None:
        if self._down is None:
            try:
                await self.primary.ahincr(key, fields, ttl_s)
                return
            except RedisUnavailableError as exc:
                self._lose(exc)
        await self._adegraded(
            lambda: self._ledger.hincr(key, fields, ttl_s), lambda: self.ahincr(key, fields, ttl_s)
        )

    def hgetall(self, key: str) -> dict[str, float]:
        if self._down is None:
            try:
                table = self.primary.hgetall(key)
            except RedisUnavailableError as exc:
                self._lose(exc)
            else:
                self._ledger.known_hash[key] = table
                return table
        return self._degraded(lambda: self._ledger.hash(key), lambda: self.hgetall(key))

    async def ahgetall(self, key: str) -> dict[str, float]:
        if self._down is None:
            try:
                table = await self.primary.ahgetall(key)
            except RedisUnavailableError as exc:
                self._lose(exc)
            else:
                self._ledger.known_hash[key] = table
                return table
        return await self._adegraded(lambda: self._ledger.hash(key), lambda: self.ahgetall(key))

    def get_many(self, keys: Sequence[str]) -> list[str | None]:
        if self._down is None:
            try:
                return self.primary.get_many(keys)
            except RedisUnavailableError as exc:
                self._lose(exc)
        return self._degraded(lambda: self._local.get_many(keys), lambda: self.get_many(keys))

    async def aget_many(self, keys: Sequence[str]) -> list[str | None]:
        if self._down is None:
            try:
                return await self.primary.aget_many(keys)
            except RedisUnavailableError as exc:
                self._lose(exc)
        return await self._adegraded(
            lambda: self._local.get_many(keys), lambda: self.aget_many(keys)
        )

    def set(self, key: str, value: str, ttl_s: float | None = None) -> None:
        if self._down is None:
            try:
                self.primary.set(key, value, ttl_s)
                return
            except RedisUnavailableError as exc:
                self._lose(exc)
        self._degraded(
            lambda: self._local.set(key, value, ttl_s), lambda: self.set(key, value, ttl_s)
        )

    async def aset(self, key: str, value: str, ttl_s: float | None = None) -> None:
        if self._down is None:
            try:
                await self.primary.aset(key, value, ttl_s)
                return
            except RedisUnavailableError as exc:
                self._lose(exc)
        await self._adegraded(
            lambda: self._local.set(key, value, ttl_s), lambda: self.aset(key, value, ttl_s)
        )

    def compare_and_set(
        self, key: str, expected: str | None, new: str, ttl_s: float | None = None
    ) -> bool:
        if self._down is None:
            try:
                return self.primary.compare_and_set(key, expected, new, ttl_s)
            except RedisUnavailableError as exc:
                self._lose(exc)
        return self._degraded(
            lambda: self._local.compare_and_set(key, expected, new, ttl_s),
            lambda: self.compare_and_set(key, expected, new, ttl_s),
        )

    async def acompare_and_set(
        self, key: str, expected: str | None, new: str, ttl_s: float | None = None
    ) -> bool:
        if self._down is None:
            try:
                return await self.primary.acompare_and_set(key, expected, new, ttl_s)
            except RedisUnavailableError as exc:
                self._lose(exc)
        return await self._adegraded(
            lambda: self._local.compare_and_set(key, expected, new, ttl_s),
            lambda: self.acompare_and_set(key, expected, new, ttl_s),
        )

    def delete(self, key: str) -> None:
        if self._down is None:
            try:
                self.primary.delete(key)
                return
            except RedisUnavailableError as exc:
                self._lose(exc)
        self._degraded(lambda: self._local.delete(key), lambda: self.delete(key))

    async def adelete(self, key: str) -> None:
        if self._down is None:
            try:
                await self.primary.adelete(key)
                return
            except RedisUnavailableError as exc:
                self._lose(exc)
        await self._adegraded(lambda: self._local.delete(key), lambda: self.adelete(key))

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
        if self._down is None:
            try:
                return self.primary.tally(*args)
            except RedisUnavailableError as exc:
                self._lose(exc)
        return self._degraded(lambda: self._local.tally(*args), lambda: self.tally(*args))

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
        if self._down is None:
            try:
                return await self.primary.atally(*args)
            except RedisUnavailableError as exc:
                self._lose(exc)
        return await self._adegraded(lambda: self._local.tally(*args), lambda: self.atally(*args))

    # --- degraded operation --------------------------------------------------------------

    def _degraded(self, local: Callable[[], T], retry: Callable[[], T]) -> T:
        """Run ``local`` while the store is down; if it came back meanwhile (the probe wrote
        the deltas back while we waited for the lock), run ``retry`` against it instead."""
        with self._lock:
            down = self._down
            if down is not None:
                self._maybe_probe()
                if self._refuse:
                    raise RedisUnavailableError(down.url, down.detail)
                return local()
        return retry()

    async def _adegraded(self, local: Callable[[], T], retry: Callable[[], Awaitable[T]]) -> T:
        with self._lock:
            down = self._down
            if down is not None:
                self._maybe_probe()
                if self._refuse:
                    raise RedisUnavailableError(down.url, down.detail)
                return local()
        return await retry()

    # --- the heartbeat, while the store answers --------------------------------------------

    def heartbeat(self) -> None:
        """Mark this worker live now, at startup (``Router.warm``), so that every worker is
        counted before traffic starts; the first call then counts the live workers again."""
        if self._down is not None:
            return
        self._next_beat = 0.0
        try:
            self._beat()
        except RedisUnavailableError as exc:
            self._lose(exc)
        self._next_beat = 0.0

    def _beat(self) -> None:
        """Every ``heartbeat_s``: mark this worker live and count the live workers (two round
        trips), for the share of a budget each may spend while the store is away."""
        now = self._clock()
        if now < self._next_beat:
            return
        self._next_beat = now + self._heartbeat_s
        current, previous = self._beat_keys()
        ttl = 3 * _NODES_WINDOW_S
        self.primary.hincr(current, {self._node: 1.0}, ttl)
        seen = set(self.primary.hgetall(current)) | set(self.primary.hgetall(previous))
        self._ledger.workers = max(1, len(seen))

    async def _abeat(self) -> None:
        now = self._clock()
        if now < self._next_beat:
            return
        self._next_beat = now + self._heartbeat_s
        current, previous = self._beat_keys()
        ttl = 3 * _NODES_WINDOW_S
        await self.primary.ahincr(current, {self._node: 1.0}, ttl)
        seen = set(await self.primary.ahgetall(current))
        seen |= set(await self.primary.ahgetall(previous))
        self._ledger.workers = max(1, len(seen))

    def _beat_keys(self) -> tuple[str, str]:
        bucket = int(time.time() // _NODES_WINDOW_S)
        return f"{self._nodes_key}{bucket}", f"{self._nodes_key}{bucket - 1}"

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
        ledger = self._ledger
        now = time.time()
        written = 0
        # each key leaves the ledger once written: a write-back cut short resumes, never repeats
        for key, amount in list(ledger.delta.items()):
            if amount != 0.0:
                self.primary.incr(key, amount, ledger.ttl_left(key, now))
                written += 1
            del ledger.delta[key]
        for key, fields in list(ledger.delta_hash.items()):
            self.primary.hincr(key, fields, ledger.ttl_left(key, now))
            written += 1
            del ledger.delta_hash[key]
        ledger.forget()
        self._local = MemoryStore()
        self._next_beat = 0.0
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

"""Degraded mode for a store that can be lost: mark it lost on the first failed operation,
serve locally (or refuse) meanwhile, probe it in the background, write the outage's deltas
back when it answers. FailoverStore (failover.py) says what each operation does either way.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Literal, TypeVar

from .heartbeat import Heartbeat
from .memory import MemoryStore
from .oplog import OpLog
from .outage import OutageLedger
from .redis import RedisStore, RedisUnavailableError

logger = logging.getLogger("llm_router_middleware.state")

T = TypeVar("T")
OnUnavailable = Literal["local", "refuse"]


class DegradableStore:
    """The degraded mode of FailoverStore (failover.py): losing the store, serving locally or
    refusing meanwhile, probing, writing back. ``_run`` / ``_arun`` run one operation."""

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
        self._oplog = OpLog(f"{key_prefix}:ops:{self._heartbeat.node}")  # write tokens
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

    # --- one operation: the store while it answers, else the local state --------------------

    def _run(
        self,
        primary: Callable[[], T],
        local: Callable[[], T],
        *,
        seen: Callable[[T], object] | None = None,
        unsure: Callable[[], None] | None = None,
        beat: bool = False,
    ) -> T:
        """``primary`` while the store answers (``seen`` then keeps what it said); on its loss
        mark it lost and run ``local`` (or refuse), noting (``unsure``) a write the store may
        have applied before it went. If the probe brought the store back while we waited for
        the lock, run against the store again (with the same write token)."""
        sent = False
        while True:
            if self._down is None:
                try:
                    if beat:
                        self._heartbeat.beat()
                    value = primary()
                except RedisUnavailableError as exc:
                    self._lose(exc)
                    sent = True
                else:
                    if seen is not None:
                        seen(value)
                    return value
            with self._lock:
                if self._down is not None:
                    return self._local_or_refuse(local, unsure if sent else None)

    async def _arun(
        self,
        primary: Callable[[], Awaitable[T]],
        local: Callable[[], T],
        *,
        seen: Callable[[T], object] | None = None,
        unsure: Callable[[], None] | None = None,
        beat: bool = False,
    ) -> T:
        sent = False
        while True:
            if self._down is None:
                try:
                    if beat:
                        await self._heartbeat.abeat()
                    value = await primary()
                except RedisUnavailableError as exc:
                    self._lose(exc)
                    sent = True
                else:
                    if seen is not None:
                        seen(value)
                    return value
            with self._lock:
                if self._down is not None:
                    return self._local_or_refuse(local, unsure if sent else None)

    def _local_or_refuse(self, local: Callable[[], T], unsure: Callable[[], None] | None) -> T:
        """Under the lock, while the store is down: start the probe if due, then refuse
        (``"refuse"``) or run ``local``."""
        down = self._down
        assert down is not None
        self._maybe_probe()
        if self._refuse:
            raise RedisUnavailableError(down.url, down.detail)
        if unsure is not None:
            unsure()
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
        written = self._ledger.write_back(self.primary, self._oplog)
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

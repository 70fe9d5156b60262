"""The live workers sharing a store, counted by a heartbeat in it (FailoverStore, ``"local"``).

Every ``every_s`` while the store answers, a worker marks itself live in the current window's
hash and counts the workers seen in it and the window before: during an outage each may spend
``1 / workers`` of what a budget had left.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from .outage import OutageLedger
from .redis import RedisStore

WINDOW_S = 10.0  # a worker that beat in this window or the one before counts as live


class Heartbeat:
    def __init__(
        self,
        primary: RedisStore,
        ledger: OutageLedger,
        *,
        key_prefix: str,
        every_s: float,
        clock: Callable[[], float],
    ) -> None:
        self._primary = primary
        self._ledger = ledger
        self._every_s = every_s
        self._clock = clock
        self.node = os.urandom(6).hex()
        self._key = f"{key_prefix}:nodes:"
        self._next = 0.0

    def reset(self) -> None:
        """The next call beats, whenever it comes."""
        self._next = 0.0

    def beat(self) -> None:
        """Mark this worker live and count the live workers (two round trips), when due."""
        if not self._due():
            return
        current, previous = self._keys()
        self._primary.hincr(current, {self.node: 1.0}, 3 * WINDOW_S)
        seen = set(self._primary.hgetall(current)) | set(self._primary.hgetall(previous))
        self._ledger.workers = max(1, len(seen))

    async def abeat(self) -> None:
        if not self._due():
            return
        current, previous = self._keys()
        await self._primary.ahincr(current, {self.node: 1.0}, 3 * WINDOW_S)
        seen = set(await self._primary.ahgetall(current))
        seen |= set(await self._primary.ahgetall(previous))
        self._ledger.workers = max(1, len(seen))

    def _due(self) -> bool:
        now = self._clock()
        if now < self._next:
            return False
        self._next = now + self._every_s
        return True

    def _keys(self) -> tuple[str, str]:
        bucket = int(time.time() // WINDOW_S)
        return f"{self._key}{bucket}", f"{self._key}{bucket - 1}"

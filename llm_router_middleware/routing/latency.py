"""Latency per model as an exponentially weighted moving average, kept in this process.

Each worker measures the latency it sees itself: the estimate feeds the deadline filter of this
worker's plans, so sharing it through the StateStore would cost two round trips per call (a
read and a compare-and-set on Redis) for little gain.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence


class LatencyTracker:
    def __init__(
        self,
        alpha: float = 0.2,
        ttl_s: float | None = 86400.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0.0 < alpha <= 1.0:
            raise ValueError(f"alpha must be in (0, 1], got {alpha!r}")
        self._alpha = alpha
        self._ttl_s = ttl_s  # a model unused for this long forgets its latency
        self._clock = clock
        self._values: dict[str, tuple[float, float]] = {}  # model -> (ewma seconds, last seen)
        self._lock = threading.Lock()

    def observe(self, model: str, seconds: float) -> None:
        now = self._clock()
        with self._lock:
            current = self._values.get(model)
            if current is None or self._expired(current[1], now):
                value = seconds
            else:
                value = self._alpha * seconds + (1.0 - self._alpha) * current[0]
            self._values[model] = (value, now)

    def snapshot(self, models: Sequence[str]) -> dict[str, float]:
        """EWMA seconds for the models that have (recent) data."""
        now = self._clock()
        values = self._values
        out: dict[str, float] = {}
        for model in models:
            entry = values.get(model)
            if entry is not None and not self._expired(entry[1], now):
                out[model] = entry[0]
        return out

    def _expired(self, seen: float, now: float) -> bool:
        return self._ttl_s is not None and now - seen > self._ttl_s

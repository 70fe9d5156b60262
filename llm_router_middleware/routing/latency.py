"""Latency per model, kept in this process: an exponentially weighted moving average, a p95
estimate over a window of recent calls, and the time to first token of streams.

Each worker measures the latency it sees itself: the figures feed the deadline filter, the
``latency`` strategy, a tier's ``max_latency_s`` objective and the hedging delay of this
worker's plans, so sharing them through the StateStore would cost round trips per call (a read
and a compare-and-set on Redis) for a small gain: a worker that serves traffic has its own
sample within a few calls.

Cost per call: ``observe`` is an EWMA update and an append to a bounded deque; the p95 is
sorted from the window only when read after a change (planning with a latency strategy or
objective, a hedged call), never on the hot path of a plan that does not ask for it.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LatencyFigures:
    """What this process has observed of one model (seconds)."""

    ewma_s: float  # the recent typical latency of a whole call
    p95_s: float  # the 95th percentile over the last ``samples`` calls (nearest rank)
    samples: int  # calls in the p95 window
    ttft_s: float | None = None  # EWMA time to first token of streams, None before a stream

    def objective_figure(self, min_samples: int) -> tuple[str, float]:
        """The figure an objective is held to: the p95 once the window holds ``min_samples``
        calls (a p95 of three calls is their maximum), the EWMA before."""
        if self.samples >= min_samples:
            return "p95", self.p95_s
        return "ewma", self.ewma_s


class LatencyTracker:
    def __init__(
        self,
        alpha: float = 0.2,
        ttl_s: float | None = 86400.0,
        clock: Callable[[], float] = time.monotonic,
        window: int = 64,
    ) -> None:
        if not 0.0 < alpha <= 1.0:
            raise ValueError(f"alpha must be in (0, 1], got {alpha!r}")
        if window < 1:
            raise ValueError(f"window must be at least 1, got {window!r}")
        self._alpha = alpha
        self._ttl_s = ttl_s  # a model unused for this long forgets its latency
        self._clock = clock
        self._window = window
        # model -> (ewma seconds, last seen, the last ``window`` latencies, calls observed)
        self._values: dict[str, tuple[float, float, deque[float], int]] = {}
        self._p95: dict[str, tuple[int, float]] = {}  # model -> (calls observed, p95): a cache
        self._ttft: dict[str, tuple[float, float]] = {}  # model -> (ewma seconds, last seen)
        self._lock = threading.Lock()

    def observe(self, model: str, seconds: float) -> None:
        now = self._clock()
        lock = self._lock
        lock.acquire()  # not ``with``: every answered call observes
        try:
            current = self._values.get(model)
            if current is None or (self._ttl_s is not None and now - current[1] > self._ttl_s):
                samples: deque[float] = deque((seconds,), maxlen=self._window)
                self._values[model] = (seconds, now, samples, 1)
                self._p95.pop(model, None)  # a cached p95 of a former life
            else:
                samples = current[2]
                samples.append(seconds)
                value = self._alpha * seconds + (1.0 - self._alpha) * current[0]
                self._values[model] = (value, now, samples, current[3] + 1)
        finally:
            lock.release()

    def observe_ttft(self, model: str, seconds: float) -> None:
        """A stream's first chunk arrived ``seconds`` after the call started."""
        now = self._clock()
        with self._lock:
            current = self._ttft.get(model)
            if current is None or self._expired(current[1], now):
                value = seconds
            else:
                value = self._alpha * seconds + (1.0 - self._alpha) * current[0]
            self._ttft[model] = (value, now)

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

    def figures(self, models: Sequence[str]) -> dict[str, LatencyFigures]:
        """EWMA, p95 and time to first token for the models that have (recent) data."""
        now = self._clock()
        out: dict[str, LatencyFigures] = {}
        with self._lock:
            for model in models:
                entry = self._values.get(model)
                if entry is None or self._expired(entry[1], now):
                    continue
                samples = entry[2]
                ttft = self._ttft.get(model)
                if ttft is not None and self._expired(ttft[1], now):
                    ttft = None
                out[model] = LatencyFigures(
                    ewma_s=entry[0],
                    p95_s=self._percentile(model, samples, entry[3]),
                    samples=len(samples),
                    ttft_s=ttft[0] if ttft is not None else None,
                )
        return out

    def p95(self, model: str) -> tuple[float, int] | None:
        """(p95 seconds, calls in the window) for ``model``, None without recent data."""
        figures = self.figures((model,)).get(model)
        return None if figures is None else (figures.p95_s, figures.samples)

    def _percentile(self, model: str, samples: deque[float], observed: int) -> float:
        cached = self._p95.get(model)
        if cached is not None and cached[0] == observed:
            return cached[1]
        ordered = sorted(samples)
        value = ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]  # nearest rank
        self._p95[model] = (observed, value)
        return value

    def _expired(self, seen: float, now: float) -> bool:
        return self._ttl_s is not None and now - seen > self._ttl_s

"""Latency per model as an exponentially weighted moving average kept in the StateStore."""

from __future__ import annotations

from collections.abc import Sequence

from ..state.base import StateStore

_RETRIES = 5


class LatencyTracker:
    def __init__(
        self,
        store: StateStore,
        prefix: str = "llmr",
        alpha: float = 0.2,
        ttl_s: float | None = 86400.0,
    ) -> None:
        if not 0.0 < alpha <= 1.0:
            raise ValueError(f"alpha must be in (0, 1], got {alpha!r}")
        self._store = store
        self._prefix = prefix
        self._alpha = alpha
        self._ttl_s = ttl_s  # a model unused for this long forgets its latency

    def _key(self, model: str) -> str:
        return f"{self._prefix}:lat:{model}"

    def observe(self, model: str, seconds: float) -> None:
        key = self._key(model)
        for _ in range(_RETRIES):
            current = self._store.get_many([key])[0]
            if current is None:
                new = seconds
            else:
                new = self._alpha * seconds + (1.0 - self._alpha) * float(current)
            if self._store.compare_and_set(key, current, repr(new), self._ttl_s):
                return
        # Heavy contention: the other writers' observations stand in for this one.

    def snapshot(self, models: Sequence[str]) -> dict[str, float]:
        """EWMA seconds for the models that have data."""
        if not models:
            return {}
        values = self._store.get_many([self._key(m) for m in models])
        return {m: float(v) for m, v in zip(models, values, strict=True) if v is not None}

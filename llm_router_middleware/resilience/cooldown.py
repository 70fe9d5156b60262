"""Retry-After cooldowns: a model the provider asked us to leave alone is skipped until then.

One string key per model, ``{prefix}:cooldown:{model}``, holding the wall-clock time the
cooldown ends, with a TTL so it disappears by itself.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from llm_router_middleware.state.base import StateStore

logger = logging.getLogger("llm_router_middleware.cooldown")

_MAX_CAS_TRIES = 64


class Cooldowns:
    def __init__(
        self, store: StateStore, prefix: str = "llmr", clock: Callable[[], float] = time.time
    ) -> None:
        self._store = store
        self._prefix = f"{prefix}:cooldown:"
        self._clock = clock

    def key(self, model: str) -> str:
        return self._prefix + model

    def start(self, model: str, seconds: float) -> None:
        """Keep ``model`` out of plans for ``seconds``; extends, never shortens, a cooldown."""
        if not seconds > 0:  # also rejects NaN
            return
        key = self._prefix + model
        for _ in range(_MAX_CAS_TRIES):
            now = self._clock()
            until = now + seconds
            raw = self._store.get_many([key])[0]
            current = _parse(raw)
            if current is not None and current >= until:
                return
            if self._store.compare_and_set(key, raw, repr(until), ttl_s=seconds):
                logger.info("cooldown %s: %.1fs (provider asked to retry later)", model, seconds)
                return
        raise RuntimeError(f"cooldown for model {model!r}: state kept changing under us")

    def remaining(self, models: Sequence[str]) -> dict[str, float]:
        """Seconds left for each model in cooldown; models not in cooldown are left out."""
        return self.parse_remaining(models, self._store.get_many(self.keys(models)))

    def keys(self, models: Sequence[str]) -> list[str]:
        """The store keys of these models' cooldowns, for a caller batching its reads."""
        return [self._prefix + m for m in models]

    def parse_remaining(
        self, models: Sequence[str], raws: Sequence[str | None]
    ) -> dict[str, float]:
        """Cooldowns from values read at ``keys(models)``."""
        now = self._clock()
        out: dict[str, float] = {}
        for model, raw in zip(models, raws, strict=True):
            until = _parse(raw)
            if until is not None and until > now:
                out[model] = until - now
        return out

    def clear(self, model: str) -> None:
        self._store.delete(self._prefix + model)


def _parse(raw: str | None) -> float | None:
    if raw is None:
        return None
    try:
        return float(raw)
    except ValueError:
        return None

"""In-process StateStore on cachetools: one lock, per-key TTLs, bounded size."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from cachetools import TLRUCache

_FOREVER = float("inf")


def _ttu(_key: str, value: tuple[Any, float], _now: float) -> float:
    return value[1]


class MemoryStore:
    """Shared by every request of one process. Not shared between workers: use Redis for that."""

    def __init__(self, maxsize: int = 100_000, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._data: TLRUCache[str, tuple[Any, float]] = TLRUCache(
            maxsize=maxsize, ttu=_ttu, timer=clock
        )
        self._lock = threading.Lock()

    def _expiry(self, ttl_s: float | None) -> float:
        return _FOREVER if ttl_s is None else self._clock() + ttl_s

    def _entry(self, key: str) -> tuple[Any, float] | None:
        return self._data.get(key)

    def get_numbers(self, keys: Sequence[str]) -> list[float]:
        with self._lock:
            out = []
            for key in keys:
                entry = self._data.get(key)
                out.append(float(entry[0]) if entry is not None else 0.0)
            return out

    def incr(self, key: str, amount: float, ttl_s: float | None = None) -> float:
        with self._lock:
            entry = self._data.get(key)
            if entry is None:
                value, expires = amount, self._expiry(ttl_s)
            else:
                value, expires = float(entry[0]) + amount, entry[1]
            self._data[key] = (value, expires)
            return float(value)

    def reserve(
        self, limits: Sequence[tuple[str, float]], amount: float, ttl_s: float | None = None
    ) -> str | None:
        with self._lock:
            current = []
            for key, limit in limits:
                entry = self._data.get(key)
                value = float(entry[0]) if entry is not None else 0.0
                if value + amount > limit + 1e-12:
                    return key
                current.append((key, value, entry[1] if entry is not None else self._expiry(ttl_s)))
            for key, value, expires in current:
                self._data[key] = (value + amount, expires)
            return None

    def hincr(self, key: str, fields: Mapping[str, float], ttl_s: float | None = None) -> None:
        with self._lock:
            entry = self._data.get(key)
            table: dict[str, float] = dict(entry[0]) if entry is not None else {}
            for name, amount in fields.items():
                table[name] = table.get(name, 0.0) + amount
            self._data[key] = (table, entry[1] if entry is not None else self._expiry(ttl_s))

    def hgetall(self, key: str) -> dict[str, float]:
        with self._lock:
            entry = self._data.get(key)
            return dict(entry[0]) if entry is not None else {}

    def get_many(self, keys: Sequence[str]) -> list[str | None]:
        with self._lock:
            out: list[str | None] = []
            for key in keys:
                entry = self._data.get(key)
                out.append(entry[0] if entry is not None else None)
            return out

    def set(self, key: str, value: str, ttl_s: float | None = None) -> None:
        with self._lock:
            self._data[key] = (value, self._expiry(ttl_s))

    def compare_and_set(
        self, key: str, expected: str | None, new: str, ttl_s: float | None = None
    ) -> bool:
        with self._lock:
            entry = self._data.get(key)
            if (entry[0] if entry is not None else None) != expected:
                return False
            self._data[key] = (new, self._expiry(ttl_s))
            return True

    def delete(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)

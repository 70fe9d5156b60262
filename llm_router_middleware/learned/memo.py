"""PromptMemo: the learned step's cache of scored prompts, exact text -> (difficulty, row).

A repeated prompt costs one dict lookup and a clock read, instead of normalising and hashing
the text, reading a bytes store and decoding an array (~15 µs) before the dot product. Bounded:
at most ``size`` entries, the oldest dropped first, each kept ``ttl`` seconds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

V = TypeVar("V")


class PromptMemo(Generic[V]):
    def __init__(self, size: int, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        if size < 1 or ttl <= 0:
            raise ValueError("a memo needs size >= 1 and ttl > 0")
        self.size = size
        self.ttl = ttl
        self._clock = clock
        self._data: dict[str, tuple[float, V]] = {}
        self._lock = threading.Lock()  # writers only: a read is one atomic dict.get

    def get(self, key: str) -> V | None:
        entry = self._data.get(key)
        if entry is None:
            return None
        if entry[0] <= self._clock():
            with self._lock:
                if self._data.get(key) is entry:
                    del self._data[key]
            return None
        return entry[1]

    def set(self, key: str, value: V) -> None:
        with self._lock:
            data = self._data
            data.pop(key, None)
            data[key] = (self._clock() + self.ttl, value)
            while len(data) > self.size:
                del data[next(iter(data))]  # insertion order: the oldest first

    def __len__(self) -> int:
        return len(self._data)

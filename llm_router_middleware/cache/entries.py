"""Where cached replies live: a size-bounded LRU with a TTL in this process, or the shared
state store (Redis) with a TTL, under ``{key_prefix}:cache:{sha256}``.

An entry is a small JSON record: the config name of the model that answered, when, and the
provider's reply as JSON.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Protocol

from ..state.base import AsyncStateStore, StateStore

logger = logging.getLogger("llm_router_middleware")


@dataclass(frozen=True, slots=True)
class Entry:
    model: str  # config name of the model that answered
    stored_at: float  # epoch seconds
    reply: dict[str, Any]  # the provider's reply as JSON

    def dumps(self) -> str:
        return json.dumps({"m": self.model, "at": self.stored_at, "r": self.reply}, default=str)

    @classmethod
    def loads(cls, raw: str) -> Entry | None:
        try:
            data = json.loads(raw)
            return cls(str(data["m"]), float(data["at"]), dict(data["r"]))
        except (ValueError, KeyError, TypeError):
            return None  # written by another version, or damaged: a miss


class Entries(Protocol):
    def get(self, key: str) -> Entry | None: ...

    def put(self, key: str, entry: Entry) -> None: ...

    async def aget(self, key: str) -> Entry | None: ...

    async def aput(self, key: str, entry: Entry) -> None: ...


class MemoryEntries:
    """At most ``max_entries`` entries, least recently used evicted first, each for ``ttl_s``."""

    def __init__(self, max_entries: int, ttl_s: float) -> None:
        self.max_entries = max_entries
        self.ttl_s = ttl_s
        self._items: OrderedDict[str, tuple[float, Entry]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: str) -> Entry | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            if item[0] <= time.monotonic():
                del self._items[key]
                return None
            self._items.move_to_end(key)
            return item[1]

    def put(self, key: str, entry: Entry) -> None:
        with self._lock:
            self._items[key] = (time.monotonic() + self.ttl_s, entry)
            self._items.move_to_end(key)
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)

    async def aget(self, key: str) -> Entry | None:
        return self.get(key)

    async def aput(self, key: str, entry: Entry) -> None:
        self.put(key, entry)


def _unreachable(exc: Exception) -> None:
    # the cache never fails a call: a read is a miss, a write is skipped (no address logged)
    logger.warning(
        "response cache: the state store failed (%s); treated as a miss", type(exc).__name__
    )


class StoreEntries:
    """Entries in the state store, shared by every worker and replica; Redis expires them.
    A store error never fails the call: the read is a miss, the write is skipped."""

    def __init__(self, store: StateStore, prefix: str, ttl_s: float) -> None:
        self.store = store
        self.astore = store if isinstance(store, AsyncStateStore) else None
        self.prefix = f"{prefix}:cache:"
        self.ttl_s = ttl_s

    def get(self, key: str) -> Entry | None:
        try:
            raw = self.store.get_many([self.prefix + key])[0]
        except Exception as exc:
            _unreachable(exc)
            return None
        return None if raw is None else Entry.loads(raw)

    def put(self, key: str, entry: Entry) -> None:
        try:
            self.store.set(self.prefix + key, entry.dumps(), ttl_s=self.ttl_s)
        except Exception as exc:
            _unreachable(exc)

    async def aget(self, key: str) -> Entry | None:
        if self.astore is None:
            return self.get(key)
        try:
            raw = (await self.astore.aget_many([self.prefix + key]))[0]
        except Exception as exc:
            _unreachable(exc)
            return None
        return None if raw is None else Entry.loads(raw)

    async def aput(self, key: str, entry: Entry) -> None:
        if self.astore is None:
            self.put(key, entry)
            return
        try:
            await self.astore.aset(self.prefix + key, entry.dumps(), ttl_s=self.ttl_s)
        except Exception as exc:
            _unreachable(exc)

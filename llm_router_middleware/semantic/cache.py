"""Query-embedding cache over a tiny bytes store, so a shared (Redis) StateStore can back it."""

from __future__ import annotations

import hashlib
import struct
import threading
import unicodedata
from typing import Protocol, runtime_checkable

import numpy as np
from cachetools import TTLCache

from llm_router_middleware.semantic.encoders import FloatMatrix

_HEADER = struct.Struct("<BI")  # truncated flag, dimension


@runtime_checkable
class BytesCache(Protocol):
    """get/set of opaque bytes by string key; entries may expire or be evicted at any time."""

    def get(self, key: str) -> bytes | None: ...

    def set(self, key: str, value: bytes) -> None: ...


class MemoryBytesCache:
    """In-process LRU with a time-to-live (cachetools.TTLCache), safe across threads."""

    def __init__(self, maxsize: int, ttl: float) -> None:
        self._cache: TTLCache[str, bytes] = TTLCache(maxsize=maxsize, ttl=ttl)
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            return self._cache.get(key)

    def set(self, key: str, value: bytes) -> None:
        with self._lock:
            self._cache[key] = value

    def __len__(self) -> int:
        with self._lock:
            return len(self._cache)


def normalize_text(text: str) -> str:
    """NFC, whitespace runs collapsed to one space, ends stripped."""
    return " ".join(unicodedata.normalize("NFC", text).split())


class QueryEmbeddingCache:
    """Embeddings of query texts keyed by sha256(encoder name, normalised text)."""

    def __init__(self, store: BytesCache, encoder_name: str, namespace: str = "llmr:semq:") -> None:
        self._store = store
        self._prefix = f"{namespace}{encoder_name}:"
        self._encoder = encoder_name.encode()

    def key(self, text: str) -> str:
        digest = hashlib.sha256(self._encoder + b"\0" + normalize_text(text).encode())
        return self._prefix + digest.hexdigest()

    def get(self, text: str) -> tuple[FloatMatrix, bool] | None:
        raw = self._store.get(self.key(text))
        if raw is None or len(raw) < _HEADER.size:
            return None
        flag, dimension = _HEADER.unpack_from(raw)
        if len(raw) != _HEADER.size + 4 * dimension:
            return None
        vector = np.frombuffer(raw, dtype="<f4", offset=_HEADER.size).astype(np.float32)
        return vector, bool(flag)

    def set(self, text: str, vector: FloatMatrix, truncated: bool) -> None:
        flat = np.ascontiguousarray(vector, dtype="<f4").reshape(-1)
        self._store.set(self.key(text), _HEADER.pack(int(truncated), flat.size) + flat.tobytes())

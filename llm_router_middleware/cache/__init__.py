"""The response cache: exact-match (memory or the state store) and semantic (local encoder)."""

from .entries import Entry, MemoryEntries, StoreEntries
from .key import CacheKey, cache_key
from .responses import Probe, ResponseCache
from .semantic import SemanticIndex

__all__ = [
    "CacheKey",
    "Entry",
    "MemoryEntries",
    "Probe",
    "ResponseCache",
    "SemanticIndex",
    "StoreEntries",
    "cache_key",
]

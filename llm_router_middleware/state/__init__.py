from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import StateStore
from .memory import MemoryStore

if TYPE_CHECKING:
    from .redis import RedisStore, RedisUnavailableError

__all__ = ["MemoryStore", "RedisStore", "RedisUnavailableError", "StateStore"]

_REDIS_NAMES = frozenset({"RedisStore", "RedisUnavailableError"})


def __getattr__(name: str) -> Any:
    # The Redis backend imports redis-py, an optional extra: load it only when asked for.
    if name in _REDIS_NAMES:
        try:
            from . import redis as backend
        except ModuleNotFoundError as exc:
            if exc.name != "redis":
                raise
            raise ImportError(
                f"{name} needs redis-py, which is not installed: "
                "pip install 'llm-router-middleware[redis]'"
            ) from exc
        return getattr(backend, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

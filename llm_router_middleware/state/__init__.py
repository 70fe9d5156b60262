from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .base import AsyncStateStore, StateStore
from .memory import MemoryStore

if TYPE_CHECKING:
    from .failover import FailoverStore
    from .redis import RedisStore, RedisUnavailableError

__all__ = [
    "AsyncStateStore",
    "FailoverStore",
    "MemoryStore",
    "RedisStore",
    "RedisUnavailableError",
    "StateStore",
]

# module of each name that needs redis-py
_LAZY = {"RedisStore": "redis", "RedisUnavailableError": "redis", "FailoverStore": "failover"}


def __getattr__(name: str) -> Any:
    # The Redis backend imports redis-py, an optional extra: load it only when asked for.
    module = _LAZY.get(name)
    if module is not None:
        try:
            backend = importlib.import_module(f".{module}", __name__)
        except ModuleNotFoundError as exc:
            if exc.name != "redis":
                raise
            raise ImportError(
                f"{name} needs redis-py, which is not installed: "
                "pip install 'llm-router-middleware[redis]'"
            ) from exc
        return getattr(backend, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

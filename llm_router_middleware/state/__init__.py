from .base import StateStore
from .memory import MemoryStore

__all__ = ["MemoryStore", "StateStore"]

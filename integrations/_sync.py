"""Bridging a context resolver between the sync and async halves of a WSGI/ASGI framework."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable
from typing import Any, TypeVar

T = TypeVar("T")


def in_event_loop() -> bool:
    """True on a thread that is running an asyncio loop (an async view), False in a sync view."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def settle(result: Any) -> Any:
    """In sync code, run an awaitable resolver result to completion with asgiref; in async code
    return it untouched (the handle awaits it)."""
    if not inspect.isawaitable(result) or in_event_loop():
        return result
    from asgiref.sync import async_to_sync

    return async_to_sync(_wait)(result)


async def _wait(awaitable: Awaitable[T]) -> T:
    return await awaitable

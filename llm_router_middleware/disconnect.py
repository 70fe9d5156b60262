"""Knowing when the client went away, so a model call nobody will read is cancelled.

The middleware hands the app a ``receive`` wrapped by ``DisconnectWatcher``. While a call is in
flight, ``acomplete`` races the model against ``watcher.wait()``, which reads the request's
remaining messages itself: request-body messages are kept and replayed, in order, to the app's
own later ``receive()`` calls; ``http.disconnect`` ends the wait. Servers (uvicorn, hypercorn)
deliver ``http.disconnect`` only when the client has really gone, so a live request is never
cut short.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable
from typing import Any, TypeVar

from starlette.types import Message, Receive

from .errors import ClientDisconnectedError

T = TypeVar("T")
_CANCEL_GRACE_S = 5.0


class DisconnectWatcher:
    __slots__ = ("_buffer", "_reading", "disconnected", "receive")

    def __init__(self, receive: Receive) -> None:
        self.receive = receive
        self._buffer: deque[Message] = deque()
        self._reading: asyncio.Future[Message] | None = None
        self.disconnected = False

    async def __call__(self) -> Message:
        """The app's ``receive``: buffered messages first, then the server's."""
        if self._buffer:
            return self._buffer.popleft()
        if self.disconnected:
            return {"type": "http.disconnect"}
        message = await self._next()
        if message["type"] == "http.disconnect":
            self.disconnected = True
        return message

    async def _next(self) -> Message:
        """One read at a time from the server. A read outlives a cancelled waiter (shielded),
        and each message goes to exactly one waiter."""
        while True:
            if self._reading is None:
                self._reading = asyncio.ensure_future(self.receive())
            reading = self._reading
            message = await asyncio.shield(reading)
            if self._reading is reading:
                self._reading = None
                return message
            # another waiter took this message: wait for the next one

    async def wait(self) -> None:
        """Return once the client has disconnected (never, while it is still there)."""
        while not self.disconnected:
            message = await self._next()
            if message["type"] == "http.disconnect":
                self.disconnected = True
            else:
                self._buffer.append(message)


async def unless_disconnected(call: Awaitable[T], watcher: DisconnectWatcher, model: str) -> T:
    """Await ``call``; if the client disconnects first, cancel it and raise."""
    task: asyncio.Future[Any] = asyncio.ensure_future(call)
    watch = asyncio.ensure_future(watcher.wait())
    try:
        await asyncio.wait((task, watch), return_when=asyncio.FIRST_COMPLETED)
    except BaseException:
        task.cancel()
        watch.cancel()
        raise
    if task.done():
        watch.cancel()
        result: T = task.result()
        return result
    task.cancel()
    # let the cancellation run through the provider call (it closes its connection) before
    # answering, so nothing is left half-finished when the server tears the loop down
    await asyncio.wait((task,), timeout=_CANCEL_GRACE_S)
    if task.done() and not task.cancelled():
        task.exception()  # retrieved: the call's own late error is moot now
    raise ClientDisconnectedError(
        f"the client disconnected while model {model!r} was answering; the call was cancelled"
    )

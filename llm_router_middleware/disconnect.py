"""Knowing when the client went away, so a model call nobody will read is cancelled.

The middleware hands the app a ``receive`` wrapped by ``DisconnectWatcher``. While a model call
is in flight (``armed``), the watcher keeps one read of the request's messages pending; a
callback files each message as it arrives: request-body messages are kept and replayed, in
order, to the app's own later ``receive()`` calls, and ``http.disconnect`` cancels the task
waiting for the model. Servers (uvicorn, hypercorn) deliver ``http.disconnect`` only when the
client has really gone, so a live request is never cut short. No extra task races the call:
the cost is one pending read per request.
"""

from __future__ import annotations

import asyncio
import inspect
from collections import deque
from collections.abc import Awaitable
from typing import TypeVar

from starlette.types import Message, Receive

from .errors import ClientDisconnectedError

T = TypeVar("T")


class DisconnectWatcher:
    __slots__ = ("_buffer", "_reading", "_task", "disconnected", "fired", "receive")

    def __init__(self, receive: Receive) -> None:
        self.receive = receive
        self._buffer: deque[Message] = deque()
        self._reading: asyncio.Future[Message] | None = None
        self._task: asyncio.Task[object] | None = None
        self.disconnected = False
        self.fired = False  # the watcher cancelled the call it was guarding

    async def __call__(self) -> Message:
        """The app's ``receive``: messages filed by the watcher first, then the server's."""
        while True:
            if self._buffer:
                return self._buffer.popleft()
            if self.disconnected:
                return {"type": "http.disconnect"}
            reading = self._read()
            await asyncio.shield(reading)  # _filed ran first (registered first): it is filed

    def arm(self) -> bool:
        """Guard the current task's model call; False if the client is already gone."""
        if self.disconnected:
            return False
        self._task = asyncio.current_task()
        self.fired = False
        self._read()
        return True

    def disarm(self) -> None:
        self._task = None

    def _read(self) -> asyncio.Future[Message]:
        if self._reading is None:
            self._reading = asyncio.ensure_future(self.receive())
            self._reading.add_done_callback(self._filed)
        return self._reading

    def _filed(self, reading: asyncio.Future[Message]) -> None:
        self._reading = None
        if reading.cancelled() or reading.exception() is not None:
            return
        message = reading.result()
        if message["type"] == "http.disconnect":
            self.disconnected = True
            if self._task is not None and not self._task.done():
                self.fired = True
                self._task.cancel()
            return
        self._buffer.append(message)
        if self._task is not None:
            self._read()  # still guarding a call: keep listening


async def guarded(work: Awaitable[T], watcher: DisconnectWatcher | None, model: str) -> T:
    """Await ``work`` (a model call); the watcher cancels it if the client disconnects meanwhile."""
    if watcher is None:
        return await work
    if not watcher.arm():
        if inspect.iscoroutine(work):
            work.close()
        raise ClientDisconnectedError(f"the client disconnected before model {model!r} was called")
    try:
        return await work
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if not watcher.fired or task is None:
            raise
        task.uncancel()
        raise ClientDisconnectedError(
            f"the client disconnected while model {model!r} was answering; the call was cancelled"
        ) from None
    finally:
        watcher.disarm()

"""Async views run on a short-lived event loop (Flask's ``async_to_sync``: a new loop per call).

litellm finishes each async call by queueing its success logging on a worker bound to the
running loop, through a task it spawns on that loop. When the loop ends with the view, the queue
is left behind; the next request's loop carries it over ("LoggingWorker: event loop changed;
carried N pending"), and ends before running it too, so N grows by one per request. Letting that
logging finish before the view's loop ends keeps the queue empty.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sys
from collections.abc import Callable, Coroutine
from typing import Any

logger = logging.getLogger("llm_router_middleware")

SETTLE_TIMEOUT_S = 5.0


async def settle_litellm_logging(limit_s: float = SETTLE_TIMEOUT_S) -> None:
    """Run litellm's queued async logging for this loop to completion (bounded by ``limit_s``);
    a no-op when litellm was never imported or its internals are not the ones this knows."""
    if "litellm" not in sys.modules:
        return
    try:
        from litellm.litellm_core_utils.logging_worker import GLOBAL_LOGGING_WORKER
        from litellm.responses.streaming_iterator import drain_logging_tasks
    except ImportError:  # another litellm version: nothing known to settle
        return
    try:
        await drain_logging_tasks(limit_s)  # the tasks that enqueue the logging coroutines
        await asyncio.wait_for(GLOBAL_LOGGING_WORKER.flush(), limit_s)
    except TimeoutError:
        logger.warning("litellm's logging did not finish within %.1f s of the view", limit_s)


def settling(
    async_to_sync: Callable[[Callable[..., Coroutine[Any, Any, Any]]], Callable[..., Any]],
) -> Callable[[Callable[..., Coroutine[Any, Any, Any]]], Callable[..., Any]]:
    """Wrap a framework's ``async_to_sync(view)`` so each async view settles litellm's logging
    on its own loop before that loop ends."""

    def convert(view: Callable[..., Coroutine[Any, Any, Any]]) -> Callable[..., Any]:
        @functools.wraps(view)
        async def run(*args: Any, **kwargs: Any) -> Any:
            try:
                return await view(*args, **kwargs)
            finally:
                await settle_litellm_logging()

        return async_to_sync(run)

    return convert

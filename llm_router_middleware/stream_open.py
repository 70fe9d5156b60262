"""Opening a stream: wait for its first chunk and screen it, and close a stream we stop
reading (screened out, or failed before its first chunk) at once."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from .resilience.replies import ascreen_stream
from .transport import Transport


async def first_chunk(
    transport: Transport, kwargs: dict[str, Any], failures: frozenset[str]
) -> tuple[Any, Any]:
    """Open a stream and wait for its first chunk: (first chunk or None, the chunk iterator);
    an empty stream raises UnusableReplyError."""
    chunks = await transport.astream(kwargs)
    try:
        try:
            first = await chunks.__anext__()
        except StopAsyncIteration:
            return await ascreen_stream(None, _empty(), failures)
        return await ascreen_stream(first, chunks, failures)
    except Exception:
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:  # a screened-out stream: free its connection now
            with contextlib.suppress(Exception):
                await aclose()
        raise


def close_unread(chunks: Any) -> None:
    """Close a stream we stop reading (screened out, or failed before its first chunk).
    Left to the garbage collector, litellm's sync stream closes its response from whichever
    frame collects it: inside httpcore's pool lock on the next request, that deadlocks."""
    close = getattr(chunks, "close", None)
    if close is not None:
        with contextlib.suppress(Exception):
            close()


async def _empty() -> AsyncIterator[Any]:
    return
    yield

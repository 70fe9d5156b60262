"""A routed stream as Server-Sent Events, with no web framework: the framework helpers in
``integrations/`` wrap these byte iterators in their own streaming response.

A helper opens the stream *before* it builds the response: ``stream()`` / ``astream()`` return
only once a model has sent its first chunk, so a failure before it (every model failed, budget,
deadline) is raised in the view and answered as JSON with its status, never as an HTTP 200 with
an empty body. Then each chunk becomes one ``data:`` event (``{"content": "..."}`` by default,
or whatever ``render`` returns), a failure after the first chunk becomes an ``error`` event
(``{"error": {"type", "message", "status"}}``) and a stream that ended well ends with a ``done``
event carrying ``{"routing": {"model", "fallback_count", "cost_usd", ...}}``. When the client
goes away the server closes (or cancels) the iterator: the upstream call is closed and what was
streamed is charged.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import Any

from .errors import RouterError
from .response import RoutingInfo
from .streaming import AsyncRoutedStream, RoutedStream

logger = logging.getLogger("llm_router_middleware")

MEDIA_TYPE = "text/event-stream"
HEADERS: Mapping[str, str] = {"cache-control": "no-cache", "x-accel-buffering": "no"}

Render = Callable[[Any], Mapping[str, Any] | None]
"""Turns one litellm chunk into an event's JSON data, or None to send nothing for it."""


def delta_text(chunk: Any) -> dict[str, Any] | None:
    """The default ``render``: ``{"content": "..."}`` for a chunk that carries text."""
    text = "".join(
        getattr(getattr(choice, "delta", None), "content", None) or ""
        for choice in getattr(chunk, "choices", None) or ()
    )
    return {"content": text} if text else None


def frame(data: Mapping[str, Any], event: str | None = None) -> bytes:
    """One SSE event: an optional ``event:`` line and the JSON data on one ``data:`` line."""
    head = f"event: {event}\n" if event else ""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return f"{head}data: {text}\n\n".encode()


def routing_data(info: RoutingInfo) -> dict[str, Any]:
    """What the ``done`` event tells the client about the decision (no secrets, no addresses)."""
    return {
        "model": info.model,
        "fallback_count": info.fallback_count,
        "cost_usd": info.cost_usd,
        "estimated_cost_usd": info.estimated_cost_usd,
        "strategy": info.strategy,
        "tier": info.tier,
        "request_id": info.request_id,
        "experiment": info.experiment,
        "arm": info.arm,
        "downgraded": info.downgraded,
        "attempts": [
            {"model": a.model, "outcome": a.outcome, "error_type": a.error_type}
            for a in info.attempts
        ],
    }


def error_data(exc: BaseException) -> dict[str, Any]:
    """The ``error`` event's data: a router error as its JSON body plus its status; anything
    else (a bug in ``render``) only as a generic message, the details stay in the server log."""
    if isinstance(exc, RouterError):
        body = exc.to_json()
        body["error"]["status"] = exc.status_code
        return body
    return {"error": {"type": "internal_error", "message": "the stream failed", "status": 500}}


def _failed(exc: Exception) -> bytes:
    if isinstance(exc, RouterError):
        logger.warning("stream ended with an error event: %s", exc.code)
    else:
        logger.exception("stream ended with an error event (%s)", type(exc).__name__)
    return frame(error_data(exc), "error")


def events(stream: RoutedStream, render: Render = delta_text) -> Iterator[bytes]:
    """The SSE body of a sync stream. Closing it (the server does when the client went away)
    closes the upstream call and charges what was streamed."""
    chunks = iter(stream)
    try:
        for chunk in chunks:
            data = render(chunk)
            if data is not None:
                yield frame(data)
    except Exception as exc:
        yield _failed(exc)
        return
    finally:
        chunks.close()  # runs the stream's cleanup: charge what was streamed, close upstream
    yield frame({"routing": routing_data(stream.routing)}, "done")


async def aevents(stream: AsyncRoutedStream, render: Render = delta_text) -> AsyncIterator[bytes]:
    """The SSE body of an async stream: the async twin of ``events`` (cancelling it when the
    client goes away closes the upstream call and charges what was streamed)."""
    chunks = stream.__aiter__()
    try:
        async for chunk in chunks:
            data = render(chunk)
            if data is not None:
                yield frame(data)
    except Exception as exc:
        yield _failed(exc)
        return
    finally:
        await chunks.aclose()
    yield frame({"routing": routing_data(stream.routing)}, "done")

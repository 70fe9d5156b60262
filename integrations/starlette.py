"""Starlette (and FastAPI): a routed stream as a Server-Sent Events response.

async def chat(request: Request) -> StreamingResponse:
    return await sse_response(request.state.llm, messages)
"""

from __future__ import annotations

from typing import Any

from starlette.responses import StreamingResponse

from llm_router_middleware import RequestLLM
from llm_router_middleware.sse import HEADERS, MEDIA_TYPE, Render, aevents, delta_text

__all__ = ["sse_response"]


async def sse_response(
    llm: RequestLLM, messages: Any, *, render: Render = delta_text, **params: Any
) -> StreamingResponse:
    """Open the stream, then answer with its events. Returns once a model has sent its first
    chunk: a failure before it raises the ``RouterError`` (the middleware, or FastAPI's handler
    from ``setup``, answers it as JSON with its status); one after it becomes an ``error`` event;
    the last event, ``done``, carries the routing. When the client goes away Starlette cancels
    the body: the upstream call is closed and what was streamed is charged."""
    stream = await llm.astream(messages, **params)
    return StreamingResponse(aevents(stream, render), media_type=MEDIA_TYPE, headers=HEADERS)

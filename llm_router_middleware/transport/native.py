"""The native transport: OpenAI-compatible chat completions over the pooled clients.

The router's kwargs become the request (``request.py``); the answer becomes a ``Reply`` or an
``UpstreamError`` classified on the spot (``errors.py``); streams are read as server-sent events
(``sse.py``). Async calls use the loop's aiohttp session, sync calls the process's httpx client
(``pools.py``).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import httpx
from yarl import URL

from . import request
from .base import TransportName
from .errors import UpstreamError, error_from_body, timed_out, unreachable
from .pools import POOLS, timeouts
from .reply import Reply
from .request import Endpoint
from .sse import DONE, EventDecoder, parse_chunk


class NativeTransport:
    """Calls one OpenAI-compatible endpoint (``api_base`` + ``/chat/completions``)."""

    name: TransportName = "native"
    __slots__ = ("_target", "endpoint")

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self._target: URL | str = endpoint.url
        with contextlib.suppress(ValueError):  # else aiohttp refuses it per call, as before
            self._target = URL(endpoint.url)  # parsed once: aiohttp takes it as it is

    def _request(self, kwargs: dict[str, Any]) -> tuple[bytes, dict[str, str], float]:
        return (
            request.body(self.endpoint, kwargs),
            request.headers_for(kwargs),
            float(kwargs.get("timeout") or 600.0),
        )

    # --- whole replies ---------------------------------------------------------------------------
    def complete(self, kwargs: dict[str, Any]) -> Reply:
        content, sent, timeout = self._request(kwargs)
        try:
            answer = POOLS.sync().post(
                self.endpoint.url, content=content, headers=sent, timeout=timeout
            )
        except httpx.TimeoutException:
            raise timed_out(timeout) from None
        except httpx.TransportError as exc:
            raise unreachable(exc) from None
        return request.parse_reply(answer.status_code, answer.headers, answer.content)

    async def acomplete(self, kwargs: dict[str, Any]) -> Reply:
        content, sent, timeout = self._request(kwargs)
        session = await POOLS.session()
        try:
            async with session.post(
                self._target, data=content, headers=sent, timeout=timeouts(timeout, False)
            ) as answer:
                raw = await answer.read()
        except TimeoutError:
            raise timed_out(timeout) from None
        except aiohttp.ClientError as exc:
            raise unreachable(exc) from None
        return request.parse_reply(answer.status, answer.headers, raw)

    # --- streams ---------------------------------------------------------------------------------
    def stream(self, kwargs: dict[str, Any]) -> Iterator[Reply]:
        content, sent, timeout = self._request(kwargs)
        client = POOLS.sync()
        try:
            answer = client.send(
                client.build_request(
                    "POST", self.endpoint.url, content=content, headers=sent, timeout=timeout
                ),
                stream=True,
            )
            if answer.status_code >= 400:
                try:
                    raw = answer.read()
                finally:
                    answer.close()
                raise _error(answer.status_code, answer.headers, raw)
        except httpx.TimeoutException:
            raise timed_out(timeout) from None
        except httpx.TransportError as exc:
            raise unreachable(exc) from None
        return _events(answer, timeout)

    async def astream(self, kwargs: dict[str, Any]) -> AsyncIterator[Reply]:
        content, sent, timeout = self._request(kwargs)
        session = await POOLS.session()
        try:
            answer = await session.post(
                self._target, data=content, headers=sent, timeout=timeouts(timeout, True)
            )
            if answer.status >= 400:
                try:
                    raw = await answer.read()
                finally:
                    answer.release()
                raise _error(answer.status, answer.headers, raw)
        except TimeoutError:
            raise timed_out(timeout) from None
        except aiohttp.ClientError as exc:
            raise unreachable(exc) from None
        return _aevents(answer, timeout)


def _error(status: int, headers: Any, raw: bytes) -> UpstreamError:
    try:
        payload: Any = json.loads(raw)
    except ValueError:
        payload = None
    return error_from_body(status, headers, payload, raw)


def _events(answer: httpx.Response, timeout: float) -> Iterator[Reply]:
    decoder = EventDecoder()
    try:
        for data in answer.iter_bytes():
            for event in decoder.feed(data):
                if event == DONE:
                    return
                yield parse_chunk(event)
        for event in decoder.close():
            if event == DONE:
                return
            yield parse_chunk(event)
    except httpx.TimeoutException:
        raise timed_out(timeout) from None
    except httpx.TransportError as exc:
        raise unreachable(exc) from None
    finally:
        answer.close()


async def _aevents(answer: aiohttp.ClientResponse, limit_s: float) -> AsyncIterator[Reply]:
    decoder = EventDecoder()
    try:
        async for data in answer.content.iter_any():
            for event in decoder.feed(data):
                if event == DONE:
                    return
                yield parse_chunk(event)
        for event in decoder.close():
            if event == DONE:
                return
            yield parse_chunk(event)
    except TimeoutError:
        raise timed_out(limit_s) from None
    except aiohttp.ClientError as exc:
        # aiohttp raises a break before handing over what arrived with it: deliver that first
        for event in decoder.feed(_buffered(answer.content)):
            if event == DONE:
                return
            yield parse_chunk(event)
        raise unreachable(exc) from None
    finally:
        answer.release()


def _buffered(content: aiohttp.StreamReader) -> bytes:
    """What the reader holds unread after a break (``read_nowait`` would raise the break
    instead; the private ``_read_nowait`` does not). b"" where a future aiohttp lacks it."""
    read = getattr(content, "_read_nowait", None)
    if read is None:
        return b""
    try:
        data = read(-1)
    except Exception:  # a timed-out reader, or one already released: nothing to hand over
        return b""
    return data if isinstance(data, bytes) else b""

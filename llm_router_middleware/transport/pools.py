"""The pooled HTTP clients of the native transport: one per process and event loop.

Async calls go through one ``aiohttp.ClientSession`` per running event loop; sync calls through
one ``httpx.Client`` per process (re-made in a forked worker). Both keep connections alive
across calls, and neither keeps cookies: what a provider sets is never sent back. aiohttp was
chosen for the async side by measurement (``benchmarks/transport.py``: on these machines an
``httpx.AsyncClient`` or ``httpcore`` pool used 2-3x the CPU per call and served several times
fewer requests/s at 64 concurrent calls); aiohttp has no sync client, httpx's serves there.

A session is closed when its loop shuts down (``asyncio.run`` and uvicorn finalise async
generators on the way out, and a parked generator per loop closes its session then), so tests
that open and close many loops leave no session behind.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import AsyncGenerator
from http.cookiejar import CookieJar, DefaultCookiePolicy

import aiohttp
import httpx

MAX_CONNECTIONS = 1024  # per client: a busy worker's concurrent calls, all providers together


class _Session:
    __slots__ = ("keeper", "session")

    def __init__(self, session: aiohttp.ClientSession, keeper: AsyncGenerator[None, None]) -> None:
        self.session = session
        self.keeper = keeper


class Pools:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sync: httpx.Client | None = None
        self._pid = 0
        self._sessions: dict[asyncio.AbstractEventLoop, _Session] = {}
        self._last: tuple[asyncio.AbstractEventLoop, aiohttp.ClientSession] | None = None

    def sync(self) -> httpx.Client:
        client = self._sync
        if client is None or self._pid != os.getpid():  # first use, or a forked worker
            with self._lock:
                if self._sync is None or self._pid != os.getpid():
                    limits = httpx.Limits(
                        max_connections=MAX_CONNECTIONS, max_keepalive_connections=128
                    )
                    self._sync = httpx.Client(limits=limits, trust_env=False, cookies=_no_cookies())
                    self._pid = os.getpid()
                client = self._sync
        return client

    async def session(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        last = self._last
        if last is not None and last[0] is loop:
            return last[1]
        found = self._sessions.get(loop)
        if found is None or found.session.closed:
            found = await self._open(loop)
        self._last = (loop, found.session)
        return found.session

    async def _open(self, loop: asyncio.AbstractEventLoop) -> _Session:
        connector = aiohttp.TCPConnector(limit=MAX_CONNECTIONS, ttl_dns_cache=300)
        # No cookie jar: a provider's cookies are not sent back (as a fresh OpenAI SDK client
        # would not), and each call skips filtering a jar on the way out and filling it on the
        # way back.
        session = aiohttp.ClientSession(
            connector=connector, trust_env=False, cookie_jar=aiohttp.DummyCookieJar()
        )
        keeper = self._keep(loop, session)
        await keeper.__anext__()  # parked: the loop closes it (and the session) at shutdown
        found = self._sessions[loop] = _Session(session, keeper)
        return found

    async def _keep(
        self, loop: asyncio.AbstractEventLoop, session: aiohttp.ClientSession
    ) -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            self._sessions.pop(loop, None)
            if self._last is not None and self._last[0] is loop:
                self._last = None
            await session.close()

    def open_sessions(self) -> int:
        return sum(1 for s in self._sessions.values() if not s.session.closed)


def _no_cookies() -> CookieJar:
    """A jar that keeps nothing (aiohttp's ``DummyCookieJar`` for the sync client)."""
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


POOLS = Pools()


_TIMEOUTS: dict[tuple[float, bool], aiohttp.ClientTimeout] = {}


def timeouts(total: float, streaming: bool) -> aiohttp.ClientTimeout:
    """aiohttp timeouts for one call: the whole answer, or for a stream each read."""
    found = _TIMEOUTS.get((total, streaming))
    if found is None:
        if streaming:
            found = aiohttp.ClientTimeout(total=None, connect=total, sock_read=total)
        else:
            found = aiohttp.ClientTimeout(total=total)
        if len(_TIMEOUTS) < 64:  # per-model timeouts repeat; deadline remainders do not
            _TIMEOUTS[(total, streaming)] = found
    return found

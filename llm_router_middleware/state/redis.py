"""StateStore on Redis, so every worker and host shares budgets, breakers, cooldowns and results.

Each protocol method is one round trip. Read-modify-write operations are Lua scripts, which
Redis runs atomically; they are registered once and called by SHA (EVALSHA, reloaded by
redis-py if the server lost its script cache):

- ``incr``: INCRBYFLOAT, then PEXPIRE only if the key did not exist before.
- ``reserve``: checks every limit first, returns the first key that would go over (changing
  nothing), else INCRBYFLOATs every key, giving new keys the TTL.
- ``hincr``: HINCRBYFLOAT per field, PEXPIRE only if the hash is new.
- ``compare_and_set``: GET, compare (absent = None), SET with PX or without a TTL.
- ``tally``: one outcome into a breaker's bucketed window (a hash), old buckets pruned, the
  failure streak extended or reset, the sums and the breaker record returned.

``incr``, ``reserve`` and ``hincr`` take an optional write token (``op``, state/oplog.py): the
script applies a write once per token and records it in the worker's ring in the same step.

A script gives "TTL only when the key is new" exactly, as MemoryStore does, on any Redis >= 2.6
(EXPIRE NX needs Redis 7 and sets a TTL on an existing key that has none).

Every operation has an asyncio twin (``aget_numbers``, ``areserve``, ...) over redis-py's
asyncio client, for the router's async paths: the sync client (a thread-safe connection pool)
serves sync code, one asyncio client per event loop serves async code, and neither blocks the
other's callers.

The scripts touch several keys, so on Redis Cluster they need the keys in one hash slot
(e.g. a ``key_prefix`` of ``{llmr}``).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import redis
import redis.asyncio
from redis.backoff import NoBackoff
from redis.commands.core import AsyncScript, Script
from redis.retry import Retry

from ..errors import RedisUnavailableError as RedisUnavailableError
from ..resilience.redact import redact
from .oplog import OpToken
from .redis_args import hincr_args, ms, reserve_args, tally_args, tally_reply, text, with_token
from .redis_connection import async_kwargs, client_secrets, describe, redact_url, url_secrets
from .redis_scripts import COMPARE_AND_SET, HINCR, INCR, RESERVE, TALLY


class RedisStore:
    """Shared by every worker that points at the same Redis. Thread-safe."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        url: str | None = None,
        async_options: Mapping[str, Any] | None = None,
    ) -> None:
        self._client = client
        self._url = redact_url(url) if url is not None else describe(client)
        self._secrets = client_secrets(client)
        self._incr: Script = client.register_script(INCR)
        self._reserve: Script = client.register_script(RESERVE)
        self._hincr: Script = client.register_script(HINCR)
        self._cas: Script = client.register_script(COMPARE_AND_SET)
        self._tally: Script = client.register_script(TALLY)
        # asyncio clients are bound to the loop that made their connections: one per loop
        self._async_kwargs = dict(async_options or async_kwargs(client))
        self._async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _AsyncSide] = (
            weakref.WeakKeyDictionary()
        )

    @classmethod
    def from_url(cls, url: str, **options: Any) -> RedisStore:
        """A store over ``redis.Redis.from_url(url, **options)``; 2 s socket timeouts unless
        ``options`` say otherwise, so a stalled Redis fails a request instead of hanging it."""
        options.setdefault("socket_timeout", 2.0)
        options.setdefault("socket_connect_timeout", 2.0)
        # one immediate retry (a pooled connection the server closed), no backoff: a lost
        # Redis must fail fast so the router can degrade (redis-py's default waits seconds)
        options.setdefault("retry", Retry(NoBackoff(), 1))
        try:
            client = redis.Redis.from_url(url, **options)
        except ValueError as exc:  # the message may quote the URL: keep its password out
            secrets = url_secrets(url)
            problem = redact(str(exc), secrets)
            raise ValueError(f"invalid Redis URL {redact_url(url)}: {problem}") from None
        async_options = dict(async_kwargs(client))
        return cls(client, url=url, async_options=async_options)

    @property
    def url(self) -> str:
        """Where this store points, with any password replaced by ``***``."""
        return self._url

    def ping(self) -> None:
        """Raise RedisUnavailableError unless Redis answers."""
        with self._guard():
            self._client.ping()

    async def aping(self) -> None:
        async with self._aguard():
            await self._side().client.ping()

    def close(self) -> None:
        self._client.close()
        self._async.clear()  # their connections close when collected

    async def aclose(self) -> None:
        """Close this loop's asyncio client (and the sync one)."""
        side = self._async.pop(asyncio.get_running_loop(), None)
        if side is not None:
            await side.client.aclose()
        self._client.close()

    def __enter__(self) -> RedisStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- StateStore ----------------------------------------------------------------------

    def get_numbers(self, keys: Sequence[str]) -> list[float]:
        if not keys:
            return []
        with self._guard():
            values = self._client.mget(keys)
        return [0.0 if v is None else float(v) for v in values]

    def incr(
        self, key: str, amount: float, ttl_s: float | None = None, op: OpToken | None = None
    ) -> float:
        keys, args = with_token([key], [repr(float(amount)), ms(ttl_s)], op)
        with self._guard():
            value = self._incr(keys=keys, args=args)
        return float(value)

    def reserve(
        self,
        limits: Sequence[tuple[str, float]],
        amount: float,
        ttl_s: float | None = None,
        op: OpToken | None = None,
    ) -> str | None:
        if not limits:
            return None
        keys, args = reserve_args(limits, amount, ttl_s, op)
        with self._guard():
            refused = self._reserve(keys=keys, args=args)
        return None if refused is None else text(refused)

    def hincr(
        self,
        key: str,
        fields: Mapping[str, float],
        ttl_s: float | None = None,
        op: OpToken | None = None,
    ) -> None:
        if not fields:
            return
        keys, args = hincr_args(key, fields, ttl_s, op)
        with self._guard():
            self._hincr(keys=keys, args=args)

    def hgetall(self, key: str) -> dict[str, float]:
        with self._guard():
            table = self._client.hgetall(key)
        return {text(name): float(value) for name, value in table.items()}

    def get_many(self, keys: Sequence[str]) -> list[str | None]:
        if not keys:
            return []
        with self._guard():
            values = self._client.mget(keys)
        return [None if v is None else text(v) for v in values]

    def set(self, key: str, value: str, ttl_s: float | None = None) -> None:
        with self._guard():
            if ttl_s is None:
                self._client.set(key, value)
            else:
                self._client.set(key, value, px=int(ms(ttl_s)))

    def compare_and_set(
        self, key: str, expected: str | None, new: str, ttl_s: float | None = None
    ) -> bool:
        args = ["0", ""] if expected is None else ["1", expected]
        with self._guard():
            done = self._cas(keys=[key], args=[*args, new, ms(ttl_s)])
        return bool(int(done))

    def delete(self, key: str) -> None:
        with self._guard():
            self._client.delete(key)

    def tally(
        self,
        key: str,
        bucket: int,
        keep_from: int,
        failed: bool,
        ttl_s: float,
        peek: str | None = None,
    ) -> tuple[int, int, int, str | None]:
        keys, args = tally_args(key, bucket, keep_from, failed, ttl_s, peek)
        with self._guard():
            return tally_reply(self._tally(keys=keys, args=args))

    # --- the asyncio twins ----------------------------------------------------------------

    async def aget_numbers(self, keys: Sequence[str]) -> list[float]:
        if not keys:
            return []
        async with self._aguard():
            values = await self._side().client.mget(keys)
        return [0.0 if v is None else float(v) for v in values]

    async def aincr(
        self, key: str, amount: float, ttl_s: float | None = None, op: OpToken | None = None
    ) -> float:
        keys, args = with_token([key], [repr(float(amount)), ms(ttl_s)], op)
        async with self._aguard():
            value = await self._side().incr(keys=keys, args=args)
        return float(value)

    async def areserve(
        self,
        limits: Sequence[tuple[str, float]],
        amount: float,
        ttl_s: float | None = None,
        op: OpToken | None = None,
    ) -> str | None:
        if not limits:
            return None
        keys, args = reserve_args(limits, amount, ttl_s, op)
        async with self._aguard():
            refused = await self._side().reserve(keys=keys, args=args)
        return None if refused is None else text(refused)

    async def ahincr(
        self,
        key: str,
        fields: Mapping[str, float],
        ttl_s: float | None = None,
        op: OpToken | None = None,
    ) -> None:
        if not fields:
            return
        keys, args = hincr_args(key, fields, ttl_s, op)
        async with self._aguard():
            await self._side().hincr(keys=keys, args=args)

    async def ahgetall(self, key: str) -> dict[str, float]:
        async with self._aguard():
            table = await self._side().client.hgetall(key)
        return {text(name): float(value) for name, value in table.items()}

    async def aget_many(self, keys: Sequence[str]) -> list[str | None]:
        if not keys:
            return []
        async with self._aguard():
            values = await self._side().client.mget(keys)
        return [None if v is None else text(v) for v in values]

    async def aset(self, key: str, value: str, ttl_s: float | None = None) -> None:
        async with self._aguard():
            client = self._side().client
            if ttl_s is None:
                await client.set(key, value)
            else:
                await client.set(key, value, px=int(ms(ttl_s)))

    async def acompare_and_set(
        self, key: str, expected: str | None, new: str, ttl_s: float | None = None
    ) -> bool:
        args = ["0", ""] if expected is None else ["1", expected]
        async with self._aguard():
            done = await self._side().cas(keys=[key], args=[*args, new, ms(ttl_s)])
        return bool(int(done))

    async def adelete(self, key: str) -> None:
        async with self._aguard():
            await self._side().client.delete(key)

    async def atally(
        self,
        key: str,
        bucket: int,
        keep_from: int,
        failed: bool,
        ttl_s: float,
        peek: str | None = None,
    ) -> tuple[int, int, int, str | None]:
        keys, args = tally_args(key, bucket, keep_from, failed, ttl_s, peek)
        async with self._aguard():
            return tally_reply(await self._side().tally(keys=keys, args=args))

    # --- internals -----------------------------------------------------------------------

    def _side(self) -> _AsyncSide:
        loop = asyncio.get_running_loop()
        side = self._async.get(loop)
        if side is None:
            side = self._async[loop] = _AsyncSide(redis.asyncio.Redis(**self._async_kwargs))
        return side

    @contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise RedisUnavailableError(self._url, redact(str(exc), self._secrets)) from exc

    def _aguard(self) -> _AsyncGuard:
        return _AsyncGuard(self)


class _AsyncGuard:
    """``async with``: a lost connection (or a timeout) becomes RedisUnavailableError."""

    __slots__ = ("store",)

    def __init__(self, store: RedisStore) -> None:
        self.store = store

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, kind: type[BaseException] | None, exc: Any, tb: Any) -> None:
        if exc is not None and isinstance(exc, redis.ConnectionError | redis.TimeoutError):
            store = self.store
            detail = redact(str(exc), store._secrets)
            raise RedisUnavailableError(store._url, detail) from exc


class _AsyncSide:
    """One event loop's asyncio client and its registered scripts."""

    __slots__ = ("cas", "client", "hincr", "incr", "reserve", "tally")

    def __init__(self, client: redis.asyncio.Redis) -> None:
        self.client = client
        self.incr: AsyncScript = client.register_script(INCR)
        self.reserve: AsyncScript = client.register_script(RESERVE)
        self.hincr: AsyncScript = client.register_script(HINCR)
        self.cas: AsyncScript = client.register_script(COMPARE_AND_SET)
        self.tally: AsyncScript = client.register_script(TALLY)

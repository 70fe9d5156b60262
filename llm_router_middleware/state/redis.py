"""StateStore on Redis, so every worker and host shares budgets, breakers, cooldowns and results.

Each protocol method is one round trip. Read-modify-write operations are Lua scripts, which
Redis runs atomically; they are registered once and called by SHA (EVALSHA, reloaded by
redis-py if the server lost its script cache):

- ``incr``: INCRBYFLOAT, then PEXPIRE only if the key did not exist before.
- ``reserve``: checks every limit first, returns the first key that would go over (changing
  nothing), else INCRBYFLOATs every key, giving new keys the TTL.
- ``hincr``: HINCRBYFLOAT per field, PEXPIRE only if the hash is new.
- ``compare_and_set``: GET, compare (absent = None), SET with PX or without a TTL.

A script gives "TTL only when the key is new" exactly, as MemoryStore does, on any Redis >= 2.6
(EXPIRE NX needs Redis 7 and sets a TTL on an existing key that has none).

The store is synchronous: a redis-py client over a thread-safe connection pool. The router
calls it from sync and async code alike; a round trip to Redis on loopback or a LAN is 50-100 us,
less than an event loop's task switch costs in practice. An asyncio twin can come later.

The scripts touch several keys, so on Redis Cluster they need the keys in one hash slot
(e.g. a ``key_prefix`` of ``{llmr}``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import unquote, urlsplit

import redis
from redis.commands.core import Script

from ..errors import RedisUnavailableError as RedisUnavailableError
from ..resilience.redact import redact

_INCR = """
local existed = redis.call('EXISTS', KEYS[1])
local value = redis.call('INCRBYFLOAT', KEYS[1], ARGV[1])
if existed == 0 and ARGV[2] ~= '0' then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return value
"""

# KEYS: the keys; ARGV[1]: amount; ARGV[2]: TTL in ms ('0' = none); ARGV[2 + i]: limit of
# KEYS[i] ('inf' = unlimited). Returns the first refusing key, or nil after adding to all.
_RESERVE = """
local amount = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  local limit = ARGV[i + 2]
  if limit ~= 'inf' then
    local current = tonumber(redis.call('GET', key) or '0')
    if current + amount > tonumber(limit) + 1e-12 then
      return key
    end
  end
end
for _, key in ipairs(KEYS) do
  local existed = redis.call('EXISTS', key)
  redis.call('INCRBYFLOAT', key, ARGV[1])
  if existed == 0 and ARGV[2] ~= '0' then
    redis.call('PEXPIRE', key, ARGV[2])
  end
end
return false
"""

# ARGV[1]: TTL in ms ('0' = none); ARGV[2], ARGV[3], ...: field, amount pairs.
_HINCR = """
local existed = redis.call('EXISTS', KEYS[1])
for i = 2, #ARGV, 2 do
  redis.call('HINCRBYFLOAT', KEYS[1], ARGV[i], ARGV[i + 1])
end
if existed == 0 and ARGV[1] ~= '0' then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return 1
"""

# ARGV[1]: '1' if a value is expected, '0' if the key must be absent; ARGV[2]: expected value;
# ARGV[3]: new value; ARGV[4]: TTL in ms ('0' = none). Returns 1 when set, 0 otherwise.
_COMPARE_AND_SET = """
local current = redis.call('GET', KEYS[1])
if ARGV[1] == '1' then
  if current ~= ARGV[2] then
    return 0
  end
elseif current then
  return 0
end
if ARGV[4] == '0' then
  redis.call('SET', KEYS[1], ARGV[3])
else
  redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
end
return 1
"""


class RedisStore:
    """Shared by every worker that points at the same Redis. Thread-safe."""

    def __init__(self, client: redis.Redis, *, url: str | None = None) -> None:
        self._client = client
        self._url = redact_url(url) if url is not None else _describe(client)
        self._secrets = _secrets(client)
        self._incr: Script = client.register_script(_INCR)
        self._reserve: Script = client.register_script(_RESERVE)
        self._hincr: Script = client.register_script(_HINCR)
        self._cas: Script = client.register_script(_COMPARE_AND_SET)

    @classmethod
    def from_url(cls, url: str, **options: Any) -> RedisStore:
        """A store over ``redis.Redis.from_url(url, **options)``; 2 s socket timeouts unless
        ``options`` say otherwise, so a stalled Redis fails a request instead of hanging it."""
        options.setdefault("socket_timeout", 2.0)
        options.setdefault("socket_connect_timeout", 2.0)
        try:
            client = redis.Redis.from_url(url, **options)
        except ValueError as exc:  # the message may quote the URL: keep its password out
            secrets = _url_secrets(url)
            problem = redact(str(exc), secrets)
            raise ValueError(f"invalid Redis URL {redact_url(url)}: {problem}") from None
        return cls(client, url=url)

    @property
    def url(self) -> str:
        """Where this store points, with any password replaced by ``***``."""
        return self._url

    def ping(self) -> None:
        """Raise RedisUnavailableError unless Redis answers."""
        with self._guard():
            self._client.ping()

    def close(self) -> None:
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

    def incr(self, key: str, amount: float, ttl_s: float | None = None) -> float:
        with self._guard():
            value = self._incr(keys=[key], args=[repr(float(amount)), _ms(ttl_s)])
        return float(value)

    def reserve(
        self, limits: Sequence[tuple[str, float]], amount: float, ttl_s: float | None = None
    ) -> str | None:
        if not limits:
            return None
        keys = [key for key, _ in limits]
        args = [repr(float(amount)), _ms(ttl_s), *(_limit(limit) for _, limit in limits)]
        with self._guard():
            refused = self._reserve(keys=keys, args=args)
        return None if refused is None else _text(refused)

    def hincr(self, key: str, fields: Mapping[str, float], ttl_s: float | None = None) -> None:
        if not fields:
            return
        args = [_ms(ttl_s)]
        for name, amount in fields.items():
            args += (name, repr(float(amount)))
        with self._guard():
            self._hincr(keys=[key], args=args)

    def hgetall(self, key: str) -> dict[str, float]:
        with self._guard():
            table = self._client.hgetall(key)
        return {_text(name): float(value) for name, value in table.items()}

    def get_many(self, keys: Sequence[str]) -> list[str | None]:
        if not keys:
            return []
        with self._guard():
            values = self._client.mget(keys)
        return [None if v is None else _text(v) for v in values]

    def set(self, key: str, value: str, ttl_s: float | None = None) -> None:
        with self._guard():
            if ttl_s is None:
                self._client.set(key, value)
            else:
                self._client.set(key, value, px=int(_ms(ttl_s)))

    def compare_and_set(
        self, key: str, expected: str | None, new: str, ttl_s: float | None = None
    ) -> bool:
        args = ["0", ""] if expected is None else ["1", expected]
        with self._guard():
            done = self._cas(keys=[key], args=[*args, new, _ms(ttl_s)])
        return bool(int(done))

    def delete(self, key: str) -> None:
        with self._guard():
            self._client.delete(key)

    # --- internals -----------------------------------------------------------------------

    @contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise RedisUnavailableError(self._url, redact(str(exc), self._secrets)) from exc


def redact_url(url: str) -> str:
    """``redis://user:secret@host:6379/0`` -> ``redis://user:***@host:6379/0``; a password in
    the query (``?password=...``) is masked too."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact(url)
    shown = url
    if "@" in parts.netloc:
        userinfo, _, host = parts.netloc.rpartition("@")
        user, colon, _password = userinfo.partition(":")
        masked = f"{user}:***@{host}" if colon else parts.netloc
        shown = shown.replace(f"//{parts.netloc}", f"//{masked}", 1)
    if parts.query:
        query = "&".join(
            f"{name}=***" if name.lower() == "password" else f"{name}{eq}{value}"
            for name, eq, value in (p.partition("=") for p in parts.query.split("&"))
        )
        shown = shown.replace(f"?{parts.query}", f"?{query}", 1)
    return shown


def _url_secrets(url: str) -> tuple[str, ...]:
    try:
        parts = urlsplit(url)
        found = [parts.password or ""]
    except ValueError:
        return ()
    found += (
        v for n, _, v in (p.partition("=") for p in parts.query.split("&")) if n == "password"
    )
    return tuple(unquote(s) for s in found if s) + tuple(s for s in found if s)


def _describe(client: redis.Redis) -> str:
    kwargs = client.connection_pool.connection_kwargs
    if "path" in kwargs:
        return f"unix://{kwargs['path']}"
    return f"redis://{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}"


def _secrets(client: redis.Redis) -> tuple[str, ...]:
    password = client.connection_pool.connection_kwargs.get("password")
    return (password,) if isinstance(password, str) and password else ()


def _ms(ttl_s: float | None) -> str:
    """A TTL in whole milliseconds for PX/PEXPIRE; '0' means no TTL, so at least 1 ms."""
    if ttl_s is None:
        return "0"
    return str(max(1, round(ttl_s * 1000)))


def _limit(limit: float) -> str:
    return "inf" if limit == math.inf else repr(float(limit))


def _text(value: bytes | str | int | float) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)

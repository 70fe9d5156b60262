"""Where a RedisStore connects, told safely: URLs with the password masked, the secrets to
redact from driver errors, and the asyncio client's arguments derived from a sync client."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

import redis
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff

from ..resilience.redact import redact


def async_kwargs(client: redis.Redis) -> dict[str, Any]:
    """Arguments for a ``redis.asyncio.Redis`` reaching the same server as ``client``."""
    pool = client.connection_pool
    kwargs = dict(pool.connection_kwargs)
    if "path" in kwargs:
        kwargs["unix_socket_path"] = kwargs.pop("path")
    elif issubclass(pool.connection_class, redis.SSLConnection):
        kwargs["ssl"] = True
    chosen = {k: v for k, v in kwargs.items() if k in _ASYNC_ARGUMENTS}
    chosen["retry"] = AsyncRetry(NoBackoff(), 1)  # fail fast, as the sync client does
    return chosen


_ASYNC_ARGUMENTS = frozenset(
    {
        "host",
        "port",
        "db",
        "password",
        "username",
        "socket_timeout",
        "socket_connect_timeout",
        "socket_keepalive",
        "socket_keepalive_options",
        "unix_socket_path",
        "encoding",
        "encoding_errors",
        "decode_responses",
        "retry_on_timeout",
        "ssl",
        "ssl_keyfile",
        "ssl_certfile",
        "ssl_cert_reqs",
        "ssl_ca_certs",
        "ssl_ca_data",
        "ssl_check_hostname",
        "client_name",
        "lib_name",
        "lib_version",
        "health_check_interval",
        "protocol",
        "credential_provider",
    }
)


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


def url_secrets(url: str) -> tuple[str, ...]:
    try:
        parts = urlsplit(url)
        found = [parts.password or ""]
    except ValueError:
        return ()
    found += (
        v for n, _, v in (p.partition("=") for p in parts.query.split("&")) if n == "password"
    )
    return tuple(unquote(s) for s in found if s) + tuple(s for s in found if s)


def describe(client: redis.Redis) -> str:
    kwargs = client.connection_pool.connection_kwargs
    if "path" in kwargs:
        return f"unix://{kwargs['path']}"
    return f"redis://{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}"


def client_secrets(client: redis.Redis) -> tuple[str, ...]:
    password = client.connection_pool.connection_kwargs.get("password")
    return (password,) if isinstance(password, str) and password else ()

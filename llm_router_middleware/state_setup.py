"""The state store a config asks for: in memory, or Redis behind the failover wrapper."""

from __future__ import annotations

from .config import RouterConfig
from .state import MemoryStore, StateStore


def default_store(config: RouterConfig) -> StateStore:
    if config.state.backend != "redis":
        return MemoryStore()
    from .errors import ConfigError
    from .state import RedisStore, RedisUnavailableError
    from .state.failover import FailoverStore

    url = config.state.redis_url
    if url is None:
        raise ConfigError("state.redis_url", "is required when state.backend = 'redis'")
    # Keys are prefixed with state.key_prefix by each component, not by the store.
    try:
        store = RedisStore.from_url(url)
    except ValueError as exc:  # a malformed URL or query option; the message is redacted
        raise ConfigError("state.redis_url", str(exc)) from None
    try:
        store.ping()  # fail at start-up, not on the first request
    except RedisUnavailableError as exc:
        store.close()
        raise ConfigError(
            "state.redis_url",
            f"cannot reach Redis at {store.url} ({exc.detail}); start Redis or fix the "
            "URL, or set state.backend = 'memory' to keep state in this process only",
        ) from None
    return FailoverStore(
        store, on_unavailable=config.state.on_unavailable, key_prefix=config.state.key_prefix
    )

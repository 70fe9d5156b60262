"""The ``[breaker]``, ``[state]`` and ``[cache]`` sections: how the router runs."""

from __future__ import annotations

from ..errors import ConfigError
from .collect import report
from .reader import Table
from .schema import BreakerSpec, CacheSpec, StateSpec


def read_breaker(root: Table) -> BreakerSpec:
    t = root.table("breaker") or Table({}, "breaker")
    spec = BreakerSpec(
        consecutive_failures=t.integer("consecutive_failures", 5, minimum=1),
        failure_rate=t.number("failure_rate", 0.5, minimum=0, maximum=1),
        window_s=t.number("window_s", 60.0, positive=True),
        min_requests=t.integer("min_requests", 10, minimum=1),
        cooldown_s=t.number("cooldown_s", 30.0, positive=True),
        half_open_probes=t.integer("half_open_probes", 1, minimum=1),
    )
    t.done()
    return spec


def read_state(root: Table) -> StateSpec:
    t = root.table("state") or Table({}, "state")
    backend = t.choice("backend", ("memory", "redis"), "memory")
    url = t.string("redis_url", None)
    if backend == "redis" and url is None:
        report(ConfigError(t.path("redis_url"), "is required when state.backend = 'redis'"))
    spec = StateSpec(
        backend=backend,
        redis_url=url,
        key_prefix=t.string("key_prefix", "llmr"),
        on_unavailable=t.choice("on_unavailable", ("local", "refuse"), "local"),
    )
    t.done()
    return spec


def read_cache(root: Table) -> CacheSpec:
    t = root.table("cache") or Table({}, "cache")
    spec = CacheSpec(
        backend=t.choice("backend", ("memory", "state"), "memory"),
        ttl_s=t.number("ttl_s", 300.0, positive=True),
        max_entries=t.integer("max_entries", 1024, minimum=1),
        semantic_threshold=t.number("semantic_threshold", None, minimum=0, maximum=1),
    )
    t.done()
    return spec

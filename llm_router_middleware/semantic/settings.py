"""The `[routing.semantic]` configuration: routes and encoder settings, parsed from a mapping."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from llm_router_middleware.errors import ConfigError

EncoderKind = Literal["local", "litellm"]
Aggregation = Literal["max", "mean"]

#: `threshold = "auto"` (the default): chosen at startup from the route examples and the shipped
#: background prompts (auto_threshold.py); a number fixes it.
AUTO = "auto"
DEFAULT_QUERY_CACHE_SIZE = 4096
DEFAULT_QUERY_CACHE_TTL_S = 3600.0
TIER_DEFAULT_KEY = "default"

_SETTINGS_KEYS = frozenset(
    {
        "encoder",
        "model",
        "api_base",
        "api_key_env",
        "max_tokens",
        "threads",
        "threshold",
        "default_route",
        "fallthrough",
        "aggregation",
        "cache_dir",
        "disk_cache",
        "query_cache_size",
        "query_cache_ttl",
        "routes",
    }
)
_ROUTE_KEYS = frozenset({"name", "utterances", "model", "tiers", "threshold"})


def default_cache_dir() -> Path:
    """`$XDG_CACHE_HOME/llm_router_middleware/semantic`, else `~/.cache/...`."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "llm_router_middleware" / "semantic"


@dataclass(frozen=True)
class SemanticRouteSpec:
    """One route: example utterances and the model it sends to, one for all tiers (`model`)
    or one per tier (`tiers`, whose "default" key serves unlisted tiers). Exactly one is set."""

    name: str
    utterances: tuple[str, ...]
    model: str | None = None
    tiers: Mapping[str, str] | None = None
    threshold: float | None = None

    def target(self, tier: str | None) -> str | None:
        """The model for `tier`; a tier map falls back to its "default" key, else None."""
        if self.model is not None:
            return self.model
        tiers = self.tiers or {}
        if tier is not None and tier in tiers:
            return tiers[tier]
        return tiers.get(TIER_DEFAULT_KEY)


@dataclass(frozen=True)
class SemanticSettings:
    routes: tuple[SemanticRouteSpec, ...]
    encoder: EncoderKind = "local"
    model: str | None = None
    api_base: str | None = None
    api_key_env: str | None = None
    max_tokens: int | None = None
    threads: int = 1
    threshold: float | None = None  # None = "auto": calibrated at startup
    default_route: str | None = None
    fallthrough: str | None = None
    aggregation: Aggregation = "max"
    cache_dir: Path | None = field(default_factory=default_cache_dir)
    query_cache_size: int = DEFAULT_QUERY_CACHE_SIZE
    query_cache_ttl: float = DEFAULT_QUERY_CACHE_TTL_S

    def __post_init__(self) -> None:
        where = "routing.semantic"
        if not self.routes:
            raise ConfigError(f"{where}.routes", "define at least one route")
        names = [r.name for r in self.routes]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise ConfigError(f"{where}.routes[{i}].name", f"duplicate route name {name!r}")
        for i, route in enumerate(self.routes):
            if (route.model is None) == (route.tiers is None):
                raise ConfigError(
                    f"{where}.routes[{i}].model", f"route {route.name!r}: set model or tiers"
                )
            if not route.utterances:
                raise ConfigError(
                    f"{where}.routes[{i}].utterances",
                    f"route {route.name!r} has no example utterances; give at least one",
                )
        if self.default_route is not None and self.default_route not in names:
            raise ConfigError(
                f"{where}.default_route",
                f"{self.default_route!r} is not a route name (routes: {', '.join(names)})",
            )
        if self.default_route is not None and self.fallthrough is not None:
            raise ConfigError(
                f"{where}.fallthrough", "set either default_route or fallthrough, not both"
            )
        if self.encoder == "litellm" and not self.model:
            raise ConfigError(f"{where}.model", 'encoder "litellm" needs an embedding model name')

    def threshold_for(self, route: SemanticRouteSpec) -> float | None:
        """The route's own threshold, else the global one; None when it is to be calibrated."""
        return self.threshold if route.threshold is None else route.threshold

    @property
    def needs_calibration(self) -> bool:
        return any(self.threshold_for(r) is None for r in self.routes)

    def route(self, name: str) -> SemanticRouteSpec:
        for r in self.routes:
            if r.name == name:
                return r
        raise KeyError(name)

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], where: str = "routing.semantic"
    ) -> SemanticSettings:
        """Parse the `[routing.semantic]` table; unknown keys and bad values name their path."""
        if not isinstance(data, Mapping):
            raise ConfigError(where, "must be a table")
        _reject_unknown(data, _SETTINGS_KEYS, where)
        encoder = data.get("encoder", "local")
        if encoder not in ("local", "litellm"):
            raise ConfigError(f"{where}.encoder", f'must be "local" or "litellm", got {encoder!r}')
        aggregation = data.get("aggregation", "max")
        if aggregation not in ("max", "mean"):
            raise ConfigError(
                f"{where}.aggregation", f'must be "max" or "mean", got {aggregation!r}'
            )
        raw_routes = data.get("routes")
        if not isinstance(raw_routes, list) or not raw_routes:
            raise ConfigError(f"{where}.routes", "must be a non-empty list of route tables")
        routes = tuple(_route(r, f"{where}.routes[{i}]") for i, r in enumerate(raw_routes))
        cache_dir: Path | None = default_cache_dir()
        if "cache_dir" in data:
            cache_dir = Path(_str(data, "cache_dir", where)).expanduser()
        if not _bool(data, "disk_cache", where, True):
            cache_dir = None
        threshold = None if data.get("threshold") == AUTO else _float(data, "threshold", where)
        ttl = _float(data, "query_cache_ttl", where)
        if ttl is not None and ttl <= 0:
            raise ConfigError(f"{where}.query_cache_ttl", "must be a positive number of seconds")
        model = _opt_str(data, "model", where)
        size = _opt_int(data, "query_cache_size", where, minimum=0)
        if encoder == "local" and model not in (None, "all-MiniLM-L6-v2"):
            raise ConfigError(
                f"{where}.model",
                'the local encoder is all-MiniLM-L6-v2; use encoder = "litellm" for other models',
            )
        try:
            return cls(
                routes=routes,
                encoder=encoder,
                model=model,
                api_base=_opt_str(data, "api_base", where),
                api_key_env=_opt_str(data, "api_key_env", where),
                max_tokens=_opt_int(data, "max_tokens", where, minimum=1),
                threads=_opt_int(data, "threads", where, minimum=1) or 1,
                threshold=threshold,
                default_route=_opt_str(data, "default_route", where),
                fallthrough=_opt_str(data, "fallthrough", where),
                aggregation=aggregation,
                cache_dir=cache_dir,
                query_cache_size=size if size is not None else DEFAULT_QUERY_CACHE_SIZE,
                query_cache_ttl=DEFAULT_QUERY_CACHE_TTL_S if ttl is None else ttl,
            )
        except ConfigError as exc:
            if exc.key.startswith(where):
                raise
            raise ConfigError(f"{where}.{exc.key.split('.', 2)[-1]}", exc.problem) from None


def _route(data: Any, where: str) -> SemanticRouteSpec:
    if not isinstance(data, Mapping):
        raise ConfigError(where, "must be a table with name, utterances and model")
    _reject_unknown(data, _ROUTE_KEYS, where)
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{where}.name", "must be a non-empty string")
    utterances = data.get("utterances")
    if (
        not isinstance(utterances, list)
        or not utterances
        or not all(isinstance(u, str) and u.strip() for u in utterances)
    ):
        raise ConfigError(
            f"{where}.utterances",
            f"route {name!r}: must be a non-empty list of non-empty strings",
        )
    model, tiers = data.get("model"), data.get("tiers")
    if (model is None) == (tiers is None):
        raise ConfigError(f"{where}.model", f"route {name!r}: set model or tiers (one of them)")
    if model is not None and (not isinstance(model, str) or not model):
        raise ConfigError(f"{where}.model", f"route {name!r}: must be a model name")
    if tiers is not None and (
        not isinstance(tiers, Mapping)
        or not tiers
        or not all(isinstance(k, str) and isinstance(v, str) and v for k, v in tiers.items())
    ):
        raise ConfigError(f"{where}.tiers", f"route {name!r}: must be a table of tier = model")
    return SemanticRouteSpec(
        name=name,
        utterances=tuple(dict.fromkeys(u.strip() for u in utterances)),
        model=model,
        tiers=dict(tiers) if tiers is not None else None,
        threshold=_float(data, "threshold", where),
    )


def _reject_unknown(data: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:
    for key in data:
        if key not in allowed:
            raise ConfigError(
                f"{where}.{key}", f"unknown key (allowed: {', '.join(sorted(allowed))})"
            )


def _str(data: Mapping[str, Any], key: str, where: str) -> str:
    value = data[key]
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}.{key}", "must be a non-empty string")
    return value


def _opt_str(data: Mapping[str, Any], key: str, where: str) -> str | None:
    return _str(data, key, where) if data.get(key) is not None else None


def _bool(data: Mapping[str, Any], key: str, where: str, default: bool) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{where}.{key}", "must be true or false")
    return value


def _float(data: Mapping[str, Any], key: str, where: str) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        also = ' or "auto"' if key == "threshold" and where.endswith("semantic") else ""
        raise ConfigError(f"{where}.{key}", f"must be a number{also}, got {value!r}")
    if key == "threshold" and not -1.0 <= value <= 1.0:
        raise ConfigError(f"{where}.{key}", f"a cosine threshold lies in [-1, 1], got {value!r}")
    return float(value)


def _opt_int(data: Mapping[str, Any], key: str, where: str, *, minimum: int) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{where}.{key}", f"must be an integer >= {minimum}, got {value!r}")
    return value

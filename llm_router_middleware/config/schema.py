"""The validated configuration: small frozen dataclasses, built only by ``loader.load_config``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

STRATEGIES = ("fixed", "complexity", "cost", "experiment", "semantic")
Strategy = Literal["fixed", "complexity", "cost", "experiment", "semantic"]
COMPLEXITY_LEVELS = ("simple", "medium", "complex")
DEFAULT_REPLY_FAILURES = frozenset({"empty", "content_filter"})  # see resilience/replies.py


def _frozen_map() -> Mapping[str, Any]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class ModelSpec:
    name: str
    model: str
    provider: str
    api_base: str | None
    api_key: str | None = field(repr=False)
    api_key_env: str | None
    input_cost_per_token: float
    output_cost_per_token: float
    quality: float
    context_window: int
    max_output_tokens: int
    timeout_s: float
    rpm: int | None
    params: Mapping[str, Any] = field(default_factory=_frozen_map)
    transport: Literal["native", "litellm"] = "litellm"  # resolved from "auto" by the loader
    reply_failures: frozenset[str] = DEFAULT_REPLY_FAILURES  # 200 replies that count as failures
    # features it does not support, from its ``supports``; None: litellm's model info decides,
    # read when a request first needs a feature (routing/capabilities.py)
    lacks: frozenset[str] | None = None

    def estimate_cost(self, prompt_tokens: int, output_tokens: int) -> float:
        return (
            prompt_tokens * self.input_cost_per_token + output_tokens * self.output_cost_per_token
        )

    def resolved_api_key(self) -> str | None:
        import os

        if self.api_key is not None:
            return self.api_key
        if self.api_key_env is not None:
            return os.environ.get(self.api_key_env)
        return None


@dataclass(frozen=True, slots=True)
class TierSpec:
    name: str
    models: tuple[str, ...]  # allow-list in fallback order; empty = every model
    strategy: Strategy | None
    quality_floor: float | None
    cache: bool = False  # serve repeated requests from the response cache ([cache])


@dataclass(frozen=True, slots=True)
class ComplexitySpec:
    simple_keywords: tuple[str, ...]
    complex_keywords: tuple[str, ...]
    medium_chars: int  # prompts at least this long are at least "medium"
    complex_chars: int  # prompts at least this long are "complex"
    complex_keyword_hits: int  # this many complex keywords make a prompt "complex"
    levels: Mapping[str, str]  # level -> model name


@dataclass(frozen=True, slots=True)
class CostSpec:
    quality_floor: float
    expected_output_tokens: int


@dataclass(frozen=True, slots=True)
class ExperimentSpec:
    name: str
    control: str
    treatment: str
    treatment_share: float
    enabled: bool


@dataclass(frozen=True, slots=True)
class BudgetSpec:
    per_user_usd: float | None
    per_tier_usd: Mapping[str, float]
    global_usd: float | None
    timezone: str
    on_exhausted: Literal["downgrade", "refuse"]
    refuse_status: int


@dataclass(frozen=True, slots=True)
class BreakerSpec:
    consecutive_failures: int
    failure_rate: float
    window_s: float
    min_requests: int
    cooldown_s: float
    half_open_probes: int


@dataclass(frozen=True, slots=True)
class StateSpec:
    backend: Literal["memory", "redis"]
    redis_url: str | None = field(repr=False)
    key_prefix: str
    on_unavailable: Literal["local", "refuse"] = "local"  # when Redis is lost after startup


@dataclass(frozen=True, slots=True)
class CacheSpec:
    """The response cache (llm_router_middleware/cache/): opt-in per tier or per view."""

    backend: Literal["memory", "state"] = "memory"  # "state": the shared state store (Redis)
    ttl_s: float = 300.0
    max_entries: int = 1024  # the in-memory cache's bound (and the semantic index's)
    semantic_threshold: float | None = None  # cosine similarity for a semantic hit; None = off


@dataclass(frozen=True, slots=True)
class RoutingSpec:
    strategy: Strategy
    fallbacks: tuple[str, ...]
    default_tier: str
    max_attempts: int
    complexity: ComplexitySpec
    cost: CostSpec
    experiment: ExperimentSpec | None
    semantic: Any | None  # llm_router_middleware.semantic.SemanticSettings when configured
    reply_failures: frozenset[str] = DEFAULT_REPLY_FAILURES  # each model's default


@dataclass(frozen=True, slots=True)
class RouterConfig:
    models: Mapping[str, ModelSpec]  # config order preserved
    routing: RoutingSpec
    tiers: Mapping[str, TierSpec]
    budgets: BudgetSpec
    breaker: BreakerSpec
    state: StateSpec
    cache: CacheSpec = CacheSpec()

    def model(self, name: str) -> ModelSpec:
        return self.models[name]

"""The validated configuration: small frozen dataclasses, built only by ``loader.load_config``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

STRATEGIES = ("fixed", "complexity", "cost", "experiment", "semantic", "learned", "latency")
Strategy = Literal["fixed", "complexity", "cost", "experiment", "semantic", "learned", "latency"]
COMPLEXITY_LEVELS = ("simple", "medium", "complex")
BALANCES = ("weighted", "least_inflight", "latency")
Balance = Literal["weighted", "least_inflight", "latency"]
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
    tpm: int | None = None  # tokens per minute, shared through the state store
    retries: int = 0  # retries of the same target on a transient error
    deployments: tuple[ModelSpec, ...] = ()  # see config/deployments.py
    deployment: str | None = None  # set on a deployment's own spec: its name
    weight: float = 1.0  # a deployment's share of the traffic
    balance: Balance = "weighted"  # how a model picks among its deployments
    reply_failures: frozenset[str] = DEFAULT_REPLY_FAILURES  # 200 replies that count as failures
    # features it does not support, from its ``supports``; None: litellm's model info decides,
    # read when a request first needs a feature (routing/capabilities.py)
    lacks: frozenset[str] | None = None

    def estimate_cost(self, prompt_tokens: int, output_tokens: int) -> float:
        return (
            prompt_tokens * self.input_cost_per_token + output_tokens * self.output_cost_per_token
        )

    @property
    def target(self) -> str:
        """The key of this model's (or this deployment's) breaker, cooldown and limits."""
        return self.name if self.deployment is None else f"{self.name}#{self.deployment}"

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
    max_latency_s: float | None = None  # latency objective: slower models are filtered
    hedge: bool = False  # acomplete hedges the first model (see LatencySpec)
    hedge_after_s: float | None = None  # the hedge delay before the p95 is known
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
class LatencySpec:
    """``[routing.latency]``: how latency is measured and when a hedge starts."""

    alpha: float = 0.2  # EWMA weight of the newest call
    window: int = 64  # calls per model in the p95 window
    min_samples: int = 20  # calls before the p95 (not the EWMA) is trusted
    hedge_after_s: float = 2.0  # hedge delay while the first model has < min_samples calls


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
    latency: LatencySpec = field(default_factory=LatencySpec)
    learned: Any | None = None  # llm_router_middleware.learned.LearnedSettings when configured
    reply_failures: frozenset[str] = DEFAULT_REPLY_FAILURES  # each model's default


@dataclass(frozen=True, slots=True)
class TrafficSpec:
    """``[traffic]``: retries of the same target and waiting for a cooling candidate."""

    retry_backoff_s: float = 0.25  # first retry's base wait, doubled per retry, full jitter
    retry_max_wait_s: float = 5.0  # a Retry-After longer than this is not waited for
    wait_for_recovery_s: float = 0.0  # wait this long at most when every candidate cools down
    seed: int | None = None  # seeds the weighted choice among deployments (tests, replays)


@dataclass(frozen=True, slots=True)
class RouterConfig:
    models: Mapping[str, ModelSpec]  # config order preserved
    routing: RoutingSpec
    tiers: Mapping[str, TierSpec]
    budgets: BudgetSpec
    breaker: BreakerSpec
    state: StateSpec
    traffic: TrafficSpec = field(default_factory=TrafficSpec)
    cache: CacheSpec = CacheSpec()

    def model(self, name: str) -> ModelSpec:
        return self.models[name]

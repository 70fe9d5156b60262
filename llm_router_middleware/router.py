"""The Router: owns the config and the shared state, turns (messages, context) into a Plan."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .config import RouterConfig, TierSpec, load_config
from .context import ANONYMOUS, RequestContext
from .errors import ContextError
from .messages import count_tokens, routable_text, validate_messages
from .policy import Policy
from .resilience import BreakerBoard, BreakerState, Cooldowns
from .routing import (
    BudgetLedger,
    ExperimentLog,
    ExperimentReport,
    LatencyTracker,
    PlanInput,
    Preselection,
    StateView,
    make_plan,
)
from .routing.plan import Plan
from .state import MemoryStore, StateStore

if TYPE_CHECKING:
    from litellm import ModelResponse

    from .client import RequestLLM

_RPM_WINDOW_S = 60


@dataclass(frozen=True, slots=True)
class _Request:
    """A validated request before planning."""

    messages: list[Mapping[str, Any]]
    context: RequestContext
    tier: TierSpec
    strategy: str
    text: str


@dataclass(frozen=True, slots=True)
class Prepared:
    messages: list[Mapping[str, Any]]
    context: RequestContext
    plan: Plan
    strategy: str
    closed: frozenset[str] = frozenset()  # models whose breaker read closed while planning
    healthy: frozenset[str] = frozenset()  # ... with no failure on record at all
    features: Any = None  # strategy "learned": the prompt's feature row, kept for feedback
    text: str = ""


class Router:
    def __init__(self, config: RouterConfig, *, store: StateStore | None = None) -> None:
        self.config = config
        self.store: StateStore = store if store is not None else _default_store(config)
        prefix = config.state.key_prefix
        self.prefix = prefix
        self.ledger = BudgetLedger(self.store, config.budgets, prefix=prefix)
        longest = max(spec.timeout_s for spec in config.models.values())
        self.breakers = BreakerBoard(
            self.store, config.breaker, prefix=prefix, probe_lease_s=max(60.0, 2 * longest)
        )
        self.cooldowns = Cooldowns(self.store, prefix=prefix)
        self.latency = LatencyTracker()
        self.experiments = ExperimentLog(self.store, prefix=prefix)
        self._semantic: Any = None
        self._semantic_lock = threading.Lock()
        self._learned: Any = None
        # every configured key, for redaction (resolved once: keys from env vars are read at load)
        self.secrets = tuple(k for k in (m.resolved_api_key() for m in config.models.values()) if k)
        semantic = config.routing.semantic
        self._fallthrough = (semantic.fallthrough if semantic else None) or "complexity"
        self._models = tuple(config.models)
        self._limited = tuple(m for m in self._models if config.models[m].rpm is not None)
        self._state_keys = self.breakers.keys(self._models) + self.cooldowns.keys(self._models)
        if config.routing.semantic is not None:
            self.semantic_router()  # load the encoder and embed the examples now, not per request
        if "learned" in (config.routing.strategy, *(t.strategy for t in config.tiers.values())):
            self.learned_routing()  # load the model and the encoder now, not per request

    @classmethod
    def from_config(
        cls,
        source: Mapping[str, Any] | str | os.PathLike[str] | RouterConfig,
        *,
        store: StateStore | None = None,
    ) -> Router:
        config = source if isinstance(source, RouterConfig) else load_config(source)
        return cls(config, store=store)

    # --- the per-request handle -------------------------------------------------------------
    def handle(
        self, context: RequestContext = ANONYMOUS, *, policy: Policy | None = None
    ) -> RequestLLM:
        from .client import RequestLLM

        return RequestLLM(self, context=context, policy=policy)

    def complete(
        self, messages: Any, context: RequestContext = ANONYMOUS, **params: Any
    ) -> ModelResponse:
        return self.handle(context).complete(messages, **params)

    async def acomplete(
        self, messages: Any, context: RequestContext = ANONYMOUS, **params: Any
    ) -> ModelResponse:
        return await self.handle(context).acomplete(messages, **params)

    # --- planning ----------------------------------------------------------------------------
    def tier_of(self, context: RequestContext, policy: Policy | None = None) -> TierSpec:
        name = (policy.tier if policy and policy.tier else None) or context.tier
        if name is None:
            name = self.config.routing.default_tier
        tier = self.config.tiers.get(name)
        if tier is None:
            raise ContextError(
                f"the request context names tier {name!r}, which is not configured "
                f"(configured tiers: {', '.join(self.config.tiers)})"
            )
        return tier

    def strategy_for(self, tier: TierSpec, policy: Policy | None = None) -> str:
        if policy is not None and policy.strategy:
            return policy.strategy
        return tier.strategy or self.config.routing.strategy

    def plan(
        self,
        messages: Any,
        context: RequestContext = ANONYMOUS,
        *,
        policy: Policy | None = None,
        expected_output_tokens: int | None = None,
    ) -> Plan:
        """The decision for these messages, without calling any model (a dry run)."""
        return self.prepare(messages, context, policy, expected_output_tokens).plan

    def prepare(
        self,
        messages: Any,
        context: RequestContext,
        policy: Policy | None = None,
        expected_output_tokens: int | None = None,
    ) -> Prepared:
        request = self._request(messages, context, policy)
        preselection = learned = None
        if request.strategy == "semantic":
            preselection = self._preselect(request.text, request.tier)
        elif request.strategy == "learned":
            learned = self.learned_routing().measure(request.text, request.tier.name)
        return self._decide(request, policy, expected_output_tokens, preselection, learned)

    async def aprepare(
        self,
        messages: Any,
        context: RequestContext,
        policy: Policy | None = None,
        expected_output_tokens: int | None = None,
    ) -> Prepared:
        """``prepare`` for async callers: the semantic encoder (CPU for the local one, network
        for litellm embeddings) runs in a worker thread instead of blocking the event loop."""
        request = self._request(messages, context, policy)
        preselection = learned = None
        if request.strategy == "semantic":
            preselection = await asyncio.to_thread(self._preselect, request.text, request.tier)
        elif request.strategy == "learned":
            learned = await asyncio.to_thread(
                self.learned_routing().measure, request.text, request.tier.name
            )
        return self._decide(request, policy, expected_output_tokens, preselection, learned)

    def _request(self, messages: Any, context: RequestContext, policy: Policy | None) -> _Request:
        checked = validate_messages(messages)
        if policy is not None and policy.deadline_s is not None:
            context = context.with_timeout(policy.deadline_s)
        tier = self.tier_of(context, policy)
        return _Request(
            checked, context, tier, self.strategy_for(tier, policy), routable_text(checked)
        )

    def _decide(
        self,
        request: _Request,
        policy: Policy | None,
        expected_output_tokens: int | None,
        preselection: Preselection | None,
        learned: tuple[Any, Any] | None = None,
    ) -> Prepared:
        inp = PlanInput(
            text=request.text,
            prompt_tokens=count_tokens(request.messages),
            context=request.context,
            tier=request.tier,
            strategy=request.strategy,
            allowed=policy.models if policy else None,
            max_cost_usd=policy.max_cost_usd if policy else None,
            preselection=preselection,
            expected_output_tokens=expected_output_tokens,
            fallthrough=self._fallthrough,
            learned=learned[0] if learned else None,
        )
        view, closed, healthy = self._read_state(request.context, request.tier)
        plan = make_plan(self.config, inp, view)
        return Prepared(
            messages=request.messages,
            context=request.context,
            plan=plan,
            strategy=request.strategy,
            closed=closed,
            healthy=healthy,
            features=learned[1] if learned else None,
            text=request.text if learned else "",
        )

    def _read_state(
        self, context: RequestContext, tier: TierSpec
    ) -> tuple[StateView, frozenset[str], frozenset[str]]:
        """What planning needs to know of the shared state, in two batched store reads (the
        breaker and cooldown records; the budget ledgers and rate counts), plus the models whose
        breaker read closed and those with no failure on record."""
        models = self._models
        raws = self.store.get_many(self._state_keys)  # breakers and cooldowns in one read
        count = len(models)
        statuses = self.breakers.parse_statuses(models, raws[:count])
        blocked: dict[str, str] = {}
        waits: dict[str, float] = {}
        closed = []
        for name, status in statuses.items():
            if status.state is BreakerState.CLOSED:
                closed.append(name)
            elif not status.allows:
                blocked[name] = status.reason
                if status.retry_in_s is not None:
                    waits[name] = status.retry_in_s
        # rate counts and budget ledgers: one numeric read
        budget_keys, budget_of = self.ledger.snapshot_reader(context.budget_key, tier.name)
        numeric = list(budget_keys)
        if self._limited:
            minute = int(time.time() // _RPM_WINDOW_S)
            numeric += [self._rpm_key(m, minute) for m in self._limited]
        values = self.store.get_numbers(numeric) if numeric else []
        used = values[len(budget_keys) :]
        view = StateView(
            blocked=blocked,
            cooldowns=self.cooldowns.parse_remaining(models, raws[count:]),
            rpm_used=dict(zip(self._limited, used, strict=True)),
            budget=budget_of(values[: len(budget_keys)]),
            latency_s=self.latency.snapshot(models) if context.deadline is not None else {},
            now_monotonic=time.monotonic(),
            blocked_retry_s=waits,
        )
        healthy = frozenset(m for m, raw in zip(models, raws[:count], strict=True) if raw is None)
        return view, frozenset(closed), healthy

    def count_request(self, model: str) -> None:
        if self.config.models[model].rpm is not None:
            minute = int(time.time() // _RPM_WINDOW_S)
            self.store.incr(self._rpm_key(model, minute), 1.0, ttl_s=2 * _RPM_WINDOW_S)

    def _rpm_key(self, model: str, minute: int) -> str:
        return f"{self.prefix}:rpm:{model}:{minute}"

    def _preselect(self, text: str, tier: TierSpec) -> Preselection:
        semantic = self.semantic_router()
        decision = semantic.decide(text)
        model = semantic.route_target(decision, tier.name) if decision.route else None
        attributes: dict[str, str | bool | int | float] = {
            "semantic.score": round(float(decision.score), 4),
            "semantic.threshold": float(decision.threshold),
            "semantic.margin": round(float(decision.margin), 4),
            "semantic.cached": bool(decision.cached),
            "semantic.truncated": bool(decision.truncated),
        }
        if decision.route is not None:
            attributes["semantic.route"] = decision.route
        if decision.runner_up is not None:
            attributes["semantic.runner_up"] = decision.runner_up
        return Preselection(model=model, reason=str(decision.reason), attributes=attributes)

    def semantic_router(self) -> Any:
        """The semantic router: its encoder loaded and route examples embedded (or read from
        the disk cache) once, when the Router is built."""
        if self._semantic is None:
            with self._semantic_lock:
                if self._semantic is None:
                    settings = self.config.routing.semantic
                    if settings is None:
                        raise ContextError("strategy 'semantic' needs a [routing.semantic] section")
                    from .semantic import SemanticRouter

                    router = SemanticRouter(settings)
                    router.warm()
                    self._semantic = router
        return self._semantic

    def learned_routing(self) -> Any:
        """The learned strategy's model, encoder and feedback store (loaded once)."""
        if self._learned is None:
            with self._semantic_lock:
                if self._learned is None:
                    from .learned.settings import LearnedSettings

                    try:
                        from .learned.runtime import LearnedRouting
                    except ImportError as exc:
                        raise ContextError(
                            "strategy 'learned' needs the 'semantic' extra "
                            f"(pip install 'llm-router-middleware[semantic]'): {exc}"
                        ) from None

                    settings = self.config.routing.learned or LearnedSettings()
                    self._learned = LearnedRouting(settings, self.store, prefix=self.prefix)
        return self._learned

    # --- experiments -------------------------------------------------------------------------
    def record_score(self, request_id: str, score: float) -> bool:
        """Score a reply after the fact (user feedback, an eval); counted once per reply.
        Feeds the experiment's arm and, for learned-routed replies, the learned feedback."""
        scored = self.experiments.score(request_id, score)
        if self._learned is not None and self._learned.score(request_id, score):
            scored = True
        return scored

    def experiment_results(self, name: str | None = None) -> ExperimentReport:
        if name is None:
            if self.config.routing.experiment is None:
                raise ValueError("no [routing.experiment] is configured; pass the experiment name")
            name = self.config.routing.experiment.name
        return self.experiments.results(name)


def _default_store(config: RouterConfig) -> StateStore:
    if config.state.backend != "redis":
        return MemoryStore()
    from .errors import ConfigError
    from .state import RedisStore, RedisUnavailableError

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
    return store

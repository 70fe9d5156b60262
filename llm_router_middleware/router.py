"""The Router: owns the config and the shared state, turns (messages, context) into a Plan."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from . import status as reads
from ._build import builder
from .cache import ResponseCache
from .client import RequestLLM
from .config import RouterConfig, TierSpec, load_config
from .context import ANONYMOUS, RequestContext
from .errors import ContextError
from .messages import count_tokens, read_messages
from .policy import Policy
from .prepared import Prepared
from .resilience import BreakerBoard, Cooldowns
from .routing import (
    BudgetLedger,
    ExperimentLog,
    ExperimentReport,
    LatencyTracker,
    PlanInput,
    Preselection,
    make_plan,
)
from .routing.plan import Plan
from .state import MemoryStore, StateStore
from .state.base import AsyncStateStore
from .state_reads import State, StateReads
from .state_setup import default_store
from .status import HealthReport, ModelStatus, SpendReport
from .strategy_models import THREADED_STRATEGIES, load_learned, load_semantic, preselect
from .traffic import DeploymentBoard, TokenLimiter

if TYPE_CHECKING:
    from litellm import ModelResponse


# A validated request before planning: the messages, the context, the tier, the strategy, the
# routable text and the prompt's tokens when read with the messages (else counted later). A
# plain tuple: built and unpacked on every call's path.
_Request = tuple[list[Mapping[str, Any]], RequestContext, TierSpec, str, str, int | None]


_default_store = default_store  # where learned/cli.py imports it from
_new_input = builder(PlanInput)
_new_prepared = builder(Prepared)


class Router:
    def __init__(self, config: RouterConfig, *, store: StateStore | None = None) -> None:
        self.config = config
        self.store: StateStore = store if store is not None else default_store(config)
        # the async paths use the store's asyncio twins when it has them (Redis); the memory
        # store does no I/O and is called directly
        self.astore: AsyncStateStore | None = (
            self.store if isinstance(self.store, AsyncStateStore) else None
        )
        # the memory store never loses its state: no need to ask it on every call
        self.may_degrade = type(self.store) is not MemoryStore
        self.warmed = False
        prefix = config.state.key_prefix
        self.prefix = prefix
        self.ledger = BudgetLedger(self.store, config.budgets, prefix=prefix)
        longest = max(spec.timeout_s for spec in config.models.values())
        self.breakers = BreakerBoard(
            self.store, config.breaker, prefix=prefix, probe_lease_s=max(60.0, 2 * longest)
        )
        self.cooldowns = Cooldowns(self.store, prefix=prefix)
        latency = config.routing.latency
        self.latency = LatencyTracker(alpha=latency.alpha, window=latency.window)
        self.experiments = ExperimentLog(self.store, prefix=prefix)
        self.tokens = TokenLimiter(self.store, config, prefix)
        self.deployments = DeploymentBoard(
            self.store, config, self.breakers, self.cooldowns, self.latency
        )
        self.cache = ResponseCache(config, self.store, prefix)  # off unless a tier/view opts in
        self._semantic: Any = None
        self._semantic_lock = threading.Lock()
        self._learned: Any = None
        # every configured key, for redaction (resolved once: keys from env vars are read at load)
        specs = [s for m in config.models.values() for s in (m, *m.deployments)]
        self.secrets = tuple(k for k in (s.resolved_api_key() for s in specs) if k)
        semantic = config.routing.semantic
        self._fallthrough = (semantic.fallthrough if semantic else None) or "complexity"
        self._models = tuple(config.models)
        # per model spec (by id, the spec kept to check it): the call kwargs the router sets
        self.kwargs_tails: dict[int, tuple[Any, dict[str, Any], dict[str, Any]]] = {}
        self.hedging = any(t.hedge for t in config.tiers.values())  # a tier hedges acomplete
        self.reader = StateReads(
            config,
            self.store,
            self.breakers,
            self.cooldowns,
            self.ledger,
            self.tokens,
            self.latency,
            prefix,
        )
        self._state_keys = self.reader.keys  # breaker records, then cooldowns, of every model
        # aprepare awaits nothing on the memory store unless a strategy runs in a thread: then
        # async callers plan with prepare() directly (one coroutine less per call)
        strategies = {config.routing.strategy, *(t.strategy for t in config.tiers.values())}
        self.plans_inline = self.astore is None and not strategies & THREADED_STRATEGIES
        if config.routing.semantic is not None:
            self.semantic_router()  # load the encoder and embed the examples now, not per request
        if "learned" in strategies:
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
        features: frozenset[str] = frozenset(),
    ) -> Prepared:
        if policy is None:  # _request, and _decide with no policy and no model to measure with
            checked, text, tokens = read_messages(messages)
            config = self.config
            name = context.tier
            tier = config.tiers.get(name if name is not None else config.routing.default_tier)
            if tier is None:
                tier = self.tier_of(context)  # raises: the tier is not configured
            strategy: str = tier.strategy or config.routing.strategy
            if strategy not in THREADED_STRATEGIES:
                view, closed = self.reader.read_plan(context, tier)
                inp = _new_input(
                    text,
                    tokens if tokens is not None else count_tokens(checked),
                    context,
                    tier,
                    strategy,
                    None,
                    None,
                    None,
                    expected_output_tokens,
                    self._fallthrough,
                    None,
                    features,
                )
                if strategy == "latency" or tier.max_latency_s is not None:
                    view = replace(view, latency=self.latency.figures(self._models))
                plan = make_plan(config, inp, view)
                return _new_prepared(checked, context, plan, strategy, closed)
            request: _Request = (checked, context, tier, strategy, text, tokens)
        else:
            request = self._request(messages, context, policy)
        _, context, tier, strategy, text, _ = request
        preselection = learned = None
        if strategy == "semantic":
            preselection = preselect(self.semantic_router(), text, tier.name)
        elif strategy == "learned":
            learned = self.learned_routing().measure(text, tier.name)
        state = self.reader.read_plan(context, tier)
        return self._decide(
            request, policy, expected_output_tokens, preselection, state, learned, features
        )

    async def aprepare(
        self,
        messages: Any,
        context: RequestContext,
        policy: Policy | None = None,
        expected_output_tokens: int | None = None,
        features: frozenset[str] = frozenset(),
    ) -> Prepared:
        """``prepare`` for async callers: the semantic encoder (CPU for the local one, network
        for litellm embeddings) runs in a worker thread instead of blocking the event loop."""
        if self.plans_inline and (policy is None or policy.strategy not in THREADED_STRATEGIES):
            # nothing to await (the memory store, no model to run in a thread): prepare's steps
            return self.prepare(messages, context, policy, expected_output_tokens, features)
        request = self._request(messages, context, policy)
        _, context, tier, strategy, text, _ = request
        preselection = learned = None
        if strategy == "semantic":
            semantic = self.semantic_router()
            preselection = await asyncio.to_thread(preselect, semantic, text, tier.name)
        elif strategy == "learned":
            learned = await asyncio.to_thread(self.learned_routing().measure, text, tier.name)
        reader = self.reader
        if self.astore is None:
            state = reader.read_plan(context, tier)
        else:
            state = await reader.aread(*reader.plan_reads(context, tier))
        return self._decide(
            request, policy, expected_output_tokens, preselection, state, learned, features
        )

    def _request(self, messages: Any, context: RequestContext, policy: Policy | None) -> _Request:
        checked, text, tokens = read_messages(messages)
        if policy is None:  # tier_of and strategy_for, inlined: on every call's path
            name = context.tier
            tier = self.config.tiers.get(
                name if name is not None else self.config.routing.default_tier
            )
            if tier is None:
                tier = self.tier_of(context)  # raises: the tier is not configured
            strategy = tier.strategy or self.config.routing.strategy
            return checked, context, tier, strategy, text, tokens
        if policy.deadline_s is not None:
            context = context.with_timeout(policy.deadline_s)
        tier = self.tier_of(context, policy)
        return checked, context, tier, self.strategy_for(tier, policy), text, tokens

    def _decide(
        self,
        request: _Request,
        policy: Policy | None,
        expected_output_tokens: int | None,
        preselection: Preselection | None,
        state: State,
        learned: tuple[Any, Any] | None = None,
        features: frozenset[str] = frozenset(),
    ) -> Prepared:
        messages, context, tier, strategy, text, tokens = request
        inp = _new_input(
            text,
            tokens if tokens is not None else count_tokens(messages),
            context,
            tier,
            strategy,
            policy.models if policy else None,
            policy.max_cost_usd if policy else None,
            preselection,
            expected_output_tokens,
            self._fallthrough,
            learned[0] if learned else None,
            features,
        )
        view, closed = state
        if strategy == "latency" or tier.max_latency_s is not None:
            view = replace(view, latency=self.latency.figures(self._models))
        plan = make_plan(self.config, inp, view)
        if learned is None:
            return _new_prepared(messages, context, plan, strategy, closed)
        return Prepared(
            messages=messages,
            context=context,
            plan=plan,
            strategy=strategy,
            closed=closed,
            features=learned[1],
            text=text,
        )

    def count_request(self, model: str) -> None:
        self.reader.count_request(model)

    async def acount_request(self, model: str) -> None:
        await self.reader.acount_request(model)

    def semantic_router(self) -> Any:
        """The semantic router: its encoder loaded and route examples embedded (or read from
        the disk cache) once, when the Router is built."""
        if self._semantic is None:
            with self._semantic_lock:
                if self._semantic is None:
                    self._semantic = load_semantic(self.config.routing.semantic)
        return self._semantic

    # --- startup and state reads --------------------------------------------------------------
    def warm(self) -> None:
        """Import litellm and load the semantic encoder now (at startup: an ASGI lifespan,
        Django's AppConfig.ready, Flask's init_app), so no request waits for them. Idempotent;
        the framework adapters call it."""
        if self.warmed:
            return
        from .client import litellm_module

        litellm_module()
        if self.config.routing.semantic is not None:
            self.semantic_router()
        heartbeat = getattr(self.store, "heartbeat", None)
        if callable(heartbeat):  # a shared store counts live workers for degraded budgets
            heartbeat()
        self.warmed = True

    @property
    def degraded(self) -> bool:
        """True while the shared state store is unreachable (see ``[state] on_unavailable``)."""
        return bool(getattr(self.store, "degraded", False))

    def spend(
        self, user: RequestContext | str | None = None, *, tier: str | None = None
    ) -> SpendReport:
        """Today's spend and what is left in every budget scope a user's calls charge: pass
        the request's context, or a user's budget key (``budget_scope`` or ``user_id``)."""
        return reads.spend(self, user, tier)

    async def aspend(
        self, user: RequestContext | str | None = None, *, tier: str | None = None
    ) -> SpendReport:
        return await reads.aspend(self, user, tier)

    def models_status(self) -> tuple[ModelStatus, ...]:
        """Each model's breaker state and cooldown, in config order."""
        return reads.models_status(self)

    async def amodels_status(self) -> tuple[ModelStatus, ...]:
        return await reads.amodels_status(self)

    def health(self) -> HealthReport:
        """A readiness summary; ``report.status_code`` is 200 when ready, else 503."""
        return reads.health(self)

    async def ahealth(self) -> HealthReport:
        return await reads.ahealth(self)

    def learned_routing(self) -> Any:
        """The learned strategy's model, encoder and feedback store (loaded once)."""
        if self._learned is None:
            with self._semantic_lock:
                if self._learned is None:
                    learned = self.config.routing.learned
                    self._learned = load_learned(learned, self.store, self.prefix)
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

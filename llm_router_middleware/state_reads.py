"""What planning reads of the shared state, batched, and the request counts it keeps.

One call's planning reads the breaker and cooldown records of every model (string keys, fixed
at start-up) and the numbers it needs (budget ledgers, rate counts): two batched store reads,
or one on the memory store. ``StateReads.finish`` turns the values into a ``StateView`` plus
the models whose breaker read closed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from ._build import builder
from .config import RouterConfig, TierSpec
from .context import RequestContext
from .resilience import BreakerBoard, BreakerState, Cooldowns
from .routing import BudgetLedger, BudgetSnapshot, LatencyTracker, StateView
from .state import MemoryStore, StateStore
from .state.base import AsyncStateStore

if TYPE_CHECKING:
    from .traffic import TokenLimiter

RPM_WINDOW_S = 60
State = tuple[StateView, frozenset[str]]
Finish = Callable[[list[str | None], list[float]], State]

_new_view = builder(StateView)
_EMPTY: dict[str, float] = {}
_NONE: Mapping[str, Any] = MappingProxyType({})  # the view's empty defaults, shared (read-only)


class StateReads:
    def __init__(
        self,
        config: RouterConfig,
        store: StateStore,
        breakers: BreakerBoard,
        cooldowns: Cooldowns,
        ledger: BudgetLedger,
        tokens: TokenLimiter,
        latency: LatencyTracker,
        prefix: str,
    ) -> None:
        self.store = store
        self.astore: AsyncStateStore | None = store if isinstance(store, AsyncStateStore) else None
        self.breakers = breakers
        self.cooldowns = cooldowns
        self.ledger = ledger
        self.tokens = tokens
        self.latency = latency
        self.prefix = prefix
        self.models = tuple(config.models)
        self.rpm_of = {m: spec.rpm for m, spec in config.models.items() if spec.rpm is not None}
        self.limited = tuple(self.rpm_of)
        self.tpm_limited = tuple(m for m in self.models if config.models[m].tpm is not None)
        self.keys = breakers.keys(self.models) + cooldowns.keys(self.models)
        self.all_closed = frozenset(self.models)
        # the memory store reads string and numeric keys under one lock and one clock read
        memory = store if type(store) is MemoryStore else None
        self.read_memory = memory.read_plan if memory is not None else None

    def plan_reads(self, context: RequestContext, tier: TierSpec) -> tuple[list[str], Finish]:
        """The numeric keys planning reads (budget ledgers, rate counts; the string keys are
        ``self.keys``) and how to turn both reads into a StateView."""
        budget_keys, budget_of = self.ledger.snapshot_reader(context.budget_key, tier.name)
        count = len(budget_keys)
        limited, tpm_limited = self.limited, self.tpm_limited
        if not limited and not tpm_limited:
            numeric = budget_keys

            def finish_budget(raws: list[str | None], values: list[float]) -> State:
                return self.view(context, raws, _EMPTY, budget_of(values))

            return numeric, finish_budget
        numeric = list(budget_keys)
        minute = int(time.time() // RPM_WINDOW_S)
        numeric += [self.rpm_key(m, minute) for m in limited]
        numeric += [self.tokens.key(m, minute) for m in tpm_limited]
        rpm_end = count + len(limited)

        def finish(raws: list[str | None], values: list[float]) -> State:
            used = dict(zip(limited, values[count:rpm_end], strict=True))
            view = self.view(context, raws, used, budget_of(values[:count]))
            if tpm_limited:
                tpm_used = dict(zip(tpm_limited, values[rpm_end:], strict=True))
                return replace(view[0], tpm_used=tpm_used), view[1]
            return view

        return numeric, finish

    def read_plan(self, context: RequestContext, tier: TierSpec) -> State:
        """``read(*plan_reads(context, tier))`` in one step: on the memory store with no rpm
        or tpm limit (the common case), planning's whole read without building a closure."""
        read = self.read_memory
        if read is None or self.limited or self.tpm_limited:
            return self.read(*self.plan_reads(context, tier))
        # context.budget_key, inlined
        ledgers = self.ledger.current(context.budget_scope or context.user_id, tier.name)
        raws, values = read(self.keys, ledgers.limited_keys)
        budget = ledgers.snapshot(values)
        if raws is not None:  # a breaker record or a cooldown
            return self.view(context, raws, _EMPTY, budget)
        latency_s = self.latency.snapshot(self.models) if context.deadline is not None else _EMPTY
        now = time.monotonic()  # view()'s every-breaker-closed case, inlined
        return _new_view(_EMPTY, _EMPTY, _EMPTY, budget, latency_s, now, _NONE, _NONE, _NONE), (
            self.all_closed
        )

    def read(self, numeric: list[str], finish: Finish) -> State:
        read = self.read_memory
        if read is not None:
            raws, values = read(self.keys, numeric)
            return finish(raws if raws is not None else [None] * len(self.keys), values)
        store = self.store
        return finish(store.get_many(self.keys), store.get_numbers(numeric))

    async def aread(self, numeric: list[str], finish: Finish) -> State:
        astore = self.astore
        if astore is None:
            return self.read(numeric, finish)
        raws = await astore.aget_many(self.keys)
        return finish(raws, await astore.aget_numbers(numeric))

    def view(
        self,
        context: RequestContext,
        raws: list[str | None],
        used: dict[str, float],
        budget: BudgetSnapshot,
    ) -> State:
        models = self.models
        latency_s = self.latency.snapshot(models) if context.deadline is not None else _EMPTY
        if not any(raws):  # no breaker record and no cooldown: every breaker reads closed
            return (
                _new_view(
                    _EMPTY, _EMPTY, used, budget, latency_s, time.monotonic(), _NONE, _NONE, _NONE
                ),
                self.all_closed,
            )
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
        view = _new_view(
            blocked,
            self.cooldowns.parse_remaining(models, raws[count:]),
            used,
            budget,
            latency_s,
            time.monotonic(),
            waits,
            _NONE,
            _NONE,
        )
        return view, frozenset(closed)

    # --- request counts (rpm limits) ---------------------------------------------------------
    def count_request(self, model: str) -> None:
        if model in self.rpm_of:
            minute = int(time.time() // RPM_WINDOW_S)
            self.store.incr(self.rpm_key(model, minute), 1.0, ttl_s=2 * RPM_WINDOW_S)

    async def acount_request(self, model: str) -> None:
        if model in self.rpm_of:
            if self.astore is None:
                self.count_request(model)
                return
            minute = int(time.time() // RPM_WINDOW_S)
            await self.astore.aincr(self.rpm_key(model, minute), 1.0, ttl_s=2 * RPM_WINDOW_S)

    def rpm_key(self, model: str, minute: int) -> str:
        return f"{self.prefix}:rpm:{model}:{minute}"

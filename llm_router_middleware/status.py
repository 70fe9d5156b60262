"""What an app can read of the router's state: a user's spend and what is left today, each
model's breaker and cooldown (and each of its deployments': weight, breaker, cooldown, calls in
flight in this process, requests and tokens this minute against its limits), whether the
router is degraded, and a readiness summary.

The reads are the same batched store reads planning does; each has an async twin that uses the
store's asyncio client. ``Router.spend``, ``Router.models_status`` and ``Router.health`` (and
``aspend``, ``amodels_status``, ``ahealth``) are the public entry points and call these.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from .context import RequestContext
from .errors import ContextError, RouterError
from .resilience import BreakerState
from .state import MemoryStore
from .traffic.tokens import WINDOW_S

if TYPE_CHECKING:
    from .config.schema import ModelSpec
    from .router import Router


@dataclass(frozen=True, slots=True)
class ScopeSpend:
    scope: str  # "user:<budget key>" | "tier:<name>" | "global"
    spent_usd: float
    limit_usd: float | None  # None: tracked but unlimited
    remaining_usd: float | None


@dataclass(frozen=True, slots=True)
class SpendReport:
    """Today's spend (the budget window's local date) in every scope a user's calls charge."""

    window: str
    scopes: tuple[ScopeSpend, ...]

    @property
    def remaining_usd(self) -> float | None:
        """What the tightest scope has left; None when no scope has a limit."""
        left = [s.remaining_usd for s in self.scopes if s.remaining_usd is not None]
        return min(left) if left else None

    def scope(self, label: str) -> ScopeSpend:
        for scope in self.scopes:
            if scope.scope == label:
                return scope
        raise KeyError(f"no budget scope {label!r}; scopes: {[s.scope for s in self.scopes]}")


@dataclass(frozen=True, slots=True)
class DeploymentStatus:
    """One deployment of a model. Names no key and no address: safe to show an admin."""

    name: str
    weight: float
    breaker: str  # "closed" | "open" | "half_open"
    available: bool  # the breaker lets calls through and no Retry-After cooldown is running
    reason: str
    retry_in_s: float | None  # an open breaker's time until its probe
    cooldown_s: float | None  # a provider's Retry-After still running
    in_flight: int  # calls to it in flight in this process
    rpm: int | None  # its own request limit per minute
    rpm_used: float | None  # requests this minute (None: no limit, not counted)
    tpm: int | None  # its own token limit per minute
    tpm_used: float | None  # tokens this minute (None: no limit, not counted)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "weight": self.weight,
            "breaker": self.breaker,
            "available": self.available,
            "reason": self.reason,
            "retry_in_s": _round(self.retry_in_s),
            "cooldown_s": _round(self.cooldown_s),
            "in_flight": self.in_flight,
            "rpm": self.rpm,
            "rpm_used": self.rpm_used,
            "tpm": self.tpm,
            "tpm_used": self.tpm_used,
        }


@dataclass(frozen=True, slots=True)
class ModelStatus:
    model: str
    breaker: str  # "closed" | "open" | "half_open"
    available: bool  # the breaker lets calls through and no Retry-After cooldown is running
    reason: str
    retry_in_s: float | None  # an open breaker's time until its probe
    cooldown_s: float | None  # a provider's Retry-After still running
    deployments: tuple[DeploymentStatus, ...] = ()  # in config order; () when it has none

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "breaker": self.breaker,
            "available": self.available,
            "reason": self.reason,
            "retry_in_s": _round(self.retry_in_s),
            "cooldown_s": _round(self.cooldown_s),
            "deployments": [d.to_json() for d in self.deployments],
        }


@dataclass(frozen=True, slots=True)
class HealthReport:
    """For a readiness endpoint: ``ready`` when the state store (or its local fallback) serves
    and at least one model takes calls. Names no address: safe to return to a client."""

    ready: bool
    state: str  # "memory" | "redis" | "degraded" (Redis lost, serving locally) | "unavailable"
    # (or the class name of a store the app passed in)
    degraded: bool
    warmed: bool  # litellm (and the semantic encoder) loaded at startup
    models: tuple[ModelStatus, ...]

    @property
    def status_code(self) -> int:
        return 200 if self.ready else 503

    def to_json(self) -> dict[str, Any]:
        return {
            "ready": self.ready,
            "state": self.state,
            "degraded": self.degraded,
            "warmed": self.warmed,
            "models": [m.to_json() for m in self.models],
        }


def spend(router: Router, user: RequestContext | str | None, tier: str | None) -> SpendReport:
    keys, finish = _spend_reads(router, *_spender(router, user, tier))
    return finish(router.store.get_numbers(keys))


async def aspend(
    router: Router, user: RequestContext | str | None, tier: str | None
) -> SpendReport:
    keys, finish = _spend_reads(router, *_spender(router, user, tier))
    if router.astore is None:
        return finish(router.store.get_numbers(keys))
    return finish(await router.astore.aget_numbers(keys))


def _spender(
    router: Router, user: RequestContext | str | None, tier: str | None
) -> tuple[str | None, str]:
    if isinstance(user, RequestContext):
        return user.budget_key, tier or router.tier_of(user).name
    name = tier or router.config.routing.default_tier
    if name not in router.config.tiers:
        configured = ", ".join(router.config.tiers)
        raise ContextError(f"tier {name!r} is not configured (configured tiers: {configured})")
    return user, name


def _spend_reads(
    router: Router, budget_key: str | None, tier: str
) -> tuple[list[str], Callable[[Sequence[float]], SpendReport]]:
    """The keys a spend report reads, and how to finish it from their values."""
    window, scopes = router.ledger.scope_keys(budget_key, tier)

    def finish(values: Sequence[float]) -> SpendReport:
        out = []
        for (label, _key, limit), spent in zip(scopes, values, strict=True):
            if limit == math.inf:
                out.append(ScopeSpend(label, spent, None, None))
            else:
                out.append(ScopeSpend(label, spent, limit, max(0.0, limit - spent)))
        return SpendReport(window, tuple(out))

    return [key for _label, key, _limit in scopes], finish


def models_status(router: Router) -> tuple[ModelStatus, ...]:
    keys, numeric, finish = _status_reads(router)
    store = router.store
    return finish(store.get_many(keys), store.get_numbers(numeric) if numeric else [])


async def amodels_status(router: Router) -> tuple[ModelStatus, ...]:
    astore = router.astore
    if astore is None:
        return models_status(router)
    keys, numeric, finish = _status_reads(router)
    raws = await astore.aget_many(keys)
    return finish(raws, await astore.aget_numbers(numeric) if numeric else [])


_Finish = Callable[[Sequence[str | None], Sequence[float]], tuple[ModelStatus, ...]]


def _status_reads(router: Router) -> tuple[list[str], list[str], _Finish]:
    """The keys a status report reads: every model's and deployment's breaker and cooldown
    records (one batch), the deployments' request and token counts this minute (another); and
    how to finish the report from their values."""
    models = router._models
    specs = router.config.models
    targets = [d.target for m in models for d in specs[m].deployments]
    keys = list(router._state_keys)
    if targets:
        keys += router.breakers.keys(targets) + router.cooldowns.keys(targets)
    minute = int(time.time() // WINDOW_S)
    counted = [d for m in models for d in specs[m].deployments if d.rpm or d.tpm]
    numeric: list[str] = []
    for d in counted:
        if d.rpm:
            numeric.append(f"{router.tokens.stem('rpm', d.target)}{minute}")
        if d.tpm:
            numeric.append(router.tokens.key(d.target, minute))

    def finish(raws: Sequence[str | None], values: Sequence[float]) -> tuple[ModelStatus, ...]:
        count, n = len(models), len(targets)
        own = _statuses(router, models, raws[:count], raws[count : 2 * count])
        rest = raws[2 * count :]
        of_target = dict(zip(targets, _statuses(router, targets, rest[:n], rest[n:]), strict=True))
        used = iter(values)
        counts = {
            d.target: (next(used) if d.rpm else None, next(used) if d.tpm else None)
            for d in counted
        }
        out = []
        for name, status in zip(models, own, strict=True):
            deployments = tuple(
                _deployment(router, d, of_target[d.target], counts.get(d.target, (None, None)))
                for d in specs[name].deployments
            )
            out.append(replace(status, deployments=deployments))
        return tuple(out)

    return keys, numeric, finish


def _statuses(
    router: Router,
    targets: Sequence[str],
    breaker_raws: Sequence[str | None],
    cooldown_raws: Sequence[str | None],
) -> list[ModelStatus]:
    statuses = router.breakers.parse_statuses(targets, breaker_raws)
    cooling = router.cooldowns.parse_remaining(targets, cooldown_raws)
    out = []
    for target in targets:
        status = statuses[target]
        cooldown = cooling.get(target)
        reason = status.reason
        if cooldown is not None and status.allows:
            reason = f"cooldown: provider asked to retry in {cooldown:.1f}s"
        out.append(
            ModelStatus(
                model=target,
                breaker=str(status.state),
                available=status.allows and cooldown is None,
                reason=reason,
                retry_in_s=status.retry_in_s if status.state is not BreakerState.CLOSED else None,
                cooldown_s=cooldown,
            )
        )
    return out


def _deployment(
    router: Router,
    spec: ModelSpec,
    status: ModelStatus,
    used: tuple[float | None, float | None],
) -> DeploymentStatus:
    return DeploymentStatus(
        name=spec.deployment or spec.target,
        weight=spec.weight,
        breaker=status.breaker,
        available=status.available,
        reason=status.reason,
        retry_in_s=status.retry_in_s,
        cooldown_s=status.cooldown_s,
        in_flight=router.deployments.inflight(spec.target),
        rpm=spec.rpm,
        rpm_used=used[0],
        tpm=spec.tpm,
        tpm_used=used[1],
    )


def health(router: Router) -> HealthReport:
    try:
        models: tuple[ModelStatus, ...] | None = router.models_status()
    except RouterError as error:
        if error.code != "state_unavailable":
            raise
        models = None  # Redis lost and on_unavailable = "refuse"
    return _report(router, models)


async def ahealth(router: Router) -> HealthReport:
    try:
        models: tuple[ModelStatus, ...] | None = await router.amodels_status()
    except RouterError as error:
        if error.code != "state_unavailable":
            raise
        models = None
    return _report(router, models)


def _report(router: Router, models: tuple[ModelStatus, ...] | None) -> HealthReport:
    """``models`` None: the store could not be read."""
    degraded = router.degraded
    if models is None:
        state = "unavailable"
    elif degraded:
        state = "degraded"
    elif isinstance(router.store, MemoryStore):
        state = "memory"
    elif router.astore is not None:
        state = "redis"  # RedisStore, or the FailoverStore over it
    else:
        state = type(router.store).__name__  # a store of the app's own
    ready = models is not None and any(m.available for m in models)
    return HealthReport(
        ready=ready, state=state, degraded=degraded, warmed=router.warmed, models=models or ()
    )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


__all__ = [
    "DeploymentStatus",
    "HealthReport",
    "ModelStatus",
    "ScopeSpend",
    "SpendReport",
    "ahealth",
    "amodels_status",
    "aspend",
    "health",
    "models_status",
    "spend",
]

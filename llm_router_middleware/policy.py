"""Per-view narrowing of routing: which tier, models, strategy, cost cap and deadline apply."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .config import RouterConfig
from .config.schema import STRATEGIES
from .errors import ConfigError

POLICY_ATTRIBUTE = "llm_router_policy"  # set on views an llm_policy decorator wraps, for checks


@dataclass(frozen=True, slots=True)
class Policy:
    """``tier`` replaces the context's tier, ``models`` narrows the tier's allow-list, ``strategy``
    overrides the routing strategy, ``max_cost_usd`` caps one call's estimated cost, and
    ``deadline_s`` bounds the whole call (fallbacks included). ``hedge`` (or a
    ``hedge_after_s`` delay) lets ``acomplete`` start the next model when the first is slow
    (see ``hedging.py``); ``hedge=False`` turns off a tier's hedging for the view.
    ``cache`` turns the response
    cache on or off (else the tier's ``cache`` decides); ``cache_shared`` declares the view's
    replies the same for every user, so one user's cached reply may serve another."""

    tier: str | None = None
    models: tuple[str, ...] | None = None
    strategy: str | None = None
    max_cost_usd: float | None = None
    deadline_s: float | None = None
    hedge: bool | None = None
    hedge_after_s: float | None = None  # the hedge delay before the first model's p95 is known
    cache: bool | None = None
    cache_shared: bool | None = None

    @classmethod
    def build(
        cls,
        *,
        tier: str | None = None,
        models: Sequence[str] | None = None,
        strategy: str | None = None,
        max_cost_usd: float | None = None,
        deadline_s: float | None = None,
        hedge: bool | None = None,
        hedge_after_s: float | None = None,
        cache: bool | None = None,
        cache_shared: bool | None = None,
    ) -> Policy:
        """The keyword form every ``llm_policy(...)`` helper takes (any sequence of models)."""
        return cls(
            tier=tier,
            models=tuple(models) if models is not None else None,
            strategy=strategy,
            max_cost_usd=max_cost_usd,
            deadline_s=deadline_s,
            hedge=hedge,
            hedge_after_s=hedge_after_s,
            cache=cache,
            cache_shared=cache_shared,
        )

    def validate(self, config: RouterConfig, where: str = "llm_policy") -> Policy:
        if self.tier is not None and self.tier not in config.tiers:
            raise ConfigError(
                f"{where}(tier=...)",
                f"unknown tier {self.tier!r}; configured tiers: {', '.join(config.tiers)}",
            )
        for name in self.models or ():
            if name not in config.models:
                raise ConfigError(
                    f"{where}(models=...)",
                    f"unknown model {name!r}; configured models: {', '.join(config.models)}",
                )
        if self.models is not None and not self.models:
            raise ConfigError(f"{where}(models=...)", "must name at least one model")
        if self.models:
            self._check_tiers(config, self.models, where)
        if self.strategy is not None and self.strategy not in STRATEGIES:
            raise ConfigError(
                f"{where}(strategy=...)",
                f"unknown strategy {self.strategy!r}; use one of {', '.join(STRATEGIES)}",
            )
        if self.strategy == "experiment" and config.routing.experiment is None:
            raise ConfigError(f"{where}(strategy=...)", "no [routing.experiment] is configured")
        if self.strategy == "semantic" and config.routing.semantic is None:
            raise ConfigError(f"{where}(strategy=...)", "no [routing.semantic] is configured")
        if self.max_cost_usd is not None and self.max_cost_usd < 0:
            raise ConfigError(f"{where}(max_cost_usd=...)", "must not be negative")
        for name in ("cache", "cache_shared"):
            if getattr(self, name) not in (None, True, False):
                raise ConfigError(f"{where}({name}=...)", "must be True, False or None")
        if self.deadline_s is not None and self.deadline_s <= 0:
            raise ConfigError(f"{where}(deadline_s=...)", "must be greater than 0")
        if self.hedge_after_s is not None and not self.hedge_after_s > 0:
            raise ConfigError(f"{where}(hedge_after_s=...)", "must be greater than 0")
        if self.hedge is False and self.hedge_after_s is not None:
            raise ConfigError(f"{where}(hedge_after_s=...)", "is set but hedge=False")
        return self

    def _check_tiers(self, config: RouterConfig, models: tuple[str, ...], where: str) -> None:
        """Models the tier forbids (``tier=...`` given), or that no tier allows, are errors."""
        tiers = [config.tiers[self.tier]] if self.tier is not None else config.tiers.values()
        allowed = {m for t in tiers for m in (t.models or config.routing.fallbacks)}
        forbidden = [m for m in models if m not in allowed]
        if forbidden:
            whom = f"tier {self.tier!r}" if self.tier is not None else "any tier"
            raise ConfigError(
                f"{where}(models=...)",
                f"{', '.join(map(repr, forbidden))} not allowed for {whom} "
                f"(allowed: {', '.join(sorted(allowed))})",
            )

    def merged(self, inner: Policy | None) -> Policy:
        """``inner`` (closer to the call) wins field by field; model lists intersect."""
        if inner is None:
            return self
        models = self.models
        if inner.models is not None:
            models = (
                inner.models if models is None else tuple(m for m in inner.models if m in models)
            )
        caps = [c for c in (self.max_cost_usd, inner.max_cost_usd) if c is not None]
        deadlines = [d for d in (self.deadline_s, inner.deadline_s) if d is not None]
        return Policy(
            tier=inner.tier or self.tier,
            models=models,
            strategy=inner.strategy or self.strategy,
            max_cost_usd=min(caps) if caps else None,
            deadline_s=min(deadlines) if deadlines else None,
            hedge=inner.hedge if inner.hedge is not None else self.hedge,
            hedge_after_s=inner.hedge_after_s or self.hedge_after_s,
            cache=inner.cache if inner.cache is not None else self.cache,
            cache_shared=inner.cache_shared
            if inner.cache_shared is not None
            else self.cache_shared,
        )

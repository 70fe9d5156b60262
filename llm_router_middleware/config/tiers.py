"""The ``[tiers]`` and ``[budgets]`` sections: who may use which models, and spend limits."""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping
from types import MappingProxyType

from ..errors import ConfigError
from .collect import report, suggest
from .models import known_model
from .reader import Table
from .schema import STRATEGIES, BudgetSpec, ModelSpec, TierSpec


def read_tiers(
    root: Table, models: Mapping[str, ModelSpec], default_tier: str
) -> dict[str, TierSpec]:
    t = root.table("tiers")
    tiers: dict[str, TierSpec] = {}
    if t is not None:
        for name, _ in t.items():
            tt = Table(t.raw(name), t.path(name))
            allowed = tt.str_list("models", ())
            for i, m in enumerate(allowed):
                known_model(models, m, f"{tt.path('models')}[{i}]")
            strategy = (
                tt.choice("strategy", (*STRATEGIES, None), None) if tt.has("strategy") else None
            )
            tiers[name] = TierSpec(
                name=name,
                models=allowed,
                strategy=strategy,
                quality_floor=tt.number("quality_floor", None, minimum=0, maximum=1),
                max_latency_s=tt.number("max_latency_s", None, positive=True),
                hedge=tt.boolean("hedge", False),
                hedge_after_s=tt.number("hedge_after_s", None, positive=True),
                cache=tt.boolean("cache", False),
            )
            tt.done()
    if default_tier not in tiers:
        tiers[default_tier] = TierSpec(
            name=default_tier, models=(), strategy=None, quality_floor=None
        )
    return tiers


def read_budgets(root: Table, tiers: Mapping[str, TierSpec]) -> BudgetSpec:
    t = root.table("budgets") or Table({}, "budgets")
    per_tier: dict[str, float] = {}
    pt = t.table("per_tier_usd")
    if pt is not None:
        for tier, _ in pt.items():
            if tier not in tiers:
                report(
                    ConfigError(
                        pt.path(tier),
                        f"names tier {tier!r}, which is not defined in [tiers]"
                        + suggest(tier, tiers),
                    )
                )
            per_tier[tier] = pt.number(tier, minimum=0)
    tz = t.string("timezone", "UTC")
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        report(ConfigError(t.path("timezone"), f"unknown time zone {tz!r}"))
    spec = BudgetSpec(
        per_user_usd=t.number("per_user_usd", None, minimum=0),
        per_tier_usd=MappingProxyType(per_tier),
        global_usd=t.number("global_usd", None, minimum=0),
        timezone=tz,
        on_exhausted=t.choice("on_exhausted", ("downgrade", "refuse"), "downgrade"),
        refuse_status=int(t.choice("refuse_status", (402, 429), 402)),
    )
    t.done()
    return spec

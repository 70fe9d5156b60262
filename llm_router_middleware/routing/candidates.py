"""A tier's candidates and their static facts, resolved once per (config, tier, allow-list).

Planning runs on every call and reads the same few fields of the same model specs each time;
``candidates`` resolves them once into flat rows (the candidate loop unpacks a tuple instead of
reading six slots per model) and keeps them while the config lives.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

from ..config.schema import ModelSpec, RouterConfig, TierSpec
from .plan import Rejection
from .refusals import narrowed

if TYPE_CHECKING:  # inputs imports learned, which imports this module
    from .inputs import PlanInput

# name, spec, max_output_tokens, context_window, rpm, tpm, quality, $/input token, $/output token
Row = tuple[str, ModelSpec, int, int, int | None, int | None, float, float, float]
# a row for one call's expected output: name, spec, output tokens reserved (the expected output
# capped by the model's maximum), room for the prompt (window - output), rpm as a float (the
# requests counted are floats: a float comparison is the cheap one), tpm, quality,
# $/input token, the output's cost (output tokens * $/output token), context window
Fitted = tuple[str, ModelSpec, int, int, float | None, int | None, float, float, float, int]
# a complexity level's model and the (level, model) pairs the complexity strategy tries for it,
# in order of preference (``selection.by_level``): the configured levels, read once
Ladder = tuple[str, tuple[tuple[str, str], ...]]
NEAREST = {  # each level, then the others by nearness
    "complex": ("complex", "medium", "simple"),
    "medium": ("medium", "simple", "complex"),
    "simple": ("simple", "medium", "complex"),
}


@dataclass(frozen=True, slots=True)
class Candidates:
    names: tuple[str, ...]  # the tier's models (narrowed to the view's), in fallback order
    rows: tuple[Row, ...]  # one per name, same order
    quality: Mapping[str, float]  # model -> quality, every model of the config
    weakness: Mapping[str, float]  # model -> -quality, every model of the config (sort keys)
    levels: tuple[float, ...]  # the candidates' distinct qualities, ascending (learned)
    floor: float  # the quality floor of the cost and latency strategies for this tier
    strongest: Mapping[float, str]  # level -> the first candidate of that quality or more
    fitted: dict[int, tuple[Fitted, ...]]  # expected output tokens -> rows (see ``fit``)
    distinct: bool = False  # no two candidates of the same quality (one sort ranks by quality)
    # level -> the candidates of that quality or more (learned)
    good: Mapping[float, frozenset[str]] = field(default_factory=dict)
    unique: bool = False  # no candidate listed twice
    # complexity level -> its ladder (the config's complexity levels; a level with no model has
    # none, and looking it up raises KeyError, as looking up its model does)
    ladders: Mapping[str, Ladder] = field(default_factory=dict)

    def fit(self, expected: int) -> tuple[Fitted, ...]:
        """The rows for a call expecting ``expected`` output tokens: what the candidate loop
        reads, with the output reserved, the room left for the prompt and the output's cost
        worked out once per expected output (a few values: the default and common max_tokens)."""
        rows = self.fitted.get(expected)
        if rows is None:
            if len(self.fitted) > 64:  # max_tokens is the caller's: stay bounded
                self.fitted.clear()
            rows = self.fitted[expected] = tuple(_fitted(row, expected) for row in self.rows)
        return rows


_Key = tuple[int, int, tuple[str, ...] | None]  # ids of the config and tier, the allow-list
_cache: dict[_Key, tuple[RouterConfig, TierSpec, Candidates]] = {}
# the last lookup's (config, tier, allow-list, candidates): a router plans with the same few
# objects call after call, and comparing identities costs less than hashing the allow-list
# (no config is None: the placeholder never matches)
_last: tuple[object, object, object, Candidates] = (None, None, None, cast(Candidates, None))
_quality: dict[int, tuple[RouterConfig, Mapping[str, float], Mapping[str, float]]] = {}


def candidates(config: RouterConfig, tier: TierSpec, allowed: tuple[str, ...] | None) -> Candidates:
    """Raises ``NoModelAvailableError`` when the view allows none of the tier's models."""
    global _last
    last_config, last_tier, last_allowed, found = _last
    if config is last_config and tier is last_tier and allowed is last_allowed:
        return found
    found = _lookup(config, tier, allowed)
    _last = (config, tier, allowed, found)
    return found


def _lookup(config: RouterConfig, tier: TierSpec, allowed: tuple[str, ...] | None) -> Candidates:
    key = (id(config), id(tier), allowed)
    hit = _cache.get(key)
    if hit is not None and hit[0] is config and hit[1] is tier:
        return hit[2]
    names = tier.models or config.routing.fallbacks
    if allowed is not None:  # the view's models, in the view's order, that the tier allows
        names = narrowed(tier, names, allowed)
    models = config.models
    rows = tuple(_row(name, models[name]) for name in names)
    routing = config.routing
    floor = tier.quality_floor if tier.quality_floor is not None else routing.cost.quality_floor
    levels = tuple(sorted({row[6] for row in rows}))
    quality, weakness = _qualities(config)
    found = Candidates(
        names,
        rows,
        quality,
        weakness,
        levels,
        floor,
        {q: next(row[0] for row in rows if row[6] >= q) for q in levels},
        {},
        len(levels) == len(set(names)),
        {q: frozenset(row[0] for row in rows if row[6] >= q) for q in levels},
        len(set(names)) == len(names),
        _ladders(routing.complexity.levels),
    )
    if len(_cache) > 256:  # configs, tiers and views are few and long-lived; stay bounded
        _cache.clear()
    _cache[key] = (config, tier, found)
    return found


def _ladders(levels: Mapping[str, str]) -> dict[str, Ladder]:
    return {
        level: (
            levels[level],
            tuple((near, m) for near in nearest if (m := levels.get(near)) is not None),
        )
        for level, nearest in NEAREST.items()
        if level in levels
    }


def _row(name: str, spec: ModelSpec) -> Row:
    return (
        name,
        spec,
        spec.max_output_tokens,
        spec.context_window,
        spec.rpm,
        spec.tpm,
        spec.quality,
        spec.input_cost_per_token,
        spec.output_cost_per_token,
    )


def _fitted(row: Row, expected: int) -> Fitted:
    name, spec, max_out, window, rpm, tpm, quality, in_cost, out_cost = row
    out = max_out if max_out < expected else expected
    rpm_f = float(rpm) if rpm is not None else None
    return (name, spec, out, window - out, rpm_f, tpm, quality, in_cost, out * out_cost, window)


def _qualities(config: RouterConfig) -> tuple[Mapping[str, float], Mapping[str, float]]:
    hit = _quality.get(id(config))
    if hit is not None and hit[0] is config:
        return hit[1], hit[2]
    quality = {name: spec.quality for name, spec in config.models.items()}
    weakness = {name: -q for name, q in quality.items()}
    if len(_quality) > 64:
        _quality.clear()
    _quality[id(config)] = (config, quality, weakness)
    return quality, weakness


def cheapest_first(
    pool: list[str], est: Mapping[str, float], weakness: Mapping[str, float]
) -> list[str]:
    """``pool`` by estimated cost, ties to the higher quality, then in pool order: sorted on
    the key (cost, -quality) as two stable sorts whose keys are dict lookups (no Python call
    per model)."""
    ranked = pool.copy()  # a copy sorted in place: fewer steps than sorted()
    ranked.sort(key=weakness.__getitem__)
    ranked.sort(key=est.__getitem__)
    return ranked


def strongest_first(
    pool: list[str],
    est: Mapping[str, float],
    weakness: Mapping[str, float],
    distinct: bool = False,
) -> list[str]:
    """``pool`` by quality, highest first, ties to the cheaper, then in pool order (the key
    (-quality, cost), as ``cheapest_first``). ``distinct``: no two models of the pool share a
    quality (a model listed twice aside), so no tie is left to the cost."""
    ranked = pool.copy()  # a copy sorted in place: fewer steps than sorted()
    if not distinct:
        ranked.sort(key=est.__getitem__)
    ranked.sort(key=weakness.__getitem__)
    return ranked


def narrow(order: list[str], removed: Sequence[str]) -> list[str]:
    """``order`` (a pool, or a ranking of one) without ``removed`` (some of the pool's models,
    once per time the pool lists them): the ranking the pool left gets from any of the sorts
    above, as each orders by a per-model key and keeps pool order on ties. ``order`` itself
    when nothing is removed. (A copy and a few removals: cheaper than a comprehension.)"""
    if not removed:
        return order
    narrowed = order.copy()
    for m in removed:
        narrowed.remove(m)
    return narrowed


def unavailable(
    rejected: Sequence[Rejection], found: Candidates, inp: PlanInput, model: str
) -> str:
    """Why ``model`` is not the pick: a filter rejected it, the tier (or view) does not allow
    it, or it costs more than the per-call cap."""
    for r in rejected:
        if r.model == model:
            return f"{model} unavailable ({r.code})"
    if model not in found.names:
        where = " and this view" if inp.allowed is not None else ""
        return f"{model} not allowed for tier {inp.tier.name}{where}"
    return f"{model} unaffordable"

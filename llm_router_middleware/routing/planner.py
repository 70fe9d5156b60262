"""The routing decision: candidates -> filters -> selection -> ordered fallbacks.

Pure: everything that changes between calls (breakers, cooldowns, spend, latency, the clock)
arrives in a ``StateView``, so a plan is a function of its inputs and costs microseconds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any, NoReturn

from ..config.schema import RouterConfig, TierSpec
from ..context import RequestContext
from ..errors import (
    BudgetExhaustedError,
    DeadlineExceededError,
    InvalidRequestError,
    NoModelAvailableError,
    PromptTooLongError,
)
from .budget import BudgetSnapshot
from .capabilities import missing, model_lacks, no_capable_model, why_capability
from .complexity import ComplexityResult, classify_complexity
from .experiments import assign
from .latency import LatencyFigures
from .learned import LearnedInput, select_learned
from .plan import AttributeValue, Plan, Rejection
from .reasons import (
    usd,
    why_budget,
    why_cap,
    why_cooldown,
    why_deadline,
    why_quality,
    why_rpm,
    why_text,
    why_tpm,
    why_window,
)
from .speed import fastest, meet_objective

_EPS = 1e-12
_LEVEL_PREFERENCE = {
    "complex": ("complex", "medium", "simple"),
    "medium": ("medium", "simple", "complex"),
    "simple": ("simple", "medium", "complex"),
}


def _empty_attrs() -> Mapping[str, AttributeValue]:
    return MappingProxyType({})


def _empty_floats() -> Mapping[str, float]:
    return MappingProxyType({})


def _empty_figures() -> Mapping[str, LatencyFigures]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Preselection:
    """A decision made before planning (the semantic route); ``model`` None = no match."""

    model: str | None
    reason: str
    attributes: Mapping[str, AttributeValue] = field(default_factory=_empty_attrs)


@dataclass(frozen=True, slots=True)
class PlanInput:
    text: str  # routable text (user message text)
    prompt_tokens: int
    context: RequestContext
    tier: TierSpec
    strategy: str  # already resolved: view policy > tier.strategy > routing.strategy
    allowed: tuple[str, ...] | None = None  # per-view allow-list, intersected with the tier's
    max_cost_usd: float | None = None  # per-view cap per call
    preselection: Preselection | None = None  # for strategy "semantic"
    expected_output_tokens: int | None = None  # the call's max_tokens; default routing.cost's
    fallthrough: str = "complexity"  # strategy "semantic" uses this one when no route matches
    learned: LearnedInput | None = None  # for strategy "learned": the prompt's difficulty
    features: frozenset[str] = frozenset()  # what the call needs (routing/capabilities.py)


@dataclass(frozen=True, slots=True)
class StateView:
    blocked: Mapping[str, str]  # model -> reason, from breakers
    cooldowns: Mapping[str, float]  # model -> seconds remaining
    rpm_used: Mapping[str, float]  # model -> requests in the current minute
    budget: BudgetSnapshot
    latency_s: Mapping[str, float]  # EWMA per model
    now_monotonic: float | None = None  # for deadline checks (context.deadline is monotonic)
    blocked_retry_s: Mapping[str, float] = field(default_factory=_empty_floats)  # breaker waits
    tpm_used: Mapping[str, float] = field(default_factory=_empty_floats)  # tokens this minute
    # EWMA, p95, time to first token per model: read only for the ``latency`` strategy and a
    # tier's ``max_latency_s`` objective
    latency: Mapping[str, LatencyFigures] = field(default_factory=_empty_figures)


_SPLIT = "strategy order reason tier candidates rejected prompt_tokens estimates_usd " + (
    "budget_remaining_usd budget_scope downgraded experiment arm attributes"
)
_PLAN_FIELDS = tuple(_SPLIT.split())
_new = object.__new__


def _slot_setter(cls: type, name: str) -> Callable[[Any, Any], None]:
    setter: Callable[[Any, Any], None] = getattr(cls, name).__set__
    return setter


# A frozen dataclass's generated __init__ goes through object.__setattr__ once per field; the
# slot descriptors do the same work several times faster, which matters for objects built on
# every request. If plan.py changes its fields, the dataclass constructors are used instead.
if tuple(f.name for f in fields(Plan)) == _PLAN_FIELDS:
    _plan_setters = tuple(_slot_setter(Plan, n) for n in _PLAN_FIELDS)

    def _new_plan(*values: Any) -> Plan:
        plan = _new(Plan)
        for set_, value in zip(_plan_setters, values, strict=True):
            set_(plan, value)
        return plan

else:  # pragma: no cover - only if plan.py changes shape

    def _new_plan(*values: Any) -> Plan:
        return Plan(**dict(zip(_PLAN_FIELDS, values, strict=True)))


_deferred = Rejection.deferred


class _Selector:
    """One plan's strategy: picks the first model from a pool and explains why."""

    __slots__ = ("attrs", "cands", "complexity", "config", "est", "inp", "rejected", "view")

    def __init__(
        self,
        config: RouterConfig,
        inp: PlanInput,
        cands: tuple[str, ...],
        est: dict[str, float],
        rejected: list[Rejection],
        attrs: dict[str, AttributeValue],
        view: StateView,
    ) -> None:
        self.view = view
        self.config = config
        self.inp = inp
        self.cands = cands
        self.est = est
        self.rejected = rejected
        self.attrs = attrs
        self.complexity: ComplexityResult | None = None

    def why_not(self, model: str) -> str:
        for r in self.rejected:
            if r.model == model:
                return f"{model} unavailable ({r.code})"
        if model not in self.cands:
            where = " and this view" if self.inp.allowed is not None else ""
            return f"{model} not allowed for tier {self.inp.tier.name}{where}"
        return f"{model} unaffordable"

    def select(self, strategy: str, pool: list[str]) -> tuple[str, str, list[str]]:
        """(selected, reason, order of the whole pool with the selected first)."""
        if strategy == "fixed":
            first = pool[0]
            if first == self.cands[0]:
                return first, f"fixed: first in order -> {first}", pool
            return first, f"fixed: {self.why_not(self.cands[0])} -> {first}", pool
        if strategy == "cost":
            est, models = self.est, self.config.models
            ranked = sorted(pool, key=lambda m: (est[m], -models[m].quality))
            first = ranked[0]
            floor = self.attrs.get("cost.quality_floor", 0.0)
            self.attrs["cost.estimate_usd"] = est[first]
            return (
                first,
                f"cost: cheapest meeting quality floor {floor} -> {first} "
                f"(~{usd(est[first])}, quality {models[first].quality})",
                ranked,
            )
        if strategy == "complexity":
            return self._complexity(pool, "")
        if strategy == "latency":
            floor = self.attrs.get("latency.quality_floor", 0.0)
            return fastest(pool, self.view.latency, self.config.models, float(floor))
        if strategy == "experiment":
            return self._experiment(pool)
        if strategy == "learned":
            return select_learned(
                self.inp.learned,
                pool,
                self.cands,
                self.config.models,
                self.est,
                self.attrs,
                self.why_not,
            )
        if strategy == "semantic":
            pre = self.inp.preselection
            if pre is not None:
                self.attrs.update(pre.attributes)
                if pre.model is not None and pre.model in pool:
                    return (
                        pre.model,
                        f"semantic: {pre.reason} -> {pre.model}",
                        _first(pool, pre.model),
                    )
                if pre.model is not None:
                    lead = f"semantic: {pre.reason}, but {self.why_not(pre.model)}; "
                else:
                    lead = f"semantic: no match ({pre.reason}); "
            else:
                lead = "semantic: no preselection; "
            fallthrough = self.inp.fallthrough
            if fallthrough == "complexity" or fallthrough == "semantic":
                return self._complexity(pool, lead)
            first, reason, order = self.select(fallthrough, pool)
            return first, lead + reason, order
        raise InvalidRequestError(
            f"unknown routing strategy {strategy!r}; use fixed, complexity, cost, experiment, "
            "semantic, learned or latency"
        )

    def _complexity(self, pool: list[str], lead: str) -> tuple[str, str, list[str]]:
        spec = self.config.routing.complexity
        result = self.complexity
        if result is None:
            result = self.complexity = classify_complexity(self.inp.text, spec)
            self.attrs["complexity.level"] = result.level
        wanted = spec.levels[result.level]
        for level in _LEVEL_PREFERENCE[result.level]:
            model = spec.levels.get(level)
            if model is not None and model in pool:
                if model == wanted:
                    return model, f"{lead}{result.reason} -> {model}", _first(pool, model)
                return (
                    model,
                    f"{lead}{result.reason}; {self.why_not(wanted)} -> {level} model {model}",
                    _first(pool, model),
                )
        return (
            pool[0],
            f"{lead}{result.reason}; no level model available -> {pool[0]}",
            pool,
        )

    def _experiment(self, pool: list[str]) -> tuple[str, str, list[str]]:
        spec = self.config.routing.experiment
        if spec is None:
            return pool[0], f"experiment: none configured, fixed order -> {pool[0]}", pool
        a = assign(spec, self.inp.context)
        self.attrs["experiment.arm"] = a.arm
        self.attrs["experiment.enrolled"] = a.enrolled
        if a.bucket is not None:
            self.attrs["experiment.bucket"] = a.bucket
        if a.model in pool:
            self.attrs["experiment.arm_available"] = True
            return a.model, f"{a.reason} -> {a.model}", _first(pool, a.model)
        self.attrs["experiment.arm_available"] = False
        return pool[0], f"{a.reason}; arm {self.why_not(a.model)} -> {pool[0]}", pool


def _first(pool: list[str], model: str) -> list[str]:
    if pool[0] == model:
        return pool
    return [model, *(m for m in pool if m != model)]


def make_plan(config: RouterConfig, inp: PlanInput, view: StateView) -> Plan:
    """Decide which models to try, in order, and why. Raises ``NoModelAvailableError``,
    ``BudgetExhaustedError`` or ``DeadlineExceededError`` when nothing may be tried."""
    routing = config.routing
    tier = inp.tier
    strategy = inp.strategy
    cands = tier.models or routing.fallbacks
    allowed = inp.allowed
    if allowed is not None:  # the view's models, in the view's order, that the tier allows
        cands = _narrowed(tier, cands, allowed)
    models = config.models
    pt = inp.prompt_tokens
    expected = inp.expected_output_tokens or routing.cost.expected_output_tokens
    if expected < 1:  # a negative estimate would make any model look affordable
        raise InvalidRequestError(f"max_tokens must be at least 1, got {expected}", "max_tokens")
    blocked, cooldowns, rpm_used = view.blocked, view.cooldowns, view.rpm_used
    tpm_used = view.tpm_used
    latency = view.latency_s
    cap = inp.max_cost_usd
    attrs: dict[str, AttributeValue] = {}
    needs = inp.features

    time_left: float | None = None
    deadline = inp.context.deadline
    if deadline is not None and view.now_monotonic is not None:
        time_left = deadline - view.now_monotonic
        if time_left <= 0:
            raise DeadlineExceededError(
                f"the request's deadline passed {-time_left:.3f} s ago, before any model was tried"
            )
    floor = 0.0
    if strategy == "cost" or strategy == "latency":
        floor = tier.quality_floor if tier.quality_floor is not None else routing.cost.quality_floor
        attrs[f"{strategy}.quality_floor"] = floor

    eligible: list[str] = []
    est: dict[str, float] = {}
    rejected: list[Rejection] = []
    for name in cands:
        spec = models[name]
        out = spec.max_output_tokens if spec.max_output_tokens < expected else expected
        if needs and not needs.isdisjoint(lacks := model_lacks(spec)):
            absent = missing(needs, lacks)
            rejected.append(_deferred(name, "capability", why_capability, (name, absent)))
        elif pt + out > spec.context_window:
            rejected.append(
                _deferred(name, "context_window", why_window, (name, pt, out, spec.context_window))
            )
        elif blocked and name in blocked:
            rejected.append(_deferred(name, "breaker_open", why_text, (name, blocked[name])))
        elif cooldowns and cooldowns.get(name, 0.0) > 0:
            rejected.append(_deferred(name, "cooldown", why_cooldown, (name, cooldowns[name])))
        elif spec.rpm is not None and rpm_used.get(name, 0.0) >= spec.rpm:
            rejected.append(
                _deferred(name, "rate_limit", why_rpm, (name, rpm_used[name], spec.rpm))
            )
        elif spec.tpm is not None and tpm_used.get(name, 0.0) + pt + out > spec.tpm:
            rejected.append(
                _deferred(
                    name,
                    "token_limit",
                    why_tpm,
                    (name, tpm_used.get(name, 0.0), pt + out, spec.tpm),
                )
            )
        elif time_left is not None and latency and latency.get(name, 0.0) > time_left:
            rejected.append(
                _deferred(name, "deadline", why_deadline, (name, latency[name], time_left))
            )
        elif floor and spec.quality < floor:
            rejected.append(_deferred(name, "quality", why_quality, (name, spec.quality, floor)))
        else:
            cost = pt * spec.input_cost_per_token + out * spec.output_cost_per_token
            if cap is None or cost <= cap + _EPS:
                est[name] = cost
                eligible.append(name)
            else:
                rejected.append(_deferred(name, "cost_cap", why_cap, (name, cost, cap)))

    note = ""
    if tier.max_latency_s is not None and eligible:
        eligible, note = meet_objective(
            eligible,
            tier.max_latency_s,
            view.latency,
            routing.latency.min_samples,
            rejected,
            attrs,
        )
    if not eligible:
        no_capable_model(needs, rejected)
        _too_long(config, cands, rejected, pt, expected)
        _no_model(tier, cands, rejected, cooldowns, view.blocked_retry_s)

    budget = view.budget
    remaining = budget.remaining_usd
    if remaining is None:
        affordable = eligible
    else:
        limit = remaining + _EPS
        affordable = [m for m in eligible if est[m] <= limit]
        if not affordable:
            cheapest = min(eligible, key=est.__getitem__)
            raise BudgetExhaustedError(
                f"budget exhausted: {budget.scope} has {usd(remaining)} left in window "
                f"{budget.window}; the cheapest allowed model {cheapest} needs "
                f"~{usd(est[cheapest])}",
                scope=budget.scope or "budget",
                remaining_usd=remaining,
                status_code=config.budgets.refuse_status,
            )

    selector = _Selector(config, inp, cands, est, rejected, attrs, view)
    selected, reason, order = selector.select(strategy, eligible)
    downgraded = False
    if affordable is not eligible and len(affordable) != len(eligible):
        for m in eligible:
            if m not in affordable:
                rejected.append(
                    _deferred(m, "budget", why_budget, (m, est[m], remaining or 0.0, budget.scope))
                )
        if selected not in affordable:
            preferred = selected
            if config.budgets.on_exhausted == "refuse":
                raise BudgetExhaustedError(
                    f"budget: {preferred} needs ~{usd(est[preferred])} but {budget.scope} has "
                    f"{usd(remaining or 0.0)} left in window {budget.window} "
                    "(budgets.on_exhausted = 'refuse')",
                    scope=budget.scope or "budget",
                    remaining_usd=remaining or 0.0,
                    status_code=config.budgets.refuse_status,
                )
            selected, reason, order = selector.select(strategy, affordable)
            reason = (
                f"budget downgrade: preferred {preferred} ~{usd(est[preferred])} > "
                f"{usd(remaining or 0.0)} left ({budget.scope}); {reason}"
            )
            downgraded = True
            attrs["budget.preferred"] = preferred
        else:
            order = [m for m in order if m in affordable]

    if note:
        reason = note + reason
    order_t = tuple(order[: routing.max_attempts])
    attrs.setdefault("cost.estimate_usd", est[selected])
    experiment = arm = None
    if attrs.get("experiment.enrolled") and routing.experiment is not None:
        experiment = routing.experiment.name
        arm = str(attrs["experiment.arm"])
    return _new_plan(
        strategy,
        order_t,
        reason,
        tier.name,
        cands,
        tuple(rejected),
        pt,
        MappingProxyType({m: est[m] for m in order_t}),
        remaining,
        budget.scope,
        downgraded,
        experiment,
        arm,
        MappingProxyType(attrs),
    )


def _too_long(
    config: RouterConfig, cands: tuple[str, ...], rejected: list[Rejection], pt: int, out: int
) -> None:
    """Raise PromptTooLongError when no model the request may use has a window that fits:
    waiting cannot help, a shorter prompt (or a smaller max_tokens) can."""
    allowed = [r for r in rejected if r.code != "policy"]
    if not allowed or any(r.code != "context_window" for r in allowed):
        return
    windows = {r.model: config.models[r.model].context_window for r in allowed}
    largest = max(windows, key=windows.__getitem__)
    fits_alone = pt < windows[largest]
    hint = (
        f"; without the {out} output tokens it reserves it would fit: lower max_tokens"
        if fits_alone
        else "; shorten the prompt"
    )
    raise PromptTooLongError(
        f"the prompt has {pt} tokens and the largest context window among the models this "
        f"request may use is {windows[largest]} tokens ({largest}){hint}",
        prompt_tokens=pt,
        largest_window=windows[largest],
    )


def _narrowed(tier: TierSpec, cands: tuple[str, ...], allowed: tuple[str, ...]) -> tuple[str, ...]:
    narrowed = tuple(m for m in allowed if m in cands)
    if not narrowed:
        raise NoModelAvailableError(
            f"no model available for tier {tier.name!r}: this view allows "
            f"{', '.join(allowed)}, and the tier allows only {', '.join(cands)}",
            rejected=[(m, f"{m}: not allowed for tier {tier.name!r}") for m in allowed],
        )
    return narrowed


def _no_model(
    tier: TierSpec,
    cands: tuple[str, ...],
    rejected: list[Rejection],
    cooldowns: Mapping[str, float],
    waits_s: Mapping[str, float],
) -> NoReturn:
    sources: dict[str, Mapping[str, float]] = {"cooldown": cooldowns, "breaker_open": waits_s}
    waits = [w for r in rejected if (w := sources.get(r.code, {}).get(r.model, 0.0)) > 0]
    detail = "; ".join(r.reason for r in rejected) or "the tier lists no models"
    raise NoModelAvailableError(
        f"no model available for tier {tier.name!r} ({len(cands)} candidates): {detail}",
        rejected=[(r.model, r.reason) for r in rejected],
        retry_after_s=min(waits) if waits else None,
    )

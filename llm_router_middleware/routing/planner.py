"""The routing decision: candidates -> filters -> selection -> ordered fallbacks.

Pure: everything that changes between calls (breakers, cooldowns, spend, latency, the clock)
arrives in a ``StateView``, so a plan is a function of its inputs and costs microseconds.
The inputs live in inputs.py, the strategies' selection in selection.py and the errors raised
when nothing may be tried in refusals.py.
"""

from __future__ import annotations

from types import MappingProxyType

from .._build import builder
from ..config.schema import RouterConfig
from ..errors import BudgetExhaustedError, DeadlineExceededError, InvalidRequestError
from .capabilities import missing, model_lacks, no_capable_model, why_capability
from .inputs import PlanInput, Preselection, StateView
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
from .refusals import narrowed, no_model, too_long
from .selection import Selector
from .speed import meet_objective

__all__ = ["Plan", "PlanInput", "Preselection", "StateView", "make_plan"]

_EPS = 1e-12
_new_plan = builder(Plan)
_deferred = Rejection.deferred


def make_plan(config: RouterConfig, inp: PlanInput, view: StateView) -> Plan:
    """Decide which models to try, in order, and why. Raises ``NoModelAvailableError``,
    ``BudgetExhaustedError`` or ``DeadlineExceededError`` when nothing may be tried."""
    routing = config.routing
    tier = inp.tier
    strategy = inp.strategy
    cands = tier.models or routing.fallbacks
    allowed = inp.allowed
    if allowed is not None:  # the view's models, in the view's order, that the tier allows
        cands = narrowed(tier, cands, allowed)
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
        too_long(config, cands, rejected, pt, expected)
        no_model(tier, cands, rejected, cooldowns, view.blocked_retry_s)

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

    selector = Selector(config, inp, cands, est, rejected, attrs, view)
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

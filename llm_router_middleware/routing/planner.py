"""The routing decision: candidates -> filters -> selection -> ordered fallbacks.

Pure: everything that changes between calls (breakers, cooldowns, spend, latency, the clock)
arrives in a ``StateView``, so a plan is a function of its inputs and costs microseconds.
The inputs live in inputs.py, the strategies' selection in selection.py and the errors raised
when nothing may be tried in refusals.py.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType

from .._build import builder
from ..config.schema import RouterConfig
from ..errors import BudgetExhaustedError, DeadlineExceededError, InvalidRequestError
from .candidates import candidates
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
from .refusals import no_model, too_long
from .selection import Selector
from .speed import meet_objective

__all__ = ["Plan", "PlanInput", "Preselection", "StateView", "make_plan"]

_EPS = 1e-12
_NO_FLOATS: Mapping[str, float] = MappingProxyType({})
_new_plan = builder(Plan)
_deferred = Rejection.deferred


def make_plan(config: RouterConfig, inp: PlanInput, view: StateView) -> Plan:
    """Decide which models to try, in order, and why. Raises ``NoModelAvailableError``,
    ``BudgetExhaustedError`` or ``DeadlineExceededError`` when nothing may be tried."""
    routing = config.routing
    tier = inp.tier
    strategy = inp.strategy
    found = candidates(config, tier, inp.allowed)
    cands = found.names
    pt = inp.prompt_tokens
    expected = inp.expected_output_tokens or routing.cost.expected_output_tokens
    if expected < 1:  # a negative estimate would make any model look affordable
        raise InvalidRequestError(f"max_tokens must be at least 1, got {expected}", "max_tokens")
    blocked, cooldowns, rpm_used = view.blocked, view.cooldowns, view.rpm_used
    tpm_used = view.tpm_used
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
    # the deadline filter: a model whose typical latency exceeds the time left (never one with no
    # latency observed: time_left > 0 here)
    slow: Mapping[str, float] = view.latency_s if time_left is not None else _NO_FLOATS
    left = time_left if time_left is not None else 0.0
    limit = cap + _EPS if cap is not None else math.inf
    floor = 0.0
    if strategy == "cost":
        floor = attrs["cost.quality_floor"] = found.floor
    elif strategy == "latency":
        floor = attrs["latency.quality_floor"] = found.floor

    eligible: list[str] = []
    est: dict[str, float] = {}
    rejected: list[Rejection] = []
    for name, spec, max_out, window, rpm, tpm, quality, in_cost, out_cost in found.rows:
        out = max_out if max_out < expected else expected
        if needs and not needs.isdisjoint(lacks := model_lacks(spec)):
            absent = missing(needs, lacks)
            rejected.append(_deferred(name, "capability", why_capability, (name, absent)))
        elif pt + out > window:
            rejected.append(_deferred(name, "context_window", why_window, (name, pt, out, window)))
        elif name in blocked:
            rejected.append(_deferred(name, "breaker_open", why_text, (name, blocked[name])))
        elif name in cooldowns and cooldowns[name] > 0:
            rejected.append(_deferred(name, "cooldown", why_cooldown, (name, cooldowns[name])))
        elif rpm is not None and name in rpm_used and rpm_used[name] >= rpm:  # rpm >= 1
            rejected.append(_deferred(name, "rate_limit", why_rpm, (name, rpm_used[name], rpm)))
        elif tpm is not None and tpm_used.get(name, 0.0) + pt + out > tpm:
            rejected.append(
                _deferred(
                    name, "token_limit", why_tpm, (name, tpm_used.get(name, 0.0), pt + out, tpm)
                )
            )
        elif name in slow and slow[name] > left:
            rejected.append(_deferred(name, "deadline", why_deadline, (name, slow[name], left)))
        elif floor and quality < floor:
            rejected.append(_deferred(name, "quality", why_quality, (name, quality, floor)))
        else:
            cost = pt * in_cost + out * out_cost
            if cost <= limit:
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

    selector = Selector(config, inp, found, est, rejected, attrs, view)
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
    estimates = dict(zip(order_t, map(est.__getitem__, order_t), strict=True))
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
        MappingProxyType(estimates),
        remaining,
        budget.scope,
        downgraded,
        experiment,
        arm,
        MappingProxyType(attrs),
    )

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
from typing import Any

from .._build import plain_twin
from ..config.schema import RouterConfig
from ..errors import BudgetExhaustedError, DeadlineExceededError, InvalidRequestError
from .candidates import candidates, narrow
from .capabilities import missing, model_lacks, no_capable_model, why_capability
from .complexity import decide
from .inputs import PlanInput, Preselection, StateView
from .learned import Judgement, judge, select_learned
from .plan import AttributeValue, Deferred, Plan, Rejection
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
from .selection import UNJUDGED, Selector, by_level
from .speed import by_speed, fastest, meet_objective

__all__ = ["Plan", "PlanInput", "Preselection", "StateView", "make_plan"]

_EPS = 1e-12
_NO_FLOATS: dict[str, float] = {}  # read only (a plain dict: the cheapest lookups)
_NONE = -math.inf  # no requests counted, no latency observed
_new = object.__new__
_PlanTwin: Any = plain_twin(Plan)  # make_plan's plans are built in one (see its end)


def make_plan(config: RouterConfig, inp: PlanInput, view: StateView) -> Plan:
    """Decide which models to try, in order, and why. Raises ``NoModelAvailableError``,
    ``BudgetExhaustedError`` or ``DeadlineExceededError`` when nothing may be tried."""
    routing = config.routing
    tier = inp.tier
    strategy = inp.strategy
    found = candidates(config, tier, inp.allowed)
    cands = found.names
    pt = inp.prompt_tokens
    ptf = float(pt)
    expected = inp.expected_output_tokens or routing.cost.expected_output_tokens
    if expected < 1:  # a negative estimate would make any model look affordable
        raise InvalidRequestError(f"max_tokens must be at least 1, got {expected}", "max_tokens")
    blocked, cooldowns, rpm_used = view.blocked, view.cooldowns, view.rpm_used
    tpm_used = view.tpm_used
    cap = inp.max_cost_usd
    attrs: dict[str, AttributeValue] = {}
    needs = inp.features or None  # None: the cheap test in the loop

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
    remaining = view.budget.remaining_usd
    within = remaining + _EPS if remaining is not None else math.inf
    over: list[str] = []  # eligible but over the budget, in order
    # their rejections, built in the loop (the cost at hand, no second pass over ``over``) and
    # added after every other filter's (``remaining`` is not None when a model is over it)
    over_rejected: list[Rejection] = []
    scope = view.budget.scope
    # Rejections are built inline (a bare Deferred() and three slot stores, their text deferred):
    # a plan makes several and a helper call per rejection costs as much again.
    rows = found.fitted.get(expected) or found.fit(expected)
    none = _NONE
    for name, spec, out, room, rpm, tpm, quality, in_cost, out_usd, window in rows:
        if needs is not None and not needs.isdisjoint(lacks := model_lacks(spec)):
            r = Deferred()
            r.model, r.code = name, "capability"
            r._args = (why_capability, name, missing(needs, lacks))
        elif pt > room:
            r = Deferred()
            r.model, r.code = name, "context_window"
            r._args = (why_window, name, pt, out, window)
        elif name in blocked:
            r = Deferred()
            r.model, r.code = name, "breaker_open"
            r._args = (why_text, name, blocked[name])
        elif name in cooldowns and cooldowns[name] > 0.0:
            r = Deferred()
            r.model, r.code = name, "cooldown"
            r._args = (why_cooldown, name, cooldowns[name])
        # one lookup each for the counts and latencies (most models have them): a model with
        # none reads -inf, under any rpm and any time left
        elif rpm is not None and (used := rpm_used.get(name, none)) >= rpm:
            r = Deferred()
            r.model, r.code = name, "rate_limit"
            r._args = (why_rpm, name, used, spec.rpm)
        elif tpm is not None and tpm_used.get(name, 0.0) + pt + out > tpm:
            r = Deferred()
            r.model, r.code = name, "token_limit"
            r._args = (why_tpm, name, tpm_used.get(name, 0.0), pt + out, tpm)
        elif (typical := slow.get(name, none)) > left:
            r = Deferred()
            r.model, r.code = name, "deadline"
            r._args = (why_deadline, name, typical, left)
        elif floor and quality < floor:
            r = Deferred()
            r.model, r.code = name, "quality"
            r._args = (why_quality, name, quality, floor)
        else:
            cost = ptf * in_cost + out_usd  # a float product: as pt * in_cost, cheaper
            if cost <= limit:
                est[name] = cost
                eligible.append(name)
                if cost > within:
                    over.append(name)
                    r = Deferred()
                    r.model, r.code = name, "budget"
                    r._args = (why_budget, name, cost, remaining, scope)
                    over_rejected.append(r)
                continue
            r = Deferred()
            r.model, r.code = name, "cost_cap"
            r._args = (why_cap, name, cost, cap)
        rejected.append(r)

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
        if over:  # the objective may have filtered some of them
            over = [m for m in over if m in eligible]
            over_rejected = [r for r in over_rejected if r.model in eligible]
    if not eligible:
        no_capable_model(inp.features, rejected)
        too_long(config, cands, rejected, pt, expected)
        no_model(tier, cands, rejected, cooldowns, view.blocked_retry_s)

    budget = view.budget
    if over and len(over) == len(eligible):
        cheapest = min(eligible, key=est.__getitem__)
        raise BudgetExhaustedError(
            f"budget exhausted: {budget.scope} has {usd(remaining or 0.0)} left in window "
            f"{budget.window}; the cheapest allowed model {cheapest} needs "
            f"~{usd(est[cheapest])}",
            scope=budget.scope or "budget",
            remaining_usd=remaining or 0.0,
            status_code=config.budgets.refuse_status,
        )

    # with models over the budget the latency and learned strategies' pick may be downgraded:
    # their reasons cost the most, so it is left unformatted until it stands (``brief``). They
    # and the complexity strategy (and a semantic miss falling through to it, in one branch)
    # select here, not through a Selector (no object to build, no dispatch: a plan over the
    # budget selects twice); the other strategies through one.
    brief = bool(over)
    judged: Judgement | None = None
    if strategy == "latency":
        figures, weakness, floor = view.latency, found.weakness, float(floor)
        if brief:  # the ranking alone: fastest narrows it once the pick stands
            order = by_speed(eligible, figures, weakness)
            selected, reason = order[0], ""
        else:
            selected, reason, order = fastest(eligible, figures, weakness, floor)
    elif strategy == "learned":
        learned = inp.learned
        if learned is not None and learned.difficulty is not None:
            judged = judge(learned, found.levels, attrs)
        selected, reason, order = select_learned(judged, eligible, found, est, rejected, inp, brief)
    else:
        brief = False
        selector: Selector | None = None  # None: selected by level here
        if strategy == "complexity" or (
            strategy == "semantic"
            and (pre := inp.preselection) is not None
            and pre.model is None
            and (inp.fallthrough == "complexity" or inp.fallthrough == "semantic")
        ):
            # the complexity strategy, or a semantic miss falling through to it as
            # Selector.select would (its attributes, the lead), without a Selector: it
            # classifies once, and reads the level and reason alone (the signals and the result
            # nobody reads are not built)
            lead = ""
            if strategy == "semantic":
                assert pre is not None  # as the condition found
                attrs.update(pre.attributes)
                lead = f"semantic: no match ({pre.reason}); "
            level, why, _, _ = decide(inp.text, routing.complexity)
            attrs["complexity.level"] = level
            selected, reason, order = by_level(level, why, eligible, lead, rejected, found, inp)
        else:
            # Selector(config, inp, found, est, rejected, attrs, view) as object.__new__ and
            # slot stores (its __init__ is a class call away: about a third more)
            selector = _new(Selector)
            selector.config, selector.inp, selector.found = config, inp, found
            selector.est, selector.rejected, selector.attrs = est, rejected, attrs
            selector.view, selector.complexity, selector.judged = view, None, UNJUDGED
            selected, reason, order = selector.select(strategy, eligible)
    downgraded = False
    if over:
        left_usd = remaining or 0.0
        rejected += over_rejected
        preferred = selected
        downgraded = preferred in over
        if downgraded and config.budgets.on_exhausted == "refuse":
            raise BudgetExhaustedError(
                f"budget: {preferred} needs ~{usd(est[preferred])} but {scope} has "
                f"{usd(left_usd)} left in window {budget.window} "
                "(budgets.on_exhausted = 'refuse')",
                scope=scope or "budget",
                remaining_usd=left_usd,
                status_code=config.budgets.refuse_status,
            )
        if brief:
            # select again from eligible without ``over`` (none of them when the pick stands),
            # narrowing the brief selection's order, with the reason
            removed = over if downgraded else ()
            if strategy == "latency":
                selected, reason, order = fastest(
                    eligible, figures, weakness, floor, order, removed
                )
            else:
                selected, reason, order = select_learned(
                    judged, eligible, found, est, rejected, inp, False, order, removed
                )
        elif downgraded:
            affordable = narrow(eligible, over)
            if selector is None:  # selected by level above, with its lead
                selected, reason, order = by_level(
                    level, why, affordable, lead, rejected, found, inp
                )
            else:
                selected, reason, order = selector.select(strategy, affordable)
        if downgraded:
            reason = (
                f"budget downgrade: preferred {preferred} ~{usd(est[preferred])} > "
                f"{usd(left_usd)} left ({scope}); {reason}"
            )
            attrs["budget.preferred"] = preferred
        else:
            # the pool ordered: it holds every model of ``over``. (A selection returns
            # ``eligible`` itself or a list it made for this plan: neither is read again, so
            # the models are removed in place.)
            for m in over:
                order.remove(m)

    if note:
        reason = note + reason
    most = routing.max_attempts
    order_t = tuple(order) if len(order) <= most else tuple(order[:most])
    estimates = {}
    for m in order_t:
        estimates[m] = est[m]
    if "cost.estimate_usd" not in attrs:  # attrs.setdefault, without the method call
        attrs["cost.estimate_usd"] = est[selected]
    experiment = arm = None
    # only the experiment strategy (or a semantic fallthrough to it) enrols
    if (
        (strategy == "experiment" or strategy == "semantic")
        and attrs.get("experiment.enrolled")
        and routing.experiment is not None
    ):
        experiment = routing.experiment.name
        arm = str(attrs["experiment.arm"])
    if _PlanTwin is None:  # pragma: no cover (the layout probe failed: the dataclass's own init)
        return Plan(
            strategy, order_t, reason, tier.name, cands, tuple(rejected), pt,
            MappingProxyType(estimates), remaining, budget.scope, downgraded, experiment, arm,
            MappingProxyType(attrs),
        )  # fmt: skip
    # Plan(...) built here, not by a call (a _build.builder constructor): the slots stored in a
    # plain twin of Plan's layout that then becomes a Plan, as builder's does (the call and its
    # 14 arguments cost about 0.8k instructions more, callgrind)
    plan = _PlanTwin()
    plan.strategy = strategy
    plan.order = order_t
    plan.reason = reason
    plan.tier = tier.name
    plan.candidates = cands
    plan.rejected = tuple(rejected)
    plan.prompt_tokens = pt
    plan.estimates_usd = MappingProxyType(estimates)
    plan.budget_remaining_usd = remaining
    plan.budget_scope = budget.scope
    plan.downgraded = downgraded
    plan.experiment = experiment
    plan.arm = arm
    plan.attributes = MappingProxyType(attrs)
    plan.__class__ = Plan
    built: Plan = plan
    return built

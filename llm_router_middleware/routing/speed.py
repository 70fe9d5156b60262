"""Latency in the routing decision: a tier's latency objective (``max_latency_s``) as a filter,
and the ``latency`` strategy (the fastest candidate meeting the quality floor).

Pure: the figures come from the ``StateView`` (``LatencyTracker.figures`` of this process).
A model with no recent observation is never filtered (nothing says it is slow) and the
``latency`` strategy tries it first, so every candidate gets measured.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from .latency import LatencyFigures
from .plan import AttributeValue, Rejection


def why_slow(name: str, figure: str, value: float, objective: float, samples: int) -> str:
    return (
        f"{name}: {figure} latency {value:.3f} s over its last {samples} calls > "
        f"max_latency_s {objective:g} s"
    )


def meet_objective(
    eligible: list[str],
    objective: float,
    figures: Mapping[str, LatencyFigures],
    min_samples: int,
    rejected: list[Rejection],
    attrs: dict[str, AttributeValue],
) -> tuple[list[str], str]:
    """The eligible models whose recent latency meets ``objective`` (unmeasured ones pass), and
    a note for the plan's reason ("" when nothing was filtered). When no model meets it the
    objective cannot be kept: every eligible model stays and the note says so with the figures,
    so a slow afternoon does not turn into an outage."""
    attrs["latency.objective_s"] = objective
    slow: list[tuple[str, str, float, int]] = []
    fast: list[str] = []
    for name in eligible:
        seen = figures.get(name)
        if seen is None:
            fast.append(name)
            continue
        figure, value = seen.objective_figure(min_samples)
        if value > objective:
            slow.append((name, figure, value, seen.samples))
        else:
            fast.append(name)
    if not slow:
        attrs["latency.objective_met"] = True
        return eligible, ""
    if not fast:
        attrs["latency.objective_met"] = False
        detail = ", ".join(f"{n} {f} {v:.3f} s" for n, f, v, _ in slow)
        return eligible, (
            f"latency objective {objective:g} s missed by every candidate ({detail}), "
            "none filtered; "
        )
    attrs["latency.objective_met"] = True
    for name, figure, value, samples in slow:
        rejected.append(
            Rejection.deferred(name, "latency", why_slow, (name, figure, value, objective, samples))
        )
    return fast, ""


_ALONE = "%s -> %s (ewma %.3f s, p95 %.3f s over %s calls)"
_RANKED = "%s -> %s (ewma %.3f s, p95 %.3f s over %s calls; next %s ewma %.3f s)"
_leads: dict[float, str] = {}  # quality floor -> the reason's start
_UNMEASURED = -math.inf  # an unmeasured model's speed key: before any measured one


def by_speed(
    pool: list[str], figures: Mapping[str, LatencyFigures], weakness: Mapping[str, float]
) -> list[str]:
    """``pool`` fastest first: unmeasured models first, then by EWMA latency, ties to the higher
    quality, then in pool order. The key (measured, EWMA, -quality) as stable sorts whose keys
    are dict lookups (no Python call per model; an unmeasured model's EWMA key is -inf); the
    sort by quality only when two models tie on the first (two unmeasured, or equal EWMAs)."""
    speed: dict[str, float] = {}
    keys: dict[float, str] = {}  # the distinct speeds: fewer than the models on a tie
    for name in pool:
        seen = figures.get(name)
        value = seen.ewma_s if seen is not None else _UNMEASURED
        speed[name] = value
        keys[value] = name
    ranked = pool.copy()  # a copy sorted in place: fewer steps than sorted()
    if len(keys) < len(speed):  # (keyed by the same objects: as len(set(speed.values())))
        ranked.sort(key=weakness.__getitem__)
    ranked.sort(key=speed.__getitem__)
    return ranked


def fastest(
    pool: list[str],
    figures: Mapping[str, LatencyFigures],
    weakness: Mapping[str, float],
    floor: float,
    earlier: list[str] | None = None,
    removed: Sequence[str] = (),
) -> tuple[str, str, list[str]]:
    """(selected, reason, the pool ordered fastest first, as ``by_speed``). ``earlier``: the
    order ``by_speed`` gave ``pool``: the selection is then from ``pool`` without ``removed``,
    whose order is that one without them (no sorting again; ``earlier`` itself is narrowed and
    returned)."""
    if earlier is None:
        ranked = by_speed(pool, figures, weakness)
    else:  # narrowed in place: the caller's list, not read again (no copy, no call)
        ranked = earlier
        for m in removed:
            ranked.remove(m)
    first = ranked[0]
    lead = _leads.get(floor) if floor else None  # a zero's sign the key would lose
    if lead is None:  # the floor is configuration: its text is made once
        if len(_leads) > 64:
            _leads.clear()
        lead = f"latency: fastest meeting quality floor {floor:g}"
        if floor:
            _leads[floor] = lead
    seen = figures.get(first)
    if seen is None:
        return first, f"{lead}: {first} has no latency observed yet, tried first -> {first}", ranked
    runner = figures.get(ranked[1]) if len(ranked) > 1 else None
    # one %-format for the whole reason: fewer steps than an f-string per part (%.3f and %s
    # give f"{x:.3f}" and f"{x}")
    if runner is not None:
        return (
            first,
            _RANKED
            % (lead, first, seen.ewma_s, seen.p95_s, seen.samples, ranked[1], runner.ewma_s),
            ranked,
        )
    return first, _ALONE % (lead, first, seen.ewma_s, seen.p95_s, seen.samples), ranked

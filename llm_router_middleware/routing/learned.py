"""Learned selection: the cheapest allowed candidate whose quality is enough for the difficulty.

The candidates' distinct ``quality`` values form levels q1 < ... < qk. Difficulty d (from the
learned model, in [0, 1]) needs level j when d >= threshold * (j - 1) / (k - 1): with two
levels, prompts at or above the threshold go to the strongest, the rest to the cheapest.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .candidates import Candidates, cheapest_first, narrow, strongest_first, unavailable
from .plan import AttributeValue, Rejection

if TYPE_CHECKING:  # inputs imports this module
    from .inputs import PlanInput

# plan attribute keys; the route span prefixes them with "llm_router." (the full names are the
# telemetry.LEARNED_* constants: telemetry imports routing, so they cannot be imported here)
_DIFFICULTY = "learned.difficulty"
_THRESHOLD = "learned.threshold"
_SHARE = "learned.strong_share"
_REQUIRED = "learned.required_quality"
_CACHED = "learned.cached"
_TRUNCATED = "learned.truncated"
KEYS = (_DIFFICULTY, _THRESHOLD, _SHARE, _REQUIRED, _CACHED, _TRUNCATED)


@dataclass(frozen=True, slots=True)
class LearnedInput:
    """What the router measured before planning: the prompt's difficulty and the knob."""

    difficulty: float | None  # None: an empty prompt (nothing to judge)
    threshold: float
    strong_share: float | None = None  # set when the knob was a share, for the reason
    cached: bool = False
    truncated: bool = False

    @property
    def knob(self) -> str:
        if self.strong_share is not None:
            return f"strong_share {self.strong_share:g}"
        return "threshold"


# What the difficulty asks of the model, whatever the pool, judged once per plan (a budget
# downgrade selects again from a smaller pool): (the quality level the difficulty needs, the
# reason's account of the difficulty against the threshold). A tuple: made on every call.
Judgement = tuple[float, str]


def judge(
    inp: LearnedInput, levels: tuple[float, ...], attrs: dict[str, AttributeValue]
) -> Judgement:
    """``levels``: the candidates' distinct qualities, ascending; ``inp.difficulty`` not None."""
    d, t, share = inp.difficulty, inp.threshold, inp.strong_share
    assert d is not None
    k = len(levels)
    # the usual knob (a threshold, no share) by the threshold alone: one float key, no tuple
    knob = _by_threshold.get(t) if share is None else None
    if knob is None or knob[3] != k:
        knob = _knob(k, t, share)
    steps, rounded, told, _ = knob
    attrs[_DIFFICULTY] = round(d, 4)
    attrs[_THRESHOLD] = rounded
    attrs[_CACHED] = inp.cached
    attrs[_TRUNCATED] = inp.truncated
    if share is not None:
        attrs[_SHARE] = share
    # _level inlined for the usual knob: the steps ascend, d is a number
    level = bisect_right(steps, d) if t >= 0 and d == d else _level(d, t, steps)
    needed = levels[level]
    attrs[_REQUIRED] = needed
    if k > 1 and level == k - 1:
        return needed, f"difficulty {d:.2f} >= {told}"
    if level == 0:
        return needed, f"difficulty {d:.2f} < {told}"
    step = t * level / (k - 1)
    return needed, f"difficulty {d:.2f} < {told}, >= {step:.2f} for quality {needed:g}"


# (levels, threshold, strong share) -> the threshold's steps between levels, the threshold
# rounded for the plan's attributes and as the reason tells it: the knob is configuration, the
# same for every call of a tier, so this is worked out once per knob
_Knob = tuple[tuple[float, ...], float, str, int]  # and k: the threshold-keyed one checks it
_knobs: dict[tuple[int, float, float | None], _Knob] = {}
_by_threshold: dict[float, _Knob] = {}  # threshold -> the last knob made with no share


def _knob(k: int, t: float, share: float | None) -> _Knob:
    knob = _knobs.get((k, t, share))
    if knob is None:
        if len(_knobs) > 256:  # thresholds are a few knobs: stay bounded
            _knobs.clear()
            _by_threshold.clear()
        steps = tuple(t * j / (k - 1) for j in range(1, k))
        told = f"{t:.2f} ({LearnedInput(0.0, t, share).knob})"
        knob = _knobs[k, t, share] = (steps, round(t, 4), told, k)
    if share is None:
        _by_threshold[t] = knob
    return knob


def _level(d: float, t: float, steps: tuple[float, ...]) -> int:
    """The highest level j in [1, k) with ``d >= steps[j - 1]`` (``t * j / (k - 1)``), else 0."""
    if t >= 0 and d == d:  # the steps ascend and d is a number: count those at or below d
        return bisect_right(steps, d)
    level = 0
    for j, step in enumerate(steps, 1):
        if d >= step:
            level = j
    return level


def select_learned(
    judged: Judgement | None,
    pool: list[str],
    found: Candidates,
    est: Mapping[str, float],
    rejected: Sequence[Rejection],
    inp: PlanInput,
    brief: bool = False,
    earlier: list[str] | None = None,
    removed: Sequence[str] = (),
) -> tuple[str, str, list[str]]:
    """(selected, reason, the whole pool ordered with the selected first); ``judged`` None: an
    empty prompt (or no learned input). ``brief``: no reason. ``earlier``: the order this gave
    ``pool``: the selection is then from ``pool`` without ``removed``, whose order is that one
    without them, unless it led with a model good enough and none of the good enough is left.
    (``earlier`` itself is narrowed: the caller's list, not read again; no copy.) The reason
    says why the strongest is not the pick from the plan's ``rejected`` and ``inp``."""
    quality, weakness = found.quality, found.weakness
    if judged is None:
        if earlier is not None:  # narrowed in place (see the docstring)
            cheapest = earlier
            for m in removed:
                cheapest.remove(m)
        else:
            cheapest = cheapest_first(pool, est, weakness)
        if brief:
            return cheapest[0], "", cheapest
        return cheapest[0], f"learned: empty prompt -> cheapest {cheapest[0]}", cheapest
    needed, test = judged
    if earlier is not None:
        led_fit = quality[earlier[0]] >= needed  # read before the narrowing in place
        order = earlier
        for m in removed:
            order.remove(m)
        fit = quality[order[0]] >= needed
        if not fit and led_fit:
            order = strongest_first(narrow(pool, removed), est, weakness, found.distinct)
    else:
        good = found.good.get(needed)  # the candidates good enough: two set tests, no loop
        if good is not None:
            fit = not good.isdisjoint(pool)
            unfit = fit and not good.issuperset(pool)
        else:  # a level no candidate has (not one judge gives)
            fit = unfit = False
            for m in pool:
                if quality[m] >= needed:
                    fit = True
                else:
                    unfit = True
        if fit:
            # the cheapest of those good enough, then the rest, each cheapest first: the pool by
            # cost with the good enough moved ahead (a stable partition of the sorted pool)
            order = cheapest_first(pool, est, weakness)
            if unfit:
                ahead = [m for m in order if quality[m] >= needed]
                ahead += [m for m in order if quality[m] < needed]
                order = ahead
        else:  # nothing good enough is available: the best there is, strongest first
            order = strongest_first(pool, est, weakness, found.distinct)
    first = order[0]
    if brief:
        return first, "", order
    if fit:
        return first, f"learned: {test} -> {first}", order
    wanted = found.strongest[needed]
    why = unavailable(rejected, found, inp, wanted)
    return first, f"learned: {test}; {why} -> best available {first}", order

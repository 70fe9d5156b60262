"""Learned selection: the cheapest allowed candidate whose quality is enough for the difficulty.

The candidates' distinct ``quality`` values form levels q1 < ... < qk. Difficulty d (from the
learned model, in [0, 1]) needs level j when d >= threshold * (j - 1) / (k - 1): with two
levels, prompts at or above the threshold go to the strongest, the rest to the cheapest.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .plan import AttributeValue

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


@dataclass(frozen=True, slots=True)
class Judgement:
    """What the difficulty asks of the model, whatever the pool: judged once per plan (a budget
    downgrade selects again from a smaller pool)."""

    needed: float  # the quality level the difficulty needs
    test: str  # the reason's account of the difficulty against the threshold


def judge(
    inp: LearnedInput, levels: tuple[float, ...], attrs: dict[str, AttributeValue]
) -> Judgement:
    """``levels``: the candidates' distinct qualities, ascending; ``inp.difficulty`` not None."""
    d, t = inp.difficulty, inp.threshold
    assert d is not None
    attrs[_DIFFICULTY] = round(d, 4)
    attrs[_THRESHOLD] = round(t, 4)
    attrs[_CACHED] = inp.cached
    attrs[_TRUNCATED] = inp.truncated
    if inp.strong_share is not None:
        attrs[_SHARE] = inp.strong_share
    k = len(levels)
    level = 0
    for j in range(1, k):
        if d >= t * j / (k - 1):
            level = j
    needed = levels[level]
    attrs[_REQUIRED] = needed
    if k > 1 and level == k - 1:
        test = f"difficulty {d:.2f} >= {t:.2f} ({inp.knob})"
    elif level == 0:
        test = f"difficulty {d:.2f} < {t:.2f} ({inp.knob})"
    else:
        step = t * level / (k - 1)
        test = f"difficulty {d:.2f} < {t:.2f} ({inp.knob}), >= {step:.2f} for quality {needed:g}"
    return Judgement(needed, test)


def select_learned(
    judged: Judgement | None,
    pool: list[str],
    cands: tuple[str, ...],
    quality: Mapping[str, float],
    est: Mapping[str, float],
    why_not: Callable[[str], str],
) -> tuple[str, str, list[str]]:
    """(selected, reason, the whole pool ordered with the selected first); ``judged`` None: an
    empty prompt (or no learned input)."""
    cheapest = sorted(pool, key=lambda m: (est[m], -quality[m]))
    if judged is None:
        return cheapest[0], f"learned: empty prompt -> cheapest {cheapest[0]}", cheapest
    needed, test = judged.needed, judged.test
    fit = [m for m in cheapest if quality[m] >= needed]
    if fit:
        if len(fit) < len(cheapest):
            fit += [m for m in cheapest if quality[m] < needed]
        return fit[0], f"learned: {test} -> {fit[0]}", fit
    # nothing good enough is available: the best there is, strongest first
    order = sorted(pool, key=lambda m: (-quality[m], est[m]))
    wanted = next(m for m in cands if quality[m] >= needed)
    return (
        order[0],
        f"learned: {test}; {why_not(wanted)} -> best available {order[0]}",
        order,
    )

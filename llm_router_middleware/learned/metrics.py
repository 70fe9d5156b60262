"""Router quality on outcome data, scored as the RouteLLM paper does (arXiv 2406.18665).

For a weak/strong pair and a router score per prompt (higher = more reason to pay for the
strong model), sweep the threshold so that 0..100 % of prompts go to the strong model. Quality
at a share is the mean score of the model each prompt was sent to. Prompts with equal router
scores move together; between two such groups the curve is linear (the expected quality when
the tied prompts are split at random), so a coarse router is neither flattered nor penalised
by an arbitrary tie order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Curve:
    shares: Floats  # strong-call share at each breakpoint, 0 .. 1
    quality: Floats  # mean score at each breakpoint
    weak: float  # quality with every prompt on the weak model
    strong: float  # ... on the strong model

    def quality_at(self, share: float) -> float:
        return float(np.interp(share, self.shares, self.quality))

    @property
    def apgr(self) -> float:
        """Area under quality vs strong share, scaled: 0 = always weak, 1 = always strong."""
        gap = self.strong - self.weak
        if abs(gap) < 1e-12:
            return float("nan")
        area = float(np.sum((self.quality[1:] + self.quality[:-1]) * np.diff(self.shares)) / 2)
        return (area - self.weak) / gap

    def cpt(self, recovered: float) -> float:
        """The smallest strong share at which ``recovered`` of the weak-to-strong gap is won."""
        gap = self.strong - self.weak
        if gap <= 0:
            return float("nan")
        target = self.weak + recovered * gap
        q, s = self.quality, self.shares
        if q[0] >= target:
            return 0.0
        above = np.nonzero(q >= target)[0]
        if not len(above):
            return float("nan")
        i = int(above[0])
        lo_q, hi_q = q[i - 1], q[i]
        frac = (target - lo_q) / (hi_q - lo_q) if hi_q != lo_q else 1.0
        return float(s[i - 1] + frac * (s[i] - s[i - 1]))


def routing_curve(
    router_scores: npt.ArrayLike, weak: npt.ArrayLike, strong: npt.ArrayLike
) -> Curve:
    """The quality-vs-strong-share curve of a router on per-prompt weak/strong outcomes."""
    r = np.asarray(router_scores, dtype=np.float64)
    w = np.asarray(weak, dtype=np.float64)
    s = np.asarray(strong, dtype=np.float64)
    n = len(r)
    if n == 0 or len(w) != n or len(s) != n:
        raise ValueError("router scores, weak and strong outcomes need the same non-zero length")
    order = np.argsort(-r, kind="stable")
    gain = (s - w)[order]
    ranked = r[order]
    # group boundaries: where the (sorted) router score changes
    ends = np.nonzero(np.diff(ranked) != 0)[0] + 1
    bounds = np.concatenate(([0], ends, [n]))
    cumulative = np.concatenate(([0.0], np.cumsum(gain)))
    weak_mean = float(w.mean())
    return Curve(
        shares=bounds / n,
        quality=weak_mean + cumulative[bounds] / n,
        weak=weak_mean,
        strong=float(s.mean()),
    )

"""Pure statistics for A/B results: Wilson intervals, t intervals and Welch's t-test.

No scipy: the Student-t distribution comes from the regularized incomplete beta function.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

Z95 = 1.959963984540054


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction for the incomplete beta function (Lentz's method)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-14:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    front = math.exp(log_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def t_sf2(t: float, df: float) -> float:
    """Two-sided tail probability P(|T| >= |t|) of Student's t with ``df`` degrees of freedom."""
    if math.isinf(t):
        return 0.0
    return betainc(df / 2.0, 0.5, df / (df + t * t))


def t_cdf(t: float, df: float) -> float:
    tail = t_sf2(t, df) / 2.0
    return 1.0 - tail if t >= 0 else tail


def t_critical(df: float, confidence: float = 0.95) -> float:
    """The t value with ``confidence`` of the mass within ±t (bisection on the tail)."""
    if df <= 0:
        return math.inf
    alpha = 1.0 - confidence
    lo, hi = 0.0, 1.0
    while t_sf2(hi, df) > alpha:
        hi *= 2.0
        if hi > 1e9:
            return math.inf
    for _ in range(80):
        mid = (lo + hi) / 2.0
        if t_sf2(mid, df) > alpha:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2.0


def wilson(successes: float, n: float, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a proportion; (0, 1) when there is no data."""
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    z2 = z * z
    denom = 1.0 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(max(0.0, p * (1 - p) / n + z2 / (4 * n * n))) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def variance(n: float, total: float, total_sq: float) -> float:
    """Sample variance (n - 1) from a count, a sum and a sum of squares."""
    if n < 2:
        return 0.0
    return max(0.0, (total_sq - total * total / n) / (n - 1))


def mean_ci(
    n: float, total: float, total_sq: float, confidence: float = 0.95
) -> tuple[float | None, float | None, float | None]:
    """(mean, low, high) with a t interval; Nones without data, an unbounded CI for n = 1."""
    if n <= 0:
        return None, None, None
    mean = total / n
    if n < 2:
        return mean, None, None
    half = t_critical(n - 1, confidence) * math.sqrt(variance(n, total, total_sq) / n)
    return mean, mean - half, mean + half


@dataclass(frozen=True, slots=True)
class Difference:
    """Treatment minus control of the mean score, by Welch's t-test."""

    mean_diff: float
    ci_low: float
    ci_high: float
    p_value: float
    t: float
    df: float


def welch(
    control: tuple[float, float, float], treatment: tuple[float, float, float]
) -> Difference | None:
    """Welch's test from (n, sum, sum of squares) per arm; None with fewer than 2 scores each."""
    n1, s1, q1 = control
    n2, s2, q2 = treatment
    if n1 < 2 or n2 < 2:
        return None
    m1, m2 = s1 / n1, s2 / n2
    v1, v2 = variance(n1, s1, q1) / n1, variance(n2, s2, q2) / n2
    diff = m2 - m1
    se2 = v1 + v2
    if se2 <= 0.0:
        p = 1.0 if diff == 0 else 0.0
        return Difference(
            diff, diff, diff, p, 0.0 if diff == 0 else math.copysign(math.inf, diff), n1 + n2 - 2
        )
    se = math.sqrt(se2)
    df = se2 * se2 / ((v1 * v1 / (n1 - 1) if v1 else 0.0) + (v2 * v2 / (n2 - 1) if v2 else 0.0))
    t = diff / se
    half = t_critical(df) * se
    return Difference(diff, diff - half, diff + half, t_sf2(t, df), t, df)


@dataclass(frozen=True, slots=True)
class ArmStats:
    arm: str
    requests: int
    successes: int
    fallbacks: int
    failures: int
    success_rate: float | None
    success_ci: tuple[float, float]
    score_n: int
    score_mean: float | None
    score_ci: tuple[float | None, float | None]
    mean_latency_s: float | None
    cost_usd: float

    @classmethod
    def from_totals(cls, arm: str, totals: dict[str, float]) -> ArmStats:
        requests = int(totals.get("requests", 0))
        successes = int(totals.get("successes", 0))
        score_n = int(totals.get("score_n", 0))
        mean, low, high = mean_ci(
            score_n, totals.get("score_sum", 0.0), totals.get("score_sumsq", 0.0)
        )
        return cls(
            arm=arm,
            requests=requests,
            successes=successes,
            fallbacks=int(totals.get("fallbacks", 0)),
            failures=int(totals.get("failures", 0)),
            success_rate=successes / requests if requests else None,
            success_ci=wilson(successes, requests),
            score_n=score_n,
            score_mean=mean,
            score_ci=(low, high),
            mean_latency_s=totals.get("latency_sum", 0.0) / requests if requests else None,
            cost_usd=totals.get("cost_usd", 0.0),
        )


@dataclass(frozen=True, slots=True)
class ExperimentReport:
    experiment: str
    control: ArmStats
    treatment: ArmStats
    difference: Difference | None  # score mean, treatment - control

    @property
    def arms(self) -> dict[str, ArmStats]:
        return {"control": self.control, "treatment": self.treatment}

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-safe data: infinities and NaNs (zero-variance arms) become None."""
        data: dict[str, Any] = _json_safe(
            {
                "experiment": self.experiment,
                "arms": {name: asdict(stats) for name, stats in self.arms.items()},
                "difference": asdict(self.difference) if self.difference is not None else None,
            }
        )
        return data


def _json_safe(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value

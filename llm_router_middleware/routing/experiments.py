"""A/B experiments: stable assignment by hash, per-arm results in the StateStore, later scores."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from .._build import builder
from ..config.schema import ExperimentSpec
from ..context import RequestContext
from ..state.base import StateStore
from .stats import ArmStats, ExperimentReport, welch

BUCKETS = 10_000
ARMS = ("control", "treatment")
OUTCOMES = ("success", "fallback", "failure")


def bucket_of(experiment: str, user_id: str) -> int:
    """The user's bucket in [0, BUCKETS): identical in every process and after restarts."""
    digest = hashlib.sha256(f"{experiment}:{user_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


@dataclass(frozen=True, slots=True)
class Assignment:
    arm: str  # "control" | "treatment"
    model: str
    bucket: int | None
    reason: str
    # False when anonymous, disabled or pinned (QA): such requests must not be counted in results
    enrolled: bool = True
    pinned: bool = False


_new_assignment = builder(Assignment)  # one per planned call: the fast constructor


def assign(spec: ExperimentSpec, context: RequestContext) -> Assignment:
    pinned = context.arms.get(spec.name) if context.arms else None
    if pinned is not None:
        if pinned not in ARMS:
            return _new_assignment(
                "control",
                spec.control,
                None,
                f"experiment {spec.name}: pinned arm {pinned!r} is not control or treatment; "
                "using control, not enrolled",
                enrolled=False,
            )
        model = spec.treatment if pinned == "treatment" else spec.control
        return _new_assignment(
            pinned,
            model,
            None,
            f"experiment {spec.name}: arm {pinned} pinned by the context (QA override)",
            enrolled=False,
            pinned=True,
        )
    if not spec.enabled:
        return _new_assignment(
            "control",
            spec.control,
            None,
            f"experiment {spec.name}: disabled, control",
            enrolled=False,
        )
    user_id = context.user_id
    if user_id is None:
        return _new_assignment(
            "control",
            spec.control,
            None,
            f"experiment {spec.name}: anonymous: not enrolled",
            enrolled=False,
        )
    key = (id(spec), user_id)
    hit = _assigned.get(key)
    if hit is not None and hit[0] is spec:
        return hit[1]
    if len(_assigned) >= _ASSIGNED_SIZE:
        _assigned.clear()
    assignment = _bucketed(spec, user_id)
    _assigned[key] = (spec, assignment)
    return assignment


# (id of the spec, user) -> (spec, assignment): a user's calls repeat the same assignment (a
# hash and a formatted reason), so it is made once per user while the spec lives
_assigned: dict[tuple[int, str], tuple[ExperimentSpec, Assignment]] = {}
_ASSIGNED_SIZE = 10_000


def _bucketed(spec: ExperimentSpec, user_id: str) -> Assignment:
    bucket = bucket_of(spec.name, user_id)
    cut = round(spec.treatment_share * BUCKETS)
    if bucket < cut:
        return _new_assignment(
            "treatment",
            spec.treatment,
            bucket,
            f"experiment {spec.name}: bucket {bucket} < {cut} -> treatment",
        )
    return _new_assignment(
        "control",
        spec.control,
        bucket,
        f"experiment {spec.name}: bucket {bucket} >= {cut} -> control",
    )


class ExperimentLog:
    """Per-arm aggregates in one hash per arm, so every worker sharing the store adds up."""

    def __init__(
        self, store: StateStore, prefix: str = "llmr", clock: Callable[[], float] = time.time
    ) -> None:
        self._store = store
        self._prefix = prefix
        self._clock = clock

    def _arm_key(self, experiment: str, arm: str) -> str:
        return f"{self._prefix}:exp:{experiment}:{arm}"

    def _request_key(self, request_id: str) -> str:
        return f"{self._prefix}:expreq:{request_id}"

    def record(
        self, experiment: str, arm: str, *, outcome: str, latency_s: float, cost_usd: float
    ) -> None:
        """``outcome``: "success" (the arm's model answered), "fallback" (another model
        answered; not the arm's success) or "failure"."""
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}, got {outcome!r}")
        self._store.hincr(
            self._arm_key(experiment, arm),
            {
                "requests": 1.0,
                "successes": 1.0 if outcome == "success" else 0.0,
                "fallbacks": 1.0 if outcome == "fallback" else 0.0,
                "failures": 1.0 if outcome == "failure" else 0.0,
                "latency_sum": latency_s,
                "cost_usd": cost_usd,
            },
        )

    def record_call(
        self,
        spec: ExperimentSpec,
        arm: str,
        request_id: str,
        model_used: str | None,
        *,
        latency_s: float,
        cost_usd: float,
    ) -> None:
        """Record one enrolled call: ``success`` only when the arm's own model answered (a
        fallback is not the arm's success), and remember a success so it can be scored later."""
        arm_model = spec.treatment if arm == "treatment" else spec.control
        if model_used is None:
            outcome = "failure"
        else:
            outcome = "success" if model_used == arm_model else "fallback"
        self.record(spec.name, arm, outcome=outcome, latency_s=latency_s, cost_usd=cost_usd)
        if outcome == "success":
            self.remember(request_id, spec.name, arm)

    def remember(
        self, request_id: str, experiment: str, arm: str, ttl_s: float = 7 * 86400
    ) -> None:
        """Keep which arm answered ``request_id`` so that a score can arrive later."""
        record = json.dumps(
            {"e": experiment, "a": arm, "exp": self._clock() + ttl_s}, separators=(",", ":")
        )
        self._store.set(self._request_key(request_id), record, ttl_s)

    def score(self, request_id: str, score: float) -> bool:
        """Record a score for a remembered reply. False if unknown, expired or already scored."""
        key = self._request_key(request_id)
        current = self._store.get_many([key])[0]
        if current is None:
            return False
        record = json.loads(current)
        if record.get("scored"):
            return False
        remaining = float(record["exp"]) - self._clock()
        if remaining <= 0:
            return False
        marked = json.dumps({**record, "scored": True}, separators=(",", ":"))
        if not self._store.compare_and_set(key, current, marked, remaining):
            return False  # another worker scored it first
        self._store.hincr(
            self._arm_key(record["e"], record["a"]),
            {"score_n": 1.0, "score_sum": score, "score_sumsq": score * score},
        )
        return True

    def results(self, experiment: str) -> ExperimentReport:
        control = self._store.hgetall(self._arm_key(experiment, "control"))
        treatment = self._store.hgetall(self._arm_key(experiment, "treatment"))

        def scores(totals: dict[str, float]) -> tuple[float, float, float]:
            return (
                totals.get("score_n", 0.0),
                totals.get("score_sum", 0.0),
                totals.get("score_sumsq", 0.0),
            )

        return ExperimentReport(
            experiment=experiment,
            control=ArmStats.from_totals("control", control),
            treatment=ArmStats.from_totals("treatment", treatment),
            difference=welch(scores(control), scores(treatment)),
        )

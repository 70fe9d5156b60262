"""Outcomes of the app's own traffic, kept bounded in the state store for `train --from-store`.

A call routed by the learned strategy leaves a pending record (the prompt's feature row, the
model that answered) under its request id for a while; `router.record_score(request_id, score)`
turns it into an outcome. A model that failed and was fallen back from leaves an outcome at
once (score 0, with the error kind). Outcomes go into a ring of `limit` slots, so the store
never holds more than that; the prompt text is kept only when the app opts in.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..state.base import StateStore
from .model import F32, DifficultyModel

PENDING_TTL_S = 7 * 86400.0
#: failures that say something about the prompt (the others are about the provider)
PROMPT_FAILURES = frozenset({"timeout", "context_window"})


@dataclass(frozen=True, slots=True)
class FeedbackOutcome:
    features: F32
    model: str
    score: float
    source: str  # "score" or "failure:<kind>"
    tier: str
    at: float
    prompt: str | None = None
    strongest: bool = False  # answered by the strongest candidate of its plan


def _pack(row: F32) -> str:
    return base64.b64encode(np.asarray(row, dtype="<f2").tobytes()).decode()


def _unpack(text: str) -> F32:
    return np.frombuffer(base64.b64decode(text), dtype="<f2").astype(np.float32)


class FeedbackStore:
    def __init__(
        self,
        store: StateStore,
        *,
        prefix: str = "llmr",
        limit: int = 20_000,
        store_prompts: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._prefix = f"{prefix}:learned"
        self.limit = limit
        self.store_prompts = store_prompts
        self._clock = clock

    def _slot(self, i: int) -> str:
        return f"{self._prefix}:out:{i}"

    def remember(
        self,
        request_id: str,
        features: F32,
        model: str,
        tier: str,
        prompt: str | None = None,
        *,
        strongest: bool = False,
    ) -> None:
        """A learned-routed reply that may be scored later."""
        record: dict[str, object] = {"f": _pack(features), "m": model, "t": tier}
        if strongest:
            record["top"] = 1
        if self.store_prompts and prompt is not None:
            record["p"] = prompt
        self._store.set(
            f"{self._prefix}:req:{request_id}",
            json.dumps(record, separators=(",", ":")),
            PENDING_TTL_S,
        )

    def score(self, request_id: str, score: float) -> bool:
        """Turn a remembered reply into an outcome; False when unknown, expired or scored."""
        key = f"{self._prefix}:req:{request_id}"
        raw = self._store.get_many([key])[0]
        if raw is None or raw == "scored":
            return False
        if not self._store.compare_and_set(key, raw, "scored", PENDING_TTL_S):
            return False  # scored by someone else meanwhile
        record = json.loads(raw)
        self._append({**record, "s": float(score), "src": "score"})
        return True

    def failure(
        self, features: F32, model: str, kind: str, tier: str, prompt: str | None = None
    ) -> None:
        """A model that failed this prompt (the router fell back or gave up)."""
        record: dict[str, object] = {
            "f": _pack(features),
            "m": model,
            "t": tier,
            "s": 0.0,
            "src": f"failure:{kind}",
        }
        if self.store_prompts and prompt is not None:
            record["p"] = prompt
        self._append(record)

    def _append(self, record: Mapping[str, object]) -> None:
        n = int(self._store.incr(f"{self._prefix}:seq", 1.0))
        stamped = {**record, "at": self._clock()}
        self._store.set(
            self._slot((n - 1) % self.limit), json.dumps(stamped, separators=(",", ":"))
        )

    def outcomes(self) -> list[FeedbackOutcome]:
        """Every kept outcome, oldest first."""
        keys = [self._slot(i) for i in range(self.limit)]
        raws: list[str | None] = []
        for start in range(0, len(keys), 1000):
            raws.extend(self._store.get_many(keys[start : start + 1000]))
        out = []
        for raw in raws:
            if raw is None:
                continue
            r = json.loads(raw)
            out.append(
                FeedbackOutcome(
                    features=_unpack(r["f"]),
                    model=str(r["m"]),
                    score=float(r["s"]),
                    source=str(r["src"]),
                    tier=str(r.get("t", "")),
                    at=float(r["at"]),
                    prompt=r.get("p"),
                    strongest=bool(r.get("top")),
                )
            )
        out.sort(key=lambda o: o.at)
        return out


def feedback_training_set(
    outcomes: Sequence[FeedbackOutcome], *, failures: frozenset[str] = PROMPT_FAILURES
) -> tuple[F32, np.ndarray, np.ndarray]:
    """(feature rows, gain targets, weights). A scored reply of a model below the strongest
    candidate has target 1 - score (what a stronger model could have won); a failure of a kind
    that reflects on the prompt counts as a failed reply at half weight. Replies of the
    strongest model say nothing about the gain over a weaker one and are not used."""
    rows, targets, weights = [], [], []
    for o in outcomes:
        if o.strongest:
            continue
        if o.source == "score":
            weight = 1.0
        elif o.source.removeprefix("failure:") in failures:
            weight = 0.5
        else:
            continue
        rows.append(o.features)
        targets.append(1.0 - o.score)
        weights.append(weight)
    if not rows:
        return np.empty((0, 0), np.float32), np.empty(0), np.empty(0)
    return np.vstack(rows).astype(np.float32), np.asarray(targets), np.asarray(weights)


def refit(
    base: DifficultyModel, outcomes: Sequence[FeedbackOutcome], alpha: float
) -> DifficultyModel:
    """``base`` adjusted to the app's outcomes (ridge shrunk toward ``base``, not toward 0);
    the difficulty scale (quantile knots) stays the base model's."""
    from .train import feature_range, fit_ridge

    rows, targets, weights = feedback_training_set(outcomes)
    if not len(rows):
        raise ValueError(
            "no usable feedback: no scored replies of a model below the strongest and no "
            "prompt-related failures"
        )
    if rows.shape[1] != len(base.weights):
        raise ValueError("the stored feedback was recorded with another encoder")
    w, b = fit_ridge(rows, targets, alpha, weights=weights, prior=(base.weights, base.bias))
    meta = {**dict(base.meta), "feedback_rows": len(rows), "feedback_alpha": alpha}
    low, high = feature_range(rows, base.dimension)
    if base.feature_low is not None and base.feature_high is not None:
        # the app's own prompts widen the range the model has now seen
        low, high = np.minimum(low, base.feature_low), np.maximum(high, base.feature_high)
    return DifficultyModel(
        base.encoder_name,
        base.dimension,
        w,
        b,
        base.knots,
        meta,
        feature_low=low,
        feature_high=high,
    )

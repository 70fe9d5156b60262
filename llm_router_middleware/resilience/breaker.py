"""Per-model circuit breakers whose state lives in a StateStore, so every worker sees the same.

One small JSON record per model, key ``{prefix}:breaker:{model}``, changed only through
``compare_and_set`` in a retry loop (a Lua script or WATCH/MULTI on Redis):

- absent: closed and healthy. A healthy model costs one read per success and no write.
- ``{"s":"c","c":2,"t":...,"w":[[bucket,requests,failures],...]}``: closed, tracking failures.
  The failure-rate window is ``_BUCKETS`` buckets of ``window_s / _BUCKETS`` seconds. Requests
  are counted from the first failure in the window on (a window with no failure needs no
  record), which over-estimates the rate only by leaving out the successes before that failure;
  ``min_requests`` keeps that from tripping on a handful of requests.
- ``{"s":"o","u":until,"r":reason}``: open until ``u``; afterwards it reads as half-open.
- ``{"s":"h","p":[lease,...]}``: half-open, with the start times of the probes in flight. A
  probe whose worker died without a verdict frees its slot after ``probe_lease_s``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from llm_router_middleware.config.schema import BreakerSpec
from llm_router_middleware.state.base import StateStore

logger = logging.getLogger("llm_router_middleware.breaker")

_BUCKETS = 10
_MAX_CAS_TRIES = 64
_CLOSED, _OPEN, _HALF_OPEN = "c", "o", "h"
_CLOSED_PREFIX = '{"s":"c"'  # records are written with "s" first: closed needs no parsing

Record = dict[str, Any]


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True, slots=True)
class Transition:
    model: str
    from_state: BreakerState
    to_state: BreakerState
    reason: str


@dataclass(frozen=True, slots=True)
class BreakerStatus:
    state: BreakerState
    allows: bool
    retry_in_s: float | None
    reason: str


_CLOSED_STATUS = BreakerStatus(BreakerState.CLOSED, True, None, "closed")

# What a mutation decided: the new record (None = leave the store as it is), the TTL for it,
# the transition to report, and the value the caller gets back.
_Outcome = tuple[Record | None, float | None, Transition | None, bool]


class BreakerBoard:
    """Every model's breaker, read in one round trip by the planner."""

    def __init__(
        self,
        store: StateStore,
        spec: BreakerSpec,
        prefix: str = "llmr",
        clock: Callable[[], float] = time.time,
        probe_lease_s: float = 300.0,
    ) -> None:
        self._store = store
        self._spec = spec
        self._prefix = f"{prefix}:breaker:"
        self._clock = clock
        self._probe_lease_s = probe_lease_s
        self._bucket_s = spec.window_s / _BUCKETS
        # closed records expire once their window has passed; open ones outlive the cooldown
        self._closed_ttl = spec.window_s * 2
        self._open_ttl = (spec.cooldown_s + probe_lease_s) * 4 + spec.window_s

    def key(self, model: str) -> str:
        return self._prefix + model

    # reads -------------------------------------------------------------------------------

    def statuses(self, models: Sequence[str]) -> dict[str, BreakerStatus]:
        return self.parse_statuses(models, self._store.get_many(self.keys(models)))

    def keys(self, models: Sequence[str]) -> list[str]:
        """The store keys of these models' breakers, for a caller batching its reads."""
        return [self._prefix + m for m in models]

    def parse_statuses(
        self, models: Sequence[str], raws: Sequence[str | None]
    ) -> dict[str, BreakerStatus]:
        """Statuses from values read at ``keys(models)``."""
        now = self._clock()
        out: dict[str, BreakerStatus] = {}
        for model, raw in zip(models, raws, strict=True):
            if raw is None or raw.startswith(_CLOSED_PREFIX):
                out[model] = _CLOSED_STATUS
            else:
                out[model] = self._status(_decode(raw), now)
        return out

    def blocked(self, models: Sequence[str]) -> dict[str, str]:
        return {m: s.reason for m, s in self.statuses(models).items() if not s.allows}

    def _status(self, rec: Record | None, now: float) -> BreakerStatus:
        if rec is None or rec.get("s") == _CLOSED:
            return _CLOSED_STATUS
        probes = self._spec.half_open_probes
        if rec["s"] == _OPEN:
            until = float(rec["u"])
            if now < until:
                reason = f"breaker open: {rec.get('r', 'failures')}"
                return BreakerStatus(BreakerState.OPEN, False, until - now, reason)
            return BreakerStatus(BreakerState.HALF_OPEN, True, None, "half-open: cooldown elapsed")
        leases = self._live_leases(rec, now)
        if len(leases) < probes:
            reason = f"half-open: {len(leases)}/{probes} probes in flight"
            return BreakerStatus(BreakerState.HALF_OPEN, True, None, reason)
        retry = min(leases) + self._probe_lease_s - now
        reason = f"breaker half-open: {len(leases)}/{probes} probes in flight"
        return BreakerStatus(BreakerState.HALF_OPEN, False, max(retry, 0.0), reason)

    # writes ------------------------------------------------------------------------------

    def acquire(self, model: str) -> tuple[bool, Transition | None]:
        def decide(rec: Record | None, now: float) -> _Outcome:
            if rec is None or rec["s"] == _CLOSED:
                return None, None, None, True
            if rec["s"] == _OPEN:
                if now < float(rec["u"]):
                    return None, None, None, False
                cooled = f"cooldown {self._spec.cooldown_s:g}s elapsed"
                move = Transition(model, BreakerState.OPEN, BreakerState.HALF_OPEN, cooled)
                return {"s": _HALF_OPEN, "p": [now]}, self._open_ttl, move, True
            leases = self._live_leases(rec, now)
            if len(leases) >= self._spec.half_open_probes:
                return None, None, None, False
            return {"s": _HALF_OPEN, "p": [*leases, now]}, self._open_ttl, None, True

        allowed, move = self._mutate(model, decide)
        return allowed, move

    def record_success(self, model: str) -> Transition | None:
        def decide(rec: Record | None, now: float) -> _Outcome:
            if rec is None or rec["s"] == _OPEN:  # healthy, or a straggler from before the trip
                return None, None, None, True
            if rec["s"] == _HALF_OPEN:
                move = Transition(
                    model, BreakerState.HALF_OPEN, BreakerState.CLOSED, "probe succeeded"
                )
                return {"s": _CLOSED}, self._closed_ttl, move, True
            window = self._window(rec, now)
            if not any(f for _, _, f in window):
                return {"s": _CLOSED}, self._closed_ttl, None, True
            _count(window, self._bucket(now), failed=False)
            return {"s": _CLOSED, "c": 0, "w": window}, self._closed_ttl, None, True

        return self._mutate(model, decide)[1]

    def record_failure(self, model: str) -> Transition | None:
        spec = self._spec

        def decide(rec: Record | None, now: float) -> _Outcome:
            if rec is not None and rec["s"] == _OPEN:
                return None, None, None, True
            if rec is not None and rec["s"] == _HALF_OPEN:
                move = Transition(model, BreakerState.HALF_OPEN, BreakerState.OPEN, "probe failed")
                return self._open_record(now, "probe failed"), self._open_ttl, move, True
            window = self._window(rec, now) if rec is not None else []
            recent = rec is not None and now - float(rec.get("t", 0.0)) <= spec.window_s
            consecutive = (int(rec.get("c", 0)) if recent and rec is not None else 0) + 1
            _count(window, self._bucket(now), failed=True)
            requests = sum(r for _, r, _ in window)
            failures = sum(f for _, _, f in window)
            rate = failures / requests
            reason = None
            if consecutive >= spec.consecutive_failures:
                reason = f"{consecutive} consecutive failures"
            elif requests >= spec.min_requests and rate > spec.failure_rate:
                reason = f"failure rate {rate:.2f} over {spec.window_s:g}s ({requests} requests)"
            if reason is None:
                closed = {"s": _CLOSED, "c": consecutive, "t": now, "w": window}
                return closed, self._closed_ttl, None, True
            move = Transition(model, BreakerState.CLOSED, BreakerState.OPEN, reason)
            return self._open_record(now, reason), self._open_ttl, move, True

        return self._mutate(model, decide)[1]

    def release(self, model: str) -> None:
        def decide(rec: Record | None, now: float) -> _Outcome:
            if rec is None or rec["s"] != _HALF_OPEN or not rec.get("p"):
                return None, None, None, True
            leases = sorted(float(t) for t in rec["p"])
            return {"s": _HALF_OPEN, "p": leases[1:]}, self._open_ttl, None, True

        self._mutate(model, decide)

    def reset(self, model: str) -> None:
        self._store.delete(self._prefix + model)

    # internals ---------------------------------------------------------------------------

    def _mutate(
        self, model: str, decide: Callable[[Record | None, float], _Outcome]
    ) -> tuple[bool, Transition | None]:
        key = self._prefix + model
        for _ in range(_MAX_CAS_TRIES):
            raw = self._store.get_many([key])[0]
            new, ttl, move, result = decide(
                _decode(raw) if raw is not None else None, self._clock()
            )
            if new is None:
                return result, None
            encoded = json.dumps(new, separators=(",", ":"))
            if encoded == raw or self._store.compare_and_set(key, raw, encoded, ttl):
                if move is not None:
                    _log(move)
                return result, move
        raise RuntimeError(f"circuit breaker for model {model!r}: state kept changing under us")

    def _open_record(self, now: float, reason: str) -> Record:
        return {"s": _OPEN, "u": now + self._spec.cooldown_s, "r": reason}

    def _bucket(self, now: float) -> int:
        return int(now // self._bucket_s)

    def _window(self, rec: Record, now: float) -> list[list[int]]:
        oldest = self._bucket(now) - _BUCKETS + 1
        return [[int(b), int(r), int(f)] for b, r, f in rec.get("w", ()) if int(b) >= oldest]

    def _live_leases(self, rec: Record, now: float) -> list[float]:
        return [float(t) for t in rec.get("p", ()) if now - float(t) < self._probe_lease_s]


def _count(window: list[list[int]], bucket: int, *, failed: bool) -> None:
    if window and window[-1][0] == bucket:
        window[-1][1] += 1
        window[-1][2] += int(failed)
    else:
        window.append([bucket, 1, int(failed)])


def _decode(raw: str) -> Record | None:
    try:
        rec = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(rec, dict) or rec.get("s") not in (_CLOSED, _OPEN, _HALF_OPEN):
        return None
    return rec


def _log(move: Transition) -> None:
    level = logging.WARNING if move.to_state is BreakerState.OPEN else logging.INFO
    logger.log(
        level,
        "circuit breaker %s: %s -> %s (%s)",
        move.model,
        move.from_state.value,
        move.to_state.value,
        move.reason,
        extra={
            "llm_router_model": move.model,
            "llm_router_breaker_from": move.from_state.value,
            "llm_router_breaker_to": move.to_state.value,
            "llm_router_reason": move.reason,
        },
    )

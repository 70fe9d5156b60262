"""Per-model circuit breakers whose state lives in a StateStore, so every worker sees the same.

Two keys per model:

- ``{prefix}:outcomes:{model}``: every outcome, counted by the store's atomic ``tally`` (one round
  trip, no read-modify-write race): ``_BUCKETS`` buckets of ``window_s / _BUCKETS`` seconds of
  requests and failures, and the current failure streak. Successes are counted as well as
  failures, from every worker and in any interleaving, so the failure rate is over all requests
  of the window and ``min_requests`` means requests, not failures.
- ``{prefix}:breaker:{model}``: the breaker's state, a small JSON record changed only through
  ``compare_and_set`` in a retry loop, and only when the state changes:

  - absent (or ``{"s":"c"}``): closed.
  - ``{"s":"o","u":until,"r":reason}``: open until ``u``; afterwards it reads as half-open.
  - ``{"s":"h","p":[lease,...]}``: half-open, with the start times of the probes in flight. A
    probe whose worker died without a verdict frees its slot after ``probe_lease_s``.

The planner reads only the state keys. Opening and closing clear the outcome window, so the
failures that tripped the breaker do not trip it again right after a probe closed it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from llm_router_middleware.config.schema import BreakerSpec
from llm_router_middleware.state.base import AsyncStateStore, StateStore
from llm_router_middleware.state.memory import MemoryStore

logger = logging.getLogger("llm_router_middleware.breaker")

_BUCKETS = 10
_STREAK_CHANCE = 1e-4  # how unlikely by chance a run of failures must be to trip the breaker
_MAX_CAS_TRIES = 64
_CLOSED, _OPEN, _HALF_OPEN = "c", "o", "h"
_CLOSED_PREFIX = '{"s":"c"'  # records are written with "s" first: closed needs no parsing
_HALF_OPEN_PREFIX = '{"s":"h"'

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
        self._outcomes = f"{prefix}:outcomes:"
        self._clock = clock
        self._probe_lease_s = probe_lease_s
        self._bucket_s = spec.window_s / _BUCKETS
        # windows and closed records expire once their window has passed; open records
        # outlive the cooldown
        self._closed_ttl = spec.window_s * 2
        self._open_ttl = (spec.cooldown_s + probe_lease_s) * 4 + spec.window_s
        # the memory store counts a success without summing the window nobody reads then
        self._count_success = store.count_success if type(store) is MemoryStore else None

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

    def record_success(self, model: str, probe: bool = True) -> Transition | None:
        """Count a success; a probe's success closes a half-open breaker. ``probe=False`` is
        for a call planned while the breaker was closed (a straggler): only counted."""
        bucket = int(self._clock() // self._bucket_s)
        peek = self._prefix + model if probe else None  # a straggler's count reads nothing
        if self._count_success is not None:
            raw = self._count_success(
                self._outcomes + model, bucket, bucket - _BUCKETS + 1, self._closed_ttl, peek
            )
        else:
            raw = self._store.tally(
                self._outcomes + model, bucket, bucket - _BUCKETS + 1, False, self._closed_ttl, peek
            )[3]
        if raw is None or not raw.startswith(_HALF_OPEN_PREFIX):
            return None
        return self._close_after_probe(model)

    async def arecord_success(
        self, store: AsyncStateStore, model: str, *, probe: bool = True
    ) -> Transition | None:
        """``record_success`` with the count on the store's asyncio client; the rare close of
        a half-open breaker (a compare-and-set loop) runs on the sync client in a thread."""
        raw = (
            await store.atally(
                self._outcomes + model,
                *self._buckets(),
                False,
                self._closed_ttl,
                self._prefix + model if probe else None,
            )
        )[3]
        if raw is None or not raw.startswith(_HALF_OPEN_PREFIX):
            return None
        return await asyncio.to_thread(self._close_after_probe, model)

    def _close_after_probe(self, model: str) -> Transition | None:
        def decide(rec: Record | None, now: float) -> _Outcome:
            if rec is None or rec["s"] != _HALF_OPEN:
                return None, None, None, True
            move = Transition(model, BreakerState.HALF_OPEN, BreakerState.CLOSED, "probe succeeded")
            return {"s": _CLOSED}, self._closed_ttl, move, True

        return self._changed(model, self._mutate(model, decide)[1])

    def record_failure(self, model: str, *, probe: bool = True) -> Transition | None:
        """Count a failure; trip the breaker if it should, reopen it if a probe failed. A
        straggler (``probe=False``, planned while closed) never reopens a half-open breaker."""
        spec = self._spec
        streak, requests, failures, raw = self._store.tally(
            self._outcomes + model, *self._buckets(), True, self._closed_ttl, self._prefix + model
        )
        rec = _decode(raw) if raw is not None else None
        if rec is not None and rec["s"] == _OPEN:  # a straggler from before the trip
            return None
        if rec is not None and rec["s"] == _HALF_OPEN:
            if not probe:  # in flight since before the trip: the probes decide
                return None
            reason = "probe failed"
        elif streak >= spec.consecutive_failures and _unlikely_by_chance(
            streak, requests, failures, spec.min_requests
        ):
            reason = f"{streak} consecutive failures"
        elif requests >= spec.min_requests and failures / requests > spec.failure_rate:
            rate = failures / requests
            reason = f"failure rate {rate:.2f} over {spec.window_s:g}s ({requests} requests)"
        else:
            return None

        def decide(rec: Record | None, now: float) -> _Outcome:
            if rec is not None and rec["s"] == _OPEN:  # another worker tripped it first
                return None, None, None, True
            current = BreakerState.HALF_OPEN if rec is not None and rec["s"] == _HALF_OPEN else None
            if current is None and reason == "probe failed":  # a probe closed it meanwhile
                return None, None, None, True
            move = Transition(model, current or BreakerState.CLOSED, BreakerState.OPEN, reason)
            return self._open_record(now, reason), self._open_ttl, move, True

        return self._changed(model, self._mutate(model, decide)[1])

    def release(self, model: str) -> None:
        def decide(rec: Record | None, now: float) -> _Outcome:
            if rec is None or rec["s"] != _HALF_OPEN or not rec.get("p"):
                return None, None, None, True
            leases = sorted(float(t) for t in rec["p"])
            return {"s": _HALF_OPEN, "p": leases[1:]}, self._open_ttl, None, True

        self._mutate(model, decide)

    def reset(self, model: str) -> None:
        self._store.delete(self._prefix + model)
        self._store.delete(self._outcomes + model)

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

    def _buckets(self) -> tuple[int, int]:
        bucket = self._bucket(self._clock())
        return bucket, bucket - _BUCKETS + 1

    def _changed(self, model: str, move: Transition | None) -> Transition | None:
        """After a transition the outcome window starts afresh."""
        if move is not None:
            self._store.delete(self._outcomes + model)
        return move

    def _open_record(self, now: float, reason: str) -> Record:
        return {"s": _OPEN, "u": now + self._spec.cooldown_s, "r": reason}

    def _bucket(self, now: float) -> int:
        return int(now // self._bucket_s)

    def _live_leases(self, rec: Record, now: float) -> list[float]:
        return [float(t) for t in rec.get("p", ()) if now - float(t) < self._probe_lease_s]


def _unlikely_by_chance(streak: int, requests: int, failures: int, min_requests: int) -> bool:
    """A streak trips the breaker only if it is not what the model's usual failure rate would
    give by chance: at 30 % failures a run of 5 comes once in ~600 calls, so such a model needs
    a run of 8 (30 %^8 < 1e-4). With too little history to know the rate, the streak decides."""
    before = requests - streak
    if before < min_requests:
        return True
    rate = (failures - streak) / before
    return bool(rate**streak < _STREAK_CHANCE)


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

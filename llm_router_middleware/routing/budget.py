"""Daily spend ledgers per user, per tier and globally, reserved atomically in the StateStore."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast
from zoneinfo import ZoneInfo

from .._build import builder
from ..config.schema import BudgetSpec
from ..state.base import AsyncStateStore, StateStore
from ..state.memory import MemoryStore

_GRACE_S = 3600.0
_SCOPE_CACHE_SIZE = 10_000


@dataclass(frozen=True, slots=True)
class BudgetSnapshot:
    remaining_usd: float | None  # min over the scopes that apply; None = unlimited
    scope: str | None  # label of the binding scope: "user:<id>" | "tier:<name>" | "global"
    window: str  # the local date of the daily window, e.g. "2026-11-26"


@dataclass(frozen=True, slots=True)
class Reservation:
    keys: tuple[tuple[str, float], ...]  # (store key, limit) per scope; limit inf = unlimited
    amount: float
    window: str
    expires_at: float = 0.0  # wall-clock end of the window plus grace, for TTLs when settling


@dataclass(frozen=True, slots=True)
class _Scope:
    label: str
    key: str
    limit: float  # math.inf when the scope is tracked but unlimited


_new_reservation = builder(Reservation)
_new_snapshot = builder(BudgetSnapshot)


class _Ledgers:
    """The scopes of one user and tier in one daily window, and what every call derives from
    them (computed once per user, tier and day)."""

    __slots__ = (
        "labels",
        "limited",
        "limited_keys",
        "limited_limits",
        "limits",
        "scopes",
        "unlimited",
        "unlimited_snapshot",
        "window",
    )

    def __init__(self, scopes: list[_Scope], window: str) -> None:
        self.scopes = scopes
        self.window = window
        self.limits = tuple((s.key, s.limit) for s in scopes)  # what a reservation holds
        self.unlimited = [(s.key, math.inf) for s in scopes]  # for settling, no limit applies
        self.limited = [s for s in scopes if s.limit != math.inf]  # what a snapshot reads
        self.limited_keys = [s.key for s in self.limited]
        self.limited_limits = tuple(s.limit for s in self.limited)
        self.labels = tuple(s.label for s in self.limited)
        self.unlimited_snapshot = _new_snapshot(None, None, window)

    def snapshot(self, spent: Sequence[float]) -> BudgetSnapshot:
        """The snapshot from the values read at ``limited_keys``: what the scope with the
        least left has left (the first such scope on a tie), never below zero."""
        limits = self.limited_limits
        if not limits:
            return self.unlimited_snapshot
        at, least = -1, 0.0
        for i, limit in enumerate(limits):
            remaining = limit - spent[i]
            if not remaining > 0.0:  # max(0.0, remaining), NaN included
                remaining = 0.0
            if at < 0 or remaining < least:
                least, at = remaining, i
        return _new_snapshot(least, self.labels[at], self.window)


class BudgetLedger:
    def __init__(
        self,
        store: StateStore,
        spec: BudgetSpec,
        prefix: str = "llmr",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._spec = spec
        self._prefix = prefix
        self._clock = clock
        self._tz = ZoneInfo(spec.timezone)
        self._window_cache: tuple[float, float, str] = (math.inf, -math.inf, "")
        self._scope_cache: dict[tuple[str | None, str, str], _Ledgers] = {}
        self._unlimited: dict[tuple[tuple[str, float], ...], list[tuple[str, float]]] = {}
        # the memory store charges a settlement without checking limits nobody applies then
        self._charge = store.charge if type(store) is MemoryStore else None

    def _window(self) -> tuple[str, float]:
        """(local date, wall-clock end of that local day) for now."""
        now = self._clock()
        start, end, window = self._window_cache
        if start <= now < end:
            return window, end
        local = datetime.fromtimestamp(now, self._tz)
        day = local.date()
        midnight = datetime(day.year, day.month, day.day, tzinfo=self._tz)
        next_midnight = datetime.combine(day + timedelta(days=1), midnight.timetz())
        window, start, end = day.isoformat(), midnight.timestamp(), next_midnight.timestamp()
        self._window_cache = (start, end, window)
        return window, end

    def _scopes(self, budget_key: str | None, tier: str, window: str) -> list[_Scope]:
        return self._ledgers(budget_key, tier, window).scopes

    def _ledgers(self, budget_key: str | None, tier: str, window: str) -> _Ledgers:
        """The scopes of a user and tier in a window, and what every call derives from them,
        computed once per (user, tier, day)."""
        cache_key = (budget_key, tier, window)
        ledgers = self._scope_cache.get(cache_key)
        if ledgers is None:
            if len(self._scope_cache) >= _SCOPE_CACHE_SIZE:
                self._scope_cache.clear()
                self._unlimited.clear()
            ledgers = _Ledgers(self._build_scopes(budget_key, tier, window), window)
            self._scope_cache[cache_key] = ledgers
            self._unlimited[ledgers.limits] = ledgers.unlimited
        return ledgers

    def _build_scopes(self, budget_key: str | None, tier: str, window: str) -> list[_Scope]:
        base = f"{self._prefix}:budget:{window}"
        spec = self._spec
        scopes = []
        if budget_key is not None:
            limit = spec.per_user_usd if spec.per_user_usd is not None else math.inf
            scopes.append(_Scope(f"user:{budget_key}", f"{base}:user:{budget_key}", limit))
        tier_limit = spec.per_tier_usd.get(tier)
        scopes.append(
            _Scope(
                f"tier:{tier}",
                f"{base}:tier:{tier}",
                tier_limit if tier_limit is not None else math.inf,
            )
        )
        limit = spec.global_usd if spec.global_usd is not None else math.inf
        scopes.append(_Scope("global", f"{base}:global", limit))
        return scopes

    def snapshot(self, budget_key: str | None, tier: str) -> BudgetSnapshot:
        keys, finish = self.snapshot_reader(budget_key, tier)
        return finish(self._store.get_numbers(keys) if keys else [])

    def snapshot_reader(
        self, budget_key: str | None, tier: str
    ) -> tuple[list[str], Callable[[Sequence[float]], BudgetSnapshot]]:
        """The keys a snapshot reads and how to finish it from their values, for a caller that
        batches this read with others (one store round trip for all of planning's numbers)."""
        ledgers = self.current(budget_key, tier)
        return ledgers.limited_keys, ledgers.snapshot

    def current(self, budget_key: str | None, tier: str) -> _Ledgers:
        """The ledgers of a user and tier today: ``limited_keys`` to read, ``snapshot`` to
        finish a snapshot from their values (planning's read, batched with its others)."""
        now = self._clock()
        start, end, window = self._window_cache
        if not start <= now < end:
            window = self._window()[0]
        ledgers = self._scope_cache.get((budget_key, tier, window))
        return ledgers if ledgers is not None else self._ledgers(budget_key, tier, window)

    def reserve(
        self, budget_key: str | None, tier: str, amount: float
    ) -> Reservation | BudgetSnapshot:
        """Add ``amount`` to every scope at once, or to none: on refusal, the snapshot names the
        scope that refused and what it has left."""
        now = self._clock()
        start, end, window = self._window_cache
        if not start <= now < end:
            window, end = self._window()
        ledgers = self._scope_cache.get((budget_key, tier, window))
        if ledgers is None:
            ledgers = self._ledgers(budget_key, tier, window)
        expires_at = end + _GRACE_S
        keys = ledgers.limits
        if not 0.0 <= amount < math.inf:  # also NaN
            raise ValueError(f"a budget reservation must be a finite amount >= 0, got {amount!r}")
        if amount == 0.0:
            # Free calls always pass, even when a scope is already over its limit.
            return _new_reservation(keys, 0.0, window, expires_at)
        ttl = expires_at - now
        refused = self._store.reserve(keys, amount, ttl if ttl > 1.0 else 1.0)
        if refused is None:
            return _new_reservation(keys, amount, window, expires_at)
        scope = next(s for s in ledgers.scopes if s.key == refused)
        used = self._store.get_numbers([scope.key])[0]
        return BudgetSnapshot(max(0.0, scope.limit - used), scope.label, window)

    def _ttl(self, reservation: Reservation) -> float:
        return max(1.0, reservation.expires_at - self._clock())

    def settle(self, reservation: Reservation, actual_usd: float) -> None:
        """Replace the reserved estimate by the actual cost (the difference may be negative)."""
        delta = actual_usd - reservation.amount
        if delta == 0.0:
            return
        if self._charge is not None:  # the memory store, directly (on every call's path)
            ttl = reservation.expires_at - self._clock()
            self._charge(reservation.keys, delta, ttl if ttl > 1.0 else 1.0)
            return
        self._add(reservation, delta)

    def release(self, reservation: Reservation) -> None:
        """Give the whole reservation back (the call failed and nothing was charged)."""
        if reservation.amount == 0.0:
            return
        self._add(reservation, -reservation.amount)

    def _add(self, reservation: Reservation, delta: float) -> None:
        """Add ``delta`` to every ledger of the reservation in one atomic store call (no limit
        applies: the actual cost is charged even when it exceeds the estimate)."""
        if self._charge is not None:
            self._charge(reservation.keys, delta, self._ttl(reservation))
        else:
            self._store.reserve(self._unlimited_of(reservation), delta, self._ttl(reservation))

    def _unlimited_of(self, reservation: Reservation) -> list[tuple[str, float]]:
        unlimited = self._unlimited.get(reservation.keys)
        if unlimited is None:
            unlimited = [(key, math.inf) for key, _limit in reservation.keys]
        return unlimited

    def spent(self, budget_key: str | None, tier: str) -> dict[str, float]:
        window, _ = self._window()
        scopes = self._scopes(budget_key, tier, window)
        values = self._store.get_numbers([s.key for s in scopes])
        return {s.label: v for s, v in zip(scopes, values, strict=True)}

    def scope_keys(
        self, budget_key: str | None, tier: str
    ) -> tuple[str, list[tuple[str, str, float]]]:
        """The day's window and (label, store key, limit) of every scope a call of this user
        and tier is charged to (limit inf = tracked but unlimited), for readers."""
        window, _ = self._window()
        scopes = self._scopes(budget_key, tier, window)
        return window, [(s.label, s.key, s.limit) for s in scopes]

    # --- the asyncio twins, for a store that has them (Redis) ---------------------------------

    async def areserve(
        self, budget_key: str | None, tier: str, amount: float
    ) -> Reservation | BudgetSnapshot:
        """``reserve`` through the store's asyncio client."""
        store = cast(AsyncStateStore, self._store)
        window, end = self._window()
        ledgers = self._ledgers(budget_key, tier, window)
        expires_at = end + _GRACE_S
        keys = ledgers.limits
        if not (amount >= 0.0 and math.isfinite(amount)):  # also NaN
            raise ValueError(f"a budget reservation must be a finite amount >= 0, got {amount!r}")
        if amount == 0.0:
            return _new_reservation(keys, 0.0, window, expires_at)
        refused = await store.areserve(keys, amount, max(1.0, expires_at - self._clock()))
        if refused is None:
            return _new_reservation(keys, amount, window, expires_at)
        scope = next(s for s in ledgers.scopes if s.key == refused)
        used = (await store.aget_numbers([scope.key]))[0]
        return BudgetSnapshot(max(0.0, scope.limit - used), scope.label, window)

    async def asettle(self, reservation: Reservation, actual_usd: float) -> None:
        delta = actual_usd - reservation.amount
        if delta != 0.0:
            await self._aadd(reservation, delta)

    async def arelease(self, reservation: Reservation) -> None:
        if reservation.amount != 0.0:
            await self._aadd(reservation, -reservation.amount)

    async def _aadd(self, reservation: Reservation, delta: float) -> None:
        store = cast(AsyncStateStore, self._store)
        await store.areserve(self._unlimited_of(reservation), delta, self._ttl(reservation))

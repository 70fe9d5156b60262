"""Token limits (``tpm``) per model and per deployment, and a deployment's own ``rpm``.

Counted per wall-clock minute in the shared state store, so every worker and host sees the
same count: before a call its estimated tokens (prompt + expected output) are reserved
atomically against every limit that applies (the model's and the deployment's, in one step:
``StateStore.reserve``), after the reply the reservation is settled to the actual usage
(``prompt_tokens + completion_tokens``), and a failed call releases it. Planning reads the
model-level counts and rejects a model whose limit the call would exceed (code
``token_limit``); the reservation is what holds the limit when workers race.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ..config.schema import ModelSpec, RouterConfig
from ..routing.reasons import why_tpm
from ..state.base import AsyncStateStore, StateStore

WINDOW_S = 60
_TTL_S = 2 * WINDOW_S

Limits = tuple[tuple[str, float], ...]  # (key stem, limit)


@dataclass(slots=True)
class TokenReservation:
    keys: tuple[str, ...]  # the minute's token-count keys charged
    tokens: int  # reserved, and charged until settled


class TokenLimiter:
    def __init__(self, store: StateStore, config: RouterConfig, prefix: str) -> None:
        self._store = store
        self._prefix = prefix
        self._tpm: dict[str, Limits] = {}  # target -> token limits that apply to its calls
        self._rpm: dict[str, Limits] = {}  # deployment target -> its own request limit
        for name, spec in config.models.items():
            own: Limits = ((self.stem("tpm", name), spec.tpm),) if spec.tpm else ()
            if own:
                self._tpm[name] = own
            for d in spec.deployments:
                limits = own + (((self.stem("tpm", d.target), d.tpm),) if d.tpm else ())
                if limits:
                    self._tpm[d.target] = limits
                if d.rpm:
                    self._rpm[d.target] = ((self.stem("rpm", d.target), d.rpm),)
        self.limited = bool(self._tpm or self._rpm)  # any limit to reserve against

    def stem(self, kind: str, target: str) -> str:
        return f"{self._prefix}:{kind}:{target}:"

    def key(self, target: str, minute: int) -> str:
        """The token count of ``target`` (a model's name) in ``minute``, read by planning."""
        return f"{self.stem('tpm', target)}{minute}"

    # --- reserve --------------------------------------------------------------------------------
    def reserve(self, spec: ModelSpec, tokens: int) -> TokenReservation | tuple[str, str] | None:
        """Reserve ``tokens`` for a call to ``spec``: the reservation, None when no limit
        applies, or ``(code, reason)`` when a limit would be exceeded (nothing is charged)."""
        tpm, rpm = self._tpm.get(spec.target, ()), self._rpm.get(spec.target, ())
        if not tpm and not rpm:
            return None
        minute = int(time.time() // WINDOW_S)
        store = self._store
        if rpm:
            over = store.reserve(_keyed(rpm, minute), 1.0, ttl_s=_TTL_S)
            if over is not None:
                return "rate_limit", self._why(spec, rpm, over, store.get_numbers([over])[0], 1)
        if tpm:
            over = store.reserve(_keyed(tpm, minute), float(tokens), ttl_s=_TTL_S)
            if over is not None:
                if rpm:
                    store.incr(_keyed(rpm, minute)[0][0], -1.0, ttl_s=_TTL_S)
                used = store.get_numbers([over])[0]
                return "token_limit", self._why(spec, tpm, over, used, tokens)
        return TokenReservation(tuple(k for k, _ in _keyed(tpm, minute)), tokens)

    async def areserve(
        self, spec: ModelSpec, tokens: int, astore: AsyncStateStore
    ) -> TokenReservation | tuple[str, str] | None:
        tpm, rpm = self._tpm.get(spec.target, ()), self._rpm.get(spec.target, ())
        if not tpm and not rpm:
            return None
        minute = int(time.time() // WINDOW_S)
        if rpm:
            over = await astore.areserve(_keyed(rpm, minute), 1.0, ttl_s=_TTL_S)
            if over is not None:
                used = (await astore.aget_numbers([over]))[0]
                return "rate_limit", self._why(spec, rpm, over, used, 1)
        if tpm:
            over = await astore.areserve(_keyed(tpm, minute), float(tokens), ttl_s=_TTL_S)
            if over is not None:
                if rpm:
                    await astore.aincr(_keyed(rpm, minute)[0][0], -1.0, ttl_s=_TTL_S)
                used = (await astore.aget_numbers([over]))[0]
                return "token_limit", self._why(spec, tpm, over, used, tokens)
        return TokenReservation(tuple(k for k, _ in _keyed(tpm, minute)), tokens)

    def _why(self, spec: ModelSpec, limits: Limits, over: str, used: float, needed: int) -> str:
        for stem, limit in limits:
            if over.startswith(stem):
                target = over[len(self._prefix) + 5 : -len(over.rsplit(":", 1)[1]) - 1]
                name = _label(target)
                if stem.startswith(f"{self._prefix}:rpm:"):
                    return f"{name} request limit: {used:.0f} of {limit:.0f} requests this minute"
                return why_tpm(name, used, needed, int(limit))
        return f"{spec.target}: limit reached"  # pragma: no cover - over is one of the keys

    # --- settle / release -------------------------------------------------------------------
    def settle(self, reservation: TokenReservation, tokens: int) -> None:
        delta = tokens - reservation.tokens
        reservation.tokens = tokens
        if delta:
            for key in reservation.keys:
                self._store.incr(key, float(delta), ttl_s=_TTL_S)

    async def asettle(
        self, reservation: TokenReservation, tokens: int, astore: AsyncStateStore
    ) -> None:
        delta = tokens - reservation.tokens
        reservation.tokens = tokens
        if delta:
            for key in reservation.keys:
                await astore.aincr(key, float(delta), ttl_s=_TTL_S)

    def release(self, reservation: TokenReservation) -> None:
        self.settle(reservation, 0)

    async def arelease(self, reservation: TokenReservation, astore: AsyncStateStore) -> None:
        await self.asettle(reservation, 0, astore)


def _keyed(limits: Limits, minute: int) -> list[tuple[str, float]]:
    return [(f"{stem}{minute}", float(limit)) for stem, limit in limits]


def _label(target: str) -> str:
    model, _, deployment = target.partition("#")
    return f"deployment {deployment!r} of {model}" if deployment else model

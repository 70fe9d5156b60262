"""Picking among the deployments of one model.

``order_deployments`` is pure: the healthy deployments in the order to try them (the chosen one
first, then its siblings), by ``balance``:

- ``weighted`` (default): a weighted random order (Efraimidis-Spirakis keys ``u ** (1 / w)``),
  so the first pick follows the weights and every sibling is a fallback.
- ``least_inflight``: fewest calls in flight in this process first, ties in weighted order.
- ``latency``: lowest observed latency (EWMA) first; a deployment never observed goes first
  so it gets measured; ties in weighted order.

``DeploymentBoard`` holds what the choice reads: each deployment's breaker and cooldown (one
batched store read when the model is reached), the in-flight counts of this process and the
random source (``[traffic] seed`` makes it reproducible).
"""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..config.schema import ModelSpec, RouterConfig
from ..resilience import BreakerBoard, BreakerState, Cooldowns
from ..routing import LatencyTracker
from ..state.base import AsyncStateStore, StateStore


@dataclass(frozen=True, slots=True)
class Choice:
    """The deployments to try in order (with whether each breaker read closed), and the ones
    left out with their rejection code and reason."""

    order: tuple[tuple[ModelSpec, bool], ...]
    skipped: tuple[tuple[ModelSpec, str, str], ...]


def order_deployments(
    deployments: Sequence[ModelSpec],
    balance: str,
    rng: random.Random,
    inflight: Mapping[str, int],
    latency_s: Mapping[str, float],
) -> list[ModelSpec]:
    keyed = [(rng.random() ** (1.0 / d.weight), i) for i, d in enumerate(deployments)]
    weighted = [deployments[i] for _, i in sorted(keyed, reverse=True)]
    if balance == "least_inflight":
        return sorted(weighted, key=lambda d: inflight.get(d.target, 0))
    if balance == "latency":
        return sorted(weighted, key=lambda d: latency_s.get(d.target, 0.0))
    return weighted


class DeploymentBoard:
    def __init__(
        self,
        store: StateStore,
        config: RouterConfig,
        breakers: BreakerBoard,
        cooldowns: Cooldowns,
        latency: LatencyTracker,
    ) -> None:
        self._store = store
        self._breakers = breakers
        self._cooldowns = cooldowns
        self._latency = latency
        self.rng = random.Random(config.traffic.seed)
        self._lock = threading.Lock()
        self._inflight: dict[str, int] = {}
        self._keys = {
            name: self._state_keys(spec.deployments)
            for name, spec in config.models.items()
            if spec.deployments
        }
        self.configured = bool(self._keys)

    def _state_keys(self, deployments: Sequence[ModelSpec]) -> list[str]:
        targets = [d.target for d in deployments]
        return self._breakers.keys(targets) + self._cooldowns.keys(targets)

    def choose(self, spec: ModelSpec) -> Choice:
        return self._choice(spec, self._store.get_many(self._keys[spec.name]))

    async def achoose(self, spec: ModelSpec, astore: AsyncStateStore) -> Choice:
        return self._choice(spec, await astore.aget_many(self._keys[spec.name]))

    def _choice(self, spec: ModelSpec, raws: Sequence[str | None]) -> Choice:
        deployments = spec.deployments
        targets = [d.target for d in deployments]
        count = len(targets)
        statuses = self._breakers.parse_statuses(targets, raws[:count])
        cooling = self._cooldowns.parse_remaining(targets, raws[count:])
        healthy: list[ModelSpec] = []
        skipped: list[tuple[ModelSpec, str, str]] = []
        closed: set[str] = set()
        for d in deployments:
            status = statuses[d.target]
            if not status.allows:
                skipped.append((d, "breaker_open", status.reason))
            elif d.target in cooling:
                skipped.append(
                    (d, "cooldown", f"cooling down for {cooling[d.target]:.1f} s (Retry-After)")
                )
            else:
                healthy.append(d)
                if status.state is BreakerState.CLOSED:
                    closed.add(d.target)
        latency = self._latency.snapshot(targets) if spec.balance == "latency" else {}
        with self._lock:
            ordered = order_deployments(healthy, spec.balance, self.rng, self._inflight, latency)
        return Choice(tuple((d, d.target in closed) for d in ordered), tuple(skipped))

    # in-flight counts of this process, for ``least_inflight``
    def started(self, target: str) -> None:
        with self._lock:
            self._inflight[target] = self._inflight.get(target, 0) + 1

    def ended(self, target: str) -> None:
        with self._lock:
            left = self._inflight.get(target, 0) - 1
            if left > 0:
                self._inflight[target] = left
            else:
                self._inflight.pop(target, None)

    def inflight(self, target: str) -> int:
        return self._inflight.get(target, 0)

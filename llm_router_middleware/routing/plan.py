"""The output of planning: an ordered list of models to try and why."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

AttributeValue = str | bool | int | float


@dataclass(frozen=True, slots=True)
class Rejection:
    """A candidate that a filter removed. ``code`` is machine-readable, ``reason`` for people."""

    model: str
    code: str  # tier, context_window, breaker_open, cooldown, rate_limit, budget, quality, deadline
    reason: str


def _empty_attrs() -> Mapping[str, AttributeValue]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Plan:
    strategy: str
    order: tuple[str, ...]  # the selected model first, then the fallbacks in order
    reason: str
    tier: str
    candidates: tuple[str, ...]  # the tier's models before filters
    rejected: tuple[Rejection, ...]
    prompt_tokens: int
    estimates_usd: Mapping[str, float]  # estimated cost per model in ``order``
    budget_remaining_usd: float | None = None
    budget_scope: str | None = None  # which ledger bounds the remaining budget
    downgraded: bool = False
    experiment: str | None = None
    arm: str | None = None
    attributes: Mapping[str, AttributeValue] = field(default_factory=_empty_attrs)

    @property
    def selected(self) -> str:
        return self.order[0]

    @property
    def fallbacks(self) -> tuple[str, ...]:
        return self.order[1:]

"""What planning reads: the request's side (``PlanInput``), the shared state's side
(``StateView``) and a decision made before planning (``Preselection``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from ..config.schema import TierSpec
from ..context import RequestContext
from .budget import BudgetSnapshot
from .latency import LatencyFigures
from .learned import LearnedInput
from .plan import AttributeValue


def _empty_attrs() -> Mapping[str, AttributeValue]:
    return MappingProxyType({})


def _empty_floats() -> Mapping[str, float]:
    return MappingProxyType({})


def _empty_figures() -> Mapping[str, LatencyFigures]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Preselection:
    """A decision made before planning (the semantic route); ``model`` None = no match."""

    model: str | None
    reason: str
    attributes: Mapping[str, AttributeValue] = field(default_factory=_empty_attrs)


@dataclass(frozen=True, slots=True)
class PlanInput:
    text: str  # routable text (user message text)
    prompt_tokens: int
    context: RequestContext
    tier: TierSpec
    strategy: str  # already resolved: view policy > tier.strategy > routing.strategy
    allowed: tuple[str, ...] | None = None  # per-view allow-list, intersected with the tier's
    max_cost_usd: float | None = None  # per-view cap per call
    preselection: Preselection | None = None  # for strategy "semantic"
    expected_output_tokens: int | None = None  # the call's max_tokens; default routing.cost's
    fallthrough: str = "complexity"  # strategy "semantic" uses this one when no route matches
    learned: LearnedInput | None = None  # for strategy "learned": the prompt's difficulty
    features: frozenset[str] = frozenset()  # what the call needs (routing/capabilities.py)


@dataclass(frozen=True, slots=True)
class StateView:
    blocked: Mapping[str, str]  # model -> reason, from breakers
    cooldowns: Mapping[str, float]  # model -> seconds remaining
    rpm_used: Mapping[str, float]  # model -> requests in the current minute
    budget: BudgetSnapshot
    latency_s: Mapping[str, float]  # EWMA per model
    now_monotonic: float | None = None  # for deadline checks (context.deadline is monotonic)
    blocked_retry_s: Mapping[str, float] = field(default_factory=_empty_floats)  # breaker waits
    tpm_used: Mapping[str, float] = field(default_factory=_empty_floats)  # tokens this minute
    # EWMA, p95, time to first token per model: read only for the ``latency`` strategy and a
    # tier's ``max_latency_s`` objective
    latency: Mapping[str, LatencyFigures] = field(default_factory=_empty_figures)

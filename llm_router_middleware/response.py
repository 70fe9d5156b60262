"""What a reply says about how it was routed: ``reply.routing``."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import Attempt
from .routing.plan import Plan


@dataclass(frozen=True, slots=True)
class RoutingInfo:
    model: str  # config name of the model that answered
    litellm_model: str  # the litellm model string that was called
    strategy: str
    reason: str
    fallback_count: int  # models tried or skipped before the one that answered
    attempts: tuple[Attempt, ...]
    cost_usd: float  # actual, from the reply's usage
    estimated_cost_usd: float
    request_id: str  # pass to Router.record_score() to score this reply later
    tier: str
    experiment: str | None
    arm: str | None
    downgraded: bool
    plan: Plan
    deployment: str | None = None  # the deployment of ``model`` that answered, by name
    hedged_cost_usd: float = 0.0  # charged for hedged calls that lost the race (attempts)
    cache: str | None = None  # "exact" or "semantic" when served from the response cache

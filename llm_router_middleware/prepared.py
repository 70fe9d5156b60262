"""What planning hands to execution: the plan, with the request it was made for."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .context import RequestContext
from .routing.plan import Plan


@dataclass(frozen=True, slots=True)
class Prepared:
    messages: list[Mapping[str, Any]]
    context: RequestContext
    plan: Plan
    strategy: str
    closed: frozenset[str] = frozenset()  # models whose breaker read closed while planning
    waited_s: float = 0.0  # waited for a cooling candidate to recover before this plan
    features: Any = None  # strategy "learned": the prompt's feature row, kept for feedback
    text: str = ""

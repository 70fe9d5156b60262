"""The decision log line: one structured line per executed (or refused) plan."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from ..context import RequestContext
from ..routing.plan import Plan

logger = logging.getLogger("llm_router_middleware")


def log_plan_outcome(
    plan: Plan,
    context: RequestContext,
    request_id: str,
    outcome: str,
    model: str | None,
    fallbacks: int,
    cost: float,
    level: int,
    deployment: str | None = None,
    retries: int = 0,
    extra: Mapping[str, Any] | None = None,
    *,
    cache: str | None = None,
) -> None:
    """The decision log line of one executed plan (``extra``: hedging's fields; ``cache``: a
    reply served from the response cache)."""
    fields: dict[str, Any] = {
        "request_id": request_id,
        "outcome": outcome,
        "strategy": plan.strategy,
        "selected": plan.selected,
        "model_used": model,
        "fallback_count": fallbacks,
        "cost_usd": round(cost, 8),
        "tier": plan.tier,
        "user_id": context.user_id,
        "endpoint": context.endpoint,
        "experiment": plan.experiment,
        "arm": plan.arm,
        "reason": plan.reason,
    }
    if deployment is not None:
        fields["deployment"] = deployment
    if retries:
        fields["retries"] = retries
    if extra:
        fields.update(extra)
    if cache is not None:
        fields["cache"] = cache
    log_decision(fields, level)


def log_decision(fields: Mapping[str, Any], level: int = logging.INFO) -> None:
    """One structured line per decision: key=value text, and the fields under ``extra``."""
    if not logger.isEnabledFor(level):
        return
    text = " ".join(f"{k}={json.dumps(v) if isinstance(v, str) else v}" for k, v in fields.items())
    logger.log(level, "llm_router decision %s", text, extra={"llm_router": dict(fields)})

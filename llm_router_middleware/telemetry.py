"""Spans, events, metrics and the decision log line. Every attribute name lives here.

Routing spans are INTERNAL children of the current span (the app's HTTP server span), named
``route <strategy>``; each attempt is a CLIENT span ``chat <model>`` under it carrying the
OpenTelemetry GenAI semantic-convention attributes. Our own attributes use ``llm_router.*``.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from opentelemetry import metrics, trace
from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as gen_ai
from opentelemetry.semconv.attributes import error_attributes, server_attributes
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from .config import ModelSpec
from .context import RequestContext
from .routing.plan import Plan

logger = logging.getLogger("llm_router_middleware")

# --- gen_ai.* (semantic conventions) -------------------------------------------------------
GEN_AI_OPERATION_NAME = gen_ai.GEN_AI_OPERATION_NAME
GEN_AI_PROVIDER_NAME = gen_ai.GEN_AI_PROVIDER_NAME
GEN_AI_REQUEST_MODEL = gen_ai.GEN_AI_REQUEST_MODEL
GEN_AI_REQUEST_MAX_TOKENS = gen_ai.GEN_AI_REQUEST_MAX_TOKENS
GEN_AI_REQUEST_TEMPERATURE = gen_ai.GEN_AI_REQUEST_TEMPERATURE
GEN_AI_RESPONSE_MODEL = gen_ai.GEN_AI_RESPONSE_MODEL
GEN_AI_RESPONSE_ID = gen_ai.GEN_AI_RESPONSE_ID
GEN_AI_RESPONSE_FINISH_REASONS = gen_ai.GEN_AI_RESPONSE_FINISH_REASONS
GEN_AI_USAGE_INPUT_TOKENS = gen_ai.GEN_AI_USAGE_INPUT_TOKENS
GEN_AI_USAGE_OUTPUT_TOKENS = gen_ai.GEN_AI_USAGE_OUTPUT_TOKENS
GEN_AI_INPUT_MESSAGES = gen_ai.GEN_AI_INPUT_MESSAGES
GEN_AI_OUTPUT_MESSAGES = gen_ai.GEN_AI_OUTPUT_MESSAGES
ERROR_TYPE = error_attributes.ERROR_TYPE
SERVER_ADDRESS = server_attributes.SERVER_ADDRESS
SERVER_PORT = server_attributes.SERVER_PORT

# --- llm_router.* (ours) --------------------------------------------------------------------
STRATEGY = "llm_router.strategy"
CANDIDATES = "llm_router.candidates"
ORDER = "llm_router.order"
SELECTED = "llm_router.selected"
REASON = "llm_router.reason"
TIER = "llm_router.tier"
USER_ID = "llm_router.user_id"
ENDPOINT = "llm_router.endpoint"
REQUEST_ID = "llm_router.request_id"
PROMPT_TOKENS_ESTIMATE = "llm_router.prompt_tokens_estimate"
BUDGET_REMAINING = "llm_router.budget.remaining_usd"
BUDGET_SCOPE = "llm_router.budget.scope"
DOWNGRADED = "llm_router.budget.downgraded"
EXPERIMENT = "llm_router.experiment"
ARM = "llm_router.arm"
MODEL_USED = "llm_router.model_used"
FALLBACK_COUNT = "llm_router.fallback_count"
COST_USD = "llm_router.cost_usd"
ESTIMATED_COST_USD = "llm_router.estimated_cost_usd"
MODEL = "llm_router.model"
ATTEMPT = "llm_router.attempt"
ERROR_KIND = "llm_router.error.kind"
ERROR_FLAGGED = "llm_router.error.flagged"
RETRY_AFTER_S = "llm_router.retry_after_s"
TIMEOUT_S = "llm_router.timeout_s"
DEPLOYMENT = "llm_router.deployment"  # a deployment's name, never its key or api_base
RETRY = "llm_router.retry"  # the n-th retry of the same target
RECOVERY_WAIT_S = "llm_router.recovery_wait_s"  # waited for a cooling candidate to recover
CACHE = "llm_router.cache"  # "exact" | "semantic" (a hit) | "miss", when the cache is on
CACHE_SIMILARITY = "llm_router.cache.similarity"  # a semantic hit's cosine similarity
STATE_DEGRADED = "llm_router.state.degraded"  # the shared state store was unreachable
HEDGE_AFTER_S = "llm_router.hedge.after_s"  # the delay before the next model starts
HEDGE_DELAY_SOURCE = "llm_router.hedge.delay_source"  # "p95" or "configured"
HEDGE_STARTED = "llm_router.hedge.started"
HEDGE_WINNER = "llm_router.hedge.winner"
HEDGE_COST_USD = "llm_router.hedge.cost_usd"  # charged for the hedged calls that lost
HEDGE_OUTCOME = "llm_router.hedge.outcome"  # on an attempt span: "winner" or "loser"
# learned routing (set through plan.attributes, which the route span prefixes with llm_router.)
LEARNED_DIFFICULTY = "llm_router.learned.difficulty"
LEARNED_THRESHOLD = "llm_router.learned.threshold"
LEARNED_STRONG_SHARE = "llm_router.learned.strong_share"
LEARNED_REQUIRED_QUALITY = "llm_router.learned.required_quality"
LEARNED_CACHED = "llm_router.learned.cached"
LEARNED_TRUNCATED = "llm_router.learned.truncated"

# --- events -----------------------------------------------------------------------------------
EVENT_REJECTED = "llm_router.candidate_rejected"
EVENT_BREAKER = "llm_router.breaker_transition"
EVENT_COOLDOWN = "llm_router.cooldown"
EVENT_SKIPPED = "llm_router.attempt_skipped"
EVENT_HEDGE = "llm_router.hedge_started"

CAPTURE_CONTENT_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"

_tracer = trace.get_tracer("llm_router_middleware")
_meter = metrics.get_meter("llm_router_middleware")
_duration = _meter.create_histogram(
    "gen_ai.client.operation.duration", unit="s", description="GenAI operation duration"
)
_tokens = _meter.create_histogram(
    "gen_ai.client.token.usage", unit="{token}", description="Tokens used per call"
)
_cost = _meter.create_counter("llm_router.cost", unit="USD", description="Spend charged")


def capture_content() -> bool:
    return os.environ.get(CAPTURE_CONTENT_ENV, "").strip().lower() in ("true", "1", "yes")


def _tracing() -> bool:
    """False while no TracerProvider has been installed: then spans are skipped outright (the
    API's no-op path still costs microseconds per span through its proxies)."""
    return not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)


def _metering() -> bool:
    """False while no MeterProvider has been installed (skip the no-op instruments' cost)."""
    return type(metrics.get_meter_provider()).__name__ != "_ProxyMeterProvider"


def start_route_span(strategy: str) -> Span:
    if not _tracing():
        return trace.INVALID_SPAN
    return _tracer.start_span(f"route {strategy}", kind=SpanKind.INTERNAL)


_MODEL_ATTRS: dict[tuple[str, str, str | None], tuple[str, dict[str, Any]]] = {}


def _model_attrs(spec: ModelSpec) -> tuple[str, dict[str, Any]]:
    """The span name and the attributes that never change for a model, computed once."""
    key = (spec.name, spec.model, spec.api_base)
    cached = _MODEL_ATTRS.get(key)
    if cached is None:
        request_model = spec.model.split("/", 1)[1] if "/" in spec.model else spec.model
        attrs: dict[str, Any] = {
            GEN_AI_OPERATION_NAME: "chat",
            GEN_AI_PROVIDER_NAME: spec.provider,
            GEN_AI_REQUEST_MODEL: request_model,
            MODEL: spec.name,
        }
        if spec.api_base:
            parts = urlsplit(spec.api_base)
            if parts.hostname:
                attrs[SERVER_ADDRESS] = parts.hostname
            if parts.port:
                attrs[SERVER_PORT] = parts.port
        cached = _MODEL_ATTRS[key] = (f"chat {request_model}", attrs)
    return cached


def start_attempt_span(
    spec: ModelSpec, parent: Span, index: int, params: Mapping[str, Any]
) -> Span:
    if not _tracing():
        return trace.INVALID_SPAN
    name, static = _model_attrs(spec)
    attrs = {**static, ATTEMPT: index}
    max_tokens = params.get("max_tokens")
    if isinstance(max_tokens, int):
        attrs[GEN_AI_REQUEST_MAX_TOKENS] = max_tokens
    temperature = params.get("temperature")
    if isinstance(temperature, int | float):
        attrs[GEN_AI_REQUEST_TEMPERATURE] = float(temperature)
    ctx = trace.set_span_in_context(parent)
    return _tracer.start_span(name, context=ctx, kind=SpanKind.CLIENT, attributes=attrs)


def record_plan(
    span: Span, plan: Plan, *, user_id: str | None, endpoint: str | None, request_id: str
) -> None:
    if not span.is_recording():
        return
    span.set_attributes(
        {
            STRATEGY: plan.strategy,
            CANDIDATES: list(plan.candidates),
            ORDER: list(plan.order),
            SELECTED: plan.selected,
            REASON: plan.reason,
            TIER: plan.tier,
            REQUEST_ID: request_id,
            PROMPT_TOKENS_ESTIMATE: plan.prompt_tokens,
            DOWNGRADED: plan.downgraded,
            ESTIMATED_COST_USD: plan.estimates_usd.get(plan.selected, 0.0),
        }
    )
    if user_id is not None:
        span.set_attribute(USER_ID, user_id)
    if endpoint is not None:
        span.set_attribute(ENDPOINT, endpoint)
    if plan.budget_remaining_usd is not None:
        span.set_attribute(BUDGET_REMAINING, plan.budget_remaining_usd)
    if plan.budget_scope is not None:
        span.set_attribute(BUDGET_SCOPE, plan.budget_scope)
    if plan.experiment is not None:
        span.set_attribute(EXPERIMENT, plan.experiment)
    if plan.arm is not None:
        span.set_attribute(ARM, plan.arm)
    for key, value in plan.attributes.items():
        span.set_attribute(f"llm_router.{key}", value)
    for rejection in plan.rejected:
        span.add_event(
            EVENT_REJECTED,
            {
                "llm_router.model": rejection.model,
                "llm_router.filter": rejection.code,
                "llm_router.reason": rejection.reason,
            },
        )


def record_input(span: Span, messages: Sequence[Mapping[str, Any]]) -> None:
    if capture_content() and span.is_recording():
        span.set_attribute(GEN_AI_INPUT_MESSAGES, json.dumps(list(messages), default=str))


def record_response(
    span: Span,
    response: Any,
    cost_usd: float,
    duration_s: float,
    spec: ModelSpec,
    *,
    input_tokens: int,
    output_tokens: int,
) -> None:
    if _metering():
        base = {
            GEN_AI_OPERATION_NAME: "chat",
            GEN_AI_PROVIDER_NAME: spec.provider,
            MODEL: spec.name,
        }
        _duration.record(duration_s, base)
        _tokens.record(input_tokens, {**base, "gen_ai.token.type": "input"})
        _tokens.record(output_tokens, {**base, "gen_ai.token.type": "output"})
        _cost.add(cost_usd, base)
    if not span.is_recording():
        return
    choices = getattr(response, "choices", None) or []
    finish = [str(c.finish_reason) for c in choices if getattr(c, "finish_reason", None)]
    attrs: dict[str, Any] = {
        GEN_AI_USAGE_INPUT_TOKENS: input_tokens,
        GEN_AI_USAGE_OUTPUT_TOKENS: output_tokens,
        COST_USD: cost_usd,
    }
    if getattr(response, "model", None):
        attrs[GEN_AI_RESPONSE_MODEL] = str(response.model)
    if getattr(response, "id", None):
        attrs[GEN_AI_RESPONSE_ID] = str(response.id)
    if finish:
        attrs[GEN_AI_RESPONSE_FINISH_REASONS] = finish
    if capture_content():
        out = [
            {
                "role": "assistant",
                "content": getattr(getattr(c, "message", None), "content", None),
                "finish_reason": getattr(c, "finish_reason", None),
            }
            for c in choices
        ]
        attrs[GEN_AI_OUTPUT_MESSAGES] = json.dumps(out, default=str)
    span.set_attributes(attrs)


def record_error(
    span: Span,
    error_type: str,
    kind: str,
    message: str,
    *,
    flagged: bool,
    retry_after_s: float | None,
) -> None:
    if not span.is_recording():
        return
    span.set_attributes({ERROR_TYPE: error_type, ERROR_KIND: kind, ERROR_FLAGGED: flagged})
    if retry_after_s is not None:
        span.set_attribute(RETRY_AFTER_S, retry_after_s)
    span.set_status(Status(StatusCode.ERROR, message[:300]))


def breaker_event(span: Span, model: str, from_state: str, to_state: str, reason: str) -> None:
    span.add_event(
        EVENT_BREAKER,
        {
            "llm_router.model": model,
            "llm_router.breaker.from": from_state,
            "llm_router.breaker.to": to_state,
            "llm_router.reason": reason,
        },
    )


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

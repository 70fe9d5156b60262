"""Starting and recording the spans, and the metrics of an answered call.

Routing spans are INTERNAL children of the current span (the app's HTTP server span), named
``route <strategy>``; each attempt is a CLIENT span ``chat <model>`` under it carrying the
OpenTelemetry GenAI semantic-convention attributes. Attributes known when a span starts are
passed as it starts, in one dict; with no TracerProvider installed nothing is built at all.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from ..config import ModelSpec
from ..routing.plan import Plan
from .attributes import (
    attempt_attributes,
    capture_content,
    model_attributes,
    response_attributes,
    route_attributes,
    route_span_name,
    route_values_plain,
)
from .environ import metering, tracer_provider
from .log import log_decision
from .names import (
    COST_USD,
    DEPLOYMENT,
    ENDPOINT,
    ERROR_FLAGGED,
    ERROR_KIND,
    ERROR_TYPE,
    EVENT_BREAKER,
    EVENT_REJECTED,
    FALLBACK_COUNT,
    GEN_AI_INPUT_MESSAGES,
    MODEL_USED,
    REASON,
    RECOVERY_WAIT_S,
    RETRY_AFTER_S,
    STATE_DEGRADED,
    TIER,
    USER_ID,
)
from .sdkspans import start, write

_meter = metrics.get_meter("llm_router_middleware")
_duration = _meter.create_histogram(
    "gen_ai.client.operation.duration", unit="s", description="GenAI operation duration"
)
_tokens = _meter.create_histogram(
    "gen_ai.client.token.usage", unit="{token}", description="Tokens used per call"
)
_cost = _meter.create_counter("llm_router.cost", unit="USD", description="Spend charged")


class _Tracer:
    """The installed provider's tracer, looked up again only when the provider changes."""

    provider: object = None
    tracer: trace.Tracer | None = None


def _active_tracer() -> trace.Tracer | None:
    """None while no TracerProvider has been installed: then spans are skipped outright (the
    API's no-op path still costs microseconds per span through its proxies)."""
    installed = getattr(trace, "_TRACER_PROVIDER", None)  # what get_tracer_provider() returns
    if installed is not None and installed is _Tracer.provider:  # once it is set
        return _Tracer.tracer
    provider = tracer_provider()
    if provider is not _Tracer.provider:
        tracer = None if provider is None else provider.get_tracer("llm_router_middleware")
        _Tracer.provider, _Tracer.tracer = provider, tracer
    return _Tracer.tracer


def start_route_span(strategy: str) -> Span:
    tracer = _active_tracer()
    if tracer is None:
        return trace.INVALID_SPAN
    return tracer.start_span(route_span_name(strategy), kind=SpanKind.INTERNAL)


def record_refusal(
    strategy: str,
    tier: str,
    user_id: str | None,
    endpoint: str | None,
    code: str,
    message: str,
) -> None:
    """Planning refused the call: still one routing span and one log line for it."""
    span = start_route_span(strategy)
    if span.is_recording():
        span.set_attributes({TIER: tier, ERROR_TYPE: code, REASON: message})
        if endpoint:
            span.set_attribute(ENDPOINT, endpoint)
        if user_id:
            span.set_attribute(USER_ID, user_id)
        span.set_status(Status(StatusCode.ERROR, message[:300]))
    span.end()
    log_decision(
        {
            "outcome": code,
            "tier": tier,
            "user_id": user_id,
            "endpoint": endpoint,
            "reason": message,
        },
        logging.WARNING,
    )


def start_route(
    plan: Plan,
    *,
    user_id: str | None,
    endpoint: str | None,
    request_id: str,
    waited_s: float = 0.0,
    degraded: bool = False,
) -> Span:
    """The route span of an executed plan, its attributes set once as it starts (the same as
    ``start_route_span`` then ``record_plan``, for a fraction of the cost)."""
    tracer = _active_tracer()
    if tracer is None:
        return trace.INVALID_SPAN
    attrs = route_attributes(plan, user_id=user_id, endpoint=endpoint, request_id=request_id)
    if waited_s:
        attrs[RECOVERY_WAIT_S] = waited_s
    if degraded:  # the shared state store is lost: serving from local state
        attrs[STATE_DEGRADED] = True
    checked = route_values_plain(plan, user_id, endpoint)
    name = route_span_name(plan.strategy)
    span = start(tracer, name, SpanKind.INTERNAL, attrs, None, checked, owned=True)
    if plan.rejected and span.is_recording():
        _rejections(span, plan)
    return span


def start_attempt_span(
    spec: ModelSpec,
    parent: Span,
    index: int,
    params: Mapping[str, Any],
    *,
    timeout_s: float | None = None,
    retry: int = 0,
    messages: Sequence[Mapping[str, Any]] | None = None,
) -> Span:
    """The CLIENT span of one attempt under ``parent``, every attribute known before the call
    set as it starts (``timeout_s``, ``retry`` and, when content capture is on, ``messages``)."""
    if parent is trace.INVALID_SPAN:  # no TracerProvider when the call started
        return parent
    tracer = _active_tracer()
    if tracer is None:
        return trace.INVALID_SPAN
    static = model_attributes(spec)
    attrs = attempt_attributes(static, index, params, timeout_s, retry)
    if messages is not None and capture_content():
        attrs[GEN_AI_INPUT_MESSAGES] = json.dumps(list(messages), default=str)
    return start(tracer, static.span_name, SpanKind.CLIENT, attrs, parent, static.plain, owned=True)


def record_plan(
    span: Span, plan: Plan, *, user_id: str | None, endpoint: str | None, request_id: str
) -> None:
    if not span.is_recording():
        return
    span.set_attributes(
        route_attributes(plan, user_id=user_id, endpoint=endpoint, request_id=request_id)
    )
    if plan.rejected:
        _rejections(span, plan)


def _rejections(span: Span, plan: Plan) -> None:
    for rejection in plan.rejected:
        span.add_event(
            EVENT_REJECTED,
            {
                "llm_router.model": rejection.model,
                "llm_router.filter": rejection.code,
                "llm_router.reason": rejection.reason,
            },
        )


def record_outcome(
    span: Span, model: str, fallback_count: int, cost_usd: float, deployment: str | None = None
) -> None:
    """The route span's outcome of a plan that got an answer."""
    attrs: dict[str, Any] = {MODEL_USED: model, FALLBACK_COUNT: fallback_count, COST_USD: cost_usd}
    if deployment is not None:
        attrs[DEPLOYMENT] = deployment
    write(span, attrs, checked=True)


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
    if metering():
        static = model_attributes(spec)
        _duration.record(duration_s, static.metric)
        _tokens.record(input_tokens, static.metric_input)
        _tokens.record(output_tokens, static.metric_output)
        _cost.add(cost_usd, static.metric)
    if span.is_recording():
        attrs = response_attributes(response, cost_usd, input_tokens, output_tokens)
        write(span, attrs, checked=True)


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

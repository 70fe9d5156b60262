"""Attribute sets of the spans and metrics, built as plain dicts and handed to OpenTelemetry in
one piece (each call into a span costs a lock and a cleaning pass over what it is given).

What never changes for a model or a deployment (its chat span's name, provider, server address,
its metrics' attribute sets) is computed once per ``ModelSpec`` and reused by every call.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ..config import ModelSpec
from ..routing.plan import Plan
from .environ import env_reader
from .names import (
    ARM,
    ATTEMPT,
    BUDGET_REMAINING,
    BUDGET_SCOPE,
    CANDIDATES,
    CAPTURE_CONTENT_ENV,
    COST_USD,
    DEPLOYMENT,
    DOWNGRADED,
    ENDPOINT,
    ESTIMATED_COST_USD,
    EXPERIMENT,
    GEN_AI_OPERATION_NAME,
    GEN_AI_OUTPUT_MESSAGES,
    GEN_AI_PROVIDER_NAME,
    GEN_AI_REQUEST_MAX_TOKENS,
    GEN_AI_REQUEST_MODEL,
    GEN_AI_REQUEST_TEMPERATURE,
    GEN_AI_RESPONSE_FINISH_REASONS,
    GEN_AI_RESPONSE_ID,
    GEN_AI_RESPONSE_MODEL,
    GEN_AI_USAGE_INPUT_TOKENS,
    GEN_AI_USAGE_OUTPUT_TOKENS,
    MODEL,
    ORDER,
    PROMPT_TOKENS_ESTIMATE,
    REASON,
    REQUEST_ID,
    RETRY,
    SELECTED,
    SERVER_ADDRESS,
    SERVER_PORT,
    STRATEGY,
    TIER,
    TIMEOUT_S,
    USER_ID,
)
from .sdkspans import plain

_capture_env = env_reader(CAPTURE_CONTENT_ENV)
_CAPTURE: dict[str | None, bool] = {}  # the variable's value -> on or off


def capture_content() -> bool:
    """Whether prompt and reply text are recorded: read on every call, as a dict lookup."""
    value = _capture_env()
    on = _CAPTURE.get(value)
    if on is None:
        if len(_CAPTURE) > 64:
            _CAPTURE.clear()
        on = _CAPTURE[value] = (value or "").strip().lower() in ("true", "1", "yes")
    return on


# --- attribute sets -------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ModelAttributes:
    """What never changes for one model (or one deployment), computed once: its chat span's
    name and static attributes, and the attribute sets of its metrics."""

    spec: ModelSpec  # held, so the id it is cached under is not reused while cached
    span_name: str
    span: Mapping[str, Any]
    metric: Mapping[str, Any]
    metric_input: Mapping[str, Any]
    metric_output: Mapping[str, Any]
    plain: bool = True  # every span value a str or an int, as the SDK stores them


_MODEL_ATTRS: dict[int, ModelAttributes] = {}
_MODEL_ATTRS_MAX = 4096  # configs are loaded a few times per process; this only bounds a leak
_ROUTE_NAMES: dict[str, str] = {}
_OURS: dict[str, str] = {}  # plan.attributes key -> llm_router.<key>


def model_attributes(spec: ModelSpec) -> ModelAttributes:
    cached = _MODEL_ATTRS.get(id(spec))
    if cached is not None and cached.spec is spec:
        return cached
    if len(_MODEL_ATTRS) >= _MODEL_ATTRS_MAX:
        _MODEL_ATTRS.clear()
    built = _MODEL_ATTRS[id(spec)] = _model_attributes(spec)
    return built


def _model_attributes(spec: ModelSpec) -> ModelAttributes:
    request_model = spec.model.split("/", 1)[1] if "/" in spec.model else spec.model
    span: dict[str, Any] = {
        GEN_AI_OPERATION_NAME: "chat",
        GEN_AI_PROVIDER_NAME: spec.provider,
        GEN_AI_REQUEST_MODEL: request_model,
        MODEL: spec.name,
    }
    if spec.api_base:
        parts = urlsplit(spec.api_base)
        if parts.hostname:
            span[SERVER_ADDRESS] = parts.hostname
        if parts.port:
            span[SERVER_PORT] = parts.port
    if spec.deployment is not None:
        span[DEPLOYMENT] = spec.deployment
    metric = {GEN_AI_OPERATION_NAME: "chat", GEN_AI_PROVIDER_NAME: spec.provider, MODEL: spec.name}
    return ModelAttributes(
        plain=plain(span.values()),
        spec=spec,
        span_name=f"chat {request_model}",
        span=span,
        metric=metric,
        metric_input={**metric, "gen_ai.token.type": "input"},
        metric_output={**metric, "gen_ai.token.type": "output"},
    )


def route_span_name(strategy: str) -> str:
    name = _ROUTE_NAMES.get(strategy)
    if name is None:
        name = _ROUTE_NAMES[strategy] = f"route {strategy}"
    return name


def attempt_attributes(
    static: ModelAttributes,
    index: int,
    params: Mapping[str, Any],
    timeout_s: float | None,
    retry: int,
) -> dict[str, Any]:
    attrs = dict(static.span)
    attrs[ATTEMPT] = index
    max_tokens = params.get("max_tokens")
    if isinstance(max_tokens, int):
        attrs[GEN_AI_REQUEST_MAX_TOKENS] = max_tokens
    temperature = params.get("temperature")
    if isinstance(temperature, int | float):
        attrs[GEN_AI_REQUEST_TEMPERATURE] = float(temperature)
    if timeout_s is not None:
        attrs[TIMEOUT_S] = timeout_s
    if retry:
        attrs[RETRY] = retry
    return attrs


def route_values_plain(plan: Plan, user_id: str | None, endpoint: str | None) -> bool:
    """Whether the route attributes are all of types the SDK stores as they are, looking only
    at the values that come from outside the router's own code (the request's context, the
    plan's strategy-made attributes); the rest are built as such."""
    outside = (user_id, endpoint, plan.tier, plan.budget_scope, plan.experiment, plan.arm)
    return plain(outside) and plain(plan.attributes.values())


def route_attributes(
    plan: Plan, *, user_id: str | None, endpoint: str | None, request_id: str
) -> dict[str, Any]:
    """The route span's attributes from the plan (its sequences as the tuples the SDK would
    make of them, so they can be stored as they are)."""
    attrs: dict[str, Any] = {
        STRATEGY: plan.strategy,
        CANDIDATES: plan.candidates,
        ORDER: plan.order,
        SELECTED: plan.order[0],
        REASON: plan.reason,
        TIER: plan.tier,
        REQUEST_ID: request_id,
        PROMPT_TOKENS_ESTIMATE: plan.prompt_tokens,
        DOWNGRADED: plan.downgraded,
        ESTIMATED_COST_USD: plan.estimates_usd.get(plan.order[0], 0.0),
    }
    if user_id is not None:
        attrs[USER_ID] = user_id
    if endpoint is not None:
        attrs[ENDPOINT] = endpoint
    if plan.budget_remaining_usd is not None:
        attrs[BUDGET_REMAINING] = plan.budget_remaining_usd
    if plan.budget_scope is not None:
        attrs[BUDGET_SCOPE] = plan.budget_scope
    if plan.experiment is not None:
        attrs[EXPERIMENT] = plan.experiment
    if plan.arm is not None:
        attrs[ARM] = plan.arm
    for key, value in plan.attributes.items():
        name = _OURS.get(key)
        if name is None:
            name = _OURS[key] = f"llm_router.{key}"
        attrs[name] = value
    return attrs


def response_attributes(
    response: Any, cost_usd: float, input_tokens: int, output_tokens: int
) -> dict[str, Any]:
    choices = getattr(response, "choices", None) or []
    attrs: dict[str, Any] = {
        GEN_AI_USAGE_INPUT_TOKENS: input_tokens,
        GEN_AI_USAGE_OUTPUT_TOKENS: output_tokens,
        COST_USD: cost_usd,
    }
    model = getattr(response, "model", None)  # each read once: a reply's fields are lazy
    if model:
        attrs[GEN_AI_RESPONSE_MODEL] = model if type(model) is str else str(model)
    response_id = getattr(response, "id", None)
    if response_id:
        attrs[GEN_AI_RESPONSE_ID] = response_id if type(response_id) is str else str(response_id)
    finish = []
    for choice in choices:
        reason = getattr(choice, "finish_reason", None)
        if reason:
            finish.append(reason if type(reason) is str else str(reason))
    if finish:
        attrs[GEN_AI_RESPONSE_FINISH_REASONS] = tuple(finish)
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
    return attrs

"""Span attributes handed over in one piece as a span starts: the same attributes and events as
setting them one by one, the chat span's full attribute set, per-model sets built once, and
nothing built at all without a TracerProvider."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from types import MappingProxyType
from typing import Any

import pytest
from core_support import Spans, base_config

from llm_router_middleware import RequestContext, RequestLLM, Router, telemetry
from llm_router_middleware.routing.plan import Plan, Rejection
from llm_router_middleware.testing import FakeProvider

HI = [{"role": "user", "content": "hi"}]

PLAN = Plan(
    strategy="cost",
    order=("cheap", "premium"),
    reason="cheapest that fits",
    tier="pro",
    candidates=("premium", "balanced", "cheap"),
    rejected=(
        Rejection("balanced", "context_window", "window 8000 < 9000 needed"),
        Rejection.deferred("premium", "budget", "{} left".format, ("$0.01",)),
    ),
    prompt_tokens=42,
    estimates_usd=MappingProxyType({"cheap": 0.001, "premium": 0.02}),
    budget_remaining_usd=3.5,
    budget_scope="user:u1",
    downgraded=True,
    experiment="exp-1",
    arm="b",
    attributes=MappingProxyType({"complexity.level": "simple", "cost.estimate_usd": 0.001}),
)


def _snapshot(spans: Spans, prefix: str) -> tuple[str, dict[str, Any], list[Any]]:
    (span,) = spans.named(prefix)
    events = [(e.name, dict(e.attributes or {})) for e in span.events]
    return span.name, dict(span.attributes or {}), events


def test_start_route_sets_what_record_plan_sets_one_by_one(spans: Spans) -> None:
    kwargs: dict[str, Any] = {"user_id": "u1", "endpoint": "/chat", "request_id": "rid-1"}
    telemetry.start_route(PLAN, waited_s=0.25, degraded=True, **kwargs).end()
    at_start = _snapshot(spans, "route ")
    spans.clear()
    span = telemetry.start_route_span(PLAN.strategy)
    telemetry.record_plan(span, PLAN, **kwargs)
    span.set_attribute(telemetry.RECOVERY_WAIT_S, 0.25)
    span.set_attribute(telemetry.STATE_DEGRADED, True)
    span.end()
    assert _snapshot(spans, "route ") == at_start
    name, attrs, events = at_start
    assert name == "route cost"
    assert attrs[telemetry.CANDIDATES] == ("premium", "balanced", "cheap")  # an array of strings
    assert attrs[telemetry.ORDER] == ("cheap", "premium")
    assert attrs[telemetry.SELECTED] == "cheap"
    assert attrs[telemetry.ESTIMATED_COST_USD] == 0.001
    assert attrs["llm_router.complexity.level"] == "simple"
    assert attrs[telemetry.RECOVERY_WAIT_S] == 0.25
    reasons = [e[1]["llm_router.reason"] for e in events]
    assert reasons == ["window 8000 < 9000 needed", "$0.01 left"]


def test_the_chat_span_carries_every_attribute(
    fake_provider: FakeProvider, spans: Spans, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(telemetry.CAPTURE_CONTENT_ENV, "true")
    router = Router.from_config(base_config(fake_provider, "native"))
    reply = RequestLLM(router, context=RequestContext(user_id="u1")).complete(
        HI, max_tokens=20, temperature=0.5
    )
    name, attrs, _ = _snapshot(spans, "chat ")
    assert name == "chat fake-premium"
    output = json.loads(attrs.pop(telemetry.GEN_AI_OUTPUT_MESSAGES))
    assert output[0]["role"] == "assistant"
    assert output[0]["content"] == reply.choices[0].message.content
    assert attrs == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "fake-premium",
        "gen_ai.request.max_tokens": 20,
        "gen_ai.request.temperature": 0.5,
        "gen_ai.response.model": reply.model,
        "gen_ai.response.id": reply.id,
        "gen_ai.response.finish_reasons": ("stop",),
        "gen_ai.usage.input_tokens": reply.usage.prompt_tokens,
        "gen_ai.usage.output_tokens": reply.usage.completion_tokens,
        "gen_ai.input.messages": json.dumps(HI),
        "server.address": "127.0.0.1",
        "server.port": int(fake_provider.base_url.rsplit(":", 1)[1].split("/")[0]),
        "llm_router.model": "premium",
        "llm_router.attempt": 0,
        "llm_router.timeout_s": 5.0,
        "llm_router.cost_usd": reply.routing.cost_usd,
    }
    route = spans.route()
    assert route.attributes is not None
    assert route.attributes[telemetry.MODEL_USED] == "premium"
    assert route.attributes[telemetry.FALLBACK_COUNT] == 0


def test_model_attributes_are_built_once_per_model_and_deployment(
    fake_provider: FakeProvider,
) -> None:
    config = base_config(fake_provider, "native")
    config["models"][0]["deployments"] = [
        {"name": "east", "model": "openai/fake-east"},
        {"name": "west", "model": "openai/fake-west"},
    ]
    premium = Router.from_config(config).config.models["premium"]
    east, west = premium.deployments
    assert telemetry.model_attributes(east) is telemetry.model_attributes(east)
    assert telemetry.model_attributes(premium).span.get(telemetry.DEPLOYMENT) is None
    assert telemetry.model_attributes(east).span[telemetry.DEPLOYMENT] == "east"
    assert telemetry.model_attributes(west).span_name == "chat fake-west"
    assert telemetry.model_attributes(west).metric_output == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "llm_router.model": "premium",
        "gen_ai.token.type": "output",
    }


NO_PROVIDER = """
from opentelemetry import trace
from llm_router_middleware import telemetry
from llm_router_middleware.config.schema import ModelSpec
from llm_router_middleware.routing.plan import Plan

PLAN = Plan("fixed", ("m",), "fixed", "default", ("m",), (), 3, {"m": 0.0})


class Unreadable(dict):
    def get(self, *args):
        raise AssertionError("attributes were built with no TracerProvider")


span = telemetry.start_route(PLAN, user_id="u", endpoint=None, request_id="r")
assert span is trace.INVALID_SPAN
spec = ModelSpec("m", "openai/x", "openai", None, None, None, 0.0, 0.0, 0.5, 1000, 100, 5.0, None)
assert telemetry.start_attempt_span(spec, span, 0, Unreadable(), timeout_s=1.0) is span
print("ok")
"""


def test_without_a_tracer_provider_nothing_is_built() -> None:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(NO_PROVIDER)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.stdout.strip() == "ok", done.stderr

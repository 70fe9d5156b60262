"""Attributes written straight into the SDK's spans make the very spans the public API makes:
same attributes in the same order with the same types, same drops and truncation under the
SDK's limits, through a real OTLP receiver; and where a sampler or a span processor could read
the attributes at start, or a value needs the SDK's cleaning, the public API is used."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from types import MappingProxyType
from typing import Any

import pytest
from core_support import Spans
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace import Tracer as SdkTracer
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_ON,
    ParentBasedTraceIdRatio,
    Sampler,
    SamplingResult,
)
from opentelemetry.trace import Link, SpanKind
from opentelemetry.trace.span import TraceState
from opentelemetry.util.types import Attributes
from test_telemetry_attributes import PLAN

from llm_router_middleware import telemetry
from llm_router_middleware.telemetry import sdkspans

START: dict[str, Any] = {
    "llm_router.strategy": "cost",
    "llm_router.candidates": ("premium", "balanced", "cheap"),
    "llm_router.selected": "cheap",
    "llm_router.prompt_tokens_estimate": 42,
    "llm_router.downgraded": False,
    "llm_router.estimated_cost_usd": 0.001,
}
LATER: dict[str, Any] = {"llm_router.model_used": "cheap", "llm_router.cost_usd": 2.5e-05}


class Recorder:
    def __init__(self, provider: TracerProvider) -> None:
        self.exporter = InMemorySpanExporter()
        provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.tracer = provider.get_tracer("test")

    def finished(self) -> ReadableSpan:
        (span,) = self.exporter.get_finished_spans()
        self.exporter.clear()
        return span


def _view(span: ReadableSpan) -> tuple[Any, ...]:
    attrs = span.attributes or {}
    items = [
        (k, v, type(v), [type(i) for i in v] if type(v) is tuple else None)
        for k, v in attrs.items()
    ]
    return span.name, span.kind, items, span.dropped_attributes, span.status.status_code


def _both(
    recorder: Recorder, start: Mapping[str, Any], later: Sequence[Mapping[str, Any]]
) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """The span made through this module and the one made through the public API."""
    span = sdkspans.start(recorder.tracer, "route cost", SpanKind.INTERNAL, start)
    for attrs in later:
        sdkspans.write(span, attrs)
    span.end()
    direct = _view(recorder.finished())
    span = recorder.tracer.start_span("route cost", kind=SpanKind.INTERNAL, attributes=start)
    for attrs in later:
        span.set_attributes(attrs)
    span.end()
    return direct, _view(recorder.finished())


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    provider = TracerProvider()
    yield Recorder(provider)
    provider.shutdown()


def test_plain_values_are_written_straight_in_and_read_the_same(recorder: Recorder) -> None:
    assert sdkspans._quiet(recorder.tracer)  # the direct path is the one under test
    direct, public = _both(recorder, START, [LATER, {"llm_router.fallback_count": 0}])
    assert direct == public
    assert dict((k, v) for k, v, *_ in direct[2])["llm_router.candidates"] == (
        "premium",
        "balanced",
        "cheap",
    )


@pytest.mark.parametrize(
    "later",
    [
        {"a.list": ["x", "y"]},  # cleaned into a tuple
        {"a.none": None},
        {"a.mixed": ("x", 1)},
        {"a.object": object()},  # str() of it, with a warning
        {"llm_router.strategy": "again"},  # a key set twice moves to the end
    ],
    ids=["list", "none", "mixed-tuple", "object", "key-twice"],
)
def test_values_the_sdk_would_change_go_through_the_public_api(
    recorder: Recorder, later: dict[str, Any]
) -> None:
    direct, public = _both(recorder, START, [later])
    if "a.object" in later:  # its str() carries the object's address: compare the rest
        direct, public = direct[:2] + direct[3:], public[:2] + public[3:]
    assert direct == public


@pytest.mark.parametrize(
    "limits",
    [
        {"OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT": "4"},
        {"OTEL_ATTRIBUTE_COUNT_LIMIT": "7"},
        {"OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT": "5"},
        {"OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT": "3"},
        {"OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT": "0"},
    ],
    ids=["span-count", "count", "span-length", "length", "none-at-all"],
)
def test_the_sdks_limits_from_the_environment_still_apply(
    monkeypatch: pytest.MonkeyPatch, limits: dict[str, str]
) -> None:
    for name, value in limits.items():
        monkeypatch.setenv(name, value)
    provider = TracerProvider()  # reads the limits as it is built
    recorder = Recorder(provider)
    direct, public = _both(recorder, START, [LATER])
    assert direct == public
    attrs = dict((k, v) for k, v, *_ in direct[2])
    if "4" in limits.values() or "7" in limits.values():
        assert direct[3] > 0  # some were dropped, the oldest first
        assert "llm_router.cost_usd" in attrs
    if "5" in limits.values():
        assert attrs["llm_router.strategy"] == "cost"
        assert attrs["llm_router.candidates"] == ("premi", "balan", "cheap")
    provider.shutdown()


def test_an_ended_span_is_left_alone(recorder: Recorder) -> None:
    span = sdkspans.start(recorder.tracer, "route cost", SpanKind.INTERNAL, START)
    span.end()
    sdkspans.write(span, LATER)
    attrs = recorder.finished().attributes or {}
    assert "llm_router.model_used" not in attrs
    assert len(attrs) == len(START)


class SeeingSampler(Sampler):
    """A sampler that decides on attributes: it must be handed them as the span starts."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        self.seen.append(dict(attributes or {}))
        return ALWAYS_ON.should_sample(parent_context, trace_id, name, kind, attributes)

    def get_description(self) -> str:
        return "SeeingSampler"


class SeeingProcessor(SpanProcessor):
    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        self.seen.append(dict(span.attributes or {}))


def test_a_sampler_or_processor_that_may_read_attributes_gets_them_at_start() -> None:
    sampler = SeeingSampler()
    provider = TracerProvider(sampler=sampler)
    recorder = Recorder(provider)
    assert not sdkspans._quiet(recorder.tracer)
    sdkspans.start(recorder.tracer, "route cost", SpanKind.INTERNAL, START).end()
    assert sampler.seen == [START]
    provider.shutdown()

    provider = TracerProvider(sampler=ParentBasedTraceIdRatio(1.0))
    recorder = Recorder(provider)
    assert sdkspans._quiet(recorder.tracer)  # the SDK's own samplers read no attributes
    processor = SeeingProcessor()
    provider.add_span_processor(processor)  # added after the tracer was judged
    assert not sdkspans._quiet(recorder.tracer)
    sdkspans.start(recorder.tracer, "route cost", SpanKind.INTERNAL, START).end()
    assert processor.seen == [START]
    provider.shutdown()


def test_a_span_not_sampled_records_nothing() -> None:
    provider = TracerProvider(sampler=ParentBasedTraceIdRatio(0.0))
    recorder = Recorder(provider)
    span = sdkspans.start(recorder.tracer, "route cost", SpanKind.INTERNAL, START)
    sdkspans.write(span, LATER)
    span.end()
    assert not span.is_recording()
    assert recorder.exporter.get_finished_spans() == ()
    provider.shutdown()


def test_the_api_without_the_sdk_takes_the_public_path() -> None:
    tracer = trace.NoOpTracer()
    span = sdkspans.start(tracer, "route cost", SpanKind.INTERNAL, START)
    sdkspans.write(span, LATER)
    assert not span.is_recording()


OTLP_BOTH_WAYS = """
import json, sys
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from llm_router_middleware import RequestContext, Router
from llm_router_middleware.telemetry import sdkbuild, sdkspans
from llm_router_middleware.testing import Behavior, FakeProvider, OTLPReceiver

def model(fake, name, quality, cost):
    return {"name": name, "model": f"openai/fake-{name}", "api_base": fake.base_url,
            "api_key": "sk-x", "input_cost_per_1m": cost, "output_cost_per_1m": 2 * cost,
            "quality": quality, "context_window": 8000, "timeout_s": 5.0}

with OTLPReceiver() as receiver, FakeProvider() as fake:
    provider = TracerProvider()
    processor = BatchSpanProcessor(OTLPSpanExporter(endpoint=receiver.traces_endpoint))
    provider.add_span_processor(processor)
    trace.set_tracer_provider(provider)
    fake.set("fake-premium", Behavior(status=503))
    router = Router.from_config({
        "models": [model(fake, "premium", 0.9, 10.0), model(fake, "balanced", 0.7, 3.0),
                   model(fake, "cheap", 0.3, 0.5)],
        "routing": {"strategy": "fixed", "fallbacks": ["premium", "balanced", "cheap"]},
    })
    context = RequestContext(user_id="u1", endpoint="/chat")
    messages = [{"role": "user", "content": "hi there, a longer prompt"}]
    router.handle(context).complete(messages, max_tokens=20, temperature=0.5)
    direct = sdkspans._quiet(trace.get_tracer_provider().get_tracer("llm_router_middleware"))
    built = sdkspans._Sdk.judged[4] is not None
    sdkspans._Sdk.span = sdkbuild._Sdk.span = None  # from here on, the public API only
    sdkspans._Sdk.judged = (None, None, None, False, None)
    router.handle(context).complete(messages, max_tokens=20, temperature=0.5)
    processor.force_flush()
    spans = receiver.wait_for(6, timeout=20)
    out = []
    for span in spans:
        ids = {s.span_id: s.name for s in spans}
        out.append({
            "name": span.name, "kind": span.kind.name, "trace": span.trace_id,
            "parent": ids.get(span.parent_span_id, span.parent_span_id and "outside"),
            "attributes": [[k, v, type(v).__name__] for k, v in span.attributes.items()
                           if k not in ("llm_router.request_id", "gen_ai.response.id")],
            "events": [[n, a] for n, a in span.events],
            "status": [span.status_code.name, span.status_description],
        })
    print(json.dumps({"direct": direct, "built": built, "spans": out}))
"""


@pytest.mark.parametrize(
    "limits",
    [{}, {"OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT": "9", "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT": "6"}],
    ids=["default-limits", "tight-limits"],
)
def test_a_real_otlp_receiver_reads_the_same_spans_either_way(limits: dict[str, str]) -> None:
    import json

    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", **limits}
    env.pop("OTEL_PYTHON_TRACER_PROVIDER", None)
    env["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] = "true"
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(OTLP_BOTH_WAYS)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["direct"] is True
    assert found["built"] is True
    by_trace: dict[str, list[dict[str, Any]]] = {}
    for span in found["spans"]:
        by_trace.setdefault(span.pop("trace"), []).append(span)
    assert len(by_trace) == 2
    direct, public = (sorted(spans, key=lambda s: s["name"]) for spans in by_trace.values())
    assert [s["name"] for s in direct] == ["chat fake-balanced", "chat fake-premium", "route fixed"]
    assert direct == public
    route = direct[2]
    if limits:
        assert all(len(s["attributes"]) <= 9 for s in direct)
        assert all(len(v) <= 6 for s in direct for _, v, kind in s["attributes"] if kind == "str")
    else:
        candidates = ["llm_router.candidates", ["premium", "balanced", "cheap"], "tuple"]
        assert candidates in route["attributes"]


class Score:
    """A value of a type the SDK turns into its str(): a strategy's number that is not a float."""

    def __str__(self) -> str:
        return "0.75"


@pytest.mark.parametrize(
    ("user_id", "extra"),
    [
        ("u1", {}),
        (uuid.UUID(int=7), {}),  # an id object from the app, not a str
        ("u1", {"learned.difficulty": Score()}),
    ],
    ids=["plain", "uuid-user", "odd-strategy-value"],
)
def test_route_spans_from_any_request_read_as_through_the_public_api(
    spans: Spans, user_id: Any, extra: dict[str, Any]
) -> None:
    plan = replace(PLAN, attributes=MappingProxyType({**PLAN.attributes, **extra}))
    kwargs: dict[str, Any] = {"user_id": user_id, "endpoint": "/chat", "request_id": "rid-1"}
    span = telemetry.start_route(plan, **kwargs)
    telemetry.record_outcome(span, "cheap", 1, 0.002, "east")
    span.end()
    (direct,) = spans.named("route ")
    spans.clear()
    span = telemetry.start_route_span(plan.strategy)
    telemetry.record_plan(span, plan, **kwargs)
    span.set_attributes({"llm_router.model_used": "cheap", "llm_router.fallback_count": 1})
    span.set_attributes({"llm_router.cost_usd": 0.002, "llm_router.deployment": "east"})
    span.end()
    (public,) = spans.named("route ")
    assert _view(direct) == _view(public)
    assert [(e.name, dict(e.attributes or {})) for e in direct.events] == [
        (e.name, dict(e.attributes or {})) for e in public.events
    ]
    assert (direct.attributes or {})["llm_router.user_id"] == str(user_id)


def test_a_tracer_of_its_own_class_gets_the_attributes_at_start(recorder: Recorder) -> None:
    class SeeingTracer(SdkTracer):
        seen: list[dict[str, Any]] = []

        def start_span(self, *args: Any, **kwargs: Any) -> trace.Span:
            self.seen.append(dict(kwargs.get("attributes") or {}))
            return super().start_span(*args, **kwargs)

    tracer = copy.copy(recorder.tracer)
    tracer.__class__ = SeeingTracer
    sdkspans.start(tracer, "route cost", SpanKind.INTERNAL, START).end()
    assert SeeingTracer.seen == [START]

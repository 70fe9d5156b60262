"""Spans built by ``sdkbuild`` are the spans ``Tracer.start_span`` makes: every field the
exporter reads (ids' validity and kinship, flags, trace state, parent, attributes, events, links,
status, resource, scope, drops), under each kind of parent, with the SDK's default samplers, a
custom id generator and the limits; and where a piece is not the SDK's own (a sampler, the
internal metrics, a disabled tracer) or the probe finds a difference, ``start_span`` is used."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider, _TracerConfig
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ALWAYS_ON,
    ParentBased,
    ParentBasedTraceIdRatio,
    Sampler,
)
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.trace.span import TraceFlags, TraceState

from llm_router_middleware.telemetry import sdkbuild, sdkspans

START: dict[str, Any] = {"llm_router.strategy": "cost", "llm_router.candidates": ("a", "b")}
LATER: dict[str, Any] = {"llm_router.model_used": "a", "llm_router.cost_usd": 2.5e-05}


class Recorder:
    def __init__(self, provider: TracerProvider) -> None:
        self.provider = provider
        self.exporter = InMemorySpanExporter()
        provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.tracer = provider.get_tracer("test", "1.0")

    def take(self) -> list[ReadableSpan]:
        spans = list(self.exporter.get_finished_spans())
        self.exporter.clear()
        return spans


def _built(tracer: Any) -> bool:
    sdkspans._quiet(tracer)
    return sdkspans._Sdk.judged[0] is tracer and sdkspans._Sdk.judged[4] is not None


def _view(span: ReadableSpan, parent: SpanContext | None) -> tuple[Any, ...]:
    """Everything an exporter reads of ``span``, its ids as their relations to ``parent``."""
    context = span.context
    assert context is not None
    assert context.is_valid
    assert not context.is_remote
    assert span.start_time is not None
    assert span.end_time is not None
    assert span.start_time <= span.end_time
    if parent is not None and parent.is_valid:
        assert context.trace_id == parent.trace_id
        assert span.parent == parent
    else:
        assert span.parent is None
    return (
        type(span),
        list(vars(span)),
        span.name,
        span.kind,
        context.trace_flags,
        type(context.trace_flags),
        context.trace_state,
        [(k, v, type(v)) for k, v in (span.attributes or {}).items()],
        [(e.name, dict(e.attributes or {})) for e in span.events],
        list(span.links),
        span.status.status_code,
        span.status.description,
        span.resource.attributes,
        span.instrumentation_scope,
        span.dropped_attributes,
        span.dropped_events,
        span.dropped_links,
    )


def _one(recorder: Recorder, parent: trace.Span | None, public: bool) -> ReadableSpan:
    if public:
        context = None if parent is None else trace.set_span_in_context(parent)
        span = recorder.tracer.start_span("chat x", context, SpanKind.CLIENT, attributes=START)
    else:
        span = sdkspans.start(recorder.tracer, "chat x", SpanKind.CLIENT, START, parent)
    assert span.is_recording()
    sdkspans.write(span, LATER)
    span.add_event("llm_router.skipped", {"llm_router.model": "b"})
    span.set_status(Status(StatusCode.ERROR, "no"))
    span.end()
    (finished,) = recorder.take()
    return finished


def _remote(sampled: bool) -> NonRecordingSpan:
    flags = "01" if sampled else "00"
    carrier = {
        "traceparent": f"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-{flags}",
        "tracestate": "vendor=x,other=y",
    }
    span = trace.get_current_span(TraceContextTextMapPropagator().extract(carrier))
    assert isinstance(span, NonRecordingSpan)
    assert span.get_span_context().is_remote
    return span


def _local(flags: int) -> NonRecordingSpan:
    state = TraceState([("k", "v")])
    return NonRecordingSpan(SpanContext(0x1234, 0x5678, False, TraceFlags(flags), state))


PARENTS = {
    "root": lambda: None,
    "remote-sampled": lambda: _remote(True),
    "local-sampled": lambda: _local(TraceFlags.SAMPLED),
    "local-sampled-random": lambda: _local(TraceFlags.SAMPLED | TraceFlags.RANDOM_TRACE_ID),
}


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    recorder = Recorder(TracerProvider())
    yield recorder
    recorder.provider.shutdown()


@pytest.mark.parametrize("parent", list(PARENTS))
def test_a_built_span_is_the_span_start_span_makes(recorder: Recorder, parent: str) -> None:
    assert _built(recorder.tracer)
    above = PARENTS[parent]()
    above_context = None if above is None else above.get_span_context()
    built = _one(recorder, above, public=False)
    public = _one(recorder, above, public=True)
    assert _view(built, above_context) == _view(public, above_context)
    assert built.context is not None
    assert public.context is not None
    assert built.context.span_id != public.context.span_id


def test_a_child_of_a_built_span_and_of_the_current_span(recorder: Recorder) -> None:
    route = sdkspans.start(recorder.tracer, "route cost", SpanKind.INTERNAL, START)
    chat = sdkspans.start(recorder.tracer, "chat x", SpanKind.CLIENT, START, route)
    with trace.use_span(route, end_on_exit=False):
        current = sdkspans.start(recorder.tracer, "chat y", SpanKind.CLIENT, START)
    for span in (chat, current, route):
        span.end()
    chat_done, current_done, route_done = recorder.take()
    route_context = route_done.context
    assert route_done.parent is None
    assert route_context is not None
    assert chat_done.parent == route_context == current_done.parent
    assert chat_done.context is not None
    assert chat_done.context.trace_id == route_context.trace_id
    assert route_context.trace_flags == TraceFlags.SAMPLED | TraceFlags.RANDOM_TRACE_ID


@pytest.mark.parametrize(
    ("sampler", "parent", "recording"),
    [
        (ALWAYS_OFF, "root", False),
        (ParentBased(ALWAYS_OFF), "root", False),
        (ParentBased(ALWAYS_OFF), "local-sampled", True),
        (ParentBased(ALWAYS_ON), "remote-not-sampled", False),
        (ParentBased(ALWAYS_ON), "local-not-sampled", False),
        (ParentBased(ALWAYS_ON, local_parent_not_sampled=ALWAYS_ON), "local-not-sampled", True),
    ],
)
def test_sampling_decisions_are_the_sdks(sampler: Sampler, parent: str, recording: bool) -> None:
    recorder = Recorder(TracerProvider(sampler=sampler))
    parents = {
        **PARENTS,
        "remote-not-sampled": lambda: _remote(False),
        "local-not-sampled": lambda: _local(TraceFlags.DEFAULT),
    }
    above = parents[parent]()
    span = sdkspans.start(recorder.tracer, "chat x", SpanKind.CLIENT, START, above)
    context = None if above is None else trace.set_span_in_context(above)
    public = recorder.tracer.start_span("chat x", context, SpanKind.CLIENT, attributes=START)
    assert span.is_recording() is public.is_recording() is recording
    assert type(span) is type(public)
    assert span.get_span_context().trace_flags == public.get_span_context().trace_flags
    assert span.get_span_context().trace_state == public.get_span_context().trace_state
    span.end()
    public.end()
    assert len(recorder.take()) == 2 * recording
    recorder.provider.shutdown()


class Counting(IdGenerator):
    """Ids from a counter, said not to be random: the W3C random flag stays off."""

    def __init__(self) -> None:
        self.next = 0

    def generate_span_id(self) -> int:
        self.next += 1
        return self.next

    def generate_trace_id(self) -> int:
        self.next += 1
        return self.next << 64


def test_the_tracers_own_id_generator_gives_the_ids() -> None:
    recorder = Recorder(TracerProvider(id_generator=Counting()))
    assert _built(recorder.tracer)
    base = recorder.tracer.id_generator.next  # type: ignore[attr-defined]
    route = sdkspans.start(recorder.tracer, "route cost", SpanKind.INTERNAL, START, None)
    chat = sdkspans.start(recorder.tracer, "chat x", SpanKind.CLIENT, START, route)
    chat.end()
    route.end()
    chat_done, route_done = recorder.take()
    assert route_done.context is not None
    assert chat_done.context is not None
    assert (route_done.context.trace_id, route_done.context.span_id) == ((base + 1) << 64, base + 2)
    assert (chat_done.context.trace_id, chat_done.context.span_id) == ((base + 1) << 64, base + 3)
    assert route_done.context.trace_flags == chat_done.context.trace_flags == TraceFlags.SAMPLED
    recorder.provider.shutdown()


@pytest.mark.parametrize(
    "limits",
    [
        {"OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT": "3"},
        {"OTEL_SPAN_EVENT_COUNT_LIMIT": "0", "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT": "2"},
    ],
)
def test_the_limits_are_the_tracers(
    monkeypatch: pytest.MonkeyPatch, limits: dict[str, str]
) -> None:
    for name, value in limits.items():
        monkeypatch.setenv(name, value)
    recorder = Recorder(TracerProvider())
    assert _built(recorder.tracer)
    built = _one(recorder, None, public=False)
    public = _one(recorder, None, public=True)
    assert _view(built, None) == _view(public, None)
    recorder.provider.shutdown()


def test_pieces_not_the_sdks_own_take_start_span(monkeypatch: pytest.MonkeyPatch) -> None:
    for sampler in (ParentBasedTraceIdRatio(1.0), ParentBased(ParentBasedTraceIdRatio(1.0))):
        recorder = Recorder(TracerProvider(sampler=sampler))
        assert sdkspans._quiet(recorder.tracer)
        assert not _built(recorder.tracer)
        recorder.provider.shutdown()
    monkeypatch.setenv("OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED", "true")
    recorder = Recorder(TracerProvider())
    assert sdkspans._quiet(recorder.tracer)
    assert not _built(recorder.tracer)
    recorder.provider.shutdown()


def test_a_disabled_tracer_makes_no_span(recorder: Recorder) -> None:
    assert _built(recorder.tracer)
    tracer: Any = recorder.tracer
    tracer._set_tracer_config(_TracerConfig(is_enabled=False))
    span = sdkspans.start(recorder.tracer, "chat x", SpanKind.CLIENT, START)
    assert not span.is_recording()
    span.end()
    assert recorder.take() == []


def test_a_probe_that_finds_a_difference_builds_nothing(
    recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As if the SDK's spans had changed: the probe compares and every span takes start_span."""
    sdkbuild._probe_classes()
    monkeypatch.setattr(sdkbuild._Sdk, "status", Status(StatusCode.UNSET))
    assert sdkbuild.decisions(recorder.tracer) is None
    monkeypatch.undo()
    assert sdkbuild.decisions(recorder.tracer) is not None
    monkeypatch.setattr(sdkbuild._Sdk, "end_metrics", lambda: None)
    assert sdkbuild.decisions(recorder.tracer) is None


def test_the_probe_spans_reach_no_exporter(recorder: Recorder) -> None:
    assert sdkbuild.decisions(recorder.tracer) is not None
    assert recorder.take() == []


def test_an_empty_context_is_a_root(recorder: Recorder) -> None:
    token = trace.context_api.attach(Context())
    try:
        span = sdkspans.start(recorder.tracer, "route cost", SpanKind.INTERNAL, START)
    finally:
        trace.context_api.detach(token)
    span.end()
    (done,) = recorder.take()
    assert done.parent is None
    assert done.context is not None
    assert done.context.is_valid

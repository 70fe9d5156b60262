"""``telemetry.end_span`` hands every span processor the span ``span.end()`` hands it: the same
fields of the same values, once, in processor order; the SDK's warnings and errors for a span
ended twice or never started; the tracer's internal metrics; and where a processor acts as a span
ends (``_on_ending``), the multi-processor is not the SDK's synchronous one, or the probe finds a
difference, ``span.end()`` itself."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import (
    ConcurrentMultiSpanProcessor,
    ReadableSpan,
    Span,
    SpanProcessor,
    TracerProvider,
    _Span,
)
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode

from llm_router_middleware.telemetry import end_span, sdkend, sdkspans

START: dict[str, Any] = {"llm_router.strategy": "cost", "llm_router.candidates": ("a", "b")}


class Seen(SpanProcessor):
    """A processor of its own: what each hook was handed."""

    def __init__(self) -> None:
        self.ended: list[ReadableSpan] = []

    def on_end(self, span: ReadableSpan) -> None:
        self.ended.append(span)


class Ending(Seen):
    def __init__(self) -> None:
        super().__init__()
        self.ending: list[str] = []

    def _on_ending(self, span: Span) -> None:
        self.ending.append(span.name)


def _span(tracer: trace.Tracer, name: str) -> trace.Span:
    span = sdkspans.start(tracer, name, SpanKind.CLIENT, START)
    span.set_attributes({"late": 1})
    span.add_event("llm_router.skipped", {"llm_router.model": "b"})
    span.set_status(Status(StatusCode.ERROR, "no"))
    return span


def _fields(span: ReadableSpan) -> list[tuple[str, Any]]:
    return [(k, v) for k, v in vars(span).items() if k not in ("_end_time", "_context")]


@pytest.fixture
def provider() -> Iterator[TracerProvider]:
    provider = TracerProvider()
    yield provider
    provider.shutdown()


def test_processors_get_the_span_end_would_hand_them(provider: TracerProvider) -> None:
    exporter, seen, batched = InMemorySpanExporter(), Seen(), InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    provider.add_span_processor(seen)
    provider.add_span_processor(BatchSpanProcessor(batched))
    tracer = provider.get_tracer("test")
    ours, theirs = _span(tracer, "chat x"), _span(tracer, "chat x")
    end_span(ours)
    theirs.end()
    assert sdkend._Sdk.span is _Span
    assert sdkend._Sdk.judged[1]
    provider.force_flush()
    for finished in (exporter.get_finished_spans(), seen.ended, batched.get_finished_spans()):
        done, public = finished
        assert type(done) is type(public) is ReadableSpan
        assert list(vars(done)) == list(vars(public))
        assert [(k, type(v)) for k, v in _fields(done)] == [
            (k, type(v)) for k, v in _fields(public)
        ]
        assert done.to_json().count("\n") == public.to_json().count("\n")
        assert dict(done.attributes or {}) == dict(public.attributes or {})
        assert done.events[0].name == public.events[0].name
        assert done.status.description == public.status.description == "no"
        assert done.end_time is not None
        assert done.start_time is not None
        assert done.start_time <= done.end_time
    done = seen.ended[0]
    assert all(value is getattr(ours, key) for key, value in vars(done).items())
    assert not ours.is_recording()
    ours.set_attribute("after", 1)  # ignored, as on any ended span
    assert "after" not in (done.attributes or {})


def test_ending_twice_warns_and_hands_the_span_on_once(
    provider: TracerProvider, caplog: pytest.LogCaptureFixture
) -> None:
    seen = Seen()
    provider.add_span_processor(seen)
    span = _span(provider.get_tracer("test"), "chat x")
    end_span(span)
    with caplog.at_level(logging.WARNING):
        end_span(span)
    assert len(seen.ended) == 1
    assert "Calling end() on an ended span" in caplog.text


def test_a_span_never_started_raises_as_the_sdk_does() -> None:
    span = _Span("never", SpanContext(7, 9, False))
    with pytest.raises(RuntimeError, match="not started"):
        end_span(span)


def test_a_processor_acting_as_spans_end_gets_span_end(provider: TracerProvider) -> None:
    ending = Ending()
    provider.add_span_processor(ending)
    end_span(_span(provider.get_tracer("test"), "chat x"))
    assert ending.ending == ["chat x"]
    assert [s.name for s in ending.ended] == ["chat x"]
    assert not sdkend._Sdk.judged[1]


def test_a_concurrent_multi_processor_gets_span_end() -> None:
    multi = ConcurrentMultiSpanProcessor(2)
    provider = TracerProvider(active_span_processor=multi)
    seen = Seen()
    provider.add_span_processor(seen)
    end_span(_span(provider.get_tracer("test"), "chat x"))
    assert [s.name for s in seen.ended] == ["chat x"]
    provider.shutdown()


def test_the_tracers_internal_metrics_see_the_span_end(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED", "true")
    reader = InMemoryMetricReader()
    provider = TracerProvider(meter_provider=MeterProvider(metric_readers=[reader]))
    tracer = provider.get_tracer("test")
    end_span(_span(tracer, "chat x"))
    data = reader.get_metrics_data()
    assert data is not None
    live = [
        point.value
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == "otel.sdk.span.live"
        for point in metric.data.data_points
    ]
    assert live == [0]
    provider.shutdown()


def test_a_probe_that_finds_a_difference_ends_through_the_sdk(
    provider: TracerProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fewer(span: Any) -> Any:
        readable = object.__new__(ReadableSpan)
        readable._name = span._name
        return readable

    monkeypatch.setattr(sdkend, "_readable", fewer)
    monkeypatch.setattr(sdkend._Sdk, "probed", False)
    monkeypatch.setattr(sdkend._Sdk, "span", None)
    seen = Seen()
    provider.add_span_processor(seen)
    end_span(_span(provider.get_tracer("test"), "chat x"))
    assert sdkend._Sdk.probed
    assert sdkend._Sdk.span is None
    assert [s.name for s in seen.ended] == ["chat x"]
    assert seen.ended[0].kind is SpanKind.CLIENT


@pytest.mark.parametrize("change", ["marks the span", "hands on another status"])
def test_a_probe_whose_end_does_more_ends_through_the_sdk(
    provider: TracerProvider, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    """An SDK release whose ``end()`` did more than the steps taken here (to the span, or to
    what the processors get) is found by the probe ending two spans both ways."""
    sdk_end = _Span.end

    def more(self: Any, end_time: int | None = None) -> None:
        if change == "marks the span":
            self._ended_by = "sdk"
        else:
            self._status = Status(StatusCode.OK)
        sdk_end(self, end_time)

    monkeypatch.setattr(_Span, "end", more)
    monkeypatch.setattr(sdkend._Sdk, "probed", False)
    monkeypatch.setattr(sdkend._Sdk, "span", None)
    seen = Seen()
    provider.add_span_processor(seen)
    span = _span(provider.get_tracer("test"), "chat x")
    end_span(span)
    assert sdkend._Sdk.probed
    assert sdkend._Sdk.span is None
    assert [s.name for s in seen.ended] == ["chat x"]
    # ended by the SDK's (patched) end(): what it does happened
    if change == "marks the span":
        assert vars(span)["_ended_by"] == "sdk"
    else:
        assert seen.ended[0].status.status_code is StatusCode.OK


def test_the_probe_finds_this_sdk_ends_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sdkend._Sdk, "probed", False)
    monkeypatch.setattr(sdkend._Sdk, "span", None)
    sdkend._probe()
    assert sdkend._Sdk.span is _Span


def test_a_span_of_the_api_alone_is_ended_by_itself() -> None:
    span = trace.NonRecordingSpan(SpanContext(7, 9, False))
    end_span(span)
    end_span(trace.INVALID_SPAN)


def test_a_real_otlp_receiver_reads_the_same_spans_either_way() -> None:
    """A route span and its chat span, built and ended directly, then through the public API."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    from llm_router_middleware.testing import OTLPReceiver

    with OTLPReceiver() as receiver:
        provider = TracerProvider()
        processor = BatchSpanProcessor(OTLPSpanExporter(endpoint=receiver.traces_endpoint))
        provider.add_span_processor(processor)
        tracer = provider.get_tracer("llm_router_middleware")
        route = _span(tracer, "route cost")
        chat = sdkspans.start(tracer, "chat x", SpanKind.CLIENT, START, route)
        end_span(chat)
        end_span(route)
        assert sdkspans._Sdk.judged[4] is not None  # built, then ended directly
        route = tracer.start_span("route cost", kind=SpanKind.CLIENT, attributes=START)
        route.set_attributes({"late": 1})
        route.add_event("llm_router.skipped", {"llm_router.model": "b"})
        route.set_status(Status(StatusCode.ERROR, "no"))
        context = trace.set_span_in_context(route)
        tracer.start_span("chat x", context, SpanKind.CLIENT, attributes=START).end()
        route.end()
        processor.force_flush()
        spans = receiver.wait_for(4, timeout=20)
        provider.shutdown()
    direct, public = spans[:2], spans[2:]
    for chat_done, route_done in (direct, public):
        assert chat_done.trace_id == route_done.trace_id
        assert chat_done.parent_span_id == route_done.span_id
        assert route_done.parent_span_id in (None, "")
    ids = ("trace_id", "span_id", "parent_span_id", "start_time_unix_nano", "end_time_unix_nano")
    views = [{k: v for k, v in vars(s).items() if k not in ids} for s in spans]
    assert views[:2] == views[2:]
    assert direct[1].attributes["llm_router.candidates"] == ("a", "b")

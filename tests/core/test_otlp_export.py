"""Spans leave the process over real OTLP/HTTP and arrive whole at a real receiver, nested under
the app's own server span."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind

from llm_router_middleware import RequestContext, Router
from llm_router_middleware.testing import Behavior, FakeProvider, OTLPReceiver


class Switch(SpanProcessor):
    """Forwards to an exporter processor only while a test has one plugged in. It keeps the
    base class's no-op ``on_start`` (the SimpleSpanProcessor it forwards to has nothing to do
    there either), so the core tests' spans get their attributes as production ones do."""

    inner: SpanProcessor | None = None

    def on_end(self, span: ReadableSpan) -> None:
        if self.inner is not None:
            self.inner.on_end(span)


_SWITCH = Switch()
_provider = trace.get_tracer_provider()
assert isinstance(_provider, TracerProvider)  # set up by conftest
_provider.add_span_processor(_SWITCH)


@pytest.fixture
def exported(otlp_receiver: OTLPReceiver) -> Iterator[OTLPReceiver]:
    processor = SimpleSpanProcessor(OTLPSpanExporter(endpoint=otlp_receiver.traces_endpoint))
    _SWITCH.inner = processor
    yield otlp_receiver
    _SWITCH.inner = None
    processor.shutdown()


def test_route_and_attempt_spans_reach_a_real_otlp_receiver(
    exported: OTLPReceiver, make_router: Callable[..., Router], fake_provider: FakeProvider
) -> None:
    fake_provider.set("fake-premium", Behavior(status=503))
    router = make_router()
    tracer = trace.get_tracer("app")
    with tracer.start_as_current_span("POST /chat", kind=SpanKind.SERVER) as server:
        reply = router.handle(RequestContext(user_id="u1", tier=None)).complete(
            [{"role": "user", "content": "hi"}]
        )
    assert reply.routing.model == "balanced"
    spans = exported.wait_for(lambda got: len(got) >= 4, timeout=10)
    by_name = {s.name: s for s in spans}
    server_id = format(server.get_span_context().span_id, "016x")
    route = by_name["route fixed"]
    assert route.parent_span_id == server_id
    assert {s.trace_id for s in spans} == {route.trace_id}
    failed, ok = by_name["chat fake-premium"], by_name["chat fake-balanced"]
    assert failed.parent_span_id == route.span_id == ok.parent_span_id
    assert failed.attributes["error.type"] == "ServiceUnavailableError"
    assert failed.attributes["llm_router.error.kind"] == "overloaded"
    assert ok.attributes["gen_ai.usage.output_tokens"] > 0
    assert route.attributes["llm_router.fallback_count"] == 1
    assert route.attributes["llm_router.model_used"] == "balanced"
    assert list(route.attributes["llm_router.candidates"]) == ["premium", "balanced", "cheap"]

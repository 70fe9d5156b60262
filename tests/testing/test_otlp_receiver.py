"""The OTLP receiver, fed by the real OTLP/HTTP span exporter."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

from llm_router_middleware.testing import OTLPReceiver, ReceivedSpan


def make_provider(processor: SpanProcessor) -> TracerProvider:
    provider = TracerProvider(resource=Resource.create({"service.name": "router-tests"}))
    provider.add_span_processor(processor)
    return provider


@pytest.fixture(params=["simple", "batch", "gzip"])
def tracer_provider(
    request: pytest.FixtureRequest, otlp_receiver: OTLPReceiver
) -> Iterator[TracerProvider]:
    compression = Compression.Gzip if request.param == "gzip" else Compression.NoCompression
    exporter = OTLPSpanExporter(endpoint=otlp_receiver.traces_endpoint, compression=compression)
    processor: SpanProcessor = (
        BatchSpanProcessor(exporter) if request.param == "batch" else SimpleSpanProcessor(exporter)
    )
    provider = make_provider(processor)
    yield provider
    provider.shutdown()


def export_two_spans(provider: TracerProvider) -> None:
    tracer = provider.get_tracer("llm_router.tests")
    with tracer.start_as_current_span("POST /chat", kind=SpanKind.SERVER):
        span = tracer.start_span("chat fake-cheap", kind=SpanKind.CLIENT)
        span.set_attribute("gen_ai.request.model", "fake-cheap")
        span.set_attribute("gen_ai.usage.input_tokens", 12)
        span.set_attribute("llm_router.cost_usd", 0.25)
        span.set_attribute("llm_router.fallback", True)
        span.set_attribute("llm_router.candidates", ["fake-cheap", "fake-smart"])
        span.add_event("llm_router.attempt_failed", {"error.type": "RateLimitError", "n": 1})
        span.set_status(Status(StatusCode.ERROR, "rate limited"))
        span.end()
    provider.force_flush()


def test_spans_arrive_with_parents_attributes_events_and_status(
    otlp_receiver: OTLPReceiver, tracer_provider: TracerProvider
) -> None:
    export_two_spans(tracer_provider)
    spans = otlp_receiver.wait_for(2, timeout=5)
    assert len(spans) == 2
    (server,) = otlp_receiver.spans_named("POST /chat")
    (client,) = otlp_receiver.spans_named("chat fake-cheap")

    assert server.kind is SpanKind.SERVER
    assert server.parent_span_id is None
    assert client.kind is SpanKind.CLIENT
    assert client.parent_span_id == server.span_id
    assert client.trace_id == server.trace_id
    assert len(client.trace_id) == 32
    assert len(client.span_id) == 16

    assert client.attributes == {
        "gen_ai.request.model": "fake-cheap",
        "gen_ai.usage.input_tokens": 12,
        "llm_router.cost_usd": 0.25,
        "llm_router.fallback": True,
        "llm_router.candidates": ("fake-cheap", "fake-smart"),
    }
    assert client.events == (
        ("llm_router.attempt_failed", {"error.type": "RateLimitError", "n": 1}),
    )
    assert client.event("llm_router.attempt_failed")["n"] == 1
    assert client.status_code is StatusCode.ERROR
    assert client.status_description == "rate limited"
    assert server.status_code is StatusCode.UNSET
    assert client.resource["service.name"] == "router-tests"
    assert client.scope == "llm_router.tests"
    assert client.duration_s >= 0


def test_wait_for_predicate_and_timeout(otlp_receiver: OTLPReceiver) -> None:
    with pytest.raises(TimeoutError, match="received 0 span"):
        otlp_receiver.wait_for(1, timeout=0.05)
    provider = make_provider(
        SimpleSpanProcessor(OTLPSpanExporter(endpoint=otlp_receiver.traces_endpoint))
    )
    try:
        export_two_spans(provider)
    finally:
        provider.shutdown()

    def has_client(spans: object) -> bool:
        assert isinstance(spans, list)
        return any(s.kind is SpanKind.CLIENT for s in spans)

    spans = otlp_receiver.wait_for(has_client, timeout=5)
    assert any(isinstance(s, ReceivedSpan) and s.name == "chat fake-cheap" for s in spans)
    otlp_receiver.clear()
    assert otlp_receiver.spans == []


def test_json_export_with_hex_ids(otlp_receiver: OTLPReceiver) -> None:
    trace_id, span_id, parent = (
        "0af7651916cd43dd8448eb211c80319c",
        "b7ad6b7169203331",
        "00f067aa0ba902b7",
    )
    payload = {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"stringValue": "j"}}]
                },
                "scopeSpans": [
                    {
                        "scope": {"name": "json"},
                        "spans": [
                            {
                                "traceId": trace_id,
                                "spanId": span_id,
                                "parentSpanId": parent,
                                "name": "json-span",
                                "kind": 3,
                                "startTimeUnixNano": "1",
                                "endTimeUnixNano": "2",
                                "attributes": [{"key": "k", "value": {"intValue": "7"}}],
                                "status": {"code": 1},
                            }
                        ],
                    }
                ],
            }
        ]
    }
    response = httpx.post(otlp_receiver.traces_endpoint, json=payload)
    assert response.status_code == 200
    (span,) = otlp_receiver.wait_for(1)
    assert (span.trace_id, span.span_id, span.parent_span_id) == (trace_id, span_id, parent)
    assert span.kind is SpanKind.CLIENT
    assert span.attributes == {"k": 7}
    assert span.status_code is StatusCode.OK
    assert span.resource == {"service.name": "j"}


def test_bad_requests_are_rejected(otlp_receiver: OTLPReceiver) -> None:
    with httpx.Client(base_url=otlp_receiver.endpoint) as client:
        garbage = client.post(
            "/v1/traces",
            content=base64.b64decode("////"),
            headers={"Content-Type": "application/x-protobuf"},
        )
        assert garbage.status_code == 400
        assert "could not decode" in garbage.text
        assert client.post("/v1/other", content=b"").status_code == 404
        assert client.post("/v1/metrics", content=b"").status_code == 200
    assert otlp_receiver.spans == []


def test_standalone_receiver_lifecycle() -> None:
    with OTLPReceiver() as receiver:
        assert receiver.endpoint.startswith("http://127.0.0.1:")
    assert not receiver.running

"""Every example exports its spans when OTEL_EXPORTER_OTLP_ENDPOINT is set: run as a user runs
it (a subprocess, `--demo`), against a real OTLP/HTTP receiver. Each request is one trace: the
HTTP server span, under it the `route` span, under that the `chat` spans."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from opentelemetry.trace import SpanKind

from llm_router_middleware.testing import OTLPReceiver, ReceivedSpan

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
BIN = Path(sys.executable).parent


def run_example(command: Sequence[str], **env: str) -> str:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    environment.update(LITELLM_LOCAL_MODEL_COST_MAP="True", **env)
    done = subprocess.run(
        list(command),
        capture_output=True,
        text=True,
        timeout=240,
        env=environment,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    return done.stdout


def routes_with_chats(spans: Sequence[ReceivedSpan]) -> list[ReceivedSpan]:
    parents = {s.parent_span_id for s in spans if s.name.startswith("chat ")}
    return [s for s in spans if s.name.startswith("route ") and s.span_id in parents]


def check_traces(spans: Sequence[ReceivedSpan], requests: int, service: str) -> None:
    by_id = {s.span_id: s for s in spans}
    routes = routes_with_chats(spans)
    assert len(routes) == requests
    for route in routes:
        server = by_id[route.parent_span_id or ""]
        assert server.kind == SpanKind.SERVER, server.name
        assert server.parent_span_id is None  # the trace starts at the app's HTTP server span
        chats = [s for s in spans if s.parent_span_id == route.span_id]
        assert chats
        assert all(s.name.startswith("chat ") and s.kind == SpanKind.CLIENT for s in chats)
        trace = {server.trace_id, route.trace_id, *(c.trace_id for c in chats)}
        assert trace == {route.trace_id}  # one trace
        assert route.attributes["llm_router.model_used"]
        assert route.resource["service.name"] == service
    assert len({r.trace_id for r in routes}) == requests  # and one trace per request


FRAMEWORKS = {
    "fastapi": ("fastapi_app/app.py", 4),
    "flask": ("flask_app/app.py", 4),
    "django": ("django_app/app.py", 4),
    "starlette": ("starlette_app/app.py", 2),
}


@pytest.mark.parametrize("framework", list(FRAMEWORKS))
def test_example_exports_one_trace_per_request(framework: str, otlp_receiver: OTLPReceiver) -> None:
    script, requests = FRAMEWORKS[framework]
    run_example(
        [sys.executable, str(EXAMPLES / script), "--demo"],
        OTEL_EXPORTER_OTLP_ENDPOINT=otlp_receiver.endpoint,
    )
    spans = otlp_receiver.wait_for(lambda s: len(routes_with_chats(s)) >= requests, timeout=30)
    check_traces(spans, requests, f"llm-router-{framework}-example")


def test_django_example_under_opentelemetry_instrument(otlp_receiver: OTLPReceiver) -> None:
    """The zero-code path: `opentelemetry-instrument` with the http/protobuf protocol (its
    default is gRPC) configures the SDK and instruments Django before the example runs."""
    instrument = str(BIN / "opentelemetry-instrument")
    run_example(
        [instrument, sys.executable, str(EXAMPLES / "django_app/app.py"), "--demo"],
        OTEL_SERVICE_NAME="django-instrumented",
        OTEL_TRACES_EXPORTER="otlp",
        OTEL_METRICS_EXPORTER="none",
        OTEL_LOGS_EXPORTER="none",
        OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
        OTEL_EXPORTER_OTLP_ENDPOINT=otlp_receiver.endpoint,
    )
    spans = otlp_receiver.wait_for(lambda s: len(routes_with_chats(s)) >= 4, timeout=30)
    check_traces(spans, 4, "django-instrumented")

"""The demo's tracing: spans printed compactly after the table, or exported over OTLP/HTTP
when OTEL_EXPORTER_OTLP_ENDPOINT is set."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)

from llm_router_middleware import configure_telemetry


def clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


# --- spans -------------------------------------------------------------------------------------
class CompactSpanExporter(SpanExporter):
    """Keeps finished spans and prints them later, one line each, indented under their parent."""

    KEYS = (
        "http.status_code",
        "http.response.status_code",
        "llm_router.tier",
        "llm_router.selected",
        "llm_router.model_used",
        "llm_router.fallback_count",
        "llm_router.cost_usd",
        "llm_router.budget.remaining_usd",
        "llm_router.error.kind",
        "error.type",
        "gen_ai.request.model",
        "gen_ai.usage.input_tokens",
        "gen_ai.usage.output_tokens",
    )
    SHORT = {
        "gen_ai.usage.input_tokens": "in_tokens",
        "gen_ai.usage.output_tokens": "out_tokens",
        "gen_ai.request.model": "gen_ai.model",
        "llm_router.budget.remaining_usd": "budget_left",
    }

    def __init__(self) -> None:
        self.spans: list[ReadableSpan] = []
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        with self._lock:
            self.spans.extend(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None

    def lines(self) -> list[str]:
        with self._lock:
            spans = sorted(self.spans, key=lambda s: s.start_time or 0)
        by_id = {s.context.span_id: s for s in spans if s.context is not None}
        children: dict[int | None, list[ReadableSpan]] = {}
        for span in spans:
            parent = span.parent.span_id if span.parent is not None else None
            children.setdefault(parent if parent in by_id else None, []).append(span)
        out: list[str] = []

        def walk(span: ReadableSpan, depth: int) -> None:
            out.append(self.line(span, depth))
            for child in children.get(span.context.span_id if span.context else None, []):
                walk(child, depth + 1)

        for root in children.get(None, []):
            walk(root, 0)
        return out

    def line(self, span: ReadableSpan, depth: int) -> str:
        duration_ms = ((span.end_time or 0) - (span.start_time or 0)) / 1e6
        name = clip("  " * depth + span.name, 26).ljust(26)
        attrs = span.attributes or {}
        parts = []
        for event in span.events:
            ev = event.attributes or {}
            kind = event.name.removeprefix("llm_router.")
            if "llm_router.breaker.to" in ev:
                detail = f"{ev.get('llm_router.breaker.from')}->{ev.get('llm_router.breaker.to')}"
            else:
                detail = str(ev.get("llm_router.filter", ""))
            parts.append(f"!{kind}({ev.get('llm_router.model', '')}: {detail})")
        for key in self.KEYS:
            if key in attrs:
                label = self.SHORT.get(key) or key.removeprefix("llm_router.")
                parts.append(f"{label}={_fmt(attrs[key])}")
        status = "ERROR" if span.status.status_code.name == "ERROR" else ""
        return f"{name} {duration_ms:8.2f} ms {status:5} " + " ".join(parts)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, tuple | list):
        return ",".join(map(str, value))
    return str(value)


@dataclass
class Tracing:
    provider: TracerProvider
    console: CompactSpanExporter | None
    endpoint: str | None

    def finish(self, out: TextIO) -> None:
        self.provider.shutdown()  # flushes the batch processor
        if self.console is not None:
            print(
                "\nSpans (one line each, children indented under their parent; "
                "!event(model:detail) marks span events):",
                file=out,
            )
            for line in self.console.lines():
                print(clip(line, 200), file=out)
        else:
            print(f"\nSpans exported over OTLP/HTTP to {self.endpoint}", file=out)


def setup_tracing() -> Tracing:
    endpoint = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    if endpoint:  # the library's helper, from the standard OTEL_* variables
        exporting = configure_telemetry("llm-router-demo")
        assert isinstance(exporting, TracerProvider)
        return Tracing(exporting, None, endpoint)
    provider = TracerProvider(resource=Resource.create({"service.name": "llm-router-demo"}))
    console = CompactSpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(console))
    trace.set_tracer_provider(provider)
    return Tracing(provider, console, endpoint)

"""Helpers for the core tests: model configs over the fake provider, spans captured in memory."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)

from llm_router_middleware import RequestContext, Router
from llm_router_middleware.testing import FakeProvider

SECRET = "sk-core-test-SECRET-0123456789"
HI = [{"role": "user", "content": "hi"}]
T = TypeVar("T")


def streamed(router: Router, mode: str) -> tuple[str, Any]:
    """Stream HI for user u1 (``mode`` "sync": stream(), "async": astream()); the text of its
    chunks and the stream's routing."""
    handle = router.handle(RequestContext(user_id="u1"))
    if mode == "sync":
        stream = handle.stream(HI)
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        return text, stream.routing

    async def run() -> tuple[str, Any]:
        stream = await handle.astream(HI)
        parts = [c.choices[0].delta.content or "" async for c in stream if c.choices]
        return "".join(parts), stream.routing

    return asyncio.run(run())


def finished(fn: Callable[[], T], guard_s: float = 60.0) -> T:
    """``fn()`` in a worker thread. A call still running after ``guard_s`` is a hang (the tests
    using this expect an answer within a second, and a regression would wait for a 600 s
    timeout): it fails the test with TimeoutError instead of stalling the suite. A guard, not a
    speed check: it is two orders of magnitude away from either outcome."""
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        return pool.submit(fn).result(timeout=guard_s)
    finally:
        pool.shutdown(wait=False)


def _exporter() -> InMemorySpanExporter:
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


EXPORTER = _exporter()


class Spans:
    def all(self) -> list[ReadableSpan]:
        return list(EXPORTER.get_finished_spans())

    def named(self, prefix: str) -> list[ReadableSpan]:
        return [s for s in self.all() if s.name.startswith(prefix)]

    def route(self) -> ReadableSpan:
        routes = self.named("route ")
        assert len(routes) == 1, [s.name for s in self.all()]
        return routes[0]

    def clear(self) -> None:
        EXPORTER.clear()


def model(
    provider: FakeProvider,
    name: str,
    quality: float,
    *,
    window: int = 8000,
    cost: float = 1.0,
    timeout_s: float = 5.0,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "name": name,
        "model": f"openai/fake-{name}",
        "api_base": provider.base_url,
        "api_key": SECRET,
        "input_cost_per_1m": cost,
        "output_cost_per_1m": 2 * cost,
        "quality": quality,
        "context_window": window,
        "timeout_s": timeout_s,
        **extra,
    }


def base_config(
    provider: FakeProvider, transport: str | None = None, **sections: Any
) -> dict[str, Any]:
    """Three models; ``transport`` ("native" / "litellm") is set on each, else left to "auto"."""
    chosen = {} if transport is None else {"transport": transport}
    config: dict[str, Any] = {
        "models": [
            model(provider, "premium", 0.9, cost=10.0, **chosen),
            model(provider, "balanced", 0.7, cost=3.0, **chosen),
            model(provider, "cheap", 0.3, cost=0.5, **chosen),
        ],
        "routing": {"strategy": "fixed", "fallbacks": ["premium", "balanced", "cheap"]},
    }
    config.update(sections)
    return config


def _metric_reader() -> InMemoryMetricReader:
    provider = metrics.get_meter_provider()
    if isinstance(provider, MeterProvider):  # set by another test package: cannot add a reader
        raise RuntimeError("a MeterProvider was installed before the core tests' one")
    reader = InMemoryMetricReader()
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
    return reader


METRICS = _metric_reader()

"""Shared fixtures for the framework integrations: the router config, spans in memory, and a
minimal Django configuration (only for this directory, never through DJANGO_SETTINGS_MODULE)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from integration_support import Spans, make_config
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)

from llm_router_middleware.testing import FakeProvider


def _configure_django() -> None:
    import django
    from django.conf import settings

    if settings.configured:
        return
    import django_test_app

    settings.configure(**django_test_app.SETTINGS)
    django.setup()


_configure_django()


def _exporter() -> InMemorySpanExporter:
    # the global provider can be set once per process: reuse an SDK provider if one is set
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


_EXPORTER = _exporter()


@pytest.fixture
def spans() -> Iterator[Spans]:
    _EXPORTER.clear()
    yield Spans(_EXPORTER)
    _EXPORTER.clear()


@pytest.fixture
def router_config(fake_provider: FakeProvider) -> dict[str, Any]:
    return make_config(fake_provider)

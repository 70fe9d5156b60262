"""The per-call environment reads of telemetry see every change made at run time."""

from __future__ import annotations

import os

import pytest
from opentelemetry import metrics, trace
from opentelemetry.environment_variables import (
    OTEL_PYTHON_METER_PROVIDER,
    OTEL_PYTHON_TRACER_PROVIDER,
)
from opentelemetry.metrics import _internal as metrics_internal

from llm_router_middleware import telemetry
from llm_router_middleware.telemetry.environ import env_reader, metering, tracer_provider


def test_env_reader_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    name = "LLM_ROUTER_TEST_ENV_READER"
    monkeypatch.delenv(name, raising=False)
    read = env_reader(name)
    assert read() is None
    monkeypatch.setenv(name, "one")
    assert read() == "one"
    os.environ[name] = "twö"
    assert read() == "twö"
    monkeypatch.delenv(name)
    assert read() is None


@pytest.mark.parametrize(
    ("value", "on"),
    [(None, False), ("true", True), (" TRUE ", True), ("1", True), ("yes", True), ("no", False)],
)
def test_capture_content_is_read_on_every_call(
    monkeypatch: pytest.MonkeyPatch, value: str | None, on: bool
) -> None:
    monkeypatch.delenv(telemetry.CAPTURE_CONTENT_ENV, raising=False)
    assert telemetry.capture_content() is False
    if value is not None:
        monkeypatch.setenv(telemetry.CAPTURE_CONTENT_ENV, value)
    assert telemetry.capture_content() is on


def test_provider_checks_see_the_provider_variables_set_at_run_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With no provider installed, ``tracer_provider`` and ``metering`` ask the API only once
    OTEL_PYTHON_TRACER_PROVIDER / OTEL_PYTHON_METER_PROVIDER is set (read on every call)."""
    monkeypatch.setattr(trace, "_TRACER_PROVIDER", None)
    monkeypatch.setattr(metrics_internal, "_METER_PROVIDER", None)
    monkeypatch.delenv(OTEL_PYTHON_TRACER_PROVIDER, raising=False)
    monkeypatch.delenv(OTEL_PYTHON_METER_PROVIDER, raising=False)
    installed = object()
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: installed)
    monkeypatch.setattr(metrics, "get_meter_provider", lambda: installed)
    assert tracer_provider() is None
    assert metering() is False
    monkeypatch.setenv(OTEL_PYTHON_TRACER_PROVIDER, "custom")
    monkeypatch.setenv(OTEL_PYTHON_METER_PROVIDER, "custom")
    assert tracer_provider() is installed
    assert metering() is True
    monkeypatch.delenv(OTEL_PYTHON_TRACER_PROVIDER)
    monkeypatch.delenv(OTEL_PYTHON_METER_PROVIDER)
    assert tracer_provider() is None
    assert metering() is False

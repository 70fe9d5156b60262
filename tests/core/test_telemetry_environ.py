"""The per-call environment reads of telemetry see every change made at run time."""

from __future__ import annotations

import os

import pytest

from llm_router_middleware import telemetry
from llm_router_middleware.telemetry.environ import env_reader


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

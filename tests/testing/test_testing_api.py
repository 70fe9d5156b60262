"""The public surface of llm_router_middleware.testing and the cost of its pytest plugin."""

from __future__ import annotations

import subprocess
import sys

import pytest

import llm_router_middleware.testing as testing


def test_public_names_are_pinned() -> None:
    assert testing.__all__ == [
        "Behavior",
        "FakeProvider",
        "OTLPReceiver",
        "ReceivedSpan",
        "RecordedRequest",
        "StreamRecord",
    ]
    for name in testing.__all__:
        assert getattr(testing, name).__module__.startswith("llm_router_middleware.testing")


def test_plugin_is_registered_and_imports_nothing_heavy(pytestconfig: pytest.Config) -> None:
    assert pytestconfig.pluginmanager.has_plugin("llm_router_middleware")
    code = (
        "import sys, llm_router_middleware.testing.pytest_plugin;"
        "heavy = ('litellm', 'opentelemetry.proto', 'uvicorn');"
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert output.strip() == "[]"

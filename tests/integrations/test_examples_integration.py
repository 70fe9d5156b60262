"""Smoke tests: each example app answers its demo requests against the fake provider."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
from django.test import override_settings

from llm_router_middleware.testing import FakeProvider

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

EXPECTED = [
    ("anonymous", 200, "cheap", "free"),
    ("anonymous + spoofed X-LLM-Tier: pro", 200, "cheap", "free"),
    ("alice (pro)", 200, "premium", "pro"),
    ("alice, /summary", 200, "cheap", "pro"),
]


def load(framework: str) -> ModuleType:
    name = f"{framework}_example_app"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{framework}_app" / "app.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # Django imports ROOT_URLCONF and MIDDLEWARE by this name
    spec.loader.exec_module(module)
    return module


def check(rows: list[tuple[str, str, int, dict[str, object]]]) -> None:
    assert len(rows) == len(EXPECTED)
    for (who, _, status, body), (label, code, model, tier) in zip(rows, EXPECTED, strict=True):
        assert who.startswith(label)
        assert (status, body["model"], body["tier"]) == (code, model, tier), who
        assert body["answer"] == "Hello from the fake provider."


@pytest.mark.parametrize("framework", ["fastapi", "flask"])
def test_example_app(framework: str, fake_provider: FakeProvider) -> None:
    check(load(framework).demo(fake_provider.base_url))
    assert fake_provider.count("fake-premium") == 1


def test_django_example_app(fake_provider: FakeProvider) -> None:
    example = load("django")
    with override_settings(**example.settings_for(fake_provider.base_url)):
        check(example.demo())

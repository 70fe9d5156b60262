"""Helpers shared by the integration tests (imported by name: tests/integrations is on sys.path)."""

from __future__ import annotations

from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llm_router_middleware import RequestContext
from llm_router_middleware.testing import FakeProvider

MESSAGES = [{"role": "user", "content": "hello"}]

SPOOFED = {
    "X-User-Tier": "premium",
    "X-LLM-Tier": "premium",
    "X-LLM-User": "admin",
    "X-User-Id": "admin",
}


def login_context(request: Any) -> RequestContext:
    """The app's resolver, standing in for a login system: the ``login`` cookie
    (``alice:pro``) is the logged-in user and their plan."""
    login = request.cookies.get("login")
    if not login:
        return RequestContext()
    user_id, _, plan = login.partition(":")
    return RequestContext(user_id=user_id, tier=plan or None)


async def async_context(request: Any) -> RequestContext:
    return RequestContext(user_id="from-async-resolver", tier="pro")


class Spans:
    def __init__(self, exporter: InMemorySpanExporter) -> None:
        self._exporter = exporter

    def all(self) -> list[ReadableSpan]:
        return list(self._exporter.get_finished_spans())

    def named(self, prefix: str) -> list[ReadableSpan]:
        return [s for s in self.all() if s.name.startswith(prefix)]

    def route(self) -> ReadableSpan:
        routes = self.named("route ")
        assert len(routes) == 1, [s.name for s in self.all()]
        return routes[0]

    def server(self) -> ReadableSpan:
        servers = [s for s in self.all() if s.kind == trace.SpanKind.SERVER]
        assert len(servers) == 1, [(s.name, s.kind) for s in self.all()]
        return servers[0]


def make_config(provider: FakeProvider, **overrides: Any) -> dict[str, Any]:
    """free -> cheap only; pro -> premium, then cheap. Anonymous requests are "free"."""
    common = {"api_base": provider.base_url, "api_key": "sk-test", "context_window": 8000}
    config: dict[str, Any] = {
        "models": [
            {
                "name": "cheap",
                "model": "openai/fake-cheap",
                "input_cost_per_1m": 0.1,
                "output_cost_per_1m": 0.2,
                "quality": 0.3,
                **common,
            },
            {
                "name": "premium",
                "model": "openai/fake-premium",
                "input_cost_per_1m": 5.0,
                "output_cost_per_1m": 15.0,
                "quality": 0.9,
                **common,
            },
        ],
        "routing": {"strategy": "fixed", "fallbacks": ["premium", "cheap"], "default_tier": "free"},
        "tiers": {
            "free": {"models": ["cheap"]},
            "pro": {"models": ["premium", "cheap"]},
            "premium": {"models": ["premium"]},
        },
    }
    config.update(overrides)
    return config


def tier_of_user(user: Any) -> str | None:
    """A tier callable (``LLM_ROUTER_TIER = "integration_support.tier_of_user"``)."""
    return "premium" if user.pk == "vip" else None

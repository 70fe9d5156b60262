"""GenAI client metrics, recorded when the app installs a MeterProvider."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from core_support import METRICS

from llm_router_middleware import RequestContext, Router
from llm_router_middleware.testing import Behavior, FakeProvider


def points(name: str) -> list[Any]:
    data = METRICS.get_metrics_data()
    found = []
    for resource in data.resource_metrics if data else []:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name == name:
                    found.extend(metric.data.data_points)
    return found


def test_duration_tokens_and_cost_are_recorded_per_model(
    make_router: Callable[..., Router], fake_provider: FakeProvider
) -> None:
    fake_provider.set("fake-premium", Behavior(prompt_tokens=100, completion_tokens=40))
    make_router().complete([{"role": "user", "content": "hi"}], RequestContext(user_id="m"))
    tokens = {
        p.attributes["gen_ai.token.type"]: p.sum
        for p in points("gen_ai.client.token.usage")
        if p.attributes["llm_router.model"] == "premium"
    }
    assert tokens["input"] >= 100
    assert tokens["output"] >= 40
    durations = [
        p
        for p in points("gen_ai.client.operation.duration")
        if p.attributes["llm_router.model"] == "premium"
    ]
    assert durations
    assert durations[0].attributes["gen_ai.provider.name"] == "openai"
    cost = [
        p.value for p in points("llm_router.cost") if p.attributes["llm_router.model"] == "premium"
    ]
    assert cost
    assert cost[0] > 0

"""What the framework examples share: the router config over the local fake provider and the
scripted requests of their ``--demo`` mode. Each app keeps its own users and views."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

DemoRow = tuple[str, str, int, dict[str, Any]]


def router_config(base_url: str) -> dict[str, Any]:
    common = {"api_base": base_url, "api_key": "sk-fake", "context_window": 8000}
    return {
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
        "tiers": {"free": {"models": ["cheap"]}, "pro": {"models": ["premium", "cheap"]}},
    }


def export_spans(service_name: str) -> bool:
    """True when this process exports spans: ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set, and either
    ``configure_telemetry()`` installed the SDK from the ``OTEL_*`` variables just now, or
    ``opentelemetry-instrument`` had installed one before (kept as it is)."""
    from llm_router_middleware import configure_telemetry

    return configure_telemetry(service_name) is not None


def demo_requests(slash: str = "") -> list[tuple[str, str, dict[str, str]]]:
    """(who, url, headers) of the demo; ``slash`` is "/" for Django's trailing-slash URLs."""
    alice = {"Authorization": "Bearer alice-token"}
    return [
        ("anonymous", f"/chat{slash}?q=hi", {}),
        ("anonymous + spoofed X-LLM-Tier: pro", f"/chat{slash}?q=hi", {"X-LLM-Tier": "pro"}),
        ("alice (pro)", f"/chat{slash}?q=hi", alice),
        (f"alice, /summary{slash} (cheap only)", f"/summary{slash}?q=report", alice),
    ]


def run_demo(
    get: Callable[[str, dict[str, str]], tuple[int, dict[str, Any]]], slash: str = ""
) -> list[DemoRow]:
    """Send the demo requests through ``get(url, headers) -> (status, json)``."""
    rows = []
    for who, url, headers in demo_requests(slash):
        status, body = get(url, headers)
        rows.append((who, url, status, body))
    return rows


def print_rows(rows: Sequence[DemoRow]) -> None:
    for who, url, status, body in rows:
        print(f"{who:38} {url:20} {status}  model={body.get('model')} tier={body.get('tier')}")

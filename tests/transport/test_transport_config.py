"""``transport`` per model: validated, resolved from "auto", errors name the key."""

from __future__ import annotations

from typing import Any

import pytest

from llm_router_middleware import ConfigError, load_config


def config(**model: Any) -> dict[str, Any]:
    entry = {"name": "m", "input_cost_per_1m": 1, "output_cost_per_1m": 2, "context_window": 8000}
    return {"models": [{**entry, **model}]}


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ({"model": "openai/gpt-4o-mini"}, "native"),
        ({"model": "openai/llama3", "api_base": "http://127.0.0.1:8000/v1"}, "native"),
        ({"model": "anthropic/claude-3-5-haiku"}, "litellm"),
        ({"model": "hosted_vllm/llama3", "api_base": "http://127.0.0.1:8000/v1"}, "litellm"),
        ({"model": "openai/gpt-4o-mini", "transport": "litellm"}, "litellm"),
        (
            {"model": "hosted_vllm/llama3", "api_base": "http://x:1/v1", "transport": "native"},
            "native",
        ),
    ],
)
def test_auto_picks_native_for_openai_compatible_models(
    model: dict[str, Any], expected: str
) -> None:
    assert load_config(config(**model)).models["m"].transport == expected


def test_native_without_an_openai_compatible_endpoint_names_the_key() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(config(model="anthropic/claude-3-5-haiku", transport="native"))
    assert "models[0].transport" in str(caught.value)
    assert "api_base" in str(caught.value)


def test_unknown_transport_names_the_key_and_the_choices() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(config(model="openai/gpt-4o-mini", transport="grpc"))
    assert "models[0].transport" in str(caught.value)
    assert "native" in str(caught.value)

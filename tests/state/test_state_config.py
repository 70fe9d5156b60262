"""``[state] on_unavailable``: validated at load, the error names the key."""

from __future__ import annotations

import os
import tomllib
from typing import Any

import pytest

from llm_router_middleware import ConfigError, load_config

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

MODEL = {
    "name": "m",
    "model": "openai/m-test",
    "input_cost_per_1m": 1.0,
    "output_cost_per_1m": 2.0,
    "context_window": 8000,
}


def config(**state: Any) -> dict[str, Any]:
    return {"models": [MODEL], "state": state}


def test_local_is_the_default() -> None:
    assert load_config(config()).state.on_unavailable == "local"


@pytest.mark.parametrize("value", ["local", "refuse"])
def test_both_modes_load(value: str) -> None:
    assert load_config(config(on_unavailable=value)).state.on_unavailable == value


@pytest.mark.parametrize("value", ["fail", "", 1, None, ["local"], True])
def test_anything_else_is_a_config_error_naming_the_key(value: Any) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(config(on_unavailable=value))
    assert caught.value.key == "state.on_unavailable"
    assert "local" in caught.value.message
    assert "refuse" in caught.value.message


def test_from_toml() -> None:
    data = tomllib.loads(
        '[[models]]\nname = "m"\nmodel = "openai/m-test"\ninput_cost_per_1m = 1\n'
        "output_cost_per_1m = 2\ncontext_window = 8000\n"
        '[state]\nbackend = "memory"\non_unavailable = "refuse"\n'
    )
    assert load_config(data).state.on_unavailable == "refuse"

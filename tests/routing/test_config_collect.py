"""Config feedback like a compiler's: every error of one load, each naming its key, with
"did you mean" for near misses; the secrets are needed only when asked for."""

from __future__ import annotations

import os
from typing import Any

import pytest

from llm_router_middleware import ConfigError
from llm_router_middleware.config import ConfigErrors, load_config

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


def model(name: str, **kw: Any) -> dict[str, Any]:
    return {
        "name": name,
        "model": f"openai/{name}-test",
        "input_cost_per_1m": 1.0,
        "output_cost_per_1m": 2.0,
        "context_window": 8000,
        **kw,
    }


def test_every_error_is_reported_at_once_with_suggestions() -> None:
    with pytest.raises(ConfigErrors) as caught:
        load_config(
            {
                "models": [model("cheap", quality=3, modle="typo"), model("premium", timeout_s=0)],
                "routing": {"strategy": "complexty", "fallbacks": ["premium", "chaep"]},
                "tiers": {"free": {"models": ["cheap"]}},
                "budgets": {"per_tier_usd": {"fre": 1.0}, "timezone": "Mars/Olympus"},
                "breaker": {"cooldown_s": -1},
            }
        )
    errors = caught.value.errors
    by_key = {e.key: e.problem for e in errors}
    assert set(by_key) == {
        "models[0].quality",
        "models[0].modle",
        "models[1].timeout_s",
        "routing.strategy",
        "routing.fallbacks[1]",
        "budgets.per_tier_usd.fre",
        "budgets.timezone",
        "breaker.cooldown_s",
    }
    assert "did you mean 'model'?" in by_key["models[0].modle"]
    assert "did you mean 'complexity'?" in by_key["routing.strategy"]
    assert "did you mean 'cheap'?" in by_key["routing.fallbacks[1]"]
    assert "did you mean 'free'?" in by_key["budgets.per_tier_usd.fre"]
    assert caught.value.key == "models[0].quality"  # still one ConfigError, keyed by the first
    assert isinstance(caught.value, ConfigError)
    assert "8 config errors" in str(caught.value)


def test_one_error_is_raised_as_itself() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config({"models": [model("cheap", quality=2)]})
    assert not isinstance(caught.value, ConfigErrors)
    assert str(caught.value) == "models[0].quality: must be at most 1, got 2"


def test_secrets_are_required_unless_asked_not_to(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ROUTER_TEST_KEY", raising=False)
    config = {"models": [model("cheap", api_key_env="ROUTER_TEST_KEY")]}
    with pytest.raises(ConfigError, match="ROUTER_TEST_KEY is not set"):
        load_config(config)
    assert load_config(config, require_env=False).models["cheap"].api_key_env == "ROUTER_TEST_KEY"


def test_a_broken_section_does_not_hide_the_others() -> None:
    with pytest.raises(ConfigErrors) as caught:
        load_config({"models": [{"name": "x"}], "state": {"backend": "redis"}})
    keys = [e.key for e in caught.value.errors]
    assert "models[0].model" in keys
    assert "state.redis_url" in keys

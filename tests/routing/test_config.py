"""Config loading errors: each names the key path (and the model) so users can fix it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from llm_router_middleware.config import load_config
from llm_router_middleware.errors import ConfigError

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


def model(name: str, **extra: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": name,
        "model": f"openai/{name}-test",
        "input_cost_per_1m": 1.0,
        "output_cost_per_1m": 2.0,
        "context_window": 8000,
    }
    spec.update(extra)
    return spec


def base(**extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"models": [model("cheap"), model("premium", quality=0.9)]}
    data.update(extra)
    return data


def error(data: Any) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config(data)
    return info.value


def test_valid_minimal_config_loads_with_defaults() -> None:
    config = load_config(base())
    assert tuple(config.models) == ("cheap", "premium")
    assert config.routing.strategy == "fixed"
    assert config.routing.fallbacks == ("cheap", "premium")
    assert config.models["cheap"].input_cost_per_token == pytest.approx(1e-6)
    assert config.budgets.timezone == "UTC"
    assert config.routing.default_tier in config.tiers


@pytest.mark.parametrize(
    ("data", "key"),
    [
        (base(colour="blue"), "colour"),
        ({"models": [model("cheap", colour="blue")]}, "models[0].colour"),
        (base(routing={"stratgy": "cost"}), "routing.stratgy"),
        (base(routing={"complexity": {"levls": {}}}), "routing.complexity.levls"),
        (base(routing={"cost": {"floor": 0.5}}), "routing.cost.floor"),
        (base(tiers={"free": {"model": ["cheap"]}}), "tiers.free.model"),
        (base(budgets={"per_user": 1.0}), "budgets.per_user"),
        (base(breaker={"threshold": 3}), "breaker.threshold"),
        (base(state={"url": "redis://"}), "state.url"),
        (
            base(
                routing={
                    "experiment": {
                        "name": "e",
                        "control": "cheap",
                        "treatment": "premium",
                        "share": 0.5,
                    }
                }
            ),
            "routing.experiment.share",
        ),
    ],
)
def test_unknown_keys_are_rejected_with_their_path(data: dict[str, Any], key: str) -> None:
    err = error(data)
    assert err.key == key
    assert str(err).startswith(f"{key}: unknown key")


def test_several_unknown_keys_are_all_named() -> None:
    err = error(base(alpha=1, beta=2))
    assert err.key == "alpha"
    assert "beta" in str(err)


@pytest.mark.parametrize(
    ("data", "key"),
    [
        (base(routing={"fallbacks": ["cheap", "gpt-5"]}), "routing.fallbacks[1]"),
        (base(tiers={"free": {"models": ["gpt-5"]}}), "tiers.free.models[0]"),
        (
            base(routing={"experiment": {"name": "e", "control": "cheap", "treatment": "gpt-5"}}),
            "routing.experiment.treatment",
        ),
        (
            base(routing={"experiment": {"name": "e", "control": "gpt-5", "treatment": "cheap"}}),
            "routing.experiment.control",
        ),
        (
            base(routing={"complexity": {"levels": {"complex": "gpt-5"}}}),
            "routing.complexity.levels.complex",
        ),
    ],
)
def test_unknown_model_names_are_rejected_naming_key_and_model(
    data: dict[str, Any], key: str
) -> None:
    err = error(data)
    assert err.key == key
    assert "'gpt-5'" in str(err)
    assert "cheap, premium" in str(err)  # the defined names, so the fix is obvious


def test_unknown_complexity_level_is_rejected() -> None:
    err = error(base(routing={"complexity": {"levels": {"huge": "premium"}}}))
    assert err.key == "routing.complexity.levels.huge"
    assert "simple, medium, complex" in str(err)


@pytest.mark.parametrize("key", ["input_cost_per_1m", "output_cost_per_1m"])
def test_negative_prices_are_rejected(key: str) -> None:
    err = error({"models": [model("cheap", **{key: -0.5})]})
    assert err.key == f"models[0].{key}"
    assert "at least 0" in str(err)
    assert "-0.5" in str(err)


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ({"quality": 1.5}, "models[0].quality"),
        ({"context_window": 0}, "models[0].context_window"),
        ({"timeout_s": 0}, "models[0].timeout_s"),
        ({"rpm": 0}, "models[0].rpm"),
        ({"quality": "high"}, "models[0].quality"),
        ({"params": {"model": "x"}}, "models[0].params.model"),
    ],
)
def test_bad_model_values_name_the_key(extra: dict[str, Any], key: str) -> None:
    assert error({"models": [model("cheap", **extra)]}).key == key


def test_missing_prices_for_a_model_litellm_does_not_know() -> None:
    spec = {"name": "mine", "model": "openai/not-a-real-model-xyz", "context_window": 4096}
    err = error({"models": [spec]})
    assert err.key == "models[0].input_cost_per_1m"
    assert "not-a-real-model-xyz" in str(err)
    assert "'mine'" in str(err)
    assert "output_cost_per_1m" in str(err)  # every missing key is listed


def test_prices_default_from_litellm_map_for_known_models() -> None:
    config = load_config({"models": [{"name": "big", "model": "openai/gpt-4o"}]})
    spec = config.models["big"]
    assert spec.input_cost_per_token > 0
    assert spec.output_cost_per_token > spec.input_cost_per_token
    assert spec.context_window >= 100_000


def test_duplicate_model_names_are_rejected() -> None:
    err = error({"models": [model("cheap"), model("cheap")]})
    assert err.key == "models[1].name"
    assert "duplicate" in str(err)


def test_no_models_is_an_error() -> None:
    assert error({"models": []}).key == "models"
    assert error({}).key == "models"


@pytest.mark.parametrize("tz", ["Mars/Olympus_Mons", "not a zone", "../etc/passwd"])
def test_bad_timezone_is_rejected(tz: str) -> None:
    err = error(base(budgets={"timezone": tz}))
    assert err.key == "budgets.timezone"
    assert tz in str(err)


def test_budget_values() -> None:
    assert error(base(budgets={"per_user_usd": -1})).key == "budgets.per_user_usd"
    assert error(base(budgets={"global_usd": "lots"})).key == "budgets.global_usd"
    err = error(base(budgets={"per_tier_usd": {"gold": 1.0}}))
    assert err.key == "budgets.per_tier_usd.gold"
    assert "'gold'" in str(err)
    err = error(base(tiers={"free": {}}, budgets={"per_tier_usd": {"free": -2}}))
    assert err.key == "budgets.per_tier_usd.free"
    assert error(base(budgets={"on_exhausted": "panic"})).key == "budgets.on_exhausted"
    assert error(base(budgets={"refuse_status": 500})).key == "budgets.refuse_status"


def test_budget_spec_values_load() -> None:
    config = load_config(
        base(
            tiers={"free": {"models": ["cheap"]}},
            budgets={
                "per_user_usd": 0.5,
                "per_tier_usd": {"free": 2},
                "global_usd": 0,
                "timezone": "Asia/Tokyo",
                "on_exhausted": "refuse",
                "refuse_status": 429,
            },
        )
    )
    b = config.budgets
    assert (b.per_user_usd, dict(b.per_tier_usd), b.global_usd) == (0.5, {"free": 2.0}, 0.0)
    assert (b.timezone, b.on_exhausted, b.refuse_status) == ("Asia/Tokyo", "refuse", 429)


def test_routing_values() -> None:
    assert error(base(routing={"strategy": "random"})).key == "routing.strategy"
    assert error(base(routing={"strategy": "experiment"})).key == "routing.experiment"
    assert error(base(routing={"fallbacks": ["cheap", "cheap"]})).key == "routing.fallbacks"
    assert error(base(routing={"max_attempts": 0})).key == "routing.max_attempts"
    err = error(base(routing={"complexity": {"medium_chars": 500, "complex_chars": 100}}))
    assert err.key == "routing.complexity.complex_chars"
    err = error(
        base(routing={"experiment": {"name": "e", "control": "cheap", "treatment": "cheap"}})
    )
    assert err.key == "routing.experiment.treatment"
    err = error(
        base(
            routing={
                "experiment": {
                    "name": "e",
                    "control": "cheap",
                    "treatment": "premium",
                    "treatment_share": 1.5,
                }
            }
        )
    )
    assert err.key == "routing.experiment.treatment_share"
    assert error(base(tiers={"free": {"strategy": "magic"}})).key == "tiers.free.strategy"


def test_keywords_are_lowercased_and_levels_default_by_quality() -> None:
    config = load_config(
        base(routing={"complexity": {"complex_keywords": ["Analyze", "Step By Step"]}})
    )
    c = config.routing.complexity
    assert c.complex_keywords == ("analyze", "step by step")
    assert dict(c.levels) == {"simple": "cheap", "medium": "premium", "complex": "premium"}


def test_toml_file_loads_and_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "router.toml"
    path.write_text(
        """
[[models]]
name = "cheap"
model = "openai/cheap-test"
input_cost_per_1m = 0.1
output_cost_per_1m = 0.4
context_window = 16000

[routing]
strategy = "complexity"
fallbacks = ["cheap"]
""",
        encoding="utf-8",
    )
    config = load_config(path)
    assert config.routing.strategy == "complexity"
    assert load_config(str(path)).models["cheap"].context_window == 16000

    missing = error(tmp_path / "nope.toml")
    assert "nope.toml" in str(missing)
    assert "does not exist" in str(missing)

    broken = tmp_path / "broken.toml"
    broken.write_text("[models\nname=", encoding="utf-8")
    assert "not valid TOML" in str(error(broken))


def test_api_key_and_env_are_exclusive_and_never_printed() -> None:
    err = error({"models": [model("cheap", api_key="sk-secret", api_key_env="KEY")]})
    assert err.key == "models[0].api_key"
    assert "sk-secret" not in str(err)
    config = load_config({"models": [model("cheap", api_key="sk-secret")]})
    assert "sk-secret" not in repr(config)

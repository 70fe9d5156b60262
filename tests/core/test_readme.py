"""The README's configuration example is complete and valid."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from llm_router_middleware import Router, load_config

README = Path(__file__).resolve().parents[2] / "README.md"


def toml_blocks() -> list[str]:
    return re.findall(r"```toml\n(.*?)```", README.read_text(), flags=re.S)


def test_the_configuration_example_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-readme")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-readme")
    config = load_config(tomllib.loads(toml_blocks()[0]))
    assert list(config.models) == ["premium", "balanced", "cheap"]
    assert config.models["balanced"].input_cost_per_token > 0  # from litellm's price map
    assert config.routing.complexity.levels["complex"] == "premium"
    assert config.budgets.per_tier_usd["free"] == 20.0
    router = Router(config)
    plan = router.plan([{"role": "user", "content": "hi"}])
    assert plan.tier == "free"
    assert plan.selected == "cheap"


def test_the_semantic_example_is_a_valid_section(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-readme")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-readme")
    base = tomllib.loads(toml_blocks()[0])
    semantic = tomllib.loads(next(b for b in toml_blocks() if "[routing.semantic]" in b))
    base["routing"]["strategy"] = "semantic"
    base["routing"]["semantic"] = semantic["routing"]["semantic"]
    config = load_config(base)
    assert config.routing.semantic is not None
    assert config.routing.semantic.routes[0].name == "billing"

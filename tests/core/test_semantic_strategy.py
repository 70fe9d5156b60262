"""Strategy "semantic" through the Router: the encoder picks the route, the planner the model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from core_support import Spans, base_config

from llm_router_middleware import ConfigError, RequestContext, Router
from llm_router_middleware.testing import FakeProvider


def semantic_config(provider: FakeProvider, tmp_path: Path, **extra: Any) -> dict[str, Any]:
    config = base_config(provider, tiers={"free": {"models": ["cheap", "balanced"]}, "pro": {}})
    config["routing"] = {
        "strategy": "semantic",
        "fallbacks": ["premium", "balanced", "cheap"],
        "semantic": {
            "cache_dir": str(tmp_path),
            "threshold": 0.5,
            "routes": [
                {
                    "name": "billing",
                    "model": "cheap",
                    "utterances": [
                        "I was charged twice for my order",
                        "where is my refund",
                        "update my credit card",
                        "why is my invoice so high",
                    ],
                },
                {
                    "name": "code",
                    "tiers": {"pro": "premium", "default": "balanced"},
                    "utterances": [
                        "fix this python stack trace",
                        "refactor my function",
                        "why does my code throw a null pointer exception",
                        "write a unit test for this class",
                    ],
                },
            ],
            **extra,
        },
    }
    return config


@pytest.fixture
def router(fake_provider: FakeProvider, tmp_path: Path) -> Router:
    return Router.from_config(semantic_config(fake_provider, tmp_path))


def ask(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def test_semantic_route_picks_the_model_per_tier(router: Router, spans: Spans) -> None:
    refund = router.plan(ask("I got billed two times, I want my money back"))
    assert refund.selected == "cheap"
    assert refund.attributes["semantic.route"] == "billing"
    assert "billing" in refund.reason
    pro = RequestContext(user_id="u", tier="pro")
    assert router.plan(ask("my python code crashes with a traceback"), pro).selected == "premium"
    free = RequestContext(user_id="u", tier="free")
    assert router.plan(ask("my python code crashes with a traceback"), free).selected == "balanced"
    reply = router.complete(ask("where is my refund for the double charge"))
    assert reply.routing.model == "cheap"
    attrs = dict(spans.route().attributes or {})
    assert attrs["llm_router.semantic.route"] == "billing"
    assert attrs["llm_router.semantic.score"] >= 0.5
    assert isinstance(attrs["llm_router.semantic.cached"], bool)


def test_no_match_falls_through_to_the_configured_strategy(
    fake_provider: FakeProvider, tmp_path: Path
) -> None:
    router = Router.from_config(semantic_config(fake_provider, tmp_path, fallthrough="cost"))
    plan = router.plan(ask("what a lovely sunset over the mountains today"))
    assert "semantic.route" not in plan.attributes
    assert plan.reason.startswith("semantic: no match")
    assert "cost:" in plan.reason
    assert plan.selected == "cheap"


def test_semantic_config_errors_name_the_key(fake_provider: FakeProvider, tmp_path: Path) -> None:
    config = semantic_config(fake_provider, tmp_path)
    config["routing"]["semantic"]["routes"][0]["model"] = "gpt-9"
    with pytest.raises(ConfigError) as caught:
        Router.from_config(config)
    assert "routing.semantic.routes[0]" in str(caught.value)
    assert "gpt-9" in str(caught.value)
    config = semantic_config(fake_provider, tmp_path, fallthrough="semantic")
    with pytest.raises(ConfigError, match="fallthrough"):
        Router.from_config(config)

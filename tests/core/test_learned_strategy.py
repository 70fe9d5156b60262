"""Strategy "learned" through the Router: the shipped model scores, the planner selects."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from core_support import Spans, base_config

from llm_router_middleware import ConfigError, RequestContext, Router, load_config
from llm_router_middleware.testing import FakeProvider

# a knowledge multiple-choice question: where a stronger model gains most in the training data
HARD = (
    "Which of the following best explains why the sky is blue? A. reflection of the ocean "
    "B. Rayleigh scattering C. absorption by ozone D. refraction"
)
EASY = "hi"


def learned_config(provider: FakeProvider, **learned: Any) -> dict[str, Any]:
    config = base_config(provider, tiers={"free": {}, "pro": {}})
    config["routing"] = {
        "strategy": "learned",
        "fallbacks": ["premium", "balanced", "cheap"],
        "learned": learned or {"threshold": 0.6},
    }
    return config


def ask(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


@pytest.fixture(scope="module")
def shared(
    _llm_router_fake_provider_server: FakeProvider,
) -> Router:
    return Router.from_config(learned_config(_llm_router_fake_provider_server))


def test_hard_prompts_go_to_the_strongest_easy_ones_to_the_cheapest(shared: Router) -> None:
    hard = shared.plan(ask(HARD))
    assert hard.selected == "premium"
    assert re.fullmatch(
        r"learned: difficulty 0\.\d\d >= 0\.60 \(threshold\) -> premium", hard.reason
    )
    assert hard.attributes["learned.difficulty"] >= 0.6
    assert hard.attributes["learned.required_quality"] == 0.9
    easy = shared.plan(ask(EASY))
    assert easy.selected == "cheap"
    assert re.fullmatch(r"learned: difficulty 0\.\d\d < 0\.60 \(threshold\) -> cheap", easy.reason)
    assert easy.attributes["learned.difficulty"] < 0.3
    assert easy.order[0] == "cheap"
    empty = shared.plan([{"role": "user", "content": ""}])
    assert empty.selected == "cheap"
    assert "empty prompt" in empty.reason


def test_the_knob_per_tier_and_the_reason(fake_provider: FakeProvider) -> None:
    router = Router.from_config(
        learned_config(fake_provider, strong_share=0.4, tiers={"free": {"strong_share": 0.0}})
    )
    plan = router.plan(ask(HARD), RequestContext(user_id="u", tier="pro"))
    assert plan.selected == "premium"
    assert plan.reason.endswith("(strong_share 0.4) -> premium")
    assert plan.attributes["learned.strong_share"] == 0.4
    free = router.plan(ask(HARD), RequestContext(user_id="u", tier="free"))
    assert free.selected != "premium"
    assert "(strong_share 0), >= 0.50 for quality 0.7 -> balanced" in free.reason


def test_an_open_breaker_on_the_strongest_takes_the_best_available(
    fake_provider: FakeProvider,
) -> None:
    router = Router.from_config(learned_config(fake_provider, threshold=0.6, feedback=False))
    for _ in range(5):
        router.breakers.record_failure("premium")
    plan = router.plan(ask(HARD))
    assert plan.selected == "balanced"
    assert "premium unavailable (breaker_open)" in plan.reason
    assert "best available balanced" in plan.reason


def test_a_call_records_the_learned_span_attributes(shared: Router, spans: Spans) -> None:
    reply = shared.complete(ask(HARD))
    assert reply.routing.model == "premium"
    attrs = dict(spans.route().attributes or {})
    assert attrs["llm_router.learned.difficulty"] >= 0.6
    assert attrs["llm_router.learned.threshold"] == 0.6
    assert isinstance(attrs["llm_router.learned.cached"], bool)


def test_config_errors_name_the_key(fake_provider: FakeProvider, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"routing\.learned\.threshold.*not both"):
        Router.from_config(learned_config(fake_provider, threshold=0.6, strong_share=0.2))
    with pytest.raises(ConfigError, match=r"routing\.learned\.thershold.*unknown key"):
        Router.from_config(learned_config(fake_provider, threshold=0.6, thershold=0.5))
    with pytest.raises(ConfigError, match=r"routing\.learned\.tiers\.gold"):
        Router.from_config(learned_config(fake_provider, tiers={"gold": {"strong_share": 0.5}}))
    stale = tmp_path / "stale.npz"
    stale.write_bytes(b"an old pickle")
    with pytest.raises(ConfigError, match=r"routing\.learned\.model.*stale\.npz"):
        Router.from_config(learned_config(fake_provider, model=str(stale)))


def test_the_readme_learned_example_is_a_valid_section(fake_provider: FakeProvider) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    blocks = re.findall(r"```toml\n(.*?)```", readme, flags=re.S)
    section = tomllib.loads(next(b for b in blocks if "[routing.learned]" in b))
    config = learned_config(fake_provider, **section["routing"]["learned"])
    config["tiers"] = {"free": {}}
    loaded = load_config(config)
    assert loaded.routing.learned.knob.strong_share == 0.3
    assert loaded.routing.learned.knob_for("free").threshold == 0.9

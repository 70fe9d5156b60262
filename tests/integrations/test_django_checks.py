"""`manage.py check` fails on a broken LLM_ROUTER, an LLM_ROUTER_TIER that names nothing and a
view policy naming a model its tier forbids; every config error is listed at once."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import Client, override_settings
from llm_router_middleware.integrations.django_checks import check_llm_router


def messages(**overrides: Any) -> list[tuple[str, str]]:
    with override_settings(**overrides):
        return [(m.id, m.msg) for m in check_llm_router()]


def test_a_valid_configuration_passes(router_config: dict[str, Any]) -> None:
    with override_settings(LLM_ROUTER=router_config):
        call_command("check", verbosity=0)
    assert [i for i, _ in messages(LLM_ROUTER=router_config)] == ["llm_router.W001"]  # auth User


def test_manage_py_check_fails_on_a_broken_config(router_config: dict[str, Any]) -> None:
    broken = {**router_config, "routing": {"strategy": "complexty", "fallbacks": ["chep"]}}
    with override_settings(LLM_ROUTER=broken), pytest.raises(SystemCheckError) as caught:
        call_command("check", verbosity=0)
    text = str(caught.value)
    assert "routing.strategy" in text
    assert "did you mean 'complexity'?" in text
    assert "routing.fallbacks[0]" in text
    assert "did you mean 'cheap'?" in text
    found = messages(LLM_ROUTER=broken)
    assert [i for i, _ in found].count("llm_router.E001") == 2  # every error, each its own


def test_tier_setting_that_names_nothing(router_config: dict[str, Any]) -> None:
    missing = "llm_router_middleware.integrations.tier_for"  # a dotted path to nothing
    found = messages(LLM_ROUTER=router_config, LLM_ROUTER_TIER=missing)
    assert [i for i, _ in found] == ["llm_router.E003"]
    assert "names nothing" in found[0][1]
    assert "W001" in messages(LLM_ROUTER=router_config, LLM_ROUTER_TIER="profle.plan")[0][0]


def test_a_request_whose_user_lacks_the_tier_attribute_is_an_error(
    router_config: dict[str, Any],
) -> None:
    with override_settings(LLM_ROUTER=router_config, LLM_ROUTER_TIER="profle.plan"):
        client = Client()
        client.cookies["login"] = "alice:pro"
        response = client.get("/sync/chat/lobby/")
    assert response.status_code == 500
    assert "names nothing" in response.json()["error"]["message"]  # not the default tier


def test_a_view_policy_naming_a_model_its_tier_forbids(router_config: dict[str, Any]) -> None:
    # the test app's views use llm_policy(tier="pro", models=["cheap"]); make "pro" forbid it
    config = {**router_config, "tiers": {**router_config["tiers"], "pro": {"models": ["premium"]}}}
    found = messages(LLM_ROUTER=config)
    policy_errors = [m for i, m in found if i == "llm_router.E004"]
    assert len(policy_errors) == 2
    assert all("'cheap' not allowed for tier 'pro'" in m for m in policy_errors)
    assert any("policy_sync" in m for m in policy_errors)

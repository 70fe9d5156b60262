"""Django: request.llm under WSGI (Client) and ASGI (AsyncClient), sync and async views."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.core.exceptions import ImproperlyConfigured
from django.test import AsyncClient, Client, override_settings
from integration_support import SPOOFED, Spans, make_config
from llm_router_middleware.integrations import django as integration

from llm_router_middleware import Router
from llm_router_middleware.testing import Behavior, FakeProvider

# (server stack, view kind): sync views under ASGI run in Django's thread pool
MODES = [("wsgi", "sync"), ("wsgi", "async"), ("asgi", "sync"), ("asgi", "async")]
IDS = ["-".join(m) for m in MODES]


def get(
    mode: tuple[str, str],
    path: str,
    *,
    login: str | None = None,
    headers: dict[str, str] | None = None,
) -> Any:
    stack, view = mode
    url = path.format(view=view)
    client: Client | AsyncClient = Client() if stack == "wsgi" else AsyncClient()
    if login:
        client.cookies["login"] = login
    if isinstance(client, Client):
        return client.get(url, headers=headers)
    return async_to_sync(client.get)(url, headers=headers)


@pytest.fixture
def llm_settings(router_config: dict[str, Any]) -> Iterator[dict[str, Any]]:
    with override_settings(LLM_ROUTER=router_config):
        yield router_config


@pytest.mark.parametrize("mode", MODES, ids=IDS)
def test_anonymous_request_gets_the_default_tier(
    mode: tuple[str, str], llm_settings: dict[str, Any], fake_provider: FakeProvider
) -> None:
    response = get(mode, "/{view}/chat/lobby/")
    assert response.status_code == 200
    body = response.json()
    assert body["model"] == "cheap"
    assert body["tier"] == "free"
    assert body["user_id"] is None
    assert body["content"] == "Hello from the fake provider."
    assert body["same_handle"] is True  # get_llm() sees the handle, in threads too
    assert fake_provider.count("fake-cheap") == 1


@pytest.mark.parametrize("mode", MODES, ids=IDS)
def test_authenticated_user_gets_the_tier_of_their_profile(
    mode: tuple[str, str], llm_settings: dict[str, Any], fake_provider: FakeProvider
) -> None:
    body = get(mode, "/{view}/chat/lobby/", login="alice:pro").json()
    assert (body["model"], body["tier"], body["user_id"]) == ("premium", "pro", "alice")
    assert fake_provider.count("fake-premium") == 1


@pytest.mark.parametrize("mode", MODES, ids=IDS)
def test_spoofed_tier_headers_change_nothing(
    mode: tuple[str, str], llm_settings: dict[str, Any], fake_provider: FakeProvider
) -> None:
    body = get(mode, "/{view}/chat/lobby/", headers=SPOOFED).json()
    assert (body["model"], body["tier"], body["user_id"]) == ("cheap", "free", None)
    body = get(mode, "/{view}/chat/lobby/", login="bob:", headers=SPOOFED).json()
    assert (body["model"], body["tier"], body["user_id"]) == ("cheap", "free", "bob")
    assert fake_provider.count("fake-premium") == 0


@pytest.mark.parametrize("mode", MODES, ids=IDS)
def test_fallback_when_the_first_model_fails(
    mode: tuple[str, str], llm_settings: dict[str, Any], fake_provider: FakeProvider
) -> None:
    fake_provider.set("fake-premium", Behavior(status=503))
    body = get(mode, "/{view}/chat/lobby/", login="alice:pro").json()
    assert (body["model"], body["fallback_count"]) == ("cheap", 1)


@pytest.mark.parametrize("mode", MODES, ids=IDS)
def test_all_models_failed_is_a_json_502(
    mode: tuple[str, str], llm_settings: dict[str, Any], fake_provider: FakeProvider
) -> None:
    fake_provider.set("fake-cheap", Behavior(status=503))
    response = get(mode, "/{view}/chat/lobby/")
    assert response.status_code == 502
    assert response["content-type"] == "application/json"
    error = response.json()["error"]
    assert error["type"] == "all_models_failed"
    assert [a["model"] for a in error["attempts"]] == ["cheap"]


@pytest.mark.parametrize("mode", MODES, ids=IDS)
def test_exhausted_budget_is_a_json_402(mode: tuple[str, str], fake_provider: FakeProvider) -> None:
    config = make_config(
        fake_provider, budgets={"per_tier_usd": {"free": 0.0}, "on_exhausted": "refuse"}
    )
    with override_settings(LLM_ROUTER=config):
        response = get(mode, "/{view}/chat/lobby/")
    assert response.status_code == 402
    assert response.json()["error"]["type"] == "budget_exhausted"
    assert fake_provider.count() == 0


@pytest.mark.parametrize("mode", MODES, ids=IDS)
def test_llm_policy_narrows_one_view(
    mode: tuple[str, str], llm_settings: dict[str, Any], fake_provider: FakeProvider
) -> None:
    body = get(mode, "/{view}/policy/", login="carol:free").json()
    assert (body["model"], body["tier"], body["user_id"]) == ("cheap", "pro", "carol")
    assert body["same_handle"] is True  # get_llm() returns the narrowed handle
    assert fake_provider.count("fake-premium") == 0


@pytest.mark.parametrize("mode", MODES, ids=IDS)
def test_async_context_resolver_in_sync_and_async_views(
    mode: tuple[str, str], llm_settings: dict[str, Any]
) -> None:
    with override_settings(LLM_ROUTER_CONTEXT="django_test_app.async_context"):
        body = get(mode, "/{view}/chat/lobby/", headers=SPOOFED).json()
    assert (body["model"], body["user_id"]) == ("premium", "from-async-resolver")


@pytest.mark.parametrize("mode", MODES, ids=IDS)
def test_endpoint_is_the_route_template(
    mode: tuple[str, str], llm_settings: dict[str, Any], spans: Spans
) -> None:
    assert get(mode, "/{view}/chat/room-42/").status_code == 200
    route = spans.route()
    assert route.name == "route fixed"
    assert route.attributes is not None
    assert route.attributes["llm_router.endpoint"] == f"{mode[1]}/chat/<str:room>/"
    assert route.attributes["llm_router.tier"] == "free"
    [attempt] = spans.named("chat ")
    assert attempt.parent is not None
    assert attempt.parent.span_id == route.context.span_id


@pytest.mark.parametrize("mode", MODES, ids=IDS)
def test_a_view_that_does_not_use_the_llm_costs_no_call(
    mode: tuple[str, str],
    llm_settings: dict[str, Any],
    fake_provider: FakeProvider,
    spans: Spans,
) -> None:
    assert get(mode, "/{view}/plain/").json() == {"ok": True}
    assert fake_provider.count() == 0
    assert spans.named("route ") == []


def test_settings_are_validated_at_startup(fake_provider: FakeProvider) -> None:
    with (
        override_settings(LLM_ROUTER={"models": []}),
        pytest.raises(ImproperlyConfigured, match=r"LLM_ROUTER: models"),
    ):
        Client().get("/sync/plain/")
    with override_settings(LLM_ROUTER=None), pytest.raises(ImproperlyConfigured, match="not set"):
        Client().get("/sync/plain/")
    config = make_config(fake_provider)
    with (
        override_settings(LLM_ROUTER=config, LLM_ROUTER_TIER=42),
        pytest.raises(ImproperlyConfigured, match="LLM_ROUTER_TIER"),
    ):
        Client().get("/sync/plain/")
    with (
        override_settings(LLM_ROUTER=config, LLM_ROUTER_CONTEXT="no.such.resolver"),
        pytest.raises(ImproperlyConfigured, match="LLM_ROUTER_CONTEXT"),
    ):
        Client().get("/sync/plain/")


def test_toml_path_and_a_cached_router(tmp_path: Path, fake_provider: FakeProvider) -> None:
    toml = tmp_path / "router.toml"
    toml.write_text(f"""
[[models]]
name = "cheap"
model = "openai/fake-cheap"
api_base = "{fake_provider.base_url}"
api_key = "sk-test"
input_cost_per_1m = 0.1
output_cost_per_1m = 0.2
context_window = 8000
""")
    with override_settings(LLM_ROUTER=str(toml)):
        router = integration.get_router()
        assert isinstance(router, Router)
        assert integration.get_router() is router
        body = Client().get("/sync/chat/x/").json()
        assert body["model"] == "cheap"
    with override_settings(LLM_ROUTER=str(toml)):
        assert integration.get_router() is not router  # a settings change rebuilds it


def test_tier_setting_may_be_a_dotted_callable(
    llm_settings: dict[str, Any], fake_provider: FakeProvider
) -> None:
    with override_settings(LLM_ROUTER_TIER="integration_support.tier_of_user"):
        body = Client().get("/sync/chat/x/", headers={"cookie": "login=vip:free"}).json()
    assert (body["tier"], body["model"]) == ("premium", "premium")


@pytest.fixture
def django_instrumented() -> Iterator[None]:
    from opentelemetry.instrumentation.django import DjangoInstrumentor

    instrumentor = DjangoInstrumentor()
    instrumentor.instrument()
    try:
        yield
    finally:
        instrumentor.uninstrument()


@pytest.mark.parametrize("mode", MODES, ids=IDS)
def test_route_span_is_a_child_of_the_django_server_span(
    mode: tuple[str, str],
    llm_settings: dict[str, Any],
    django_instrumented: None,
    spans: Spans,
) -> None:
    assert get(mode, "/{view}/chat/lobby/").status_code == 200
    server, route = spans.server(), spans.route()
    assert server.name == f"GET {mode[1]}/chat/<str:room>/"
    assert route.context.trace_id == server.context.trace_id
    assert route.parent is not None
    assert route.parent.span_id == server.context.span_id

"""Capabilities as filters: tools, JSON output, images and audio go only to models that support
them; the others are rejected with code ``capability``, or the call is a 400 when none can."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from core_support import Spans, base_config, model

from llm_router_middleware import (
    ConfigError,
    RequestContext,
    Router,
    UnsupportedFeatureError,
    load_config,
)
from llm_router_middleware.routing.capabilities import lacking, model_lacks, required_features
from llm_router_middleware.testing import FakeProvider

TOOLS = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]
HI = [{"role": "user", "content": "hi"}]
IMAGE = [
    {
        "role": "user",
        "content": [
            {"type": "text", "text": "what is in this picture?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
        ],
    }
]
MODES = ["sync", "async"]


def _router(provider: FakeProvider, transport: str) -> Router:
    config = base_config(provider, transport)
    premium, balanced, cheap = config["models"]
    premium["supports"] = ["json_schema"]  # no tools, no vision
    balanced["supports"] = ["tools"]
    cheap["supports"] = ["tools", "vision", "json_schema"]
    return Router.from_config(config)


def _call(router: Router, mode: str, messages: Any = HI, **params: Any) -> Any:
    handle = router.handle(RequestContext(user_id="u1"))
    if mode == "sync":
        return handle.complete(messages, **params)
    return asyncio.run(handle.acomplete(messages, **params))


@pytest.mark.parametrize("mode", MODES)
def test_a_tools_request_skips_a_model_without_tools_and_names_it(
    mode: str, fake_provider: FakeProvider, transport: str, spans: Spans
) -> None:
    router = _router(fake_provider, transport)
    reply = _call(router, mode, HI, tools=TOOLS, tool_choice="auto")
    assert reply.routing.model == "balanced"
    assert fake_provider.count("fake-premium") == 0
    assert fake_provider.count("fake-balanced") == 1
    rejected = {r.model: r for r in reply.routing.plan.rejected}
    assert rejected["premium"].code == "capability"
    assert rejected["premium"].reason == "premium: does not support tools (the request needs it)"
    events = [e for e in spans.route().events if e.name == "llm_router.candidate_rejected"]
    assert [(e.attributes or {}).get("llm_router.filter") for e in events] == ["capability"]


def test_each_feature_filters_on_its_own(fake_provider: FakeProvider) -> None:
    router = _router(fake_provider, "native")
    handle = router.handle(RequestContext(user_id="u1"))
    assert handle.plan(HI).order == ("premium", "balanced", "cheap")
    assert handle.plan(IMAGE).order == ("cheap",)
    schema = {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}}
    assert handle.plan(HI, response_format=schema).order == ("premium", "cheap")
    # JSON mode comes with JSON schema: premium declares only the latter
    plan = handle.plan(HI, response_format={"type": "json_object"})
    assert plan.order == ("premium", "cheap")
    reasons = [r.reason for r in handle.plan(IMAGE, tools=TOOLS).rejected]
    assert reasons == [
        "premium: does not support tools, vision (the request needs it)",
        "balanced: does not support vision (the request needs it)",
    ]


@pytest.mark.parametrize("mode", MODES)
def test_no_capable_model_is_a_400_before_any_provider_is_tried(
    mode: str, fake_provider: FakeProvider, caplog: pytest.LogCaptureFixture
) -> None:
    router = _router(fake_provider, "native")
    with (
        caplog.at_level(logging.INFO, logger="llm_router_middleware"),
        pytest.raises(UnsupportedFeatureError) as caught,
    ):
        _call(router, mode, HI, modalities=["text", "audio"], audio={"voice": "alloy"})
    lines = [r for r in caplog.records if r.getMessage().startswith("llm_router decision")]
    assert [r.llm_router["outcome"] for r in lines] == ["unsupported_feature"]  # type: ignore[attr-defined]
    error = caught.value
    assert error.status_code == 400
    assert error.features == ("audio",)
    assert "no model this request may use supports what it needs (audio)" in error.message
    assert "cheap: does not support audio" in error.message
    assert error.to_json()["error"]["features"] == ["audio"]
    assert fake_provider.count() == 0


def test_models_without_supports_fall_back_to_litellm_model_info(
    fake_provider: FakeProvider,
) -> None:
    # litellm knows gpt-3.5-turbo (tools, no vision) and gpt-4o (tools and vision); it does not
    # know fake-balanced, which is therefore not filtered
    config = {
        "models": [
            {**model(fake_provider, "old", 0.5), "model": "openai/gpt-3.5-turbo"},
            {**model(fake_provider, "new", 0.5), "model": "openai/gpt-4o"},
            model(fake_provider, "unknown", 0.5),
        ]
    }
    loaded = load_config(config)
    assert loaded.models["old"].lacks is None  # read from litellm when first needed
    assert model_lacks(loaded.models["old"]) >= {"vision", "json_schema"}
    assert "tools" not in model_lacks(loaded.models["old"])
    assert "vision" not in model_lacks(loaded.models["new"])
    assert model_lacks(loaded.models["unknown"]) == frozenset()
    plan = Router(loaded).handle(RequestContext(user_id="u1")).plan(IMAGE)
    assert plan.order == ("new", "unknown")
    assert [(r.model, r.code) for r in plan.rejected] == [("old", "capability")]


def test_an_unknown_feature_in_supports_names_the_key(fake_provider: FakeProvider) -> None:
    config = base_config(fake_provider)
    config["models"][1]["supports"] = ["tools", "visoin"]
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    assert caught.value.key == "models[1].supports[1]"
    assert "did you mean 'vision'?" in caught.value.message


def test_required_features_reads_params_and_parts() -> None:
    assert required_features(HI, {}) == frozenset()
    assert required_features(HI, {"tool_choice": "none"}) == frozenset()
    assert required_features(HI, {"tools": TOOLS}) == {"tools"}
    assert required_features(HI, {"functions": [{"name": "f"}]}) == {"tools"}
    assert required_features(HI, {"response_format": {"type": "text"}}) == frozenset()
    audio_part = {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}
    assert required_features([{"role": "user", "content": [audio_part]}], {}) == {"audio"}
    assert required_features(IMAGE, {}) == {"vision"}
    assert required_features("not a list", {}) == frozenset()  # validation reports it


def test_lacking_from_supports_and_from_info() -> None:
    assert lacking(["tools", "vision", "json_schema", "audio"], None) == frozenset()
    assert lacking(["tools"], {"supports_vision": True}) == {
        "json_mode",
        "json_schema",
        "vision",
        "audio",
    }
    assert lacking(None, None) == frozenset()
    assert lacking(None, {"supports_audio_output": True, "supports_function_calling": True}) == {
        "json_schema",
        "vision",
    }

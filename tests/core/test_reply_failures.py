"""Empty or content-filtered 200 replies are failures of the model: they count on its breaker,
the call falls back, and the attempt carries its own kind (and is charged what it used)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from core_support import HI, Spans, base_config, streamed

from llm_router_middleware import AllModelsFailedError, ConfigError, RequestContext, Router
from llm_router_middleware.resilience import ErrorKind
from llm_router_middleware.resilience.replies import UnusableReplyError, check_reply
from llm_router_middleware.testing import Behavior, FakeProvider
from llm_router_middleware.transport.reply import Reply

MODES = ["sync", "async"]
ONE_STRIKE = {"consecutive_failures": 1, "cooldown_s": 60}


def _call(router: Router, mode: str) -> Any:
    handle = router.handle(RequestContext(user_id="u1"))
    if mode == "sync":
        return handle.complete(HI)
    return asyncio.run(handle.acomplete(HI))


@pytest.mark.parametrize("mode", MODES)
def test_an_empty_200_falls_back_counts_on_the_breaker_and_is_charged(
    mode: str, make_router: Callable[..., Router], fake_provider: FakeProvider, spans: Spans
) -> None:
    fake_provider.set("fake-premium", Behavior(reply="", prompt_tokens=1000, completion_tokens=0))
    fake_provider.set(
        "fake-balanced", Behavior(reply="fine", prompt_tokens=10, completion_tokens=5)
    )
    router = make_router(breaker=ONE_STRIKE)
    reply = _call(router, mode)
    assert reply.choices[0].message.content == "fine"
    routing = reply.routing
    assert routing.model == "balanced"
    first = routing.attempts[0]
    assert (first.model, first.outcome, first.error_type) == ("premium", "error", "empty_reply")
    assert first.status_code == 200
    assert "no content and no tool call" in (first.error_message or "")
    status = {s.model: s for s in router.models_status()}
    assert status["premium"].breaker == "open"  # one strike opens it: the empty reply counted
    # premium's 1000 prompt tokens were billed ($10/M) on top of balanced's reply
    spent = router.spend(RequestContext(user_id="u1")).scopes[0].spent_usd
    assert spent == pytest.approx(1000 * 10e-6 + 10 * 3e-6 + 5 * 6e-6)
    attempt = spans.named("chat fake-premium")[0]
    assert (attempt.attributes or {})["llm_router.error.kind"] == "empty_reply"


@pytest.mark.parametrize("mode", MODES)
def test_a_content_filter_finish_falls_back_with_its_own_kind(
    mode: str, make_router: Callable[..., Router], fake_provider: FakeProvider
) -> None:
    fake_provider.set("fake-premium", Behavior(reply="I can", finish_reason="content_filter"))
    reply = _call(make_router(), mode)
    assert reply.routing.model == "balanced"
    assert reply.routing.attempts[0].error_type == "content_filtered"


def test_which_replies_count_is_configured_per_routing_and_per_model(
    fake_provider: FakeProvider,
) -> None:
    fake_provider.set("fake-premium", Behavior(reply="", finish_reason="length"))
    config = base_config(
        fake_provider,
        "native",
        routing={
            "strategy": "fixed",
            "fallbacks": ["premium", "balanced", "cheap"],
            "reply_failures": [],
        },
    )
    lenient = Router.from_config(config)
    assert _call(lenient, "sync").routing.model == "premium"  # nothing counts: served as is
    config["models"][0]["reply_failures"] = ["length"]
    strict = Router.from_config(config)
    reply = _call(strict, "sync")
    assert reply.routing.model == "balanced"
    assert reply.routing.attempts[0].error_type == "truncated"
    assert strict.config.models["balanced"].reply_failures == frozenset()


def test_an_unknown_reply_failure_names_the_key(fake_provider: FakeProvider) -> None:
    config = base_config(fake_provider)
    config["models"][2]["reply_failures"] = ["empty", "filtered"]
    with pytest.raises(ConfigError) as caught:
        Router.from_config(config)
    assert caught.value.key == "models[2].reply_failures[1]"
    assert "empty, content_filter, length" in caught.value.message


def test_when_every_model_answers_empty_all_attempts_say_so(
    make_router: Callable[..., Router], fake_provider: FakeProvider
) -> None:
    fake_provider.set_default(Behavior(reply="   "))
    with pytest.raises(AllModelsFailedError) as caught:
        _call(make_router(), "sync")
    assert [a.error_type for a in caught.value.attempts] == ["empty_reply"] * 3
    assert caught.value.status_code == 502


@pytest.mark.parametrize("mode", MODES)
def test_an_empty_stream_falls_back_before_the_first_chunk(
    mode: str, make_router: Callable[..., Router], fake_provider: FakeProvider
) -> None:
    fake_provider.set("fake-premium", Behavior(reply=""))
    fake_provider.set("fake-balanced", Behavior(reply="streamed fine"))
    router = make_router(breaker=ONE_STRIKE)
    text, routing = streamed(router, mode)
    assert text == "streamed fine"
    assert routing.model == "balanced"
    assert routing.attempts[0].error_type == "empty_reply"
    assert {s.model: s.breaker for s in router.models_status()}["premium"] == "open"


@pytest.mark.parametrize("mode", MODES)
def test_a_stream_filtered_before_any_content_falls_back(
    mode: str, make_router: Callable[..., Router], fake_provider: FakeProvider
) -> None:
    fake_provider.set("fake-premium", Behavior(reply="", finish_reason="content_filter"))
    text, routing = streamed(make_router(), mode)
    assert routing.model == "balanced"
    assert routing.attempts[0].error_type == "content_filtered"
    assert text


def test_tool_calls_and_text_are_usable_replies() -> None:
    failures = frozenset({"empty", "content_filter"})
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    tool_reply = Reply(
        {
            "choices": [
                {"message": {"content": None, "tool_calls": [call]}, "finish_reason": "tool_calls"}
            ]
        }
    )
    check_reply(tool_reply, failures)  # no error
    check_reply(
        Reply({"choices": [{"message": {"content": "ok"}, "finish_reason": "stop"}]}), failures
    )
    with pytest.raises(UnusableReplyError) as caught:
        check_reply(Reply({"choices": []}), failures)
    assert caught.value.error_kind is ErrorKind.EMPTY_REPLY


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("failures", [["empty", "content_filter"], []])
def test_a_stream_without_a_single_chunk_falls_back_and_is_charged_its_prompt(
    mode: str, failures: list[str], fake_provider: FakeProvider, transport: str
) -> None:
    from llm_router_middleware.messages import count_tokens

    fake_provider.set("fake-premium", Behavior(empty_stream=True))
    fake_provider.set(
        "fake-balanced", Behavior(reply="streamed fine", prompt_tokens=10, completion_tokens=5)
    )
    routing_section = {
        "strategy": "fixed",
        "fallbacks": ["premium", "balanced", "cheap"],
        "reply_failures": failures,
    }
    router = Router.from_config(
        base_config(fake_provider, transport, routing=routing_section, breaker=ONE_STRIKE)
    )
    text, routing = streamed(router, mode)
    assert text == "streamed fine"
    assert routing.model == "balanced"
    first = routing.attempts[0]
    assert (first.model, first.error_type) == ("premium", "empty_reply")
    assert {s.model: s.breaker for s in router.models_status()}["premium"] == "open"
    # no usage came back: premium is charged the prompt as planned, balanced its usage
    spent = router.spend(RequestContext(user_id="u1")).scopes[0].spent_usd
    assert spent == pytest.approx(count_tokens(HI) * 10e-6 + 10 * 3e-6 + 5 * 6e-6)


@pytest.mark.parametrize("mode", MODES)
def test_a_stream_screened_out_is_charged_its_prompt(
    mode: str, make_router: Callable[..., Router], fake_provider: FakeProvider
) -> None:
    from llm_router_middleware.messages import count_tokens

    fake_provider.set("fake-premium", Behavior(reply=""))
    fake_provider.set(
        "fake-balanced", Behavior(reply="streamed fine", prompt_tokens=10, completion_tokens=5)
    )
    router = make_router()
    text, routing = streamed(router, mode)
    assert (text, routing.model) == ("streamed fine", "balanced")
    spent = router.spend(RequestContext(user_id="u1")).scopes[0].spent_usd
    assert spent == pytest.approx(count_tokens(HI) * 10e-6 + 10 * 3e-6 + 5 * 6e-6)


class _Recording:
    """The real transport, noting each stream it opens and each close (sync) or aclose (async)."""

    def __init__(self, real: Any, closed: list[str]) -> None:
        self.real, self.closed = real, closed

    def stream(self, kwargs: dict[str, Any]) -> Any:
        self.closed.append("open " + kwargs["model"])
        return _Opened(self.real.stream(kwargs), kwargs["model"], self.closed)

    async def astream(self, kwargs: dict[str, Any]) -> Any:
        self.closed.append("open " + kwargs["model"])
        return _AOpened(await self.real.astream(kwargs), kwargs["model"], self.closed)


class _Opened:
    def __init__(self, chunks: Any, model: str, closed: list[str]) -> None:
        self.chunks, self.model, self.closed = iter(chunks), model, closed

    def __iter__(self) -> Any:
        return self

    def __next__(self) -> Any:
        return next(self.chunks)

    def close(self) -> None:
        self.closed.append("close " + self.model)
        getattr(self.chunks, "close", lambda: None)()


class _AOpened:
    def __init__(self, chunks: Any, model: str, closed: list[str]) -> None:
        self.chunks, self.model, self.closed = chunks, model, closed

    def __aiter__(self) -> Any:
        return self

    async def __anext__(self) -> Any:
        return await self.chunks.__anext__()

    async def aclose(self) -> None:
        self.closed.append("close " + self.model)
        aclose = getattr(self.chunks, "aclose", None)
        if aclose is not None:
            await aclose()


@pytest.mark.parametrize("mode", MODES)
def test_a_screened_out_stream_is_closed_before_the_fallback(
    mode: str,
    make_router: Callable[..., Router],
    fake_provider: FakeProvider,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Left to the garbage collector, an abandoned litellm sync stream closed its response from
    inside httpcore's pool lock on a later request and hung the process."""
    import llm_router_middleware.client as client_module

    closed: list[str] = []
    real = client_module.transport_for
    monkeypatch.setattr(client_module, "transport_for", lambda spec: _Recording(real(spec), closed))
    fake_provider.set("fake-premium", Behavior(reply=""))
    fake_provider.set("fake-balanced", Behavior(reply="streamed fine"))
    text, routing = streamed(make_router(), mode)
    assert (text, routing.model) == ("streamed fine", "balanced")
    events = [event.replace("openai/", "") for event in closed]  # litellm's provider prefix
    assert events[:3] == ["open fake-premium", "close fake-premium", "open fake-balanced"]

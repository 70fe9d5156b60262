"""complete()/acomplete() end to end: litellm over real HTTP to the fake provider."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import pytest
from core_support import SECRET, Spans, base_config, finished, model
from opentelemetry.trace import SpanKind, StatusCode

from llm_router_middleware import (
    AllModelsFailedError,
    BudgetExhaustedError,
    DeadlineExceededError,
    InvalidRequestError,
    ProviderRequestError,
    RequestContext,
    Router,
)
from llm_router_middleware.testing import Behavior, FakeProvider

HI = [{"role": "user", "content": "hi"}]
MODES = ["sync", "async"]


def call(
    router: Router,
    mode: str,
    messages: Any = HI,
    context: RequestContext | None = None,
    **params: Any,
) -> Any:
    handle = router.handle(context or RequestContext(user_id="u1"))
    if mode == "sync":
        return handle.complete(messages, **params)
    return asyncio.run(handle.acomplete(messages, **params))


@pytest.mark.parametrize("mode", MODES)
def test_first_choice_answers_and_reports_routing(
    mode: str, make_router: Callable[..., Router], fake_provider: FakeProvider, spans: Spans
) -> None:
    fake_provider.set(
        "fake-premium", Behavior(reply="from premium", prompt_tokens=100, completion_tokens=50)
    )
    reply = call(make_router(), mode)
    assert reply.choices[0].message.content == "from premium"
    routing = reply.routing
    assert routing.model == "premium"
    assert routing.fallback_count == 0
    assert routing.strategy == "fixed"
    assert [a.outcome for a in routing.attempts] == ["success"]
    # premium costs $10/M in, $20/M out: 100 * 10e-6 + 50 * 20e-6
    assert routing.cost_usd == pytest.approx(100 * 10e-6 + 50 * 20e-6)
    assert fake_provider.count("fake-premium") == 1
    route = spans.route()
    assert route.name == "route fixed"
    assert route.kind == SpanKind.INTERNAL
    attrs = dict(route.attributes or {})
    assert attrs["llm_router.selected"] == "premium"
    assert attrs["llm_router.model_used"] == "premium"
    assert attrs["llm_router.fallback_count"] == 0
    assert attrs["llm_router.cost_usd"] == pytest.approx(routing.cost_usd)
    (chat,) = spans.named("chat ")
    assert chat.name == "chat fake-premium"
    assert chat.kind == SpanKind.CLIENT
    assert chat.parent is not None
    assert chat.parent.span_id == route.context.span_id
    cattrs = dict(chat.attributes or {})
    assert cattrs["gen_ai.operation.name"] == "chat"
    assert cattrs["gen_ai.provider.name"] == "openai"
    assert cattrs["gen_ai.request.model"] == "fake-premium"
    assert cattrs["gen_ai.usage.input_tokens"] == 100
    assert cattrs["gen_ai.usage.output_tokens"] == 50
    assert tuple(cattrs["gen_ai.response.finish_reasons"]) == ("stop",)
    assert "gen_ai.input.messages" not in cattrs  # content capture is opt-in


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("behavior", "kind"),
    [
        (Behavior(status=503), "overloaded"),
        (Behavior(status=500), "server_error"),
        (Behavior(status=429), "rate_limit"),
        (Behavior(malformed=True), "invalid_response"),
    ],
)
def test_provider_failure_falls_back_to_the_next_model(
    mode: str,
    behavior: Behavior,
    kind: str,
    make_router: Callable[..., Router],
    fake_provider: FakeProvider,
    spans: Spans,
) -> None:
    fake_provider.set("fake-premium", behavior)
    reply = call(make_router(), mode)
    assert reply.routing.model == "balanced"
    assert reply.routing.fallback_count == 1
    first, second = reply.routing.attempts
    assert (first.model, first.outcome, first.error_type) == ("premium", "error", kind)
    assert (second.model, second.outcome) == ("balanced", "success")
    failed, ok = sorted(spans.named("chat "), key=lambda s: s.start_time or 0)
    assert failed.status.status_code == StatusCode.ERROR
    assert dict(failed.attributes or {})["llm_router.error.kind"] == kind
    assert "error.type" in dict(failed.attributes or {})
    assert ok.status.status_code != StatusCode.ERROR


def patient_config(provider: FakeProvider, transport: str) -> dict[str, Any]:
    """base_config with every model's timeout at 600 s: far past ``finished``'s guard."""
    config = base_config(provider, transport)
    for entry in config["models"]:
        entry["timeout_s"] = 600.0
    return config


@pytest.mark.parametrize("mode", MODES)
def test_timeout_is_per_model_and_falls_back(
    mode: str, fake_provider: FakeProvider, transport: str
) -> None:
    config = patient_config(fake_provider, transport)
    config["models"][0]["timeout_s"] = 0.3
    router = Router.from_config(config)
    fake_provider.set("fake-premium", Behavior(hang=True))
    # balanced cannot answer within 0.3 s: it answers only if premium's timeout stays premium's
    fake_provider.set("fake-balanced", Behavior(latency_s=0.6))
    reply = finished(lambda: call(router, mode))  # with 600 s on premium it would not finish
    assert reply.routing.model == "balanced"
    assert [(a.model, a.outcome) for a in reply.routing.attempts] == [
        ("premium", "error"),
        ("balanced", "success"),
    ]
    assert reply.routing.attempts[0].error_type == "timeout"


@pytest.mark.parametrize("mode", MODES)
def test_retry_after_lengthens_the_open_breaker_into_a_cooldown(
    mode: str, make_router: Callable[..., Router], fake_provider: FakeProvider
) -> None:
    router = make_router(breaker={"consecutive_failures": 2, "cooldown_s": 1})
    fake_provider.set("fake-premium", Behavior(status=429, retry_after=30))
    assert call(router, mode).routing.model == "balanced"
    assert router.plan(HI).selected == "premium"  # one 429 among successes: no cooldown
    assert call(router, mode).routing.model == "balanced"  # the second trips the breaker
    assert router.cooldowns.remaining(["premium"])["premium"] > 20  # open 1 s, cooling 30 s
    plan = router.plan(HI)
    assert plan.selected == "balanced"
    (rejection,) = [r for r in plan.rejected if r.model == "premium"]
    assert rejection.code == "breaker_open"
    fake_provider.clear()
    call(router, mode)
    assert fake_provider.count("fake-premium") == 0  # not even tried while cooling down


@pytest.mark.parametrize("mode", MODES)
def test_bad_request_fails_at_once_with_the_providers_message(
    mode: str, make_router: Callable[..., Router], fake_provider: FakeProvider
) -> None:
    fake_provider.set("fake-premium", Behavior(status=400, error_message="temperature too hot"))
    with pytest.raises(ProviderRequestError) as caught:
        call(make_router(), mode)
    assert "temperature too hot" in caught.value.message
    assert caught.value.status_code == 400
    assert fake_provider.count("fake-balanced") == 0


@pytest.mark.parametrize("mode", MODES)
def test_context_window_exceeded_skips_to_a_larger_window(
    mode: str,
    fake_provider: FakeProvider,
    transport: str,
) -> None:
    config = base_config(fake_provider, transport)
    config["models"] = [
        model(fake_provider, "small-a", 0.9, window=4000, transport=transport),
        model(fake_provider, "small-b", 0.8, window=4000, transport=transport),
        model(fake_provider, "large", 0.7, window=100_000, transport=transport),
    ]
    config["routing"]["fallbacks"] = ["small-a", "small-b", "large"]
    router = Router.from_config(config)
    fake_provider.set("fake-small-a", Behavior(context_window=5))
    reply = call(router, mode, [{"role": "user", "content": "a prompt that is too long " * 3}])
    assert reply.routing.model == "large"
    outcomes = [(a.model, a.outcome, a.error_type) for a in reply.routing.attempts]
    assert outcomes == [
        ("small-a", "error", "context_window"),
        ("small-b", "skipped", "context_window"),
        ("large", "success", None),
    ]
    assert fake_provider.count("fake-small-b") == 0


@pytest.mark.parametrize("mode", MODES)
def test_all_models_failing_raises_one_error_listing_every_attempt(
    mode: str, make_router: Callable[..., Router], fake_provider: FakeProvider, spans: Spans
) -> None:
    fake_provider.set_default(Behavior(status=503))
    router = make_router()
    with pytest.raises(AllModelsFailedError) as caught:
        call(router, mode)
    error = caught.value
    assert [a.model for a in error.attempts] == ["premium", "balanced", "cheap"]
    assert error.status_code == 502
    assert "premium" in error.message
    assert "cheap" in error.message
    assert [a["model"] for a in error.to_json()["error"]["attempts"]] == [
        "premium",
        "balanced",
        "cheap",
    ]
    assert spans.route().status.status_code == StatusCode.ERROR


@pytest.mark.parametrize("mode", MODES)
def test_breaker_opens_then_half_open_probe_closes_it(
    mode: str, fake_provider: FakeProvider, spans: Spans, transport: str
) -> None:
    router = Router.from_config(
        base_config(
            fake_provider, transport, breaker={"consecutive_failures": 2, "cooldown_s": 0.5}
        )
    )
    fake_provider.set("fake-premium", Behavior(status=500))
    call(router, mode)
    call(router, mode)
    events = [e for s in spans.named("route ") for e in s.events]
    opened = [e for e in events if e.name == "llm_router.breaker_transition"]
    assert [dict(e.attributes or {})["llm_router.breaker.to"] for e in opened] == ["open"]
    plan = router.plan(HI)
    assert plan.selected == "balanced"
    assert [r.code for r in plan.rejected if r.model == "premium"] == ["breaker_open"]
    fake_provider.clear()
    call(router, mode)
    assert fake_provider.count("fake-premium") == 0
    time.sleep(0.6)
    fake_provider.set("fake-premium", Behavior())
    reply = call(router, mode)
    assert reply.routing.model == "premium"  # the half-open probe succeeded
    assert router.plan(HI).rejected == ()


@pytest.mark.parametrize("mode", MODES)
def test_failed_calls_leave_nothing_charged(
    mode: str, fake_provider: FakeProvider, transport: str
) -> None:
    router = Router.from_config(
        base_config(fake_provider, transport, budgets={"per_user_usd": 1.0})
    )
    fake_provider.set_default(Behavior(status=503))
    with pytest.raises(AllModelsFailedError):
        call(router, mode)
    assert all(v == 0 for v in router.ledger.spent("u1", "default").values())
    fake_provider.set_default(Behavior(prompt_tokens=1000, completion_tokens=0))
    reply = call(router, mode)
    spent = router.ledger.spent("u1", "default")
    assert max(spent.values()) == pytest.approx(reply.routing.cost_usd)  # settled, not estimated


@pytest.mark.parametrize("mode", MODES)
def test_zero_budget_refuses_and_no_paid_fallback_bypasses_it(
    mode: str, fake_provider: FakeProvider, transport: str
) -> None:
    router = Router.from_config(
        base_config(fake_provider, transport, budgets={"per_user_usd": 0.0})
    )
    with pytest.raises(BudgetExhaustedError) as caught:
        call(router, mode)
    assert caught.value.status_code == 402
    assert fake_provider.count() == 0


@pytest.mark.parametrize("mode", MODES)
def test_budget_downgrade_routes_to_what_the_user_can_afford(
    mode: str,
    fake_provider: FakeProvider,
    transport: str,
) -> None:
    router = Router.from_config(
        base_config(
            fake_provider,
            transport,
            budgets={"per_user_usd": 0.002, "on_exhausted": "downgrade"},
            routing={"strategy": "fixed", "fallbacks": ["premium", "balanced", "cheap"]},
        )
    )
    reply = call(router, mode, max_tokens=100)
    assert reply.routing.model == "balanced"
    assert reply.routing.downgraded is True
    assert "premium" in reply.routing.reason


@pytest.mark.parametrize("mode", MODES)
def test_deadline_bounds_the_whole_call(
    mode: str, fake_provider: FakeProvider, transport: str
) -> None:
    router = Router.from_config(patient_config(fake_provider, transport))
    fake_provider.set_default(Behavior(hang=True))
    context = RequestContext(user_id="u1").with_timeout(0.4)
    with pytest.raises(DeadlineExceededError) as caught:
        # only the deadline can end this call: each model alone would wait 600 s
        finished(lambda: call(router, mode, context=context))
    assert caught.value.status_code == 504
    assert fake_provider.count() == 1  # cut inside the first call, no other model tried


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("messages", "where"),
    [
        ("hello", "messages must be a list"),
        ([], "must not be empty"),
        ([{"role": "wizard", "content": "x"}], "messages[0].role"),
        ([{"role": "user"}], "messages[0].content is missing"),
        ([{"role": "user", "content": [{"text": "x"}]}], "messages[0].content[0]"),
    ],
)
def test_malformed_messages_are_rejected_before_any_call(
    mode: str,
    messages: Any,
    where: str,
    make_router: Callable[..., Router],
    fake_provider: FakeProvider,
) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        call(make_router(), mode, messages)
    assert where in caught.value.message
    assert caught.value.status_code == 400
    assert fake_provider.count() == 0


def test_router_sets_parameters_itself(make_router: Callable[..., Router]) -> None:
    with pytest.raises(InvalidRequestError, match="api_key"):
        call(make_router(), "sync", api_key="sk-mine")


@pytest.mark.parametrize("mode", MODES)
def test_no_api_key_reaches_spans_logs_or_errors(
    mode: str,
    make_router: Callable[..., Router],
    fake_provider: FakeProvider,
    spans: Spans,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="llm_router_middleware")
    fake_provider.set_default(Behavior(status=401, error_message=f"Incorrect API key: {SECRET}"))
    with pytest.raises(AllModelsFailedError) as caught:
        call(make_router(), mode)
    assert fake_provider.requests[0].had_auth  # the key was sent to the provider...
    texts = [caught.value.message, str(caught.value.to_json()), caplog.text]
    for span in spans.all():
        texts.append(str(dict(span.attributes or {})))
        texts.append(str(span.status.description))
        texts.extend(str(dict(e.attributes or {})) for e in span.events)
    assert all(SECRET not in t for t in texts)  # ...and nowhere else
    assert all("0123456789" not in t for t in texts)
    assert "authentication" in caplog.text  # flagged for the operator


def test_message_content_is_captured_only_when_opted_in(
    make_router: Callable[..., Router], spans: Spans, monkeypatch: pytest.MonkeyPatch
) -> None:
    router = make_router()
    call(router, "sync")
    (chat,) = spans.named("chat ")
    assert "gen_ai.input.messages" not in dict(chat.attributes or {})
    spans.clear()
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    call(router, "sync")
    (chat,) = spans.named("chat ")
    attrs = dict(chat.attributes or {})
    assert '"hi"' in str(attrs["gen_ai.input.messages"])
    assert "Hello" in str(attrs["gen_ai.output.messages"])


def test_one_log_line_per_decision(
    make_router: Callable[..., Router], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="llm_router_middleware")
    call(make_router(), "sync")
    lines = [r for r in caplog.records if r.getMessage().startswith("llm_router decision")]
    assert len(lines) == 1
    fields = lines[0].llm_router  # type: ignore[attr-defined]
    assert fields["model_used"] == "premium"
    assert fields["user_id"] == "u1"
    assert fields["outcome"] == "success"

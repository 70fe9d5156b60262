"""The response cache over the fake provider: hits make no provider request and cost nothing,
never cross users unless the view says the reply is shareable, and streams bypass it."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from typing import Any

import pytest
from core_support import Spans, base_config

from llm_router_middleware import (
    AllModelsFailedError,
    ConfigError,
    Policy,
    RequestContext,
    Router,
)
from llm_router_middleware.cache import Entry, MemoryEntries, cache_key
from llm_router_middleware.testing import Behavior, FakeProvider

ASK = [{"role": "user", "content": "How do I reset my password?"}]
MODES = ["sync", "async"]
ALICE = RequestContext(user_id="alice")
BOB = RequestContext(user_id="bob")


def _router(provider: FakeProvider, transport: str, **cache: Any) -> Router:
    config = base_config(provider, transport)
    config["tiers"] = {"default": {"cache": True}, "fresh": {}}
    config["budgets"] = {"per_user_usd": 1.0}
    if cache:
        config["cache"] = cache
    return Router.from_config(config)


def _call(
    router: Router,
    mode: str,
    context: RequestContext = ALICE,
    messages: Any = ASK,
    policy: Policy | None = None,
    **params: Any,
) -> Any:
    handle = router.handle(context, policy=policy)
    if mode == "sync":
        return handle.complete(messages, **params)
    return asyncio.run(handle.acomplete(messages, **params))


@pytest.mark.parametrize("mode", MODES)
def test_an_exact_hit_makes_no_provider_request_and_costs_nothing(
    mode: str,
    fake_provider: FakeProvider,
    transport: str,
    spans: Spans,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake_provider.set("fake-premium", Behavior(reply="Use the reset link.", prompt_tokens=100))
    router = _router(fake_provider, transport)
    first = _call(router, mode)
    assert first.routing.cache is None
    miss_span = spans.route()
    assert (miss_span.attributes or {})["llm_router.cache"] == "miss"
    spent = router.spend(ALICE).scopes[0].spent_usd
    assert spent > 0
    spans.clear()
    with caplog.at_level(logging.INFO, logger="llm_router_middleware"):
        second = _call(router, mode)
    assert fake_provider.count("fake-premium") == 1  # the hit made no provider request
    assert second.choices[0].message.content == "Use the reset link."
    assert type(second) is type(first)
    routing = second.routing
    assert (routing.cache, routing.model, routing.cost_usd, routing.attempts) == (
        "exact",
        "premium",
        0.0,
        (),
    )
    assert routing.reason.startswith("cache: exact hit (exact match, answered by premium")
    assert routing.request_id != first.routing.request_id
    assert router.spend(ALICE).scopes[0].spent_usd == pytest.approx(spent)  # no charge
    attrs = spans.route().attributes or {}
    assert (attrs["llm_router.cache"], attrs["llm_router.cost_usd"]) == ("exact", 0.0)
    assert not spans.named("chat ")  # no attempt span
    line = [r for r in caplog.records if r.getMessage().startswith("llm_router decision")][-1]
    assert line.llm_router["cache"] == "exact"  # type: ignore[attr-defined]
    assert line.llm_router["cost_usd"] == 0.0  # type: ignore[attr-defined]


@pytest.mark.parametrize("mode", MODES)
def test_one_users_reply_never_reaches_another_unless_shareable(
    mode: str, fake_provider: FakeProvider
) -> None:
    fake_provider.set("fake-premium", Behavior(reply=lambda m: f"reply #{fake_provider.count()}"))
    router = _router(fake_provider, "native")
    assert _call(router, mode, ALICE).choices[0].message.content == "reply #1"
    bob = _call(router, mode, BOB)
    assert (bob.choices[0].message.content, bob.routing.cache) == ("reply #2", None)
    assert _call(router, mode, ALICE).routing.cache == "exact"
    # a view that declares its replies the same for everyone shares them
    shared = Policy(cache_shared=True)
    first = _call(router, mode, ALICE, policy=shared)
    carol = _call(router, mode, RequestContext(user_id="carol"), policy=shared)
    assert carol.routing.cache == "exact"
    assert carol.choices[0].message.content == first.choices[0].message.content
    assert fake_provider.count() == 3


def test_an_anonymous_caller_is_not_cached_unless_shareable(fake_provider: FakeProvider) -> None:
    router = _router(fake_provider, "native")
    anonymous = RequestContext()
    _call(router, "sync", anonymous)
    assert _call(router, "sync", anonymous).routing.cache is None
    assert fake_provider.count() == 2
    shared = Policy(cache_shared=True)
    _call(router, "sync", anonymous, policy=shared)
    assert _call(router, "sync", anonymous, policy=shared).routing.cache == "exact"


def test_opt_in_per_tier_and_per_view(fake_provider: FakeProvider) -> None:
    router = _router(fake_provider, "native")
    fresh = RequestContext(user_id="alice", tier="fresh")
    _call(router, "sync", fresh)
    assert _call(router, "sync", fresh).routing.cache is None  # tier "fresh" does not cache
    on = Policy(cache=True)
    _call(router, "sync", fresh, policy=on)
    assert _call(router, "sync", fresh, policy=on).routing.cache == "exact"
    off = Policy(cache=False)
    assert _call(router, "sync", policy=off).routing.cache is None
    assert _call(router, "sync", policy=off).routing.cache is None


def test_the_key_covers_parameters_and_normalises_whitespace(fake_provider: FakeProvider) -> None:
    router = _router(fake_provider, "native")
    _call(router, "sync", temperature=0.0)
    padded = [{"role": "user", "content": "  How do I reset my password?\n"}]
    assert _call(router, "sync", messages=padded, temperature=0.0).routing.cache == "exact"
    assert _call(router, "sync", temperature=0.7).routing.cache is None
    assert _call(router, "sync", temperature=0.0, max_tokens=9).routing.cache is None
    assert fake_provider.count() == 3


def test_the_key_is_a_hash_never_the_prompt() -> None:
    key = cache_key(ASK, {"temperature": 0}, "default", None, "alice")
    assert len(key.exact) == 64
    assert int(key.exact, 16) >= 0
    assert "password" not in key.exact
    assert "alice" not in key.exact
    assert key.exact != cache_key(ASK, {"temperature": 0}, "default", None, "bob").exact
    assert (
        key.scope
        == cache_key(
            [{"role": "user", "content": "other words"}],
            {"temperature": 0},
            "default",
            None,
            "alice",
        ).scope
    )


@pytest.mark.parametrize("mode", MODES)
def test_streams_bypass_the_cache(mode: str, fake_provider: FakeProvider) -> None:
    router = _router(fake_provider, "native")
    handle = router.handle(ALICE)
    for _ in range(2):
        if mode == "sync":
            list(handle.stream(ASK))
        else:

            async def drain() -> None:
                async for _ in await handle.astream(ASK):
                    pass

            asyncio.run(drain())
    assert fake_provider.count() == 2
    assert _call(router, "sync").routing.cache is None  # a stream stored nothing either


def test_failed_calls_are_not_cached(fake_provider: FakeProvider) -> None:
    fake_provider.set_default(Behavior(reply=""))
    router = _router(fake_provider, "native")
    with pytest.raises(AllModelsFailedError):  # every model answered empty
        _call(router, "sync")
    fake_provider.set_default(Behavior(reply="now fine"))
    assert _call(router, "sync").routing.cache is None


def test_memory_entries_are_bounded_lru_with_a_ttl() -> None:
    entries = MemoryEntries(max_entries=2, ttl_s=60)
    entry = Entry("premium", time.time(), {"choices": []})
    entries.put("a", entry)
    entries.put("b", entry)
    assert entries.get("a") is entry  # "a" is now the most recently used
    entries.put("c", entry)
    assert (entries.get("a"), entries.get("b"), entries.get("c")) == (entry, None, entry)
    assert len(entries) == 2
    short = MemoryEntries(max_entries=2, ttl_s=0.01)
    short.put("a", entry)
    time.sleep(0.05)
    assert short.get("a") is None
    assert len(short) == 0


def test_cache_config_errors_name_the_key(fake_provider: FakeProvider) -> None:
    config = base_config(fake_provider)
    config["cache"] = {"backend": "redis"}
    with pytest.raises(ConfigError) as caught:
        Router.from_config(config)
    assert caught.value.key == "cache.backend"
    config["cache"] = {"ttl_s": 0}
    with pytest.raises(ConfigError) as caught:
        Router.from_config(config)
    assert caught.value.key == "cache.ttl_s"
    config.pop("cache")
    config["tiers"] = {"default": {"cache": "yes"}}
    with pytest.raises(ConfigError) as caught:
        Router.from_config(config)
    assert caught.value.key == "tiers.default.cache"


@pytest.mark.parametrize("mode", MODES)
def test_a_semantic_hit_serves_a_paraphrase_above_the_threshold(
    mode: str, fake_provider: FakeProvider, spans: Spans
) -> None:
    fake_provider.set("fake-premium", Behavior(reply=lambda m: f"reply #{fake_provider.count()}"))
    router = _router(fake_provider, "native", semantic_threshold=0.95)
    _call(router, mode)
    spans.clear()
    paraphrase = [{"role": "user", "content": "how can I reset my password"}]
    hit = _call(router, mode, messages=paraphrase)
    assert (hit.routing.cache, hit.choices[0].message.content) == ("semantic", "reply #1")
    assert re.search(r"similarity 0\.9[5-9]\d*", hit.routing.reason)  # above the threshold
    attrs = spans.route().attributes or {}
    assert attrs["llm_router.cache"] == "semantic"
    similarity = attrs["llm_router.cache.similarity"]
    assert isinstance(similarity, float)
    assert similarity > 0.95
    # below the threshold (0.88 for this pair), and an unrelated question: misses
    near = [{"role": "user", "content": "Reset my password please"}]
    assert _call(router, mode, messages=near).routing.cache is None
    other = [{"role": "user", "content": "What is the capital of France?"}]
    assert _call(router, mode, messages=other).routing.cache is None
    # another user's paraphrase is never served alice's reply
    assert _call(router, mode, BOB, messages=paraphrase).routing.cache is None
    assert fake_provider.count() == 4

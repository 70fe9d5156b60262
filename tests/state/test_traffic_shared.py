"""Token limits and deployments across two routers (two workers) sharing one redis-server."""

from __future__ import annotations

import os
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from llm_router_middleware import Router
from llm_router_middleware.testing import Behavior, FakeProvider

HI = [{"role": "user", "content": "hi"}]


def _config(provider: FakeProvider, redis_url: str) -> dict[str, Any]:
    def model(name: str, **extra: Any) -> dict[str, Any]:
        return {
            "name": name,
            "model": f"openai/fake-{name}",
            "api_base": provider.base_url,
            "api_key": "sk-test",
            "input_cost_per_1m": 1.0,
            "output_cost_per_1m": 1.0,
            "context_window": 8000,
            **extra,
        }

    return {
        "models": [model("big", tpm=2000), model("small")],
        "routing": {"strategy": "fixed"},
        "state": {"backend": "redis", "redis_url": redis_url},
    }


def test_tpm_holds_across_two_routers(fake_provider: FakeProvider, redis_url: str) -> None:
    fake_provider.set("fake-big", Behavior(prompt_tokens=700, completion_tokens=100))
    one = Router.from_config(_config(fake_provider, redis_url))
    two = Router.from_config(_config(fake_provider, redis_url))
    served = [r.complete(HI, max_tokens=20).routing.model for r in (one, two, one, two, one)]
    # 800 tokens a call: after three (2,400 counted by both workers) no call fits under 2,000;
    # unshared, each worker would count only its own calls and send all five to "big"
    assert served == ["big", "big", "big", "small", "small"]
    assert fake_provider.count("fake-big") == 3


async def test_tpm_holds_on_the_async_path(fake_provider: FakeProvider, redis_url: str) -> None:
    fake_provider.set("fake-big", Behavior(prompt_tokens=700, completion_tokens=100))
    one = Router.from_config(_config(fake_provider, redis_url))
    two = Router.from_config(_config(fake_provider, redis_url))
    served = [(await r.acomplete(HI, max_tokens=20)).routing.model for r in (one, two, one, two)]
    assert served == ["big", "big", "big", "small"]


async def test_deployments_on_redis_async(fake_provider: FakeProvider, redis_url: str) -> None:
    fake_provider.set("fake-east", Behavior(status=500))
    config = _config(fake_provider, redis_url)
    config["models"][0]["deployments"] = [
        {"name": "east", "model": "openai/fake-east", "tpm": 5000},
        {"name": "west", "model": "openai/fake-west"},
    ]
    config["breaker"] = {"consecutive_failures": 2}
    config["traffic"] = {"seed": 7}  # a fixed weighted order: east first often enough to trip
    one = Router.from_config(config)
    two = Router.from_config(config)
    for router in (one, two) * 6:
        reply = await router.acomplete(HI, max_tokens=20)
        assert (reply.routing.model, reply.routing.deployment) == ("big", "west")
    # east's breaker, opened by two failures, is shared: no worker calls it again
    assert fake_provider.count("fake-east") == 2

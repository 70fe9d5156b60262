"""The pure parts: ordering deployments, the retry wait, and the config keys' errors."""

from __future__ import annotations

import os
import random
from dataclasses import replace
from typing import Any

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from llm_router_middleware import ConfigError, load_config
from llm_router_middleware.config import ModelSpec, TrafficSpec
from llm_router_middleware.errors import NoModelAvailableError
from llm_router_middleware.resilience import ErrorKind
from llm_router_middleware.traffic import order_deployments, retry_wait
from llm_router_middleware.traffic.retry import recovery_wait


def _config(**model: Any) -> dict[str, Any]:
    return {
        "models": [
            {
                "name": "m",
                "model": "openai/x",
                "api_base": "http://127.0.0.1:9/v1",
                "api_key": "sk-model",
                "input_cost_per_1m": 1.0,
                "output_cost_per_1m": 1.0,
                "context_window": 1000,
                **model,
            }
        ]
    }


def _spec(**model: Any) -> ModelSpec:
    return load_config(_config(**model)).models["m"]


def test_a_deployment_inherits_from_its_model() -> None:
    spec = _spec(deployments=[{"name": "a", "weight": 2}, {"name": "b", "api_key": "sk-b"}])
    a, b = spec.deployments
    assert (a.target, a.api_key, a.api_base, a.weight) == ("m#a", "sk-model", spec.api_base, 2)
    assert b.resolved_api_key() == "sk-b"
    assert spec.target == "m"
    assert "sk-b" not in repr(b)


@pytest.mark.parametrize(
    ("deployments", "key", "message"),
    [
        ([{"name": "a"}, {"name": "a"}], "models[0].deployments[1].name", "duplicate"),
        ([{"name": "a#b"}], "models[0].deployments[0].name", "'#'"),
        ([{"name": "a", "wieght": 2}], "models[0].deployments[0].wieght", "unknown key"),
        ([{"name": "a", "weight": 0}], "models[0].deployments[0].weight", "greater than 0"),
        ([{"name": "a", "tpm": 0}], "models[0].deployments[0].tpm", "at least 1"),
    ],
)
def test_deployment_errors_name_the_key(deployments: Any, key: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(_config(deployments=deployments))
    assert caught.value.key == key
    assert message in str(caught.value)


def test_model_traffic_keys_are_checked() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(_config(balance="fastest"))
    assert caught.value.key == "models[0].balance"
    with pytest.raises(ConfigError) as caught:
        load_config({**_config(), "traffic": {"retry_max_wait_s": -1}})
    assert caught.value.key == "traffic.retry_max_wait_s"


def test_least_inflight_and_latency_orders() -> None:
    a, b, c = _spec(deployments=[{"name": "a"}, {"name": "b"}, {"name": "c"}]).deployments
    rng = random.Random(1)
    busy = {"m#a": 3, "m#b": 1}
    assert order_deployments([a, b, c], "least_inflight", rng, busy, {})[:2] == [c, b]
    slow = {"m#a": 0.5, "m#b": 0.1, "m#c": 0.3}
    assert order_deployments([a, b, c], "latency", rng, {}, slow) == [b, c, a]
    unseen = {"m#a": 0.5, "m#b": 0.1}
    assert order_deployments([a, b, c], "latency", rng, {}, unseen)[0] == c


def test_weighted_first_pick_follows_weights() -> None:
    deps = _spec(deployments=[{"name": "a", "weight": 1}, {"name": "b", "weight": 4}]).deployments
    rng = random.Random(5)
    firsts = [order_deployments(deps, "weighted", rng, {}, {})[0].deployment for _ in range(4000)]
    # binomial(4000, 0.8): mean 3200, sd 25.3; 4 sd either side
    assert 3099 <= firsts.count("b") <= 3301


def test_retry_wait() -> None:
    spec = replace(_spec(), retries=2)
    traffic = TrafficSpec(retry_backoff_s=0.1, retry_max_wait_s=1.0)
    rng = random.Random(0)
    waits = [
        retry_wait(ErrorKind.CONNECTION, None, 1, spec, traffic, None, rng) for _ in range(200)
    ]
    assert all(w is not None and 0 <= w <= 0.2 for w in waits)  # base * 2**1, full jitter
    assert retry_wait(ErrorKind.RATE_LIMIT, 0.5, 0, spec, traffic, None, rng) == 0.5
    assert retry_wait(ErrorKind.RATE_LIMIT, 1.5, 0, spec, traffic, None, rng) is None  # > cap
    assert retry_wait(ErrorKind.RATE_LIMIT, 0.5, 0, spec, traffic, 0.4, rng) is None  # deadline
    assert retry_wait(ErrorKind.RATE_LIMIT, None, 2, spec, traffic, None, rng) is None  # spent
    for kind in (ErrorKind.TIMEOUT, ErrorKind.SERVER_ERROR, ErrorKind.BAD_REQUEST):
        assert retry_wait(kind, None, 0, spec, traffic, None, rng) is None


def test_recovery_wait() -> None:
    traffic = TrafficSpec(wait_for_recovery_s=1.0)
    soon = NoModelAvailableError("x", retry_after_s=0.5)
    assert recovery_wait(soon, traffic, None) == pytest.approx(0.505)
    assert recovery_wait(soon, traffic, 0.3) is None
    assert recovery_wait(NoModelAvailableError("x", retry_after_s=2.0), traffic, None) is None
    assert recovery_wait(NoModelAvailableError("x"), traffic, None) is None
    assert recovery_wait(soon, TrafficSpec(), None) is None  # off by default

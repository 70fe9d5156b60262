"""Chaos: malformed requests over real HTTP, and malformed configs.

Every malformed request is a 4xx naming the field, before any model is tried: never a 500,
never a hang, no breaker moved, and the server keeps serving. Every malformed config is a
ConfigError naming the key.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from faults_support import MESSAGES, PRIMARY, serve, two_model_config

from llm_router_middleware import ConfigError, Router, load_config
from llm_router_middleware.resilience import BreakerState
from llm_router_middleware.testing import FakeProvider

NAN, INF = math.nan, math.inf


def user(content: Any) -> list[dict[str, Any]]:
    return [{"role": "user", "content": content}]


# (id, request body, the field the answer must name, status)
REQUESTS: list[tuple[str, dict[str, Any], str, int]] = [
    ("no messages", {}, "messages", 400),
    ("messages a string", {"messages": "hi"}, "messages", 400),
    ("messages an object", {"messages": {"role": "user"}}, "messages", 400),
    ("messages empty", {"messages": []}, "messages", 400),
    ("message a number", {"messages": [1]}, "messages[0]", 400),
    ("role missing", {"messages": [{"content": "hi"}]}, "messages[0].role", 400),
    ("role a list", {"messages": [{"role": ["user"], "content": "hi"}]}, "messages[0].role", 400),
    (
        "role an object",
        {"messages": [{"role": {"a": 1}, "content": "hi"}]},
        "messages[0].role",
        400,
    ),
    ("role unknown", {"messages": [{"role": "wizard", "content": "hi"}]}, "messages[0].role", 400),
    ("role a number", {"messages": [{"role": 5, "content": "hi"}]}, "messages[0].role", 400),
    ("content missing", {"messages": [{"role": "user"}]}, "messages[0].content", 400),
    ("content a number", {"messages": user(5)}, "messages[0].content", 400),
    ("content an object", {"messages": user({"text": "x"})}, "messages[0].content", 400),
    ("part a string", {"messages": user(["hi"])}, "messages[0].content[0]", 400),
    ("part without type", {"messages": user([{"text": "hi"}])}, "messages[0].content[0]", 400),
    (
        "text part without text",
        {"messages": user([{"type": "text", "text": 5}])},
        "messages[0].content[0].text",
        400,
    ),
    (
        "image part without image_url",
        {"messages": user([{"type": "image_url"}])},
        "messages[0].content[0].image_url",
        400,
    ),
    (
        "image_url without url",
        {"messages": user([{"type": "image_url", "image_url": {}}])},
        "messages[0].content[0].image_url",
        400,
    ),
    (
        "image_url a number",
        {"messages": user([{"type": "image_url", "image_url": 5}])},
        "messages[0].content[0].image_url",
        400,
    ),
    ("lone surrogate", {"messages": user("a\ud800b")}, "messages[0].content", 400),
    (
        "lone surrogate in a part",
        {"messages": user([{"type": "text", "text": "x\udfffy"}])},
        "messages[0].content[0].text",
        400,
    ),
    (
        "name a number",
        {"messages": [{"role": "user", "content": "hi", "name": 5}]},
        "messages[0].name",
        400,
    ),
    ("temperature NaN", {"messages": MESSAGES, "temperature": NAN}, "temperature", 400),
    ("temperature infinite", {"messages": MESSAGES, "temperature": INF}, "temperature", 400),
    ("temperature too hot", {"messages": MESSAGES, "temperature": 3}, "temperature", 400),
    ("temperature a string", {"messages": MESSAGES, "temperature": "hot"}, "temperature", 400),
    ("top_p above 1", {"messages": MESSAGES, "top_p": 1.5}, "top_p", 400),
    ("max_tokens negative", {"messages": MESSAGES, "max_tokens": -100000}, "max_tokens", 400),
    ("max_tokens zero", {"messages": MESSAGES, "max_tokens": 0}, "max_tokens", 400),
    ("max_tokens fractional", {"messages": MESSAGES, "max_tokens": 1.5}, "max_tokens", 400),
    ("max_tokens a string", {"messages": MESSAGES, "max_tokens": "100"}, "max_tokens", 400),
    ("max_tokens huge", {"messages": MESSAGES, "max_tokens": 10**12}, "max_tokens", 400),
    (
        "max_completion_tokens negative",
        {"messages": MESSAGES, "max_completion_tokens": -1},
        "max_completion_tokens",
        400,
    ),
    ("n zero", {"messages": MESSAGES, "n": 0}, "n", 400),
    (
        "presence_penalty -3",
        {"messages": MESSAGES, "presence_penalty": -3},
        "presence_penalty",
        400,
    ),
    ("stop numbers", {"messages": MESSAGES, "stop": [1, 2]}, "stop", 400),
    ("stop five", {"messages": MESSAGES, "stop": list("abcde")}, "stop", 400),
    ("logit_bias 1000", {"messages": MESSAGES, "logit_bias": {"42": 1000}}, "logit_bias.42", 400),
    ("logprobs a string", {"messages": MESSAGES, "logprobs": "yes"}, "logprobs", 400),
    ("seed fractional", {"messages": MESSAGES, "seed": 1.5}, "seed", 400),
    (
        "response_format a string",
        {"messages": MESSAGES, "response_format": "json"},
        "response_format",
        400,
    ),
    ("metadata NaN", {"messages": MESSAGES, "metadata": {"k": NAN}}, "metadata.k", 400),
    ("tools a string", {"messages": MESSAGES, "tools": "x"}, "tools", 400),
    ("api_base smuggled", {"messages": MESSAGES, "api_base": "http://evil"}, "api_base", 400),
    ("prompt too long", {"messages": user("word " * 9000)}, "prompt", 413),
]


def post(client: Any, url: str, body: dict[str, Any]) -> httpx.Response:
    """POST ``body`` as Python's json writes it: NaN and lone surrogates (as \\ud800) included,
    which httpx's own encoder refuses to send."""
    headers = {"content-type": "application/json"}
    reply: httpx.Response = client.post(url, content=json.dumps(body), headers=headers, timeout=30)
    return reply


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, Router, FakeProvider]]:
    with FakeProvider() as provider:
        router = Router.from_config(two_model_config(provider, breaker={"consecutive_failures": 1}))
        with serve(router) as url:
            yield url, router, provider


@pytest.mark.parametrize(
    ("body", "field", "status"), [r[1:] for r in REQUESTS], ids=[r[0] for r in REQUESTS]
)
def test_a_malformed_request_is_a_4xx_naming_the_field(
    served: tuple[str, Router, FakeProvider], body: dict[str, Any], field: str, status: int
) -> None:
    url, router, provider = served
    provider.clear()
    reply = post(httpx, f"{url}/chat", body)
    assert reply.status_code == status, reply.text
    error = reply.json()["error"]
    assert error.get("param", field) == field
    assert field.split(".")[0].split("[")[0] in error["message"], error["message"]
    assert provider.count() == 0  # no model was tried
    statuses = router.breakers.statuses(list(router.config.models))
    assert {s.state for s in statuses.values()} == {BreakerState.CLOSED}


def test_the_server_keeps_serving_after_every_malformed_request(
    served: tuple[str, Router, FakeProvider],
) -> None:
    url, router, provider = served
    assert len(REQUESTS) >= 30
    provider.clear()
    with httpx.Client(base_url=url, timeout=30) as client:
        answers = [post(client, "/chat", body).status_code for _, body, _, _ in REQUESTS]
        assert all(400 <= status < 500 for status in answers), answers
        assert provider.count() == 0
        assert router.breakers.blocked(list(router.config.models)) == {}
        good = client.post("/chat", json={"messages": MESSAGES})
    assert good.status_code == 200
    assert good.json()["model"] == PRIMARY  # breaker at consecutive_failures = 1 never moved


# --- configs ------------------------------------------------------------------------------------


def _config(**changes: Any) -> dict[str, Any]:
    config = two_model_config("http://127.0.0.1:9/v1")
    for path, value in changes.items():
        target: Any = config
        *parents, last = path.split("__")
        for part in parents:
            target = target[int(part)] if part.isdigit() else target.setdefault(part, {})
        target[last] = value
    return config


# (id, changes to a valid config, the key the ConfigError must name)
CONFIGS: list[tuple[str, dict[str, Any], str]] = [
    ("input cost NaN", {"models__0__input_cost_per_1m": NAN}, "models[0].input_cost_per_1m"),
    ("input cost inf", {"models__0__input_cost_per_1m": INF}, "models[0].input_cost_per_1m"),
    ("output cost NaN", {"models__1__output_cost_per_1m": NAN}, "models[1].output_cost_per_1m"),
    ("output cost negative", {"models__0__output_cost_per_1m": -1}, "models[0].output_cost_per_1m"),
    ("timeout NaN", {"models__0__timeout_s": NAN}, "models[0].timeout_s"),
    ("timeout inf", {"models__0__timeout_s": INF}, "models[0].timeout_s"),
    ("timeout zero", {"models__0__timeout_s": 0}, "models[0].timeout_s"),
    ("quality NaN", {"models__0__quality": NAN}, "models[0].quality"),
    ("quality 2", {"models__0__quality": 2}, "models[0].quality"),
    ("window a string", {"models__0__context_window": "big"}, "models[0].context_window"),
    ("window zero", {"models__0__context_window": 0}, "models[0].context_window"),
    (
        "param temperature NaN",
        {"models__0__params": {"temperature": NAN}},
        "models[0].params.temperature",
    ),
    (
        "param max_tokens negative",
        {"models__0__params": {"max_tokens": -5}},
        "models[0].params.max_tokens",
    ),
    ("failure_rate NaN", {"breaker__failure_rate": NAN}, "breaker.failure_rate"),
    ("failure_rate 2", {"breaker__failure_rate": 2}, "breaker.failure_rate"),
    ("cooldown NaN", {"breaker__cooldown_s": NAN}, "breaker.cooldown_s"),
    ("cooldown inf", {"breaker__cooldown_s": INF}, "breaker.cooldown_s"),
    ("window_s NaN", {"breaker__window_s": NAN}, "breaker.window_s"),
    ("consecutive zero", {"breaker__consecutive_failures": 0}, "breaker.consecutive_failures"),
    ("per-user budget NaN", {"budgets__per_user_usd": NAN}, "budgets.per_user_usd"),
    ("global budget inf", {"budgets__global_usd": INF}, "budgets.global_usd"),
    ("global budget negative", {"budgets__global_usd": -1}, "budgets.global_usd"),
    ("unknown breaker key", {"breaker__cooldown": 3}, "breaker.cooldown"),
]


@pytest.mark.parametrize(("changes", "key"), [c[1:] for c in CONFIGS], ids=[c[0] for c in CONFIGS])
def test_a_malformed_config_is_a_config_error_naming_the_key(
    changes: dict[str, Any], key: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(_config(**changes))
    assert caught.value.key == key, caught.value.message


TOML_CASES = [
    ("input_cost_per_1m = nan", "models[0].input_cost_per_1m"),
    ("input_cost_per_1m = inf", "models[0].input_cost_per_1m"),
    ("timeout_s = nan", "models[0].timeout_s"),
    ("timeout_s = -inf", "models[0].timeout_s"),
]


@pytest.mark.parametrize(("line", "key"), TOML_CASES)
def test_nan_and_infinity_in_toml_name_the_key(tmp_path: Path, line: str, key: str) -> None:
    assert len(CONFIGS) + len(TOML_CASES) >= 20
    name = line.split(" =")[0]
    defaults = {"input_cost_per_1m": "1.0", "timeout_s": "5"}
    defaults.pop(name)
    rest = "\n".join(f"{k} = {v}" for k, v in defaults.items())
    path = tmp_path / "router.toml"
    path.write_text(
        "[[models]]\n"
        'name = "m"\nmodel = "openai/m"\noutput_cost_per_1m = 2.0\ncontext_window = 8000\n'
        f"{rest}\n{line}\n"
        '[routing]\nstrategy = "fixed"\nfallbacks = ["m"]\n'
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.key == key, caught.value.message

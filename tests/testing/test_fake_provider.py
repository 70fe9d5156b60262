"""The fake provider, driven through litellm over real loopback HTTP."""

from __future__ import annotations

import asyncio
import math
import os
import threading
import time
from typing import Any

import httpx
import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import litellm
from litellm.litellm_core_utils.logging_worker import GLOBAL_LOGGING_WORKER

from llm_router_middleware.testing import Behavior, FakeProvider

MESSAGES = [{"role": "user", "content": "say hello to the tests"}]


def call(provider: FakeProvider, name: str, **kwargs: Any) -> Any:
    kwargs.setdefault("messages", MESSAGES)
    return litellm.completion(
        model=f"openai/{name}",
        api_base=provider.base_url,
        api_key="sk-test",
        max_retries=0,
        **kwargs,
    )


async def acall(provider: FakeProvider, name: str, **kwargs: Any) -> Any:
    kwargs.setdefault("messages", MESSAGES)
    return await litellm.acompletion(
        model=f"openai/{name}",
        api_base=provider.base_url,
        api_key="sk-test",
        max_retries=0,
        **kwargs,
    )


def test_completion_returns_content_and_usage(fake_provider: FakeProvider) -> None:
    fake_provider.set("fake-cheap", Behavior(reply="four words of reply", finish_reason="length"))
    response = call(fake_provider, "fake-cheap")
    assert response.choices[0].message.content == "four words of reply"
    assert response.choices[0].finish_reason == "length"
    assert response.model.endswith("fake-cheap")
    assert response.usage.prompt_tokens == 5
    assert response.usage.completion_tokens == 4
    assert response.usage.total_tokens == 9


async def test_acompletion_with_callable_reply_and_token_overrides(
    fake_provider: FakeProvider,
) -> None:
    def echo(messages: list[dict[str, Any]]) -> str:
        return "echo: " + messages[-1]["content"]

    fake_provider.set("echo", Behavior(reply=echo, prompt_tokens=120, completion_tokens=30))
    response = await acall(fake_provider, "echo")
    assert response.choices[0].message.content == "echo: say hello to the tests"
    assert (response.usage.prompt_tokens, response.usage.completion_tokens) == (120, 30)


def test_default_behavior_applies_to_unconfigured_models(fake_provider: FakeProvider) -> None:
    fake_provider.set_default(Behavior(reply="default"))
    assert call(fake_provider, "anything").choices[0].message.content == "default"
    fake_provider.reset()
    assert call(fake_provider, "anything").choices[0].message.content != "default"


def test_rate_limit_carries_retry_after(fake_provider: FakeProvider) -> None:
    fake_provider.set("limited", Behavior(status=429, retry_after=7, headers={"x-extra": "1"}))
    with pytest.raises(litellm.RateLimitError) as caught:
        call(fake_provider, "limited")
    assert caught.value.status_code == 429
    assert caught.value.response.headers["retry-after"] == "7"
    assert caught.value.response.headers["x-extra"] == "1"


@pytest.mark.parametrize(
    ("behavior", "expected"),
    [
        (Behavior(status=503), litellm.ServiceUnavailableError),
        (Behavior(status=500), litellm.InternalServerError),
        (Behavior(status=502), litellm.BadGatewayError),
        (Behavior(status=401), litellm.AuthenticationError),
        (Behavior(status=404), litellm.NotFoundError),
        (Behavior(status=400, error_message="bad param foo"), litellm.BadRequestError),
        (Behavior(context_window=3), litellm.ContextWindowExceededError),
        (Behavior(malformed=True), litellm.InternalServerError),
    ],
    ids=["503", "500", "502", "401", "404", "400", "context", "malformed"],
)
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_faults_map_to_litellm_exceptions(
    fake_provider: FakeProvider, behavior: Behavior, expected: type[Exception], stream: bool
) -> None:
    fake_provider.set("faulty", behavior)
    if stream and behavior.malformed:
        # litellm fails while reading the SSE chunks, after the 200 arrived
        expected = litellm.exceptions.MidStreamFallbackError

    def consume() -> None:
        response = call(fake_provider, "faulty", stream=stream)
        if stream:
            list(response)

    with pytest.raises(expected) as caught:
        consume()
    assert type(caught.value) is expected
    if behavior.error_message:
        assert behavior.error_message in str(caught.value)


def gone(provider: FakeProvider, model: str) -> bool:
    """Whether the provider has seen ``model``'s one client leave (it checks every 50 ms)."""
    for _ in range(200):
        if provider.disconnects(model) == 1 and provider.in_flight(model) == 0:
            return True
        time.sleep(0.05)
    return False


async def test_only_the_timeout_stops_a_hang_and_the_server_stays_free(
    fake_provider: FakeProvider,
) -> None:
    fake_provider.set("stuck", Behavior(hang=True))
    with pytest.raises(litellm.Timeout):
        # the hang never ends, so only the 0.3 s timeout can raise this; the 60 s guard turns
        # a timeout that is not applied into a failure (TimeoutError) instead of a stuck suite
        await asyncio.wait_for(acall(fake_provider, "stuck", timeout=0.3), 60)
    assert gone(fake_provider, "stuck")  # the provider saw its client leave and let go
    assert (await acall(fake_provider, "other")).choices[0].message.content


def test_latency_holds_the_answer_back(fake_provider: FakeProvider) -> None:
    # a 30 s latency cannot answer within a 0.5 s timeout, however loaded the machine is
    fake_provider.set("slow", Behavior(latency_s=30.0))
    with pytest.raises(litellm.Timeout):
        call(fake_provider, "slow", timeout=0.5)
    assert gone(fake_provider, "slow")  # the wait ends when its client leaves
    fake_provider.set("slow", Behavior(latency_s=0.2, reply="late"))
    assert call(fake_provider, "slow").choices[0].message.content == "late"
    assert fake_provider.count("slow") == 2


def test_stream_yields_chunks_and_usage(fake_provider: FakeProvider) -> None:
    fake_provider.set("streamer", Behavior(reply="one two three"))
    chunks = list(
        call(fake_provider, "streamer", stream=True, stream_options={"include_usage": True})
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "one two three"
    assert len(chunks) >= 4
    assert chunks[-1].usage.completion_tokens == 3
    assert chunks[-1].usage.prompt_tokens == 5


async def test_astream_yields_chunks(fake_provider: FakeProvider) -> None:
    fake_provider.set("streamer", Behavior(reply="a b c d", stream_chunk_delay_s=0.01))
    response = await acall(fake_provider, "streamer", stream=True)
    pieces = [chunk.choices[0].delta.content async for chunk in response if chunk.choices]
    assert "".join(p or "" for p in pieces) == "a b c d"
    assert fake_provider.requests[-1].stream is True


def test_embeddings_are_deterministic_and_normalised(fake_provider: FakeProvider) -> None:
    fake_provider.set("embedder", Behavior(embedding_dim=32))

    def embed(texts: list[str]) -> list[list[float]]:
        response = litellm.embedding(
            model="openai/embedder", input=texts, api_base=fake_provider.base_url, api_key="sk-t"
        )
        return [item["embedding"] for item in response.data]

    first, second, again = embed(["hello", "world", "hello"])
    assert len(first) == 32
    assert first == again
    assert first != second
    assert math.isclose(math.fsum(x * x for x in first), 1.0, rel_tol=1e-5)
    assert embed(["hello"])[0] == first


def test_failure_rate_is_deterministic(fake_provider: FakeProvider) -> None:
    behavior = Behavior(failure_rate=0.5, fail_status=503, seed=42)

    def outcomes() -> list[bool]:
        fake_provider.set("flaky", behavior)
        results = []
        for _ in range(16):
            try:
                call(fake_provider, "flaky")
                results.append(True)
            except litellm.ServiceUnavailableError:
                results.append(False)
        return results

    first = outcomes()
    assert first == outcomes()
    assert 3 <= first.count(False) <= 13
    expected = [behavior.failure_status(i, "flaky") is None for i in range(16)]
    assert first == expected


def test_fail_times_then_success_and_set_restarts_the_count(fake_provider: FakeProvider) -> None:
    fake_provider.set("recovering", Behavior(fail_times=2, fail_status=500, retry_after=1))
    for _ in range(2):
        with pytest.raises(litellm.InternalServerError):
            call(fake_provider, "recovering")
    assert call(fake_provider, "recovering").choices[0].message.content
    fake_provider.set("recovering", Behavior(fail_times=1))
    with pytest.raises(litellm.InternalServerError):
        call(fake_provider, "recovering")
    assert fake_provider.count("recovering") == 4


def test_requests_are_recorded_without_secrets(fake_provider: FakeProvider) -> None:
    litellm.completion(
        model="openai/recorded",
        messages=MESSAGES,
        api_base=fake_provider.base_url,
        api_key="sk-very-secret-1234",
        max_retries=0,
    )
    (recorded,) = fake_provider.requests
    assert recorded.model == "recorded"
    assert recorded.messages == MESSAGES
    assert recorded.stream is False
    assert recorded.had_auth is True
    assert recorded.api_key_suffix == "1234"
    assert recorded.headers["authorization"] == "[REDACTED]"
    assert "very-secret" not in repr(recorded)
    assert recorded.timestamp <= time.time()
    assert fake_provider.count() == fake_provider.count("recorded") == 1
    fake_provider.clear()
    assert fake_provider.requests == []


async def test_concurrent_requests_from_several_loops(fake_provider: FakeProvider) -> None:
    fake_provider.set("busy", Behavior(latency_s=0.05))
    replies = await asyncio.gather(*(acall(fake_provider, "busy") for _ in range(20)))
    assert len(replies) == 20

    async def call_and_flush() -> None:
        await acall(fake_provider, "busy")
        # litellm's global logging worker is bound to one loop at a time: let it finish its
        # success callbacks before this loop closes, or they are never awaited
        await GLOBAL_LOGGING_WORKER.flush()

    await GLOBAL_LOGGING_WORKER.flush()
    for _ in range(3):  # one fresh loop per thread, one after another
        thread = threading.Thread(target=asyncio.run, args=(call_and_flush(),))
        thread.start()
        thread.join()
    assert fake_provider.count("busy") == 23


def test_models_and_protocol_errors(fake_provider: FakeProvider) -> None:
    fake_provider.set("listed", Behavior())
    with httpx.Client(base_url=fake_provider.base_url) as client:
        models = client.get("/models").json()
        assert [m["id"] for m in models["data"]] == ["listed"]
        bad_json = client.post("/chat/completions", content=b"{nope")
        assert bad_json.status_code == 400
        assert "could not parse" in bad_json.json()["error"]["message"]
        missing = client.post("/nowhere", json={})
        assert missing.status_code == 404
        assert client.get("/models").status_code == 200


def test_standalone_server_stops_cleanly_while_a_request_hangs() -> None:
    with FakeProvider(Behavior(hang=True)) as provider:
        port = provider.port

        errors: list[Exception] = []

        def hanging_request() -> None:
            try:
                httpx.post(f"{provider.base_url}/chat/completions", json={"model": "x"}, timeout=60)
            except httpx.HTTPError as exc:
                errors.append(exc)

        client = threading.Thread(target=hanging_request)
        client.start()
        while provider.count() == 0:
            time.sleep(0.005)
    client.join()
    # the server closed the hanging request when it stopped: the client got a closed
    # connection, not its own (60 s) timeout
    assert len(errors) == 1
    assert not isinstance(errors[0], httpx.TimeoutException), errors
    assert [t.name for t in threading.enumerate() if f"FakeProvider:{port}" in t.name] == []
    assert not provider.running
    with pytest.raises(RuntimeError, match="not running"):
        _ = provider.port
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/v1/models")


def test_start_stop_are_idempotent() -> None:
    provider = FakeProvider()
    assert provider.start() is provider.start()
    provider.stop()
    provider.stop()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"failure_rate": 1.5}, "failure_rate"),
        ({"status": 42}, "status"),
        ({"latency_s": -1}, "latency_s"),
        ({"embedding_dim": 0}, "embedding_dim"),
    ],
)
def test_behavior_validates(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Behavior(**kwargs)


def test_set_rejects_litellm_model_strings(fake_provider: FakeProvider) -> None:
    with pytest.raises(ValueError, match="'fake-cheap'"):
        fake_provider.set("openai/fake-cheap", Behavior())


def test_a_failing_reply_callable_answers_500(fake_provider: FakeProvider) -> None:
    def broken(messages: list[dict[str, Any]]) -> str:
        raise LookupError("no canned answer")

    fake_provider.set("broken", Behavior(reply=broken))
    with pytest.raises(litellm.InternalServerError, match="no canned answer"):
        call(fake_provider, "broken")


def test_a_stream_left_running_across_a_reset_is_not_recorded_in_the_next_test() -> None:
    # an earlier test's stream that ends (its client gone) after the provider was reset for
    # the next test must not show up among the next test's streams or disconnects
    with FakeProvider(Behavior(reply="one two three", stream_chunk_delay_s=0.3)) as provider:
        body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
        url = f"{provider.base_url}/chat/completions"
        with httpx.Client(timeout=600) as client, client.stream("POST", url, json=body) as r:
            lines = r.iter_lines()
            assert next(lines).startswith("data: ")  # the role chunk: the stream is open
            provider.reset()  # the next test starts
        # the response was closed mid-stream: the provider sees its client go
        deadline = time.monotonic() + 60
        while provider.in_flight() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert provider.in_flight() == 0  # the old stream has ended...
        assert provider.streams == []  # ...and was not recorded after the reset
        assert provider.disconnects() == 0
        # a stream of the new generation is recorded as before
        with httpx.Client(timeout=600) as client:
            client.post(f"{provider.base_url}/chat/completions", json=body)
        assert [s.sent for s in provider.streams] == ["one two three"]

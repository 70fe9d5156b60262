"""The native transport classifies provider answers into the same kinds as the litellm path.

Each case is answered by the fake provider over real HTTP; the same kwargs go through both
transports and ``classify`` must agree on kind, status and Retry-After."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from llm_router_middleware.resilience import ErrorKind, classify
from llm_router_middleware.testing import Behavior, FakeProvider
from llm_router_middleware.transport import LitellmTransport, NativeTransport
from llm_router_middleware.transport.request import Endpoint

KEY = "sk-classify-SECRET-42424242"
CASES = {
    "400": (Behavior(status=400, error_message="temperature too hot"), ErrorKind.BAD_REQUEST),
    "401": (Behavior(status=401), ErrorKind.AUTHENTICATION),
    "403": (Behavior(status=403), ErrorKind.AUTHENTICATION),
    "404": (Behavior(status=404), ErrorKind.NOT_FOUND),
    "422": (Behavior(status=422), ErrorKind.BAD_REQUEST),
    "429": (Behavior(status=429, retry_after=7), ErrorKind.RATE_LIMIT),
    "429-ms": (Behavior(status=429, headers={"retry-after-ms": "1500"}), ErrorKind.RATE_LIMIT),
    "500": (Behavior(status=500), ErrorKind.SERVER_ERROR),
    "503": (Behavior(status=503, retry_after=3), ErrorKind.OVERLOADED),
    "context": (Behavior(context_window=1), ErrorKind.CONTEXT_WINDOW),
    "policy": (
        Behavior(status=400, error_code="content_policy_violation", error_message="flagged"),
        ErrorKind.CONTENT_POLICY,
    ),
    "malformed": (Behavior(malformed=True), ErrorKind.INVALID_RESPONSE),
}
RETRY_AFTER = {"429": 7.0, "429-ms": 1.5, "503": 3.0}


def kwargs(base: str, model: str = "fake-x") -> dict[str, Any]:
    return {
        "model": f"openai/{model}",
        "messages": [{"role": "user", "content": "hello there"}],
        "api_base": base,
        "api_key": KEY,
        "timeout": 5.0,
        "max_retries": 0,
        "num_retries": 0,
    }


def failure(transport: Any, call: dict[str, Any]) -> BaseException:
    with pytest.raises(Exception) as caught:  # noqa: PT011 - any provider error, classified below
        transport.complete(call)
    return caught.value


@pytest.mark.parametrize("case", list(CASES))
def test_native_and_litellm_agree(case: str, fake_provider: FakeProvider) -> None:
    behavior, kind = CASES[case]
    fake_provider.set("fake-x", behavior)
    call = kwargs(fake_provider.base_url)
    native = classify(failure(NativeTransport(Endpoint.of(call["model"], call["api_base"])), call))
    via_litellm = classify(failure(LitellmTransport(), call), [KEY])
    assert native.kind == via_litellm.kind == kind
    assert native.action == via_litellm.action
    assert native.retry_after_s == pytest.approx(via_litellm.retry_after_s)
    assert native.retry_after_s == RETRY_AFTER.get(case)
    if behavior.error_message:
        assert behavior.error_message in native.message


def test_status_and_body_of_an_error_answered_with_200() -> None:
    from llm_router_middleware.transport.request import parse_reply

    body = b'{"error": {"message": "Provider returned error", "code": 429}}'
    with pytest.raises(Exception) as caught:  # noqa: PT011
        parse_reply(200, {"retry-after": "2"}, body)
    verdict = classify(caught.value)
    assert (verdict.kind, verdict.status_code, verdict.retry_after_s) == (
        ErrorKind.RATE_LIMIT,
        429,
        2.0,
    )


def test_unreachable_endpoint_is_a_connection_error_without_the_address() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    base = f"http://127.0.0.1:{port}/v1"
    error = failure(NativeTransport(Endpoint.of("openai/x", base)), kwargs(base))
    verdict = classify(error)
    assert verdict.kind == ErrorKind.CONNECTION
    assert str(port) not in verdict.message
    assert "127.0.0.1" not in verdict.message


def test_timeout_is_classified_and_names_no_address(fake_provider: FakeProvider) -> None:
    fake_provider.set("fake-x", Behavior(hang=True))
    call = {**kwargs(fake_provider.base_url), "timeout": 0.2}
    verdict = classify(failure(NativeTransport(Endpoint.of(call["model"], call["api_base"])), call))
    assert verdict.kind == ErrorKind.TIMEOUT
    assert "127.0.0.1" not in verdict.message


def test_the_key_goes_to_the_provider_only_as_a_bearer_header(fake_provider: FakeProvider) -> None:
    call = kwargs(fake_provider.base_url)
    reply = NativeTransport(Endpoint.of(call["model"], call["api_base"])).complete(call)
    assert reply.choices[0].message.content == "Hello from the fake provider."
    (seen,) = fake_provider.requests
    assert seen.had_auth
    assert seen.api_key_suffix == KEY[-4:]
    assert seen.model == "fake-x"  # the "openai/" prefix is the router's, not the provider's
    assert set(seen.body) == {"model", "messages"}  # router-only kwargs are not sent


def test_extra_headers_and_extra_body_reach_the_provider(fake_provider: FakeProvider) -> None:
    call = {
        **kwargs(fake_provider.base_url),
        "temperature": 0.5,
        "extra_headers": {"X-Tenant": "acme"},
        "extra_body": {"top_k": 4},
    }
    NativeTransport(Endpoint.of(call["model"], call["api_base"])).complete(call)
    (seen,) = fake_provider.requests
    assert seen.headers["x-tenant"] == "acme"
    assert seen.body["temperature"] == 0.5
    assert seen.body["top_k"] == 4
    assert "extra_body" not in seen.body

"""classify() against real litellm exceptions, raised by real HTTP calls to the fake provider."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from email.utils import formatdate
from typing import Any

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import httpx
import litellm
from litellm.exceptions import APIError, BadRequestError, ContextWindowExceededError

from llm_router_middleware.resilience import (
    MAX_RETRY_AFTER_S,
    Action,
    Classified,
    ErrorKind,
    classify,
)
from llm_router_middleware.testing import Behavior, FakeProvider

# litellm 1.110 lazily imports its github_copilot module while handling an error; pydantic warns
# there about ReadOnly TypedDict items, and warnings-as-errors would replace the real exception.
pytestmark = pytest.mark.filterwarnings("ignore:.*`ReadOnly` qualifier:UserWarning")

SECRET = "sk-secret-123"
MESSAGES = [{"role": "user", "content": "say hello to the fake provider"}]


@pytest.fixture(scope="module")
def closed_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _kwargs(model: str, api_base: str, **extra: Any) -> dict[str, Any]:
    return {
        "model": f"openai/{model}",
        "api_base": api_base,
        "api_key": SECRET,
        "max_retries": 0,
        "timeout": 5.0,
        "messages": MESSAGES,
        **extra,
    }


def _fail(mode: str, **kwargs: Any) -> BaseException:
    try:
        if mode == "sync":
            litellm.completion(**kwargs)
        else:
            asyncio.run(litellm.acompletion(**kwargs))
    except Exception as exc:
        return exc
    raise AssertionError("the call succeeded")


def _classified(mode: str, provider: FakeProvider, model: str, **extra: Any) -> Classified:
    exc = _fail(mode, **_kwargs(model, provider.base_url, **extra))
    result = classify(exc, secrets=[SECRET])
    assert SECRET not in result.message
    assert "sk-secret" not in result.message
    return result


CASES = [
    # behavior, kind, action, status, breaker_failure, flagged
    (Behavior(status=429), ErrorKind.RATE_LIMIT, Action.FALLBACK, 429, True, False),
    (Behavior(status=503), ErrorKind.OVERLOADED, Action.FALLBACK, 503, True, False),
    (Behavior(status=500), ErrorKind.SERVER_ERROR, Action.FALLBACK, 500, True, False),
    (Behavior(status=502), ErrorKind.SERVER_ERROR, Action.FALLBACK, 502, True, False),
    (Behavior(status=401), ErrorKind.AUTHENTICATION, Action.FALLBACK, 401, True, True),
    (Behavior(status=403), ErrorKind.AUTHENTICATION, Action.FALLBACK, 403, True, True),
    (Behavior(status=404), ErrorKind.NOT_FOUND, Action.FALLBACK, 404, True, True),
    (Behavior(status=400), ErrorKind.BAD_REQUEST, Action.FAIL, 400, False, False),
    (Behavior(status=422), ErrorKind.BAD_REQUEST, Action.FAIL, 422, False, False),
    (Behavior(context_window=2), ErrorKind.CONTEXT_WINDOW, Action.LARGER_WINDOW, 400, False, False),
    (
        Behavior(
            status=400,
            error_code="content_policy_violation",
            error_message="Your request was rejected as a result of our safety system.",
        ),
        ErrorKind.CONTENT_POLICY,
        Action.FAIL,
        400,
        False,
        False,
    ),
    (Behavior(malformed=True), ErrorKind.INVALID_RESPONSE, Action.FALLBACK, 500, True, False),
]


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize(
    ("behavior", "kind", "action", "status", "breaker_failure", "flagged"),
    CASES,
    ids=[f"{case[1].value}-{case[3]}" for case in CASES],
)
def test_http_faults(
    fake_provider: FakeProvider,
    mode: str,
    behavior: Behavior,
    kind: ErrorKind,
    action: Action,
    status: int,
    breaker_failure: bool,
    flagged: bool,
) -> None:
    fake_provider.set("m", behavior)
    result = _classified(mode, fake_provider, "m")
    assert (result.kind, result.action, result.status_code) == (kind, action, status)
    assert (result.breaker_failure, result.flagged) == (breaker_failure, flagged)
    assert result.retry_after_s is None
    assert result.message
    assert not result.message.startswith("litellm.")


def test_bad_request_keeps_the_providers_message(fake_provider: FakeProvider) -> None:
    fake_provider.set("m", Behavior(status=400, error_message="'temperature' must be <= 2"))
    result = _classified("sync", fake_provider, "m")
    assert result.message == "'temperature' must be <= 2"


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_timeout(fake_provider: FakeProvider, mode: str) -> None:
    fake_provider.set("m", Behavior(hang=True))
    result = _classified(mode, fake_provider, "m", timeout=0.3)
    assert (result.kind, result.action, result.breaker_failure) == (
        ErrorKind.TIMEOUT,
        Action.FALLBACK,
        True,
    )


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_refused_connection(closed_port: int, mode: str) -> None:
    exc = _fail(mode, **_kwargs("m", f"http://127.0.0.1:{closed_port}/v1"))
    result = classify(exc, secrets=[SECRET])
    assert (result.kind, result.action, result.breaker_failure) == (
        ErrorKind.CONNECTION,
        Action.FALLBACK,
        True,
    )
    assert SECRET not in result.message


@pytest.mark.parametrize("status", [429, 503])
@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "7"}, 7.0),
        ({"Retry-After": "1.5"}, 1.5),
        ({"retry-after-ms": "2500"}, 2.5),
        ({"retry-after-ms": "2500", "Retry-After": "9"}, 2.5),
        ({"Retry-After": "86400"}, MAX_RETRY_AFTER_S),
        ({"Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT"}, MAX_RETRY_AFTER_S),
        ({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, None),
        ({"Retry-After": "soon"}, None),
        ({}, None),
    ],
)
def test_retry_after(
    fake_provider: FakeProvider, status: int, headers: dict[str, str], expected: float | None
) -> None:
    fake_provider.set("m", Behavior(status=status, headers=headers))
    result = _classified("sync", fake_provider, "m")
    assert result.status_code == status
    assert result.retry_after_s == expected


def test_retry_after_http_date(fake_provider: FakeProvider) -> None:
    when = formatdate(time.time() + 120, usegmt=True)
    fake_provider.set("m", Behavior(status=429, headers={"Retry-After": when}))
    result = _classified("sync", fake_provider, "m")
    assert result.retry_after_s is not None
    assert 115 <= result.retry_after_s <= 120


def test_retry_after_only_for_429_and_503(fake_provider: FakeProvider) -> None:
    fake_provider.set("m", Behavior(status=500, retry_after=5))
    assert _classified("sync", fake_provider, "m").retry_after_s is None


@pytest.mark.parametrize(
    "echo",
    [
        f"Incorrect API key provided: {SECRET}.",
        "Incorrect API key provided: sk-proj-abc*********************wxyz.",
        "call to https://x.test/v1?api_key=AbCdEf0123456789 failed",
    ],
)
def test_keys_echoed_by_the_provider_are_redacted(fake_provider: FakeProvider, echo: str) -> None:
    fake_provider.set("m", Behavior(status=401, error_message=echo))
    exc = _fail("sync", **_kwargs("m", fake_provider.base_url))
    result = classify(exc)  # no secrets given: the shapes alone must catch them
    assert "[REDACTED]" in result.message
    for leaked in (SECRET, "sk-proj-abc", "AbCdEf0123456789"):
        assert leaked not in result.message


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (TimeoutError(), ErrorKind.TIMEOUT),
        (httpx.PoolTimeout("pool"), ErrorKind.TIMEOUT),
        (httpx.ReadTimeout("slow"), ErrorKind.TIMEOUT),
        (httpx.ConnectError("refused"), ErrorKind.CONNECTION),
        (ConnectionResetError("reset"), ErrorKind.CONNECTION),
        (ValueError("what"), ErrorKind.UNKNOWN),
        (RuntimeError(), ErrorKind.UNKNOWN),
    ],
)
def test_plain_exceptions(exc: BaseException, kind: ErrorKind) -> None:
    result = classify(exc)
    assert result.kind == kind
    assert result.action == Action.FALLBACK
    assert result.breaker_failure
    assert result.message  # never empty, even for a bare exception


def test_unknown_error_with_a_status() -> None:
    exc = APIError(status_code=409, message="conflict", llm_provider="openai", model="x")
    result = classify(exc)
    assert (result.kind, result.status_code, result.breaker_failure) == (
        ErrorKind.UNKNOWN,
        409,
        True,
    )


def test_context_window_is_checked_before_bad_request() -> None:
    exc = ContextWindowExceededError(message="too long", model="x", llm_provider="openai")
    assert isinstance(exc, BadRequestError)
    assert classify(exc).action == Action.LARGER_WINDOW


def test_message_is_trimmed() -> None:
    result = classify(ValueError("x" * 5000))
    assert len(result.message) <= 500
    assert result.message.endswith("…")


@pytest.mark.parametrize("exc", [asyncio.CancelledError(), KeyboardInterrupt()])
def test_cancellation_is_not_a_provider_failure(exc: BaseException) -> None:
    result = classify(exc)
    assert (result.kind, result.action, result.breaker_failure) == (
        ErrorKind.UNKNOWN,
        Action.FAIL,
        False,
    )


LOCAL_CASES = {
    "image part without image_url": {
        "messages": [{"role": "user", "content": [{"type": "image_url"}]}]
    },
    "NaN temperature": {"temperature": float("nan")},
    "lone surrogate": {"messages": [{"role": "user", "content": "a\ud800b"}]},
}


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("extra", LOCAL_CASES.values(), ids=list(LOCAL_CASES))
def test_errors_raised_before_any_http_exchange_never_count_against_the_breaker(
    fake_provider: FakeProvider, mode: str, extra: dict[str, Any]
) -> None:
    """litellm wraps these as a 500 InternalServerError: nothing reached the provider."""
    fake_provider.clear()
    result = _classified(mode, fake_provider, "fake-local", **extra)
    assert fake_provider.count() == 0
    assert result.kind is ErrorKind.LOCAL
    assert result.breaker_failure is False
    assert result.flagged is True

"""What a failed attempt means for the plan: fall back, skip to a larger window, or fail.

litellm maps provider errors onto its own exception classes, but not always onto the obvious
one (observed with litellm 1.110 against an OpenAI-compatible server):

- a refused or dropped connection arrives as ``InternalServerError`` (500) whose cause chain holds
  ``openai.APIConnectionError`` / ``httpx.ConnectError``;
- a 200 answer with a malformed JSON body arrives as ``InternalServerError`` (500) whose chain holds
  a ``json.JSONDecodeError``;
- 403 arrives as ``APIError`` with ``status_code == 403``, 422 as ``BadRequestError`` with 422;
- Retry-After is on ``exc.litellm_response_headers`` and ``exc.response.headers``;
- an error raised on our side before any HTTP exchange (a request litellm cannot build or encode:
  an image part without its URL, a NaN number, a lone surrogate) also arrives as
  ``InternalServerError`` (500), with a made-up response, and its chain ends in a plain
  ``KeyError`` / ``ValueError`` / ``UnicodeEncodeError`` with no HTTP or network error in it.

So classification looks at the class first, then at the cause chain, then at the status code.
Only errors that came from the provider (an HTTP status it answered, a body it sent, a network
failure talking to it) count against its breaker: a local error is ``LOCAL`` and never does.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any

from llm_router_middleware.resilience.redact import redact

MAX_RETRY_AFTER_S = 600.0
MAX_MESSAGE_CHARS = 500
_CHAIN_DEPTH = 12


class ErrorKind(StrEnum):
    RATE_LIMIT = "rate_limit"
    OVERLOADED = "overloaded"
    TIMEOUT = "timeout"
    CONNECTION = "connection"
    SERVER_ERROR = "server_error"
    CONTEXT_WINDOW = "context_window"
    AUTHENTICATION = "authentication"
    NOT_FOUND = "not_found"
    BAD_REQUEST = "bad_request"
    CONTENT_POLICY = "content_policy"
    INVALID_RESPONSE = "invalid_response"
    EMPTY_REPLY = "empty_reply"  # a 200 with no content and no tool call (resilience/replies.py)
    CONTENT_FILTERED = "content_filtered"  # a 200 cut off by the provider's content filter
    TRUNCATED = "truncated"  # a 200 stopped at its token limit (only when configured)
    LOCAL = "local_error"
    UNKNOWN = "unknown"


class Action(StrEnum):
    FALLBACK = "fallback"
    LARGER_WINDOW = "larger_window"
    FAIL = "fail"


@dataclass(frozen=True, slots=True)
class Classified:
    kind: ErrorKind
    action: Action
    status_code: int | None
    retry_after_s: float | None
    message: str
    breaker_failure: bool
    flagged: bool


# kind -> (action, counts against the breaker, needs an operator)
_POLICY: Mapping[ErrorKind, tuple[Action, bool, bool]] = {
    ErrorKind.RATE_LIMIT: (Action.FALLBACK, True, False),
    ErrorKind.OVERLOADED: (Action.FALLBACK, True, False),
    ErrorKind.TIMEOUT: (Action.FALLBACK, True, False),
    ErrorKind.CONNECTION: (Action.FALLBACK, True, False),
    ErrorKind.SERVER_ERROR: (Action.FALLBACK, True, False),
    ErrorKind.INVALID_RESPONSE: (Action.FALLBACK, True, False),
    ErrorKind.EMPTY_REPLY: (Action.FALLBACK, True, False),
    ErrorKind.CONTENT_FILTERED: (Action.FALLBACK, True, False),
    ErrorKind.TRUNCATED: (Action.FALLBACK, True, False),
    ErrorKind.AUTHENTICATION: (Action.FALLBACK, True, True),
    ErrorKind.NOT_FOUND: (Action.FALLBACK, True, True),
    ErrorKind.CONTEXT_WINDOW: (Action.LARGER_WINDOW, False, False),
    ErrorKind.CONTENT_POLICY: (Action.FAIL, False, False),
    ErrorKind.BAD_REQUEST: (Action.FAIL, False, False),
    ErrorKind.LOCAL: (Action.FALLBACK, False, True),
    ErrorKind.UNKNOWN: (Action.FALLBACK, True, False),
}

_RETRY_AFTER_KINDS = frozenset({ErrorKind.RATE_LIMIT, ErrorKind.OVERLOADED})
_RETRY_AFTER_STATUSES = frozenset({429, 503, 529})
# Markers litellm puts in the message when a 2xx answer could not be parsed.
_INVALID_MARKERS = (
    "invalid response from llm endpoint",
    "response with no 'choices'",
    "received response - <apiresponse [2",
)
_CONTEXT_CODES = frozenset({"context_length_exceeded", "string_above_max_length"})
_POLICY_CODES = frozenset({"content_policy_violation", "content_filter"})
_PREFIX = re.compile(r"^(?:(?:litellm\.)?[A-Za-z]*(?:Error|Exception|Timeout)(?::| -)\s*)+")
_SPACES = re.compile(r"\s+")


def classify(exc: BaseException, secrets: Iterable[str] = ()) -> Classified:
    """Classify an exception raised by a litellm call. ``secrets`` are scrubbed from the message.

    A BaseException that is not an Exception (``asyncio.CancelledError``, ``KeyboardInterrupt``)
    classifies as UNKNOWN / FAIL and does not count against the breaker."""
    status = _status_code(exc)
    if not isinstance(exc, Exception):  # cancelled, interrupted: says nothing about the provider
        message = _message(exc, secrets)
        return Classified(ErrorKind.UNKNOWN, Action.FAIL, status, None, message, False, False)
    kind = _kind(exc, status)
    action, breaker_failure, flagged = _POLICY[kind]
    retry_after = None
    if kind in _RETRY_AFTER_KINDS or status in _RETRY_AFTER_STATUSES:
        retry_after = retry_after_seconds(exc)
    return Classified(
        kind=kind,
        action=action,
        status_code=status,
        retry_after_s=retry_after,
        message=_message(exc, secrets),
        breaker_failure=breaker_failure,
        flagged=flagged,
    )


def _kind(exc: BaseException, status: int | None) -> ErrorKind:
    given = getattr(exc, "error_kind", None)
    if isinstance(given, ErrorKind):  # classified where it was raised (native transport)
        return given
    # litellm and its dependencies are imported lazily: this module sits on the planning path,
    # and by the time an exception is classified litellm has long been imported.
    import httpx
    import openai
    from litellm import exceptions as lx

    if _raised_locally(exc):
        return ErrorKind.LOCAL
    if isinstance(exc, lx.ContextWindowExceededError):
        return ErrorKind.CONTEXT_WINDOW
    if isinstance(exc, lx.ContentPolicyViolationError):
        return ErrorKind.CONTENT_POLICY
    if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
        return ErrorKind.AUTHENTICATION
    if isinstance(exc, lx.PaymentRequiredError):  # the provider account is out of credit
        return ErrorKind.AUTHENTICATION
    if isinstance(exc, openai.NotFoundError):
        return ErrorKind.NOT_FOUND
    if isinstance(exc, openai.RateLimitError):
        return ErrorKind.RATE_LIMIT
    if isinstance(exc, openai.BadRequestError | openai.UnprocessableEntityError):
        code = _error_code(exc)
        if code in _CONTEXT_CODES:
            return ErrorKind.CONTEXT_WINDOW
        if code in _POLICY_CODES:
            return ErrorKind.CONTENT_POLICY
        return ErrorKind.BAD_REQUEST
    if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException | TimeoutError):
        return ErrorKind.TIMEOUT
    if status is None or status >= 500:
        from_chain = _kind_from_chain(exc)
        if from_chain is not None:
            return from_chain
    if isinstance(exc, openai.APIConnectionError | httpx.TransportError | ConnectionError):
        return ErrorKind.CONNECTION
    return _kind_from_status(status)


def _raised_locally(exc: BaseException) -> bool:
    """No HTTP answer, body or network failure anywhere in the chain, and the root cause is not
    one of litellm's, openai's or httpx's own errors: the request never left this process."""
    import httpx
    import openai

    chain = list(_chain(exc))
    remote = _remote_errors(httpx, openai)
    # litellm's own classes subclass openai's: only an openai or httpx error itself is evidence
    if any(isinstance(e, remote) and not _from_litellm(e) for e in chain):
        return False
    if any(marker in str(exc).lower() for marker in _INVALID_MARKERS):
        return False
    root = chain[-1]
    return len(chain) > 1 and not type(root).__module__.startswith(("litellm", "openai", "httpx"))


def _from_litellm(exc: BaseException) -> bool:
    return type(exc).__module__.startswith("litellm")


def _remote_errors(httpx: Any, openai: Any) -> tuple[type[BaseException], ...]:
    return (
        httpx.HTTPStatusError,
        httpx.TransportError,
        openai.APIStatusError,
        openai.APIConnectionError,  # also APITimeoutError
        openai.APIResponseValidationError,
        TimeoutError,
        ConnectionError,
        json.JSONDecodeError,
    )


def _kind_from_chain(exc: BaseException) -> ErrorKind | None:
    """Look under litellm's generic 500 for what really happened."""
    import httpx
    import openai

    chain = list(_chain(exc))
    answered_with_error = any(
        isinstance(e, httpx.HTTPStatusError | openai.APIStatusError) for e in chain[1:]
    )
    for cause in chain[1:]:
        if isinstance(cause, openai.APITimeoutError | httpx.TimeoutException | TimeoutError):
            return ErrorKind.TIMEOUT
    for cause in chain[1:]:
        if isinstance(cause, openai.APIConnectionError | httpx.TransportError | ConnectionError):
            return ErrorKind.CONNECTION
    if answered_with_error:
        return None
    for cause in chain[1:]:
        if isinstance(cause, json.JSONDecodeError | openai.APIResponseValidationError):
            return ErrorKind.INVALID_RESPONSE
    text = str(exc).lower()
    if any(marker in text for marker in _INVALID_MARKERS):
        return ErrorKind.INVALID_RESPONSE
    return None


def _kind_from_status(status: int | None) -> ErrorKind:
    if status is None:
        return ErrorKind.UNKNOWN
    if status == 429:
        return ErrorKind.RATE_LIMIT
    if status in (408, 504):
        return ErrorKind.TIMEOUT
    if status in (503, 529):
        return ErrorKind.OVERLOADED
    if status >= 500:
        return ErrorKind.SERVER_ERROR
    if status in (401, 402, 403):
        return ErrorKind.AUTHENTICATION
    if status == 404:
        return ErrorKind.NOT_FOUND
    if status in (400, 413, 422):
        return ErrorKind.BAD_REQUEST
    return ErrorKind.UNKNOWN


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and len(seen) < _CHAIN_DEPTH:
        seen.add(id(current))
        yield current
        original = getattr(current, "original_exception", None)  # MidStreamFallbackError
        if isinstance(original, BaseException) and id(original) not in seen:
            current = original
        else:
            current = current.__cause__ or current.__context__


def _status_code(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None)
    if isinstance(status, int) and not isinstance(status, bool):
        return status
    if isinstance(status, str) and status.isdigit():
        return int(status)
    return None


def _error_code(exc: BaseException) -> str | None:
    code = getattr(exc, "code", None)
    if isinstance(code, str):
        return code
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("code"), str):
            return str(inner["code"])
    return None


def _header_sources(exc: BaseException) -> Iterator[Any]:
    for cause in _chain(exc):
        yield getattr(cause, "litellm_response_headers", None)
        response = getattr(cause, "response", None)
        yield getattr(response, "headers", None)
        yield getattr(cause, "headers", None)


def _lookup(headers: Any, name: str) -> str | None:
    if headers is None:
        return None
    getter = getattr(headers, "get", None)
    if getter is None:
        return None
    value = getter(name)
    if value is None and isinstance(headers, dict):  # a plain dict is case-sensitive
        value = next((v for k, v in headers.items() if str(k).lower() == name), None)
    return None if value is None else str(value)


def retry_after_seconds(exc: BaseException, now: float | None = None) -> float | None:
    """Seconds the provider asked us to wait (retry-after-ms, Retry-After seconds or HTTP-date),
    capped at MAX_RETRY_AFTER_S; None when absent, unparsable or not in the future."""
    for headers in _header_sources(exc):
        millis = _lookup(headers, "retry-after-ms")
        if millis is not None:
            seconds = _number(millis)
            if seconds is not None:
                return _cap(seconds / 1000.0)
        raw = _lookup(headers, "retry-after")
        if raw is not None:
            seconds = _number(raw)
            if seconds is None:
                seconds = _http_date_delay(raw, time.time() if now is None else now)
            if seconds is not None:
                return _cap(seconds)
    return None


def _number(raw: str) -> float | None:
    try:
        value = float(raw.strip())
    except ValueError:
        return None
    return value if value == value else None  # NaN


def _http_date_delay(raw: str, now: float) -> float | None:
    try:
        moment = parsedate_to_datetime(raw.strip())
    except (TypeError, ValueError, IndexError):
        return None
    return moment.timestamp() - now


def _cap(seconds: float) -> float | None:
    if seconds <= 0:
        return None
    return min(seconds, MAX_RETRY_AFTER_S)


def _message(exc: BaseException, secrets: Iterable[str]) -> str:
    raw = getattr(exc, "message", None)
    text = raw if isinstance(raw, str) and raw else str(exc)
    text = _SPACES.sub(" ", _PREFIX.sub("", text.strip())).strip()
    text = redact(text or type(exc).__name__, secrets)
    if len(text) > MAX_MESSAGE_CHARS:
        text = text[: MAX_MESSAGE_CHARS - 1].rstrip() + "…"
    return text

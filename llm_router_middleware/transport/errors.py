"""What a native call's failure means, decided where the answer was read.

The kinds are those of ``resilience.classify``: an ``UpstreamError`` carries its ``error_kind``, and
``classify`` takes it as is. ``status_code``, ``headers`` (for Retry-After / retry-after-ms) and
``message`` are read there the same way as on litellm's exceptions. Messages never carry the
request URL or headers (no infrastructure address, no key).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..resilience.classify import ErrorKind
from ..resilience.classify import _kind_from_status as kind_from_status

# Error codes and message fragments OpenAI-compatible servers use (OpenAI, vLLM, llama.cpp,
# Ollama, Groq, Together, OpenRouter) for a prompt longer than the model's window.
_CONTEXT_CODES = frozenset({"context_length_exceeded", "string_above_max_length"})
_CONTEXT_MARKERS = (
    "maximum context length",
    "context length",
    "context_length_exceeded",
    "context window",
    "prompt is too long",
    "too many tokens",
    "exceeds the available context size",
)
_POLICY_CODES = frozenset({"content_policy_violation", "content_filter"})


class UpstreamError(Exception):
    """A native call failed: the provider answered with an error, did not answer in time, could
    not be reached, or answered something that is not a chat completion."""

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        *,
        status_code: int | None = None,
        headers: Mapping[str, str] | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.error_kind = kind
        self.message = message
        self.status_code = status_code
        self.headers = headers
        self.code = code


# Per kind, the class name litellm's exceptions carry for it, so the ``error.type`` of a chat
# span reads the same on both transports.
_NAMES = {
    ErrorKind.RATE_LIMIT: "RateLimitError",
    ErrorKind.OVERLOADED: "ServiceUnavailableError",
    ErrorKind.TIMEOUT: "Timeout",
    ErrorKind.CONNECTION: "APIConnectionError",
    ErrorKind.SERVER_ERROR: "InternalServerError",
    ErrorKind.CONTEXT_WINDOW: "ContextWindowExceededError",
    ErrorKind.AUTHENTICATION: "AuthenticationError",
    ErrorKind.NOT_FOUND: "NotFoundError",
    ErrorKind.BAD_REQUEST: "BadRequestError",
    ErrorKind.CONTENT_POLICY: "ContentPolicyViolationError",
    ErrorKind.INVALID_RESPONSE: "InvalidResponseError",
    ErrorKind.UNKNOWN: "APIError",
}
_CLASSES: dict[ErrorKind, type[UpstreamError]] = {
    kind: type(name, (UpstreamError,), {"__module__": __name__}) for kind, name in _NAMES.items()
}


def upstream_error(
    kind: ErrorKind,
    message: str,
    *,
    status_code: int | None = None,
    headers: Mapping[str, str] | None = None,
    code: str | None = None,
) -> UpstreamError:
    """An ``UpstreamError`` of the subclass named for ``kind``."""
    return _CLASSES[kind](kind, message, status_code=status_code, headers=headers, code=code)


def error_from_body(
    status: int, headers: Mapping[str, str] | None, payload: Any, raw: bytes
) -> UpstreamError:
    """The error an HTTP error answer (or a 200 carrying an ``error`` object) stands for."""
    message, code, kind_hint = _error_fields(payload)
    if not message:
        text = raw[:300].decode("utf-8", "replace").strip()
        message = text or f"HTTP {status}"
    kind = classify_answer(status, code, kind_hint, message)
    return upstream_error(
        kind, f"HTTP {status}: {message}", status_code=status, headers=headers, code=code
    )


def classify_answer(
    status: int, code: str | None, kind_hint: str | None, message: str
) -> ErrorKind:
    """HTTP status plus the provider's error body -> the kind ``classify`` would give."""
    if status in (400, 413, 422) or (status < 500 and status not in (401, 402, 403, 404, 408, 429)):
        if code in _CONTEXT_CODES:
            return ErrorKind.CONTEXT_WINDOW
        if code in _POLICY_CODES or kind_hint in _POLICY_CODES:
            return ErrorKind.CONTENT_POLICY
        lowered = message.lower()
        if any(marker in lowered for marker in _CONTEXT_MARKERS):
            return ErrorKind.CONTEXT_WINDOW
    return kind_from_status(status)


def _error_fields(payload: Any) -> tuple[str | None, str | None, str | None]:
    """(message, code, type) of ``{"error": {...}}``, ``{"error": "text"}``, ``{"detail": ..}``."""
    if not isinstance(payload, dict):
        return None, None, None
    inner = payload.get("error", payload)
    if isinstance(inner, str):
        return inner, None, None
    if not isinstance(inner, dict):
        return None, None, None
    message = inner.get("message") or inner.get("detail") or payload.get("message")
    code = inner.get("code")
    kind = inner.get("type")
    return (
        str(message) if message else None,
        code if isinstance(code, str) else None,
        kind if isinstance(kind, str) else None,
    )


def invalid_response(reason: str) -> UpstreamError:
    return upstream_error(ErrorKind.INVALID_RESPONSE, f"invalid response from the model: {reason}")


def timed_out(timeout: float) -> UpstreamError:
    return upstream_error(ErrorKind.TIMEOUT, f"the model did not answer within {timeout:g} s")


def unreachable(exc: BaseException) -> UpstreamError:
    """A connection failure, named by its class only (its text may hold the address)."""
    return upstream_error(
        ErrorKind.CONNECTION, f"could not reach the model's endpoint ({type(exc).__name__})"
    )

"""What the fake provider records: each request (credentials redacted) and each stream."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llm_router_middleware.testing._behavior import Messages

_SECRET_HEADERS = frozenset({"authorization", "api-key", "x-api-key", "proxy-authorization"})
_REDACTED = "[REDACTED]"


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake provider saw it, with credentials redacted."""

    method: str
    path: str
    model: str
    messages: Messages
    stream: bool
    body: dict[str, Any]
    headers: dict[str, str]
    had_auth: bool
    api_key_suffix: str | None
    timestamp: float


@dataclass(frozen=True)
class StreamRecord:
    """One streamed reply: the text the provider sent, and whether it sent it all."""

    model: str
    sent: str
    completed: bool


def redact_headers(headers: dict[str, str]) -> tuple[dict[str, str], bool, str | None]:
    clean: dict[str, str] = {}
    suffix: str | None = None
    had_auth = False
    for name, value in headers.items():
        key = name.lower()
        if key in _SECRET_HEADERS:
            had_auth = True
            token = value.split(" ", 1)[-1].strip()
            suffix = suffix or (token[-4:] if token else None)
            clean[key] = _REDACTED
        else:
            clean[key] = value
    return clean, had_auth, suffix

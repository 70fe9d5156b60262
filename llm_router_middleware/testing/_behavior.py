"""What the fake provider does for one model: `Behavior`, and the pure helpers it uses."""

from __future__ import annotations

import hashlib
import math
import random
import struct
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Messages = list[dict[str, Any]]
ReplyFn = Callable[[Messages], str]
EmbedFn = Callable[[str], Sequence[float]]

_ERROR_TYPES: dict[int, tuple[str, str]] = {
    400: ("invalid_request_error", "invalid_request"),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("permission_error", "permission_denied"),
    404: ("invalid_request_error", "model_not_found"),
    408: ("timeout_error", "timeout"),
    422: ("invalid_request_error", "unprocessable_entity"),
    429: ("rate_limit_error", "rate_limit_exceeded"),
    500: ("server_error", "internal_error"),
    502: ("server_error", "bad_gateway"),
    503: ("server_error", "service_unavailable"),
    504: ("server_error", "gateway_timeout"),
}

_ERROR_MESSAGES: dict[int, str] = {
    400: "Invalid request.",
    401: "Incorrect API key provided.",
    403: "You are not allowed to use this model.",
    404: "The model does not exist or you do not have access to it.",
    429: "Rate limit reached for requests. Please try again later.",
    500: "The server had an error while processing your request.",
    502: "Bad gateway.",
    503: "The engine is currently overloaded, please try again later.",
    504: "Gateway timeout.",
}


@dataclass(frozen=True)
class Behavior:
    """How the fake provider answers requests for one model name.

    Applied in this order: `latency_s`, `hang`, `context_window` (400
    context_length_exceeded), `status` (every request fails with it when >= 400),
    `fail_times` then `failure_rate` (those answer `fail_status`), `malformed`.
    `stream_break_after=N` drops the connection of a streamed reply after its N-th text chunk
    (no final chunk, no ``[DONE]``): a provider failing mid-stream. `empty_stream` answers a
    streamed request with ``data: [DONE]`` alone (no chunk, no usage).
    `reply` may be a callable of the request messages. `failure_rate` draws are
    a pure function of (`seed`, model, request index), so runs are reproducible.
    """

    reply: str | ReplyFn = "Hello from the fake provider."
    status: int = 200
    error_message: str | None = None
    error_type: str | None = None
    error_code: str | None = None
    retry_after: float | None = None
    latency_s: float = 0.0
    stream_chunk_delay_s: float = 0.0
    stream_break_after: int | None = None
    empty_stream: bool = False
    hang: bool = False
    malformed: bool = False
    failure_rate: float = 0.0
    fail_times: int = 0
    fail_status: int = 500
    seed: int = 0
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str = "stop"
    context_window: int | None = None
    embedding_dim: int = 16
    embed: EmbedFn | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 0.0 <= self.failure_rate <= 1.0:
            raise ValueError(f"Behavior.failure_rate must be in [0, 1], got {self.failure_rate!r}")
        for name in ("status", "fail_status"):
            value = getattr(self, name)
            if not 100 <= value <= 599:
                raise ValueError(f"Behavior.{name} must be an HTTP status, got {value!r}")
        for name in ("latency_s", "stream_chunk_delay_s", "fail_times"):
            if getattr(self, name) < 0:
                raise ValueError(f"Behavior.{name} must be >= 0, got {getattr(self, name)!r}")
        if self.stream_break_after is not None and self.stream_break_after < 0:
            raise ValueError(
                f"Behavior.stream_break_after must be >= 0, got {self.stream_break_after!r}"
            )
        if self.embedding_dim < 1:
            raise ValueError(f"Behavior.embedding_dim must be >= 1, got {self.embedding_dim!r}")

    def failure_status(self, index: int, model: str) -> int | None:
        """The error status for the `index`-th request (0-based) to `model`, or None."""
        if self.status >= 400:
            return self.status
        if index < self.fail_times:
            return self.fail_status
        if self.failure_rate > 0.0 and _unit(self.seed, model, index) < self.failure_rate:
            return self.fail_status
        return None

    def reply_text(self, messages: Messages) -> str:
        return self.reply(messages) if callable(self.reply) else self.reply

    def error_body(self, status: int) -> dict[str, Any]:
        default_type, default_code = _ERROR_TYPES.get(
            status, ("server_error" if status >= 500 else "invalid_request_error", str(status))
        )
        message = self.error_message or _ERROR_MESSAGES.get(status, f"Fake error {status}.")
        return {
            "error": {
                "message": message,
                "type": self.error_type or default_type,
                "param": None,
                "code": self.error_code or default_code,
            }
        }

    def error_headers(self) -> dict[str, str]:
        headers = dict(self.headers)
        if self.retry_after is not None:
            value = self.retry_after
            headers["Retry-After"] = str(int(value)) if float(value).is_integer() else str(value)
        return headers

    def embedding(self, text: str, dimensions: int | None = None) -> list[float]:
        if self.embed is not None:
            return [float(x) for x in self.embed(text)]
        return hash_embedding(text, dimensions or self.embedding_dim)


def _unit(seed: int, model: str, index: int) -> float:
    digest = hashlib.blake2b(f"{seed}:{model}:{index}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def rough_tokens(text: str) -> int:
    """A deterministic word-count stand-in for a tokenizer."""
    return len(text.split())


def message_text(messages: Messages) -> str:
    parts: list[str] = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts.extend(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return " ".join(parts)


def prompt_token_count(messages: Messages) -> int:
    return rough_tokens(message_text(messages))


def context_length_body(limit: int, used: int) -> dict[str, Any]:
    return {
        "error": {
            "message": (
                f"This model's maximum context length is {limit} tokens. However, your "
                f"messages resulted in {used} tokens. Please reduce the length of the messages."
            ),
            "type": "invalid_request_error",
            "param": "messages",
            "code": "context_length_exceeded",
        }
    }


def hash_embedding(text: str, dimensions: int) -> list[float]:
    """A unit vector seeded by the text's hash: equal texts give equal vectors."""
    seed = struct.unpack(">Q", hashlib.blake2b(text.encode(), digest_size=8).digest())[0]
    rng = random.Random(seed)
    vector = [rng.gauss(0.0, 1.0) for _ in range(dimensions)]
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [x / norm for x in vector]

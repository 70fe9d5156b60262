"""Validate OpenAI-style chat messages, extract the text routing looks at, estimate tokens."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .errors import InvalidRequestError

ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
IMAGE_TOKENS = 85  # what OpenAI charges for a low-detail image part; an estimate
_MESSAGE_OVERHEAD = 3


def validate_messages(messages: Any) -> list[Mapping[str, Any]]:
    if isinstance(messages, str | bytes) or not isinstance(messages, Sequence):
        raise InvalidRequestError(
            f"messages must be a list of {{'role': ..., 'content': ...}} objects, "
            f"got {type(messages).__name__}"
        )
    if not messages:
        raise InvalidRequestError("messages must not be empty")
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(message, Mapping):
            raise InvalidRequestError(f"{where} must be an object, got {type(message).__name__}")
        role = message.get("role")
        if role not in ROLES:
            raise InvalidRequestError(
                f"{where}.role must be one of {', '.join(sorted(ROLES))}, got {role!r}"
            )
        content = message.get("content")
        if content is None:
            if role == "assistant" and (message.get("tool_calls") or message.get("function_call")):
                continue
            raise InvalidRequestError(f"{where}.content is missing")
        if isinstance(content, str):
            continue
        if not isinstance(content, list):
            raise InvalidRequestError(
                f"{where}.content must be a string or a list of parts, got {type(content).__name__}"
            )
        for j, part in enumerate(content):
            if not isinstance(part, Mapping) or not isinstance(part.get("type"), str):
                raise InvalidRequestError(f"{where}.content[{j}] must be an object with a 'type'")
            if part["type"] == "text" and not isinstance(part.get("text"), str):
                raise InvalidRequestError(f"{where}.content[{j}].text must be a string")
    return list(messages)


def text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p["text"] for p in content if p.get("type") == "text" and "text" in p)
    return ""


def routable_text(messages: Sequence[Mapping[str, Any]]) -> str:
    """The text of the last user message (text parts only): what strategies classify."""
    for message in reversed(messages):
        if message.get("role") == "user":
            return text_of(message.get("content"))
    return text_of(messages[-1].get("content"))


def count_tokens(messages: Sequence[Mapping[str, Any]]) -> int:
    """Prompt tokens with litellm's default tokenizer (cl100k) and OpenAI's per-message framing.

    Direct use of the encoding: ``litellm.token_counter`` costs 65-650 us per call here, the
    encoding itself about 10 us for a short prompt."""
    total = _MESSAGE_OVERHEAD
    for message in messages:
        total += _MESSAGE_OVERHEAD
        content = message.get("content")
        if isinstance(content, str):
            total += _tokens(content)
        elif isinstance(content, list):
            for part in content:
                if part.get("type") == "text":
                    total += _tokens(part.get("text", ""))
                else:
                    total += IMAGE_TOKENS
        for key in ("name", "tool_calls", "function_call"):
            if message.get(key):
                total += _tokens(str(message[key]))
    return total


_TOKEN_CACHE: dict[str, int] = {}
_TOKEN_CACHE_SIZE = 4096
_encoding: Any = None


def _tokens(text: str) -> int:
    """Tokens in one text; repeated texts (system prompts, few-shot examples) are counted once."""
    global _encoding
    cached = _TOKEN_CACHE.get(text)
    if cached is not None:
        return cached
    if _encoding is None:
        import litellm

        _encoding = getattr(litellm, "encoding")  # noqa: B009 (not re-exported in its stubs)
    count = len(_encoding.encode(text, disallowed_special=()))
    if len(_TOKEN_CACHE) >= _TOKEN_CACHE_SIZE:
        _TOKEN_CACHE.clear()
    _TOKEN_CACHE[text] = count
    return count

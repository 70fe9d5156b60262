"""Validate OpenAI-style chat messages, extract the text routing looks at, estimate tokens."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .errors import InvalidRequestError
from .params import check_value

ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
IMAGE_TOKENS = 85  # what OpenAI charges for a low-detail image part; an estimate
_MESSAGE_OVERHEAD = 3


def validate_messages(messages: Any) -> list[Mapping[str, Any]]:
    """The messages, or InvalidRequestError naming the first field that is wrong
    (``messages[2].content[0].image_url``), before any model is tried."""
    if messages.__class__ is not list and (
        isinstance(messages, str | bytes) or not isinstance(messages, Sequence)
    ):
        raise InvalidRequestError(
            f"messages must be a list of {{'role': ..., 'content': ...}} objects, "
            f"got {type(messages).__name__}",
            "messages",
        )
    if not messages:
        raise InvalidRequestError("messages must not be empty", "messages")
    for i, message in enumerate(messages):
        if message.__class__ is dict and len(message) == 2:  # the common {"role", "content"}
            role, content = message.get("role"), message.get("content")
            if role.__class__ is str and content.__class__ is str and role in ROLES:
                if not content.isascii():  # the check (and error) the walk below would make
                    check_value(content, f"messages[{i}].content")
                continue  # everything else the checks below would look at is valid
        where = f"messages[{i}]"
        if message.__class__ is not dict and not isinstance(message, Mapping):
            raise InvalidRequestError(
                f"{where} must be an object, got {type(message).__name__}", where
            )
        role = message.get("role")
        if not isinstance(role, str) or role not in ROLES:
            shown = repr(role) if isinstance(role, str | None) else type(role).__name__
            raise InvalidRequestError(
                f"{where}.role must be one of {', '.join(sorted(ROLES))}, got {shown}",
                f"{where}.role",
            )
        for key in ("name", "tool_call_id"):
            if key in message and not isinstance(message[key], str):
                raise InvalidRequestError(f"{where}.{key} must be a string", f"{where}.{key}")
        content = message.get("content")
        if content is None:
            if role == "assistant" and (message.get("tool_calls") or message.get("function_call")):
                check_value(message, where)
                continue
            raise InvalidRequestError(f"{where}.content is missing", f"{where}.content")
        if isinstance(content, list):
            for j, part in enumerate(content):
                _check_part(part, f"{where}.content[{j}]")
        elif not isinstance(content, str):
            raise InvalidRequestError(
                f"{where}.content must be a string or a list of parts, "
                f"got {type(content).__name__}",
                f"{where}.content",
            )
        check_value(message, where)
    return list(messages)


def read_messages(messages: Any) -> tuple[list[Mapping[str, Any]], str, int | None]:
    """``validate_messages(messages)``, ``routable_text`` of the result and its prompt tokens,
    in one pass when every message is a plain ``{"role", "content"}`` dict with ASCII text (the
    common case). The tokens are None unless every text's count is already cached (then
    ``count_tokens`` counts them, when planning needs them)."""
    if messages.__class__ is list and messages:
        total: int | None = _MESSAGE_OVERHEAD
        text: str | None = None  # the last user message's
        last = ""  # the last message's
        cache = _TOKEN_CACHE
        for message in messages:
            if message.__class__ is not dict or len(message) != 2:
                break
            role, content = message.get("role"), message.get("content")
            if (
                role.__class__ is not str
                or content.__class__ is not str
                or role not in ROLES
                or not content.isascii()
            ):
                break
            last = content
            if role == "user":
                text = content
            if total is not None:
                counted = cache.get(content)
                total = None if counted is None else total + _MESSAGE_OVERHEAD + counted
        else:  # every message plain: what the three walks would find
            return list(messages), last if text is None else text, total
    checked = validate_messages(messages)
    return checked, routable_text(checked), None


def _check_part(part: Any, where: str) -> None:
    if not isinstance(part, Mapping) or not isinstance(part.get("type"), str):
        raise InvalidRequestError(f"{where} must be an object with a 'type'", where)
    kind = part["type"]
    if kind == "text":
        if not isinstance(part.get("text"), str):
            raise InvalidRequestError(f"{where}.text must be a string", f"{where}.text")
    elif kind == "image_url":
        image = part.get("image_url")
        url = image.get("url") if isinstance(image, Mapping) else image
        if not isinstance(url, str) or not url:
            raise InvalidRequestError(
                f"{where}.image_url must be a URL or an object with a 'url' string "
                "(an image part needs its image)",
                f"{where}.image_url",
            )


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
            content = message.get("content")
            return content if content.__class__ is str else text_of(content)
    return text_of(messages[-1].get("content"))


def count_tokens(messages: Sequence[Mapping[str, Any]]) -> int:
    """Prompt tokens with litellm's default tokenizer (cl100k) and OpenAI's per-message framing.

    Direct use of the encoding: ``litellm.token_counter`` costs 65-650 us per call here, the
    encoding itself about 10 us for a short prompt."""
    total = _MESSAGE_OVERHEAD
    for message in messages:
        total += _MESSAGE_OVERHEAD
        content = message.get("content")
        if content.__class__ is str:
            counted = _TOKEN_CACHE.get(content)
            total += counted if counted is not None else _tokens(content)
            if len(message) == 2 and "role" in message:  # {"role", "content"}: nothing else
                continue
        elif isinstance(content, str):
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

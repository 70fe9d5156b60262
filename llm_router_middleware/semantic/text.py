"""The text a semantic router routes on, taken from OpenAI-style chat messages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

_TEXT_PART_TYPES = frozenset({"text", "input_text"})


def routable_text(messages: Sequence[Mapping[str, Any]] | str) -> str:
    """The last user message's text, its text parts joined by newlines; "" when there is none.

    Image, audio and file parts are ignored. A plain string is returned stripped.
    """
    if isinstance(messages, str):
        return messages.strip()
    for message in reversed(messages):
        if not isinstance(message, Mapping) or message.get("role") != "user":
            continue
        return _content_text(message.get("content")).strip()
    return ""


def _content_text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence):
        texts: list[str] = []
        for part in content:
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, Mapping) and part.get("type") in _TEXT_PART_TYPES:
                text = part.get("text")
                if isinstance(text, str) and text.strip():
                    texts.append(text)
        return "\n".join(texts)
    return ""

"""Replies of the native transport: the provider's JSON, read with attributes.

``reply.choices[0].message.content``, ``reply.usage.prompt_tokens``, ``chunk.choices[0].delta``
read as on litellm's ``ModelResponse``; ``reply["choices"]`` and ``reply.model_dump()`` work too.
Nested objects are wrapped only when read, so a view that reads one field pays for one field.
"""

from __future__ import annotations

import copy
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..response import RoutingInfo

# Fields an OpenAI-compatible server may leave out; reading them gives None, as on litellm's
# objects. Any other missing name raises AttributeError.
_OPTIONAL = frozenset(
    {
        "annotations",
        "audio",
        "completion_tokens_details",
        "content",
        "finish_reason",
        "function_call",
        "logprobs",
        "prompt_tokens_details",
        "reasoning_content",
        "refusal",
        "role",
        "service_tier",
        "system_fingerprint",
        "tool_calls",
        "usage",
    }
)


def _wrap(value: Any) -> Any:
    if isinstance(value, dict):
        return Record(value)
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    return value


class Record:
    """One JSON object of a reply, with attribute and item access."""

    __slots__ = ("_data", "_read")

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data
        self._read: dict[str, Any] | None = None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        read = self._read
        if read is None:
            read = self._read = {}
        elif name in read:
            return read[name]
        data = self._data
        if name in data:
            value = read[name] = _wrap(data[name])
            return value
        if name in _OPTIONAL:
            return None
        raise AttributeError(f"{type(self).__name__!s} has no field {name!r}")

    def __getitem__(self, key: str) -> Any:
        if key not in self._data:
            raise KeyError(key)
        return self.__getattr__(key) if not key.startswith("_") else _wrap(self._data[key])

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self._data else default

    def model_dump(self) -> dict[str, Any]:
        """The provider's JSON as a new dict (what litellm's ``model_dump()`` gives)."""
        return copy.deepcopy(self._data)

    def json(self) -> dict[str, Any]:
        """litellm's name for ``model_dump()``."""
        return self.model_dump()

    def model_dump_json(self) -> str:
        return json.dumps(self._data, separators=(",", ":"))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._data!r})"


class Reply(Record):
    """A whole reply or a stream chunk; ``routing`` is set by the router once it answered."""

    __slots__ = ("routing",)
    routing: RoutingInfo

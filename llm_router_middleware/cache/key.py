"""Cache keys: a SHA-256 of the normalised request, never the prompt itself.

The exact key covers the messages, the parameters that shape the reply, the tier, the view's
routing policy and (unless the view declares its replies shareable) the user. The semantic
scope is the same hash with the last user message left out: two requests in one scope differ
only in that message, whose embedding the semantic cache compares.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..policy import Policy

VERSION = 1  # bump when the normalisation changes, so old entries are never read
# parameters that do not change the reply (transport and bookkeeping)
IGNORED_PARAMS = frozenset(
    {"stream", "stream_options", "timeout", "metadata", "extra_headers", "user", "store"}
)


@dataclass(frozen=True, slots=True)
class CacheKey:
    exact: str  # hex digest of the whole request
    scope: str  # hex digest without the last user message (the semantic cache's partition)
    text: str  # the last user message's text (what the semantic cache embeds)


def cache_key(
    messages: Sequence[Mapping[str, Any]],
    params: Mapping[str, Any],
    tier: str,
    policy: Policy | None,
    user: str | None,
) -> CacheKey:
    """The keys of one validated request; ``user`` None means shared across users."""
    normal = [_message(m) for m in messages]
    last = _last_user(normal)
    text = ""
    if last is not None:
        content = normal[last].get("content")
        text = content if isinstance(content, str) else _text_parts(content)
    shaping = {k: v for k, v in params.items() if k not in IGNORED_PARAMS and v is not None}
    routing = None if policy is None else [policy.models, policy.strategy, policy.max_cost_usd]
    head = [VERSION, tier, routing, user, shaping]
    exact = _digest([*head, normal])
    scoped = [m if i != last else {"role": "user", "content": "\x00"} for i, m in enumerate(normal)]
    return CacheKey(exact=exact, scope=_digest([*head, scoped]), text=text)


def _message(message: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(message)
    content = out.get("content")
    if isinstance(content, str):
        out["content"] = content.strip()
    return out


def _last_user(messages: list[dict[str, Any]]) -> int | None:
    for i in range(len(messages) - 1, -1, -1):
        if messages[i].get("role") == "user":
            return i
    return None


def _text_parts(content: Any) -> str:
    if not isinstance(content, list):
        return ""
    return " ".join(
        str(p.get("text", ""))
        for p in content
        if isinstance(p, Mapping) and p.get("type") == "text"
    )


def _digest(value: Any) -> str:
    raw = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()

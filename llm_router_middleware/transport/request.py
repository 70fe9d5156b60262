"""Building a chat-completions request for an OpenAI-compatible endpoint, and reading its answer.

The kwargs are those the router hands litellm (``Execution._kwargs``), so both transports get
one description of a call; here they become the URL, the headers and the JSON body.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import error_from_body, invalid_response
from .reply import Reply

OPENAI_BASE = "https://api.openai.com/v1"
# Set by the router for litellm, or litellm-only switches: never sent upstream.
_NOT_SENT = frozenset(
    {
        "model",
        "api_base",
        "base_url",
        "api_key",
        "timeout",
        "max_retries",
        "num_retries",
        "drop_params",
        "metadata",
        "mock_response",
        "extra_headers",
        "extra_body",
    }
)


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where one configured model is called and under which name."""

    url: str
    model: str

    @classmethod
    def of(cls, model: str, api_base: str | None) -> Endpoint:
        upstream = model.split("/", 1)[1] if "/" in model else model
        base = api_base or os.environ.get("OPENAI_BASE_URL") or OPENAI_BASE
        return cls(url=base.rstrip("/") + "/chat/completions", model=upstream)


_HEADERS: dict[str | None, dict[str, str]] = {}


def headers(api_key: str | None) -> dict[str, str]:
    """Request headers for a key (built once per key; the dict is shared: do not modify)."""
    found = _HEADERS.get(api_key)
    if found is None:
        found = {"content-type": "application/json", "accept": "application/json"}
        key = api_key or os.environ.get("OPENAI_API_KEY")
        if key:
            found["authorization"] = f"Bearer {key}"
        if len(_HEADERS) < 256:
            _HEADERS[api_key] = found
    return found


def headers_for(kwargs: Mapping[str, Any]) -> dict[str, str]:
    """The request's headers: the key's, plus ``extra_headers`` when the call has them."""
    found = headers(kwargs.get("api_key"))
    extra = kwargs.get("extra_headers")
    if extra:
        return {**found, **{str(k).lower(): str(v) for k, v in extra.items()}}
    return found


# What ``json.dumps(payload, separators=(",", ":"), default=str)`` does, without building an
# encoder per call (``dumps`` with any argument set makes a new one: half of a small body's cost).
_encode = json.JSONEncoder(separators=(",", ":"), default=str).encode


def body(endpoint: Endpoint, kwargs: Mapping[str, Any]) -> bytes:
    """The JSON body: the upstream model name, then every parameter the provider takes
    (``extra_body`` fields merged in, as the OpenAI SDK does)."""
    payload: dict[str, Any] = {"model": endpoint.model}
    for key, value in kwargs.items():
        if key not in _NOT_SENT and value is not None:
            payload[key] = value
    extra = kwargs.get("extra_body")
    if extra:
        payload.update(extra)
    return _encode(payload).encode()


def parse_reply(status: int, answer_headers: Mapping[str, str], raw: bytes) -> Reply:
    """A non-streamed answer: the reply, or UpstreamError for what went wrong."""
    try:
        payload: Any = json.loads(raw)
    except ValueError:
        if status >= 400:
            raise error_from_body(status, answer_headers, None, raw) from None
        raise invalid_response("the body is not JSON") from None
    if status >= 400:
        raise error_from_body(status, answer_headers, payload, raw)
    if not isinstance(payload, dict):
        raise invalid_response("the body is not a JSON object")
    choices = payload.get("choices")
    if not isinstance(choices, list) or not choices:
        if "error" in payload:  # some gateways answer 200 with an error object
            error = payload["error"]
            code = error.get("code") if isinstance(error, dict) else None
            code_status = code if isinstance(code, int) and 400 <= code <= 599 else 500
            raise error_from_body(code_status, answer_headers, payload, raw)
        raise invalid_response("the reply has no 'choices'")
    return Reply(payload)

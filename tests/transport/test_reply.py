"""Native replies read like litellm's: attributes, items, model_dump()."""

from __future__ import annotations

import json

import pytest

from llm_router_middleware.transport.reply import Reply

PAYLOAD = {
    "id": "chatcmpl-1",
    "model": "m",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}
    ],
    "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
}


def test_fields_read_as_attributes_and_items() -> None:
    reply = Reply(json.loads(json.dumps(PAYLOAD)))
    assert reply.choices[0].message.content == "hi"
    assert reply["choices"][0]["message"]["role"] == "assistant"
    assert reply.usage.prompt_tokens == 3
    assert reply.choices[0].message.tool_calls is None  # optional field left out: None
    assert reply.get("system_fingerprint", "none") == "none"
    with pytest.raises(AttributeError):
        _ = reply.choices[0].mesage  # a typo is an error, not None
    with pytest.raises(KeyError):
        _ = reply["nope"]


def test_model_dump_is_the_providers_json_and_a_copy() -> None:
    reply = Reply(json.loads(json.dumps(PAYLOAD)))
    dumped = reply.model_dump()
    assert dumped == PAYLOAD
    dumped["choices"][0]["message"]["content"] = "changed"
    assert reply.choices[0].message.content == "hi"
    assert json.loads(reply.model_dump_json()) == PAYLOAD
    assert reply.json() == PAYLOAD  # litellm's older name

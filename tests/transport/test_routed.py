"""The routed reply and its usage read as pydantic and litellm would give them, on both
transports' replies and on any other object a transport could return."""

from __future__ import annotations

import copy
import json
from types import SimpleNamespace
from typing import Any

from llm_router_middleware.transport import litellm_module
from llm_router_middleware.transport.reply import Reply
from llm_router_middleware.transport.routed import _plain, routed, usage_of

PAYLOAD = {
    "id": "chatcmpl-1",
    "created": 1700000000,
    "model": "gpt-4o-mini",
    "object": "chat.completion",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}
    ],
    "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
}
INFO: Any = object()  # routed() attaches whatever RoutingInfo it is given


def model_response() -> Any:
    response = litellm_module().ModelResponse(**copy.deepcopy(PAYLOAD))
    response._hidden_params = {"custom_llm_provider": "openai"}
    return response


def test_a_litellm_reply_is_copied_as_copy_copy_copies_it() -> None:
    original = model_response()
    assert _plain(type(original))  # the direct copy, not the copy.copy fallback, is compared
    expected = copy.copy(original)
    got = routed(original, INFO)
    assert type(got) is type(original)
    assert got is not original
    assert got.routing is INFO
    assert "routing" not in original.__dict__
    assert got.__dict__ == {**expected.__dict__, "routing": INFO}
    assert got.__dict__ is not original.__dict__
    for part in ("__pydantic_extra__", "__pydantic_fields_set__", "__pydantic_private__"):
        assert getattr(got, part) == getattr(expected, part)
        assert getattr(got, part) is not getattr(original, part)
    assert got.choices[0].message.content == "hi"
    assert got.usage is original.usage  # shallow, as copy.copy
    assert got.model_dump() == original.model_dump()  # routing is not a field
    assert json.loads(got.model_dump_json()) == json.loads(original.model_dump_json())
    assert got._hidden_params == {"custom_llm_provider": "openai"}


def test_usage_is_read_as_attribute_access_reads_it() -> None:
    response = model_response()
    assert usage_of(response) is response.usage
    assert usage_of(response).prompt_tokens == 3
    native = Reply(copy.deepcopy(PAYLOAD))
    assert usage_of(native).completion_tokens == 1
    assert usage_of(Reply({"choices": []})) is None
    assert usage_of(SimpleNamespace(usage=SimpleNamespace(prompt_tokens=7))).prompt_tokens == 7
    assert usage_of(SimpleNamespace()) is None


def test_the_native_reply_is_returned_itself_and_other_objects_copied() -> None:
    native = Reply(copy.deepcopy(PAYLOAD))
    assert routed(native, INFO) is native
    assert native.routing is INFO
    plain = SimpleNamespace(text="hi")
    got = routed(plain, INFO)
    assert got is not plain
    assert got.text == "hi"
    assert got.routing is INFO
    assert not hasattr(plain, "routing")

"""One pass over plain messages reads what validation, the routable text and the token count
would read in three."""

from __future__ import annotations

from typing import Any

import pytest

from llm_router_middleware.errors import InvalidRequestError
from llm_router_middleware.messages import (
    count_tokens,
    read_messages,
    routable_text,
    validate_messages,
)

CASES: list[Any] = [
    [{"role": "user", "content": "What is the capital of France?"}],
    [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "an answer"},
        {"role": "user", "content": "second question"},
        {"role": "assistant", "content": "the last word"},
    ],
    [{"role": "system", "content": "no user message at all"}],
    [{"role": "user", "content": "héllo, non-ASCII text"}],
    [{"role": "user", "content": [{"type": "text", "text": "parts"}]}],
    [{"role": "user", "content": "named", "name": "ann"}],
    ({"role": "user", "content": "a tuple of messages"},),
    [{"role": "user", "content": ""}],
]


@pytest.mark.parametrize("messages", CASES)
def test_read_messages_reads_what_the_three_walks_read(messages: Any) -> None:
    checked = validate_messages(messages)
    count_tokens(checked)  # cached now: the one pass counts from the cache
    got, text, tokens = read_messages(messages)
    assert got == checked
    assert got is not messages
    assert text == routable_text(checked)
    assert tokens is None or tokens == count_tokens(checked)
    plain = messages.__class__ is list and all(
        len(m) == 2 and isinstance(m["content"], str) and m["content"].isascii() for m in messages
    )
    assert (tokens is not None) == plain


def test_read_messages_leaves_uncounted_text_to_count_tokens() -> None:
    text = "a prompt this process has never counted before: 7f3a9c"
    assert read_messages([{"role": "user", "content": text}])[2] is None


@pytest.mark.parametrize(
    "messages",
    [
        [],
        "hi",
        [{"role": "robot", "content": "x"}],
        [{"role": "user"}],
        [{"role": "user", "content": 3}],
    ],
)
def test_read_messages_refuses_what_validation_refuses(messages: Any) -> None:
    with pytest.raises(InvalidRequestError) as expected:
        validate_messages(messages)
    with pytest.raises(InvalidRequestError) as got:
        read_messages(messages)
    assert str(got.value) == str(expected.value)

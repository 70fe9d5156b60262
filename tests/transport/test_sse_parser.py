"""Server-sent events cut anywhere still decode to the same events."""

from __future__ import annotations

import pytest

from llm_router_middleware.resilience import ErrorKind
from llm_router_middleware.transport import UpstreamError
from llm_router_middleware.transport.sse import DONE, EventDecoder, parse_chunk

STREAM = (
    b": keep-alive comment\n\n"
    b'data: {"choices":[{"index":0,"delta":{"content":"Hel"}}]}\n\n'
    b'event: message\r\ndata: {"choices":[{"index":0,"delta":{"content":"lo"}}]}\r\n\r\n'
    b'data: {"choices":[],\ndata: "usage":{"prompt_tokens":3}}\n\n'
    b"data: [DONE]\n\n"
)


def decode(pieces: list[bytes]) -> list[bytes]:
    decoder = EventDecoder()
    events = [event for piece in pieces for event in decoder.feed(piece)]
    return events + decoder.close()


@pytest.mark.parametrize("size", [1, 2, 7, 64, len(STREAM)])
def test_events_do_not_depend_on_where_the_bytes_were_cut(size: int) -> None:
    pieces = [STREAM[i : i + size] for i in range(0, len(STREAM), size)]
    events = decode(pieces)
    assert events[-1] == DONE
    chunks = [parse_chunk(e) for e in events[:-1]]
    assert [c.choices[0].delta.content for c in chunks[:2]] == ["Hel", "lo"]
    assert chunks[2].usage.prompt_tokens == 3  # two data lines joined with a newline
    assert chunks[2].choices == []


def test_a_last_event_without_a_blank_line_is_not_lost() -> None:
    assert decode([b'data: {"choices":[]}']) == [b'{"choices":[]}']


def test_an_error_event_mid_stream_is_classified() -> None:
    with pytest.raises(UpstreamError) as caught:
        parse_chunk(b'{"error":{"message":"overloaded, try later","code":503}}')
    assert caught.value.error_kind == ErrorKind.OVERLOADED
    assert "overloaded, try later" in caught.value.message


def test_an_event_that_is_not_json_is_an_invalid_response() -> None:
    with pytest.raises(UpstreamError) as caught:
        parse_chunk(b"{not json")
    assert caught.value.error_kind == ErrorKind.INVALID_RESPONSE

"""Server-sent events as OpenAI-compatible servers stream them: ``data: {json}`` events ending
with ``data: [DONE]``. Fed raw bytes as they arrive; yields each event's data."""

from __future__ import annotations

import json
from typing import Any

from .errors import error_from_body, invalid_response
from .reply import Reply

DONE = b"[DONE]"


class EventDecoder:
    """Splits a byte stream into SSE events (lines may arrive cut anywhere, CRLF or LF)."""

    __slots__ = ("_data", "_partial")

    def __init__(self) -> None:
        self._partial = b""
        self._data: list[bytes] = []

    def feed(self, chunk: bytes) -> list[bytes]:
        buffered = self._partial + chunk if self._partial else chunk
        lines = buffered.split(b"\n")
        self._partial = lines.pop()
        events: list[bytes] = []
        for line in lines:
            self._line(line, events)
        return events

    def close(self) -> list[bytes]:
        """The stream ended: what a last line without a newline or blank line completes."""
        events: list[bytes] = []
        if self._partial:
            self._line(self._partial, events)
            self._partial = b""
        if self._data:
            events.append(b"\n".join(self._data))
            self._data = []
        return events

    def _line(self, line: bytes, events: list[bytes]) -> None:
        if line.endswith(b"\r"):
            line = line[:-1]
        if not line:
            if self._data:
                events.append(b"\n".join(self._data))
                self._data = []
            return
        if line.startswith(b"data:"):
            value = line[5:]
            self._data.append(value[1:] if value.startswith(b" ") else value)
        # comments (":"), "event:", "id:" and "retry:" lines carry nothing we use


def parse_chunk(data: bytes) -> Reply:
    """One event's data as a chunk; a provider's in-stream error object raises UpstreamError."""
    try:
        payload: Any = json.loads(data)
    except ValueError:
        raise invalid_response("a stream event is not JSON") from None
    if not isinstance(payload, dict):
        raise invalid_response("a stream event is not a JSON object")
    if "error" in payload and not payload.get("choices"):
        error = payload["error"]
        code = error.get("code") if isinstance(error, dict) else None
        status = code if isinstance(code, int) and 400 <= code <= 599 else 500
        raise error_from_body(status, None, payload, data)
    return Reply(payload)

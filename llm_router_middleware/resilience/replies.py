"""Replies that arrive with status 200 but carry nothing usable: failures of the model.

A 200 with no content and no tool call, or one the provider's content filter cut off, is a
model failure like a 500: it counts on the breaker, the call falls back to the next model, and
the attempt is recorded with its own kind (``empty_reply``, ``content_filtered``, ``truncated``).
Which of these count is configured per model (``reply_failures``), defaulting to the routing
section's list (``["empty", "content_filter"]``).

For a stream the check runs before the first chunk reaches the caller: chunks that carry no
text and no tool call (the role chunk) are held back until one does; a stream that ends, or
finishes with a content-filter reason, before that is a failure and the call falls back. A
stream that ends with no output and no usage (no chunk at all, or only the closing chunk a
client library makes up) is always a failure of the provider, whatever ``reply_failures``
says. A stream screened out reports no usage, so it is charged the prompt tokens planning
estimated.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Iterator
from typing import Any

from ..config.schema import DEFAULT_REPLY_FAILURES, ModelSpec
from ..transport.reply import Reply
from .classify import ErrorKind

REPLY_FAILURES = ("empty", "content_filter", "length")
__all__ = [
    "DEFAULT_REPLY_FAILURES",
    "REPLY_FAILURES",
    "UnusableReplyError",
    "ascreen_stream",
    "billed_usd",
    "check_reply",
    "screen_stream",
]
_FINISH_FAILURES = frozenset({"content_filter", "length"})
_HOLD_LIMIT = 64  # chunks held back at most while waiting for content; then pass through


class UnusableReplyError(Exception):
    """A 200 reply that counts as the model's failure. Tokens are what the provider billed;
    ``prompt_tokens`` None when it did not say (a stream): the planned estimate is charged."""

    status_code = 200

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        prompt_tokens: int | None = 0,
        completion_tokens: int = 0,
    ) -> None:
        super().__init__(message)
        self.error_kind = kind  # read by classify()
        self.prompt_tokens = prompt_tokens
        self.completion_tokens = completion_tokens


def check_reply(response: Any, failures: frozenset[str]) -> None:
    """Raise UnusableReplyError when ``response`` is a failure under ``failures``."""
    if not failures:
        return
    if type(response) is not Reply:  # _plainly_usable's common case, inlined
        try:
            choices = response.choices
            if len(choices) == 1:
                choice = choices[0]
                content = choice.message.content
                if (
                    choice.finish_reason not in _FINISH_FAILURES
                    and content.__class__ is str
                    and content
                    and not content.isspace()
                ):
                    return
        except (AttributeError, TypeError):  # read again below, as getattr would
            pass
    if _plainly_usable(response):
        return
    choices = getattr(response, "choices", None) or ()
    finish = [str(getattr(c, "finish_reason", None) or "") for c in choices]
    kind = None
    if "content_filter" in failures and "content_filter" in finish:
        kind, why = ErrorKind.CONTENT_FILTERED, "finish_reason content_filter"
    elif "length" in failures and "length" in finish:
        kind, why = ErrorKind.TRUNCATED, "finish_reason length (the reply hit its token limit)"
    elif "empty" in failures and not any(_has_output(getattr(c, "message", None)) for c in choices):
        kind, why = ErrorKind.EMPTY_REPLY, "no content and no tool call"
    if kind is None:
        return
    usage = getattr(response, "usage", None)
    raise UnusableReplyError(
        kind,
        f"the model answered 200 with an unusable reply: {why}",
        int(getattr(usage, "prompt_tokens", 0) or 0),
        int(getattr(usage, "completion_tokens", 0) or 0),
    )


def _plainly_usable(response: Any) -> bool:
    """The common case, on every call's path: one choice with text and an ordinary finish.
    The native transport's reply is read as the JSON it holds (its attributes wrap lazily)."""
    if response.__class__ is Reply:
        choices = response._data.get("choices")  # our own reply type: its JSON, unwrapped
        if not isinstance(choices, list) or len(choices) != 1 or not isinstance(choices[0], dict):
            return False
        choice = choices[0]
        message = choice.get("message")
        content = message.get("content") if isinstance(message, dict) else None
        finish = choice.get("finish_reason")
    else:
        try:  # plain attribute reads; an attribute missing anywhere: read as getattr would
            choices = response.choices
            if not choices or len(choices) != 1:
                return False
            choice = choices[0]
            content = choice.message.content
            finish = choice.finish_reason
        except AttributeError:  # missing somewhere: read as None, as getattr would
            choices = getattr(response, "choices", None)
            if not choices or len(choices) != 1:
                return False
            choice = choices[0]
            content = getattr(getattr(choice, "message", None), "content", None)
            finish = getattr(choice, "finish_reason", None)
    return (
        finish not in _FINISH_FAILURES
        and isinstance(content, str)
        and bool(content)
        and not content.isspace()
    )


def _has_output(part: Any) -> bool:
    """A message (or a stream delta) with text, a tool call, a function call or audio."""
    if part is None:
        return False
    content = getattr(part, "content", None)
    if isinstance(content, str):
        if content and not content.isspace():
            return True
    elif content:  # a list of parts
        return True
    return bool(
        getattr(part, "tool_calls", None)
        or getattr(part, "function_call", None)
        or getattr(part, "audio", None)
    )


def _verdict(chunk: Any, failures: frozenset[str]) -> bool | None:
    """True: the chunk carries output (release the stream); False: keep holding (a finish
    without output: to the end, to see its usage); raises when the stream finished before any
    output and ``failures`` says that is a failure."""
    for choice in getattr(chunk, "choices", None) or ():
        if _has_output(getattr(choice, "delta", None)):
            return True
        reason = getattr(choice, "finish_reason", None)
        if reason:
            if reason == "content_filter" and "content_filter" in failures:
                raise UnusableReplyError(
                    ErrorKind.CONTENT_FILTERED,
                    "the stream finished with finish_reason content_filter before any content",
                    None,
                )
            if "empty" in failures:
                raise UnusableReplyError(
                    ErrorKind.EMPTY_REPLY,
                    f"the stream finished ({reason}) before any content or tool call",
                    None,
                )
    return False


def _ended(held: list[Any], failures: frozenset[str]) -> None:
    """The stream ended before any output: a failure when ``failures`` says so, and always
    when it carried no usage either (nothing but what a client library makes up at the end)."""
    if "empty" in failures:
        raise UnusableReplyError(
            ErrorKind.EMPTY_REPLY, "the stream ended before any content or tool call", None
        )
    if not any(getattr(chunk, "usage", None) for chunk in held):
        raise _no_chunk()


def _no_chunk() -> UnusableReplyError:
    return UnusableReplyError(
        ErrorKind.EMPTY_REPLY, "the stream ended with no content, no tool call and no usage", None
    )


def screen_stream(
    first: Any, chunks: Iterator[Any], failures: frozenset[str]
) -> tuple[Any, Iterator[Any]]:
    """(first chunk, the rest) once the stream is known not to be empty; raises otherwise.
    ``first`` None: the stream ended before its first chunk."""
    if first is None:
        raise _no_chunk()
    held: list[Any] = []
    chunk = first
    while chunk is not None:
        held.append(chunk)
        if _verdict(chunk, failures) or len(held) >= _HOLD_LIMIT:
            return held[0], (_Held(held[1:], chunks) if len(held) > 1 else chunks)
        chunk = next(chunks, None)
    _ended(held, failures)
    return held[0], iter(())


async def ascreen_stream(
    first: Any, chunks: AsyncIterator[Any], failures: frozenset[str]
) -> tuple[Any, AsyncIterator[Any]]:
    """The async twin of ``screen_stream``."""
    if first is None:
        raise _no_chunk()
    held: list[Any] = []
    chunk = first
    while chunk is not None:
        held.append(chunk)
        if _verdict(chunk, failures) or len(held) >= _HOLD_LIMIT:
            return held[0], (_AHeld(held[1:], chunks) if len(held) > 1 else chunks)
        try:
            chunk = await chunks.__anext__()
        except StopAsyncIteration:
            chunk = None
    _ended(held, failures)
    return held[0], _nothing()


class _Held:
    """The held chunks, then the rest. ``close()`` closes the upstream stream even when no
    chunk was read through it yet (a generator's ``finally`` would not run then): a caller
    that stops reading must stop the provider generating."""

    __slots__ = ("_held", "_rest")

    def __init__(self, held: list[Any], rest: Iterator[Any]) -> None:
        self._held = deque(held)
        self._rest = rest

    def __iter__(self) -> _Held:
        return self

    def __next__(self) -> Any:
        if self._held:
            return self._held.popleft()
        return next(self._rest)

    def close(self) -> None:
        self._held.clear()
        close = getattr(self._rest, "close", None)
        if close is not None:
            close()


class _AHeld:
    """The async twin of ``_Held``: ``aclose()`` closes the upstream stream."""

    __slots__ = ("_held", "_rest")

    def __init__(self, held: list[Any], rest: AsyncIterator[Any]) -> None:
        self._held = deque(held)
        self._rest = rest

    def __aiter__(self) -> _AHeld:
        return self

    async def __anext__(self) -> Any:
        if self._held:
            return self._held.popleft()
        return await self._rest.__anext__()

    async def aclose(self) -> None:
        self._held.clear()
        aclose = getattr(self._rest, "aclose", None)
        if aclose is not None:
            await aclose()


async def _nothing() -> AsyncIterator[Any]:
    return
    yield


def billed_usd(exc: BaseException, spec: ModelSpec, prompt_estimate: int = 0) -> float | None:
    """What an unusable reply cost (the provider bills it), or None for any other error.
    A reply that reported no usage (a stream) is charged ``prompt_estimate`` prompt tokens."""
    if not isinstance(exc, UnusableReplyError):
        return None
    prompt = exc.prompt_tokens if exc.prompt_tokens is not None else prompt_estimate
    return spec.estimate_cost(prompt, exc.completion_tokens)

"""Streaming replies: fall back until a model sends its first chunk, then stay with it.

Once a chunk has reached the caller no other model can take over (the caller has seen part of
an answer), so an error after the first chunk ends the stream with ``StreamInterruptedError``.
Cost is settled when the stream ends, from the usage chunk the provider sends when asked
(``stream_options.include_usage``) or, failing that, from the streamed text's tokens.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterator
from dataclasses import dataclass, field
from typing import Any

from .errors import RouterError, StreamInterruptedError
from .execution import Call, Execution
from .execution_async import AsyncExecution
from .response import RoutingInfo

__all__ = ["AsyncRoutedStream", "RoutedStream", "StreamInterruptedError", "stream_kwargs"]


@dataclass
class _Totals:
    """What the stream carried, for the span and for settling the cost."""

    text: list[str] = field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reasons: list[str] = field(default_factory=list)
    model: str | None = None
    id: str | None = None

    def add(self, chunk: Any) -> None:
        usage = getattr(chunk, "usage", None)
        if usage is not None:
            self.prompt_tokens = int(getattr(usage, "prompt_tokens", 0) or self.prompt_tokens)
            self.completion_tokens = int(
                getattr(usage, "completion_tokens", 0) or self.completion_tokens
            )
        self.model = self.model or getattr(chunk, "model", None)
        self.id = self.id or getattr(chunk, "id", None)
        for choice in getattr(chunk, "choices", None) or ():
            delta = getattr(choice, "delta", None)
            content = getattr(delta, "content", None)
            if content:
                self.text.append(content)
            if getattr(choice, "finish_reason", None):
                self.finish_reasons.append(str(choice.finish_reason))


@dataclass
class _Summary:
    """A response-shaped view of the whole stream for telemetry.record_response."""

    model: str | None
    id: str | None
    choices: list[Any]


@dataclass
class _Choice:
    finish_reason: str | None
    message: Any


@dataclass
class _Message:
    content: str


def _count(text: str) -> int:
    """Tokens of streamed reply text (no message framing)."""
    from .messages import count_tokens

    return max(0, count_tokens([{"role": "assistant", "content": text}]) - 6)


def stream_kwargs(call: Call) -> dict[str, Any]:
    kwargs = dict(call.kwargs)
    kwargs["stream"] = True
    options = dict(kwargs.get("stream_options") or {})
    options.setdefault("include_usage", True)
    kwargs["stream_options"] = options
    return kwargs


class _Base:
    def __init__(self, execution: Execution, call: Call, first: Any) -> None:
        self._execution = execution
        self._call = call
        self._first: Any = first
        self._totals = _Totals()
        self._done = False
        self.routing: RoutingInfo = execution.routing_info(call.spec, 0.0)
        if first is not None:  # the first chunk has arrived: time to first token
            ttft = time.perf_counter() - call.started
            execution.router.latency.observe_ttft(call.spec.name, ttft)

    def _chunk(self, chunk: Any) -> Any:
        self._totals.add(chunk)
        return chunk

    def _usage(self) -> tuple[int, int]:
        """(prompt, completion) tokens of the stream so far."""
        totals = self._totals
        prompt = totals.prompt_tokens or self._execution.plan.prompt_tokens
        completion = totals.completion_tokens
        if not completion and totals.text:
            completion = _count("".join(totals.text))
        return prompt, completion

    def _finish(self) -> None:
        if self._done:
            return
        self._done = True
        totals = self._totals
        prompt, completion = self._usage()
        text = "".join(totals.text)
        summary = _Summary(
            totals.model, totals.id, [_Choice(r, _Message(text)) for r in totals.finish_reasons[:1]]
        )
        self.routing = self._execution.finish(self._call, summary, prompt, max(0, completion))

    def _interrupted(self, exc: BaseException) -> StreamInterruptedError:
        self._done = True
        execution = self._execution
        call = self._call
        if call.reservation is not None:  # the provider bills what it generated: charge it
            streamed = "".join(self._totals.text)
            completion = _count(streamed) if streamed else 0
            prompt = self._totals.prompt_tokens or execution.plan.prompt_tokens
            execution.router.ledger.settle(
                call.reservation, call.spec.estimate_cost(prompt, completion)
            )
            call.reservation = None
        with contextlib.suppress(RouterError):
            execution.failed(self._call, exc)
        execution.abort(exc)
        return StreamInterruptedError(
            f"model {self._call.spec.name!r} failed after streaming had started: "
            f"{execution.attempts[-1].error_message}",
            model=self._call.spec.name,
            attempts=tuple(execution.attempts),
        )

    def _closed_early(self) -> None:
        """The caller stopped reading (client went away): charge what was streamed."""
        if not self._done:
            self._finish()


class RoutedStream(_Base):
    """Iterate for litellm's chunks; ``.routing`` is complete once the stream ends."""

    def __init__(self, execution: Execution, call: Call, first: Any, rest: Iterator[Any]) -> None:
        super().__init__(execution, call, first)
        self._rest = rest

    def __iter__(self) -> Generator[Any, None, None]:
        try:
            if self._first is not None:
                first, self._first = self._first, None
                yield self._chunk(first)
            while True:
                try:
                    chunk = next(self._rest)
                except StopIteration:
                    break
                except Exception as exc:
                    raise self._interrupted(exc) from None
                yield self._chunk(chunk)
            self._finish()
        finally:
            self._closed_early()
            close = getattr(self._rest, "close", None)
            if close is not None:  # stops the upstream call if it is still sending
                close()


class AsyncRoutedStream(_Base):
    """``async for`` litellm's chunks; ``.routing`` is complete once the stream ends."""

    def __init__(
        self, execution: Execution, call: Call, first: Any, rest: AsyncIterator[Any]
    ) -> None:
        super().__init__(execution, call, first)
        self._rest = rest

    async def __aiter__(self) -> AsyncGenerator[Any, None]:
        try:
            if self._first is not None:
                first, self._first = self._first, None
                yield self._chunk(first)
            while True:
                try:
                    chunk = await self._rest.__anext__()
                except StopAsyncIteration:
                    break
                except Exception as exc:
                    raise self._interrupted(exc) from None
                yield self._chunk(chunk)
            execution = self._execution
            if isinstance(execution, AsyncExecution):  # settle on the asyncio client
                prompt, completion = self._usage()
                cost = self._call.spec.estimate_cost(prompt, max(0, completion))
                await execution.asettle(self._call, cost, prompt + max(0, completion))
                await execution.acount_success(self._call)
            self._finish()
        finally:
            self._closed_early()
            aclose = getattr(self._rest, "aclose", None)
            if aclose is not None:  # stops the upstream call (litellm shields it from cancel)
                await aclose()

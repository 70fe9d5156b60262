"""The one thing the client loops need from a transport: call a model with the router's kwargs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any, Literal, Protocol

TransportName = Literal["native", "litellm"]
TRANSPORTS: tuple[str, ...] = ("auto", "native", "litellm")


class Transport(Protocol):
    """Sync and async twins: a reply, or a stream of chunks whose first ``next`` raises any error
    the provider answered before streaming (so the router can still fall back)."""

    @property
    def name(self) -> TransportName: ...

    def complete(self, kwargs: dict[str, Any]) -> Any: ...

    async def acomplete(self, kwargs: dict[str, Any]) -> Any: ...

    def stream(self, kwargs: dict[str, Any]) -> Iterator[Any]: ...

    async def astream(self, kwargs: dict[str, Any]) -> AsyncIterator[Any]: ...


def resolve(choice: str, model: str, api_base: str | None) -> TransportName | None:
    """The transport a model's ``transport`` setting stands for; None when native cannot serve
    it (neither an ``openai/...`` model nor an ``api_base``)."""
    if choice == "litellm":
        return "litellm"
    if choice == "native":
        return "native" if model.startswith("openai/") or api_base is not None else None
    return "native" if model.startswith("openai/") else "litellm"

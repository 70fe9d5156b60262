"""The litellm transport: every provider litellm knows (and the default for non-OpenAI ones)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from types import ModuleType
from typing import Any

from .base import TransportName

_litellm: ModuleType | None = None


def litellm_module() -> ModuleType:
    """litellm, imported once (the import costs about 2.5 s), with its own retries off."""
    global _litellm
    if _litellm is None:
        import litellm

        litellm.num_retries = 0
        litellm.suppress_debug_info = True
        _litellm = litellm
    return _litellm


class LitellmTransport:
    name: TransportName = "litellm"

    def complete(self, kwargs: dict[str, Any]) -> Any:
        return (_litellm or litellm_module()).completion(**kwargs)

    def acomplete(self, kwargs: dict[str, Any]) -> Any:
        # litellm's own coroutine, for the caller to await: no coroutine of ours around it
        return (_litellm or litellm_module()).acompletion(**kwargs)

    def stream(self, kwargs: dict[str, Any]) -> Iterator[Any]:
        return iter(litellm_module().completion(**kwargs))

    async def astream(self, kwargs: dict[str, Any]) -> AsyncIterator[Any]:
        chunks: AsyncIterator[Any] = (await litellm_module().acompletion(**kwargs)).__aiter__()
        return chunks


LITELLM = LitellmTransport()

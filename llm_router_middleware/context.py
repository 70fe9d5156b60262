"""The per-request router context and the ways an app resolves it."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    from .client import RequestLLM


def _empty() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class RequestContext:
    """Who is asking and under which limits.

    ``tier`` None means the config's ``routing.default_tier``. ``budget_scope`` is the key the
    per-user budget is charged to (defaults to ``user_id``; use an org or team id to pool spend).
    ``deadline`` is an absolute ``time.monotonic()`` instant; ``arms`` pins an experiment arm
    (``{"experiment-name": "treatment"}``), for QA; ``endpoint`` is the route template of the view.
    """

    user_id: str | None = None
    tier: str | None = None
    budget_scope: str | None = None
    arms: Mapping[str, str] = field(default_factory=_empty)
    metadata: Mapping[str, str] = field(default_factory=_empty)
    deadline: float | None = None
    endpoint: str | None = None

    @property
    def budget_key(self) -> str | None:
        return self.budget_scope or self.user_id

    def with_timeout(self, seconds: float) -> RequestContext:
        """A copy whose deadline is ``seconds`` from now (or earlier, if one is already set)."""
        deadline = time.monotonic() + seconds
        if self.deadline is not None:
            deadline = min(deadline, self.deadline)
        return replace(self, deadline=deadline)

    def remaining_s(self, now: float | None = None) -> float | None:
        if self.deadline is None:
            return None
        return self.deadline - (time.monotonic() if now is None else now)


ANONYMOUS = RequestContext()

# A resolver gets the framework's request object (Starlette Request, Django HttpRequest,
# Flask Request...) and returns the context, sync or async.
ContextResolver: TypeAlias = Callable[[Any], "RequestContext | Awaitable[RequestContext]"]

current_llm: ContextVar[RequestLLM | None] = ContextVar("llm_router_current_llm", default=None)


def get_llm() -> RequestLLM:
    """The handle of the request being served, for code that has no request object at hand."""
    handle = current_llm.get()
    if handle is None:
        raise LookupError(
            "no LLM handle is active: call this inside a request served through "
            "LLMRouterMiddleware (or a framework integration)"
        )
    return handle

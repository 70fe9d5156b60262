"""FastAPI: the ``LLM`` dependency, with or without the core ASGI middleware.

setup(app, router, context=lambda request: RequestContext(...))   # or app.add_middleware(...)

@app.post("/answer")
async def answer(llm: LLM) -> dict[str, str]: ...
"""

# No `from __future__ import annotations`: FastAPI reads the dependencies' annotations at
# runtime, and those of the closures below name their enclosing function's arguments.
import inspect
from collections.abc import AsyncIterator, Callable, Sequence
from contextvars import Token
from dataclasses import replace
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exception_handlers import http_exception_handler
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from llm_router_middleware import (
    ContextError,
    Policy,
    RequestContext,
    RequestLLM,
    Router,
    RouterError,
)
from llm_router_middleware.asgi import route_template
from llm_router_middleware.context import ContextResolver, current_llm

from .starlette import sse_response

__all__ = [
    "LLM",
    "as_http_exception",
    "get_llm",
    "llm_dependency",
    "llm_policy",
    "router_error_handler",
    "setup",
    "sse_response",
]

Dependency = Callable[..., Any]


def setup(
    app: FastAPI,
    router: Router,
    *,
    context: ContextResolver | None = None,
    policy: Policy | None = None,
    handle_errors: bool = True,
) -> None:
    """Make ``LLM`` work without the ASGI middleware: the router on ``app.state.llm_router``,
    ``context(request)`` (sync or async) resolving each request's context, and router errors
    answered as ``HTTPException`` JSON. Without ``context`` every request is anonymous."""
    app.state.llm_router = router
    app.state.llm_router_context = context
    app.state.llm_router_policy = (
        policy.validate(router.config, "setup(policy=...)") if policy is not None else None
    )
    if handle_errors:
        app.add_exception_handler(RouterError, router_error_handler)


def _middleware_handle(request: Request) -> RequestLLM | None:
    handle = request.scope.get("state", {}).get("llm")
    return handle if isinstance(handle, RequestLLM) else None


def _app_router(request: Request) -> tuple[Router, Policy | None]:
    handle = _middleware_handle(request)
    if handle is not None:
        return handle.router, handle.policy
    state = request.app.state
    router = getattr(state, "llm_router", None)
    if not isinstance(router, Router):
        raise RuntimeError(
            "no LLM router on this app: call llm_router_middleware.integrations.fastapi."
            "setup(app, router) or add LLMRouterMiddleware"
        )
    return router, getattr(state, "llm_router_policy", None)


def _base_handle(request: Request) -> RequestLLM:
    handle = _middleware_handle(request)
    if handle is not None:
        return handle
    router, policy = _app_router(request)
    resolver: ContextResolver | None = getattr(request.app.state, "llm_router_context", None)
    return RequestLLM(
        router,
        resolver=resolver,
        request=request,
        policy=policy,
        endpoint=route_template(request.scope),
    )


async def _activate(request: Request, handle: RequestLLM) -> Token[RequestLLM | None]:
    # Resolved here, on the event loop: the endpoint asked for the handle, and a sync endpoint
    # (run in the thread pool) can then use any resolver, sync or async.
    await handle.acontext()
    request.state.llm = handle
    return current_llm.set(handle)


def _deactivate(token: Token[RequestLLM | None]) -> None:
    try:
        current_llm.reset(token)
    except ValueError:  # exited in another context
        current_llm.set(None)


async def get_llm(request: Request) -> AsyncIterator[RequestLLM]:
    """The request's handle: the middleware's when it is installed, else one built from
    ``setup(app, ...)``. Adds no parameter to the OpenAPI schema."""
    handle = _base_handle(request)
    token = await _activate(request, handle)
    try:
        yield handle
    finally:
        _deactivate(token)


LLM = Annotated[RequestLLM, Depends(get_llm)]


def llm_dependency(context: Dependency) -> Dependency:
    """A handle whose context comes from a FastAPI dependency of yours, so it composes with
    your auth (``context`` may itself depend on ``current_user``)::

        def llm_context(user: Annotated[User, Depends(current_user)]) -> RequestContext:
            return RequestContext(user_id=user.id, tier=user.plan)

        UserLLM = Annotated[RequestLLM, Depends(llm_dependency(llm_context))]
    """

    async def dependency(
        request: Request, ctx: Annotated[Any, Depends(context)]
    ) -> AsyncIterator[RequestLLM]:
        if not isinstance(ctx, RequestContext):
            raise ContextError(
                f"the context dependency {getattr(context, '__name__', context)!r} returned "
                f"{type(ctx).__name__}, expected RequestContext"
            )
        endpoint = route_template(request.scope)
        if ctx.endpoint is None and endpoint is not None:
            ctx = replace(ctx, endpoint=endpoint)
        router, policy = _app_router(request)
        handle = RequestLLM(router, context=ctx, policy=policy)
        token = await _activate(request, handle)
        try:
            yield handle
        finally:
            _deactivate(token)

    return dependency


def llm_policy(
    *,
    tier: str | None = None,
    models: Sequence[str] | None = None,
    strategy: str | None = None,
    max_cost_usd: float | None = None,
    deadline_s: float | None = None,
    llm: Dependency = get_llm,
) -> Dependency:
    """A dependency giving the handle narrowed for one endpoint::

        CheapLLM = Annotated[RequestLLM, Depends(llm_policy(models=["cheap"]))]

    ``llm`` is the dependency it narrows (``get_llm``, or one from ``llm_dependency``)."""
    policy = Policy.build(
        tier=tier,
        models=models,
        strategy=strategy,
        max_cost_usd=max_cost_usd,
        deadline_s=deadline_s,
    )

    async def dependency(
        request: Request, handle: Annotated[RequestLLM, Depends(llm)]
    ) -> AsyncIterator[RequestLLM]:
        narrowed = handle.with_policy(policy)
        token = await _activate(request, narrowed)
        try:
            yield narrowed
        finally:
            _deactivate(token)

    return dependency


def as_http_exception(error: RouterError) -> HTTPException:
    """The router error as an ``HTTPException``: its status, ``detail`` = the error object
    (``type``, ``message`` and, per error, ``attempts``, ``scope``...), and its headers."""
    detail = error.to_json()["error"]
    return HTTPException(
        status_code=error.status_code, detail=detail, headers=error.headers() or None
    )


async def router_error_handler(request: Request, exc: Exception) -> Response:
    """Renders a ``RouterError`` through the app's own ``HTTPException`` handler."""
    if not isinstance(exc, RouterError):
        raise exc
    handler = request.app.exception_handlers.get(StarletteHTTPException, http_exception_handler)
    response = handler(request, as_http_exception(exc))
    if inspect.isawaitable(response):
        response = await response
    if not isinstance(response, Response):
        raise TypeError(f"the HTTPException handler returned {type(response).__name__}")
    return response

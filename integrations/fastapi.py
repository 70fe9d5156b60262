"""FastAPI: the ``LLM`` dependency over the core ASGI middleware.

setup(app, router, context=lambda request: RequestContext(...))   # or app.add_middleware(...)

@app.post("/answer")
async def answer(llm: LLM) -> dict[str, str]: ...
"""

# No `from __future__ import annotations`: FastAPI reads the dependencies' annotations at
# runtime, and those of the closures below name their enclosing function's arguments.
import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from contextvars import Token
from dataclasses import replace
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request
from starlette.responses import JSONResponse, Response

from llm_router_middleware import (
    ContextError,
    LLMRouterMiddleware,
    Policy,
    RequestContext,
    RequestLLM,
    Router,
    RouterError,
)
from llm_router_middleware.asgi import route_template
from llm_router_middleware.context import ContextResolver, current_llm
from llm_router_middleware.policy import POLICY_ATTRIBUTE

from .starlette import sse_response

__all__ = [
    "LLM",
    "as_http_exception",
    "check_policies",
    "llm_dependency",
    "llm_policy",
    "request_llm",
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
    """Adds the core ``LLMRouterMiddleware`` (so ``request.state.llm``, ``LLM`` and
    ``llm_router_middleware.get_llm()`` all give the same handle), with ``context(request)``
    (sync or async) resolving each request's context, and answers router errors as
    ``{"error": {...}}`` like every other integration. Without ``context`` every request is
    anonymous."""
    checked = policy.validate(router.config, "setup(policy=...)") if policy is not None else None
    app.state.llm_router = router
    app.state.llm_router_context = context
    app.state.llm_router_policy = checked
    app.add_middleware(LLMRouterMiddleware, router=router, context=context, policy=checked)
    if handle_errors:
        app.add_exception_handler(RouterError, router_error_handler)
    _warm_at_startup(app, router)


def _warm_at_startup(app: FastAPI, router: Router) -> None:
    """Wrap the app's lifespan: litellm and the semantic encoder load (in a worker thread)
    before the app serves, so the first LLM request does not freeze the event loop."""
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(target: Any) -> AsyncIterator[Any]:
        check_policies(app, router)  # routes are all declared by now
        if not router.warmed:
            await asyncio.to_thread(router.warm)
        async with inner(target) as state:
            yield state

    app.router.lifespan_context = lifespan


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


async def request_llm(request: Request) -> AsyncIterator[RequestLLM]:
    """The dependency behind ``LLM``: the middleware's handle for this request, its context
    resolved. Adds no parameter to the OpenAPI schema."""
    handle = _base_handle(request)
    token = await _activate(request, handle)
    try:
        yield handle
    finally:
        _deactivate(token)


LLM = Annotated[RequestLLM, Depends(request_llm)]


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
    hedge: bool | None = None,
    hedge_after_s: float | None = None,
    cache: bool | None = None,
    cache_shared: bool | None = None,
    llm: Dependency = request_llm,
) -> Dependency:
    """A dependency giving the handle narrowed for one endpoint::

        CheapLLM = Annotated[RequestLLM, Depends(llm_policy(models=["cheap"]))]

    ``llm`` is the dependency it narrows (``request_llm``, or one from ``llm_dependency``)."""
    policy = Policy.build(
        tier=tier,
        models=models,
        strategy=strategy,
        max_cost_usd=max_cost_usd,
        deadline_s=deadline_s,
        hedge=hedge,
        hedge_after_s=hedge_after_s,
        cache=cache,
        cache_shared=cache_shared,
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

    setattr(dependency, POLICY_ATTRIBUTE, policy)  # checked at startup (check_policies)
    return dependency


def check_policies(app: FastAPI, router: Router) -> None:
    """Validate every ``llm_policy`` dependency of the app's routes against the router's
    config (a model its tier forbids, an unknown tier...): a ``ConfigError`` naming the route.
    ``setup`` runs it when the app starts."""
    for route in app.routes:
        dependant = getattr(route, "dependant", None)
        if dependant is None:
            continue
        where = f"llm_policy on {', '.join(sorted(getattr(route, 'methods', ()) or ()))} "
        where += str(getattr(route, "path", "?"))
        pending = [dependant]
        while pending:
            node = pending.pop()
            policy = getattr(node.call, POLICY_ATTRIBUTE, None)
            if isinstance(policy, Policy):
                policy.validate(router.config, where.strip())
            pending.extend(node.dependencies)


def as_http_exception(error: RouterError) -> HTTPException:
    """The router error as an ``HTTPException``: its status, ``detail`` = the error object
    (``type``, ``message`` and, per error, ``attempts``, ``scope``...), and its headers."""
    detail = error.to_json()["error"]
    return HTTPException(
        status_code=error.status_code, detail=detail, headers=error.headers() or None
    )


async def router_error_handler(request: Request, exc: Exception) -> Response:
    """A ``RouterError`` as the same ``{"error": {...}}`` JSON, status and headers that the core
    middleware and the Django and Flask integrations answer."""
    if not isinstance(exc, RouterError):
        raise exc
    return JSONResponse(exc.to_json(), status_code=exc.status_code, headers=exc.headers() or None)

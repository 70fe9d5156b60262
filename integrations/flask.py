"""Flask: ``request.llm`` in every view, and the ``llm`` proxy for code without a request at hand.

app.config["LLM_ROUTER"] = "router.toml"     # or the same shape as a dict
LLMRouter(app, context=lambda request: RequestContext(user_id=current_user.id, tier=...))
"""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from flask import Flask, Response, current_app, g, request
from flask.typing import ResponseReturnValue
from werkzeug.local import LocalProxy

from llm_router_middleware import ConfigError, Policy, RequestLLM, Router, RouterError
from llm_router_middleware.context import ContextResolver, current_llm
from llm_router_middleware.policy import POLICY_ATTRIBUTE
from llm_router_middleware.sse import HEADERS, MEDIA_TYPE, Render, delta_text, events

from ._loops import settling
from ._sync import settle

__all__ = [
    "LLMRouter",
    "LLMRouterState",
    "error_response",
    "get_router",
    "llm",
    "llm_policy",
    "sse_response",
]

EXTENSION = "llm_router"
CONFIG_KEY = "LLM_ROUTER"
_HANDLE = "_llm_router_handle"
_TOKEN = "_llm_router_token"

View = TypeVar("View", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class LLMRouterState:
    """The extension's per-app state, bound to its request hooks (``app.extensions["llm_router"]``
    holds the router itself)."""

    router: Router
    resolver: ContextResolver | None
    policy: Policy | None

    def resolve(self, req: Any) -> Any:
        assert self.resolver is not None
        # in a sync view an async resolver is run to completion (asgiref); async views await it
        return settle(self.resolver(req))


class LLMRouter:
    """The extension: ``LLMRouter(app)`` or ``ext = LLMRouter(); ext.init_app(app)``.

    ``router`` defaults to one built from ``app.config["LLM_ROUTER"]`` (a dict or a TOML path).
    ``context`` gets the Flask request and returns a ``RequestContext`` (sync or async); without
    it every request is anonymous and gets the default tier. Client headers are never read."""

    def __init__(
        self,
        app: Flask | None = None,
        *,
        router: Router | None = None,
        context: ContextResolver | None = None,
        policy: Policy | None = None,
    ) -> None:
        self.router = router
        self.context = context
        self.policy = policy
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        router = self.router if self.router is not None else _router_from_config(app)
        router.warm()  # litellm is imported here, at startup, not by the first request
        policy = (
            self.policy.validate(router.config, "LLMRouter(policy=...)") if self.policy else None
        )
        state = LLMRouterState(router=router, resolver=self.context, policy=policy)
        app.extensions[EXTENSION] = router
        for name, view in app.view_functions.items():  # views registered before init_app
            _check_view_policy(router, name, view)
        _check_later_views(app, router)
        # first, so the app's own before_request functions can use request.llm too
        app.before_request_funcs.setdefault(None, []).insert(0, functools.partial(_attach, state))
        app.teardown_request(_detach)
        app.register_error_handler(RouterError, error_response)
        # async views run on a new loop each: let litellm's logging finish on it (_loops.py)
        setattr(app, "async_to_sync", settling(app.async_to_sync))  # noqa: B010


def _router_from_config(app: Flask) -> Router:
    where = f"app.config[{CONFIG_KEY!r}]"
    source = app.config.get(CONFIG_KEY)
    if source is None:
        raise ConfigError(
            where,
            "is not set: give it the router config as a dict, or the path "
            "of a TOML file (or pass LLMRouter(app, router=...))",
        )
    if not isinstance(source, Mapping | str | os.PathLike):
        raise ConfigError(where, f"must be a dict or a path, not {type(source).__name__}")
    try:
        return Router.from_config(source)
    except ConfigError as exc:
        raise ConfigError(f"{where}.{exc.key}" if exc.key else where, exc.problem) from exc


def _attach(state: LLMRouterState) -> None:
    req = cast(Any, request)._get_current_object()
    rule = req.url_rule
    handle = RequestLLM(
        state.router,
        resolver=state.resolve if state.resolver else None,
        request=req,
        policy=state.policy,
        endpoint=rule.rule if rule is not None else None,
    )
    _install(req, handle)
    setattr(g, _TOKEN, current_llm.set(handle))


def _install(req: Any, handle: RequestLLM) -> None:
    req.llm = handle
    setattr(g, _HANDLE, handle)


def _detach(exc: BaseException | None) -> None:
    token = g.pop(_TOKEN, None)
    if token is not None:
        try:
            current_llm.reset(token)
        except ValueError:  # torn down in another context: just clear it
            current_llm.set(None)


def error_response(error: RouterError) -> ResponseReturnValue:
    """The JSON answer for a router error: 402/429 budget, 502 all failed, 503, 504..."""
    return error.to_json(), error.status_code, error.headers()


def get_router(app: Flask | None = None) -> Router:
    """The Router of ``app`` (the current app by default), for code outside a request."""
    target = app if app is not None else current_app
    router = target.extensions.get(EXTENSION)
    if not isinstance(router, Router):
        raise RuntimeError("the LLM router extension is not set up: call LLMRouter(app)")
    return router


def _current() -> RequestLLM:
    handle = g.get(_HANDLE)
    if not isinstance(handle, RequestLLM):
        raise RuntimeError(
            "no LLM handle for this request: initialise LLMRouter(app) and use `llm` "
            "inside a request"
        )
    return handle


llm: RequestLLM = cast(RequestLLM, LocalProxy(_current))
"""The current request's handle, like ``flask.g``: ``llm.complete(...)`` anywhere in a request."""


def _check_view_policy(router: Router, name: str, view: Any) -> None:
    view_policy = getattr(view, POLICY_ATTRIBUTE, None)
    if isinstance(view_policy, Policy):
        view_policy.validate(router.config, f"llm_policy on view {name!r}")


def _check_later_views(app: Flask, router: Router) -> None:
    """Views (and blueprints) registered after ``init_app`` are checked as they register, so
    an ``llm_policy`` naming a model its tier forbids fails at startup, not in a request."""
    register = app.add_url_rule

    @functools.wraps(register)
    def add_url_rule(
        rule: str,
        endpoint: str | None = None,
        view_func: Any = None,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        if view_func is not None:
            _check_view_policy(router, endpoint or view_func.__name__, view_func)
        register(rule, endpoint, view_func, *args, **kwargs)

    setattr(app, "add_url_rule", add_url_rule)  # noqa: B010


def llm_policy(
    *,
    tier: str | None = None,
    models: Sequence[str] | None = None,
    strategy: str | None = None,
    max_cost_usd: float | None = None,
    deadline_s: float | None = None,
    cache: bool | None = None,
    cache_shared: bool | None = None,
) -> Callable[[View], View]:
    """Narrow routing for one view (sync or async). Put it below ``@app.route``."""
    policy = Policy.build(
        tier=tier,
        models=models,
        strategy=strategy,
        max_cost_usd=max_cost_usd,
        deadline_s=deadline_s,
        cache=cache,
        cache_shared=cache_shared,
    )

    def decorate(view: View) -> View:
        if inspect.iscoroutinefunction(view):

            @functools.wraps(view)
            async def async_view(*args: Any, **kwargs: Any) -> Any:
                token = _narrow(policy)
                try:
                    return await view(*args, **kwargs)
                finally:
                    current_llm.reset(token)

            setattr(async_view, POLICY_ATTRIBUTE, policy)
            return cast(View, async_view)

        @functools.wraps(view)
        def sync_view(*args: Any, **kwargs: Any) -> Any:
            token = _narrow(policy)
            try:
                return view(*args, **kwargs)
            finally:
                current_llm.reset(token)

        setattr(sync_view, POLICY_ATTRIBUTE, policy)
        return cast(View, sync_view)

    return decorate


def _narrow(policy: Policy) -> Any:
    narrowed = _current().with_policy(policy)
    _install(cast(Any, request)._get_current_object(), narrowed)
    return current_llm.set(narrowed)


def sse_response(
    handle: RequestLLM, messages: Any, *, render: Render = delta_text, **params: Any
) -> Response:
    """A Server-Sent Events response, for sync and async views: ``return sse_response(llm, ...)``.

    Returns once a model has sent its first chunk: a failure before it raises the
    ``RouterError`` (answered as JSON with its status); one after it becomes an ``error``
    event; the last event, ``done``, carries the routing. The body runs under
    ``stream_with_context``; when the client goes away the server closes it, which closes the
    upstream call and charges what was streamed."""
    from flask import stream_with_context

    stream = handle.stream(messages, **params)
    return Response(
        stream_with_context(events(stream, render)), mimetype=MEDIA_TYPE, headers=dict(HEADERS)
    )

"""Django: ``request.llm`` in every view, sync (WSGI) or async (ASGI).

MIDDLEWARE = [..., "django.contrib.auth.middleware.AuthenticationMiddleware",
              "llm_router_middleware.integrations.django.LLMRouterMiddleware"]
LLM_ROUTER = "router.toml"            # or the same shape as a dict
LLM_ROUTER_TIER = "profile.plan"      # optional: attribute path on request.user, or a dotted
                                      # path to a callable(user) -> tier name
LLM_ROUTER_CONTEXT = "app.llm.ctx"    # optional: your own resolver(request) -> RequestContext
INSTALLED_APPS = [..., "llm_router_middleware.integrations.django.LLMRouterConfig"]
                                      # optional: build the router and import litellm at startup
"""

from __future__ import annotations

import functools
import inspect
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any, TypeVar, cast

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.utils.module_loading import import_string

from llm_router_middleware import (
    ConfigError,
    ContextError,
    Policy,
    RequestContext,
    RequestLLM,
    Router,
    RouterError,
)
from llm_router_middleware.context import ContextResolver, current_llm
from llm_router_middleware.policy import POLICY_ATTRIBUTE
from llm_router_middleware.sse import HEADERS, MEDIA_TYPE, Render, aevents, delta_text, events

from . import django_checks  # noqa: F401  (registers the system checks)
from ._sync import in_event_loop, settle
from .django_checks import LLMRouterConfig

__all__ = [
    "LLMRouterConfig",
    "LLMRouterMiddleware",
    "asse_response",
    "default_context",
    "error_response",
    "get_router",
    "llm_policy",
    "sse_response",
]

CONFIG_SETTING = "LLM_ROUTER"
TIER_SETTING = "LLM_ROUTER_TIER"
CONTEXT_SETTING = "LLM_ROUTER_CONTEXT"

TierGetter = Callable[[Any], "str | None"]
View = TypeVar("View", bound=Callable[..., Any])

_lock = threading.Lock()
_cache: dict[str, Any] = {}


# --- settings --------------------------------------------------------------------------------
def get_router() -> Router:
    """The process-wide Router built from ``settings.LLM_ROUTER`` (for code outside a request:
    management commands, tasks). Raises ``ImproperlyConfigured`` when the setting is invalid."""
    router = _cache.get(CONFIG_SETTING)
    if router is None:
        with _lock:
            router = _cache.get(CONFIG_SETTING)
            if router is None:
                router = _cache[CONFIG_SETTING] = _load_router()
    return cast(Router, router)


def _load_router() -> Router:
    source = getattr(settings, CONFIG_SETTING, None)
    if source is None:
        raise ImproperlyConfigured(
            "settings.LLM_ROUTER is not set: give it the router config as a dict, or the path "
            "of a TOML file"
        )
    if isinstance(source, Router):
        source.warm()
        return source
    if not isinstance(source, Mapping | str | os.PathLike):
        raise ImproperlyConfigured(
            f"settings.LLM_ROUTER must be a dict, a path to a TOML file or a Router, "
            f"not {type(source).__name__}"
        )
    try:
        router = Router.from_config(source)
    except ConfigError as exc:
        raise ImproperlyConfigured(f"settings.LLM_ROUTER: {exc}") from exc
    router.warm()  # at startup (AppConfig.ready or the middleware's load), never in a request
    return router


def _tier_getter() -> TierGetter:
    value = getattr(settings, TIER_SETTING, None)
    if value is None:
        return _no_tier
    if callable(value):
        return cast(TierGetter, value)
    if not isinstance(value, str) or not value:
        raise ImproperlyConfigured(
            "settings.LLM_ROUTER_TIER must be an attribute path on the user ('profile.plan'), "
            f"a dotted path to a callable, or a callable; got {value!r}"
        )
    try:
        target = import_string(value)
    except ImportError:
        return _attribute_path(value)
    if not callable(target):
        raise ImproperlyConfigured(f"settings.LLM_ROUTER_TIER: {value!r} is not callable")
    return cast(TierGetter, target)


_NOTHING: Any = object()


def _no_tier(user: Any) -> str | None:
    return None


def _attribute_path(path: str) -> TierGetter:
    names = path.split(".")

    def tier_of(user: Any) -> str | None:
        value = user
        for name in names:
            found = getattr(value, name, _NOTHING)  # a missing related row reads as no tier
            if found is _NOTHING and not hasattr(type(value), name):
                raise ContextError(
                    f"settings.LLM_ROUTER_TIER {path!r} names nothing: "
                    f"{type(value).__name__} has no attribute {name!r}"
                )
            value = None if found is _NOTHING else found
            if value is None:
                return None
        if callable(value):
            value = value()
        return None if value is None or value == "" else str(value)

    return tier_of


def _resolver() -> ContextResolver:
    value = getattr(settings, CONTEXT_SETTING, None)
    if value is None:
        return default_context
    if isinstance(value, str):
        try:
            value = import_string(value)
        except ImportError as exc:
            raise ImproperlyConfigured(f"settings.LLM_ROUTER_CONTEXT: {exc}") from exc
    if not callable(value):
        raise ImproperlyConfigured(
            "settings.LLM_ROUTER_CONTEXT must be a callable(request) -> RequestContext "
            "or its dotted path"
        )
    return cast(ContextResolver, value)


def _cached(key: str, build: Callable[[], Any]) -> Any:
    if key not in _cache:
        _cache[key] = build()
    return _cache[key]


def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith(CONFIG_SETTING):
        _cache.clear()


setting_changed.connect(_settings_changed)


# --- context ---------------------------------------------------------------------------------
def default_context(request: HttpRequest) -> RequestContext:
    """From ``request.user``: an authenticated user gets their pk as user id (and budget scope)
    and the tier named by ``LLM_ROUTER_TIER``; anonymous users get the default tier. Client
    headers are never read."""
    user = getattr(request, "user", None)
    if user is None or not getattr(user, "is_authenticated", False):
        return RequestContext()
    tier_of: TierGetter = _cached(TIER_SETTING, _tier_getter)
    return RequestContext(user_id=str(user.pk), tier=tier_of(user))


def _endpoint(request: HttpRequest) -> str | None:
    match = getattr(request, "resolver_match", None)
    route = getattr(match, "route", None)
    return route if isinstance(route, str) and route else None


def _with_endpoint(result: Any, request: HttpRequest) -> Any:
    if isinstance(result, RequestContext) and result.endpoint is None:
        endpoint = _endpoint(request)
        if endpoint is not None:
            return replace(result, endpoint=endpoint)
    return result


# --- middleware ------------------------------------------------------------------------------
class LLMRouterMiddleware:
    """Puts a lazy ``request.llm`` on every request: creating it costs a small object, and the
    context is resolved on first use only. Serves WSGI and ASGI stacks without a sync/async
    switch; answers a ``RouterError`` from a view with its JSON body and status."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.router = get_router()  # runs at startup: a bad LLM_ROUTER fails the boot
        self.resolver: ContextResolver = _cached(CONTEXT_SETTING, _resolver)
        _cached(TIER_SETTING, _tier_getter)
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.async_mode:
            return self.__acall__(request)
        token = current_llm.set(self._attach(request))
        try:
            return self.get_response(request)
        finally:
            current_llm.reset(token)

    async def __acall__(self, request: HttpRequest) -> Any:
        token = current_llm.set(self._attach(request))
        try:
            return await self.get_response(request)
        finally:
            current_llm.reset(token)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, RouterError):
            return error_response(exception)
        return None

    def _attach(self, request: HttpRequest) -> RequestLLM:
        handle = RequestLLM(self.router, resolver=self._resolve, request=request)
        request.llm = handle
        return handle

    def _resolve(self, request: HttpRequest) -> Any:
        if in_event_loop():
            return self._aresolve(request)
        # a sync view (under WSGI, or in ASGI's thread pool): an async resolver runs via asgiref
        return _with_endpoint(settle(self.resolver(request)), request)

    async def _aresolve(self, request: HttpRequest) -> Any:
        if iscoroutinefunction(self.resolver):
            result = await self.resolver(request)
        else:  # request.user and profile lookups touch the database: not on the event loop
            result = await sync_to_async(self.resolver)(request)
            if inspect.isawaitable(result):
                result = await result
        return _with_endpoint(result, request)


def error_response(error: RouterError) -> JsonResponse:
    """The JSON answer for a router error: 402/429 budget, 502 all failed, 503, 504..."""
    response = JsonResponse(error.to_json(), status=error.status_code)
    for name, value in error.headers().items():
        response[name] = value
    return response


# --- per-view policy -------------------------------------------------------------------------
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
) -> Callable[[View], View]:
    """Narrow routing for one view (sync or async); on class-based views use
    ``method_decorator(llm_policy(...), name="dispatch")``."""
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

    def decorate(view: View) -> View:
        if iscoroutinefunction(view):

            @functools.wraps(view)
            async def async_view(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                token = current_llm.set(_narrow(request, policy))
                try:
                    return await view(request, *args, **kwargs)
                finally:
                    current_llm.reset(token)

            setattr(async_view, POLICY_ATTRIBUTE, policy)
            return cast(View, async_view)

        @functools.wraps(view)
        def sync_view(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            token = current_llm.set(_narrow(request, policy))
            try:
                return view(request, *args, **kwargs)
            finally:
                current_llm.reset(token)

        setattr(sync_view, POLICY_ATTRIBUTE, policy)
        return cast(View, sync_view)

    return decorate


def _narrow(request: HttpRequest, policy: Policy) -> RequestLLM:
    handle = getattr(request, "llm", None)
    if not isinstance(handle, RequestLLM):
        raise ImproperlyConfigured(
            "llm_policy needs request.llm: add 'llm_router_middleware.integrations.django."
            "LLMRouterMiddleware' to settings.MIDDLEWARE"
        )
    narrowed = handle.with_policy(policy)
    request.llm = narrowed
    return narrowed


# --- Server-Sent Events ----------------------------------------------------------------------
def sse_response(
    llm: RequestLLM, messages: Any, *, render: Render = delta_text, **params: Any
) -> StreamingHttpResponse:
    """For sync views under WSGI: ``return sse_response(request.llm, messages)``. (Under ASGI
    Django reads a sync body whole before sending it: use ``asse_response`` in an async view.)

    Returns once a model has sent its first chunk: a failure before it raises the
    ``RouterError`` (the middleware answers it as JSON with its status); one after it becomes an
    ``error`` event; the last event, ``done``, carries the routing. When the client goes away
    the server closes the body: the upstream call is closed and what was streamed is charged."""
    return _streaming(events(llm.stream(messages, **params), render))


async def asse_response(
    llm: RequestLLM, messages: Any, *, render: Render = delta_text, **params: Any
) -> StreamingHttpResponse:
    """For async views: ``return await asse_response(request.llm, messages)``; the async twin of
    ``sse_response`` (Django cancels the body when an ASGI client goes away)."""
    return _streaming(aevents(await llm.astream(messages, **params), render))


def _streaming(body: Any) -> StreamingHttpResponse:
    response = StreamingHttpResponse(body, content_type=MEDIA_TYPE)
    for name, value in HEADERS.items():
        response[name] = value
    return response

"""Django system checks: ``manage.py check`` (and ``runserver``, ``migrate``...) reports a broken
``LLM_ROUTER``, an ``LLM_ROUTER_TIER`` that names nothing, and ``llm_policy`` views naming models
their tier forbids, before any request is served.

Registered when ``llm_router_middleware.integrations.django`` is imported; add
``"llm_router_middleware.integrations.django.LLMRouterConfig"`` to ``INSTALLED_APPS`` so
that ``manage.py check`` runs them before anything imports the integration.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator, Mapping
from typing import Any

from django.apps import AppConfig, apps
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils.module_loading import import_string

from llm_router_middleware import ConfigError, Policy, RouterConfig, load_config
from llm_router_middleware.config import ConfigErrors
from llm_router_middleware.config.collect import suggest
from llm_router_middleware.policy import POLICY_ATTRIBUTE

MIDDLEWARE_PATH = "llm_router_middleware.integrations.django.LLMRouterMiddleware"


class LLMRouterConfig(AppConfig):  # type: ignore[misc]  # django ships no stubs here
    """``INSTALLED_APPS += ["llm_router_middleware.integrations.django.LLMRouterConfig"]`` (also
    importable from this module): registers the system checks, then builds the router from
    ``settings.LLM_ROUTER`` and imports litellm (``ready``), before any request. A broken
    setting is left to the checks (every problem at once) and to the middleware's load."""

    name = "llm_router_middleware.integrations"
    label = "llm_router"
    verbose_name = "LLM router"

    def ready(self) -> None:
        checks.register(check_llm_router, "llm_router")
        if getattr(settings, "LLM_ROUTER", None) is None:
            return
        from .django import get_router

        try:
            get_router()  # builds and warms the router (Router.warm) at startup
        except (ConfigError, ImproperlyConfigured):
            return  # `manage.py check` reports it; loading the middleware raises it


def check_llm_router(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    used = MIDDLEWARE_PATH in (getattr(settings, "MIDDLEWARE", None) or ())
    if not used and getattr(settings, "LLM_ROUTER", None) is None:
        return []
    errors: list[checks.CheckMessage] = []
    config = _config(errors)
    errors += _tier_setting()
    if config is not None:
        errors += _view_policies(config)
    return errors


def _config(errors: list[checks.CheckMessage]) -> RouterConfig | None:
    source = getattr(settings, "LLM_ROUTER", None)
    if source is None:
        errors.append(
            checks.Error(
                "settings.LLM_ROUTER is not set",
                hint="give it the router config as a dict, or the path of a TOML file",
                id="llm_router.E001",
            )
        )
        return None
    if hasattr(source, "config") and isinstance(source.config, RouterConfig):
        return source.config  # a Router
    if not isinstance(source, Mapping | str | os.PathLike):
        errors.append(
            checks.Error(
                f"settings.LLM_ROUTER must be a dict or a path, not {type(source).__name__}",
                id="llm_router.E001",
            )
        )
        return None
    try:
        return load_config(source)
    except ConfigErrors as many:
        problems = many.errors
    except ConfigError as one:
        problems = [one]
    errors += [checks.Error(f"settings.LLM_ROUTER: {e}", id="llm_router.E001") for e in problems]
    return None


def _tier_setting() -> list[checks.CheckMessage]:
    from .django import _tier_getter

    try:
        _tier_getter()
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), id="llm_router.E002")]
    value = getattr(settings, "LLM_ROUTER_TIER", None)
    if not isinstance(value, str):
        return []
    try:
        import_string(value)
        return []
    except ImportError as exc:
        module = value.rpartition(".")[0]
        if "." in module and _importable(module):  # "a.b.name" ("profile.plan" is ambiguous)
            message = f"settings.LLM_ROUTER_TIER {value!r} names nothing: {exc}"
            return [checks.Error(message, id="llm_router.E003")]  # a dotted path gone wrong
    return _attribute_on_user(value)


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:
        return False


def _attribute_on_user(path: str) -> list[checks.CheckMessage]:
    if not apps.is_installed("django.contrib.auth"):
        return []  # the app's own user class: checked on each request instead
    from django.contrib.auth import get_user_model

    user_model = get_user_model()
    first = path.split(".", 1)[0]
    if hasattr(user_model, first):
        return []
    # A warning, not an error: request.user may be the app's own class. A request whose user
    # lacks the attribute is answered with a ContextError (500), never the default tier.
    return [
        checks.Warning(
            f"settings.LLM_ROUTER_TIER {path!r} names nothing on the user model: "
            f"{user_model.__name__} has no attribute {first!r}{suggest(first, dir(user_model))}",
            hint="an attribute path on request.user ('profile.plan') or the dotted path of a "
            "callable(user) -> tier name",
            id="llm_router.W001",
        )
    ]


def _view_policies(config: RouterConfig) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    try:
        patterns = list(_callbacks(get_resolver().url_patterns))
    except Exception:  # a broken URLconf is reported by Django's own URL checks
        return []
    for where, callback in patterns:
        policy = getattr(callback, POLICY_ATTRIBUTE, None)
        if not isinstance(policy, Policy):
            continue
        name = getattr(callback, "__qualname__", repr(callback))
        try:
            policy.validate(config, f"llm_policy on view {name} ({where})")
        except ConfigError as exc:
            errors.append(checks.Error(str(exc), id="llm_router.E004"))
    return errors


def _callbacks(patterns: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _callbacks(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern.callback


checks.register(check_llm_router, "llm_router")

"""A one-module Django project for the integration tests: settings, a stand-in login, views."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, JsonResponse
from django.urls import path
from llm_router_middleware.integrations.django import llm_policy

from llm_router_middleware import RequestContext, get_llm

SETTINGS: dict[str, Any] = {
    "DEBUG": False,
    "SECRET_KEY": "integration-tests-only",
    "ALLOWED_HOSTS": ["*"],
    "ROOT_URLCONF": "django_test_app",
    "INSTALLED_APPS": ["django.contrib.contenttypes", "django.contrib.auth"],
    "DATABASES": {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    "MIDDLEWARE": [
        "django_test_app.CookieLoginMiddleware",
        "llm_router_middleware.integrations.django.LLMRouterMiddleware",
    ],
    "LLM_ROUTER_TIER": "profile.plan",
    "USE_TZ": True,
}

MESSAGES = [{"role": "user", "content": "hello"}]


@dataclass
class FakeUser:
    """Stands in for an authenticated ``django.contrib.auth`` user with a profile row."""

    pk: str
    profile: Any = field(default=None)
    is_authenticated: bool = True


class Anonymous:
    pk = None
    is_authenticated = False


class CookieLoginMiddleware:
    """The app's own login: the ``login`` cookie (``alice:pro``) names the user and their plan.
    Sync and async capable, so the ASGI stack stays async end to end."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        login = request.COOKIES.get("login")
        if login:
            user_id, _, plan = login.partition(":")
            request.user = FakeUser(pk=user_id, profile=SimpleNamespace(plan=plan or None))
        else:
            request.user = Anonymous()
        return self.get_response(request)


def reply_json(reply: Any, request: HttpRequest) -> JsonResponse:
    return JsonResponse(
        {
            "model": reply.routing.model,
            "tier": reply.routing.tier,
            "fallback_count": reply.routing.fallback_count,
            "content": reply.choices[0].message.content,
            "user_id": request.llm.context().user_id,
            "same_handle": get_llm() is request.llm,
        }
    )


def chat_sync(request: HttpRequest, room: str) -> JsonResponse:
    return reply_json(request.llm.complete(MESSAGES), request)


async def chat_async(request: HttpRequest, room: str) -> JsonResponse:
    return reply_json(await request.llm.acomplete(MESSAGES), request)


@llm_policy(tier="pro", models=["cheap"])
def policy_sync(request: HttpRequest) -> JsonResponse:
    return reply_json(request.llm.complete(MESSAGES), request)


@llm_policy(tier="pro", models=["cheap"])
async def policy_async(request: HttpRequest) -> JsonResponse:
    return reply_json(await request.llm.acomplete(MESSAGES), request)


def plain_sync(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


async def plain_async(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


async def async_context(request: HttpRequest) -> RequestContext:
    """An app resolver that is a coroutine (e.g. awaiting ``request.auser()``)."""
    return RequestContext(user_id="from-async-resolver", tier="pro")


urlpatterns = [
    path("sync/chat/<str:room>/", chat_sync),
    path("async/chat/<str:room>/", chat_async),
    path("sync/policy/", policy_sync),
    path("async/policy/", policy_async),
    path("sync/plain/", plain_sync),
    path("async/plain/", plain_async),
]

"""Django + llm-router-middleware in one file, against a local fake provider (no API key needed).

python examples/django_app/app.py           # serves http://127.0.0.1:8080 (runserver)
python examples/django_app/app.py --demo    # sends a few requests, prints the decisions

With OTEL_EXPORTER_OTLP_ENDPOINT set (http://localhost:4318 for examples/jaeger-compose.yml),
every request's spans are exported: the HTTP server span, its route span and the chat spans.
Under `opentelemetry-instrument` (OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf) too: its Django
instrumentor configures empty settings before this file runs, so main() adds to them.

curl -H "Authorization: Bearer alice-token" http://127.0.0.1:8080/chat/?q=hello
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # examples/shared.py

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, JsonResponse
from django.urls import path
from llm_router_middleware.integrations.django import llm_policy
from shared import DemoRow, export_spans, print_rows, router_config, run_demo


def settings_for(base_url: str) -> dict[str, Any]:
    """The settings the integration needs (a real project keeps its own auth middleware)."""
    return {
        "ROOT_URLCONF": __name__,
        "MIDDLEWARE": [
            f"{__name__}.TokenAuthMiddleware",
            "llm_router_middleware.integrations.django.LLMRouterMiddleware",
        ],
        "LLM_ROUTER": router_config(base_url),  # or "router.toml"
        "LLM_ROUTER_TIER": "plan",  # attribute of request.user, e.g. "profile.plan"
    }


# --- the app's own authentication (stands in for django.contrib.auth) ------------------------
@dataclass
class User:
    pk: str
    plan: str
    is_authenticated: bool = True


class Anonymous:
    pk = None
    is_authenticated = False


USERS = {"alice-token": User("alice", "pro"), "bob-token": User("bob", "free")}


class TokenAuthMiddleware:
    sync_capable = async_capable = True

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        request.user = USERS.get(token, Anonymous())
        return self.get_response(request)


# --- views -----------------------------------------------------------------------------------
def as_json(reply: Any) -> JsonResponse:
    return JsonResponse(
        {
            "answer": reply.choices[0].message.content,
            "model": reply.routing.model,
            "tier": reply.routing.tier,
            "fallbacks": reply.routing.fallback_count,
        }
    )


async def chat(request: HttpRequest) -> JsonResponse:
    q = request.GET.get("q", "hello")
    return as_json(await request.llm.acomplete([{"role": "user", "content": q}]))


@llm_policy(models=["cheap"])
def summary(request: HttpRequest) -> JsonResponse:  # a sync view with a narrowed policy
    q = request.GET.get("q", "")
    return as_json(request.llm.complete([{"role": "user", "content": f"Summarise: {q}"}]))


urlpatterns = [path("chat/", chat), path("summary/", summary)]


def demo() -> list[DemoRow]:
    """Requests through Django's test client (settings must be configured)."""
    from django.test import Client

    client = Client()

    def get(url: str, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        response = client.get(url, headers=headers)
        return response.status_code, response.json()

    return run_demo(get, slash="/")


def configure(values: dict[str, Any]) -> None:
    from django.conf import settings

    if not settings.configured:
        settings.configure(**values)
        return
    # opentelemetry-instrument's Django instrumentor ran first: without DJANGO_SETTINGS_MODULE it
    # configured empty settings holding its own middleware. Keep that middleware first (the HTTP
    # server span) and add ours; configuring again would fail with "Settings already configured".
    values["MIDDLEWARE"] = [*settings.MIDDLEWARE, *values["MIDDLEWARE"]]
    for name, value in values.items():
        setattr(settings, name, value)


def main(argv: list[str]) -> None:
    import django
    from django.core.management import execute_from_command_line

    from llm_router_middleware.testing import FakeProvider

    traced = export_spans("llm-router-django-example")
    with FakeProvider() as provider:
        configure(
            {
                "DEBUG": True,
                "SECRET_KEY": "example-only",
                "ALLOWED_HOSTS": ["127.0.0.1", "testserver"],
                "INSTALLED_APPS": [],
                **settings_for(provider.base_url),
            }
        )
        if traced:  # a no-op when opentelemetry-instrument has instrumented Django already
            from opentelemetry.instrumentation.django import DjangoInstrumentor

            DjangoInstrumentor().instrument()  # the HTTP server span the route spans nest in
        django.setup()
        if "--demo" in argv:
            print_rows(demo())
            return
        execute_from_command_line(
            [argv[0] if argv else "app.py", "runserver", "127.0.0.1:8080", "--noreload"]
        )


if __name__ == "__main__":
    main(sys.argv)

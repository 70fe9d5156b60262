"""litellm (and the semantic encoder) load at startup, never in a request: the ASGI lifespan,
FastAPI's lifespan, Flask's init_app and Django's AppConfig.ready each warm the router."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from typing import Any

from django.test import override_settings
from fastapi import FastAPI
from fastapi.testclient import TestClient
from flask import Flask
from llm_router_middleware.integrations.django import LLMRouterConfig
from llm_router_middleware.integrations.fastapi import setup
from llm_router_middleware.integrations.flask import LLMRouter
from starlette.applications import Starlette
from starlette.middleware import Middleware

from llm_router_middleware import LLMRouterMiddleware, Router


def test_a_new_router_is_not_warm(router_config: dict[str, Any]) -> None:
    assert not Router.from_config(router_config).warmed


def test_the_asgi_lifespan_warms_the_router(router_config: dict[str, Any]) -> None:
    router = Router.from_config(router_config)
    app = Starlette(middleware=[Middleware(LLMRouterMiddleware, router=router)])
    with TestClient(app):  # lifespan startup has completed
        assert router.warmed


def test_fastapis_lifespan_warms_the_router_and_keeps_the_apps_own(
    router_config: dict[str, Any],
) -> None:
    router = Router.from_config(router_config)
    app = FastAPI()
    started: list[bool] = []
    app.router.on_startup.append(lambda: started.append(router.warmed))
    setup(app, router)
    with TestClient(app):
        assert router.warmed
        assert started == [True]  # warm before the app's own startup hooks run


def test_flask_init_app_warms_the_router(router_config: dict[str, Any]) -> None:
    router = Router.from_config(router_config)
    LLMRouter(Flask(__name__), router=router)
    assert router.warmed


def test_djangos_app_config_ready_warms_the_router(router_config: dict[str, Any]) -> None:
    router = Router.from_config(router_config)
    with override_settings(LLM_ROUTER=router):
        config = LLMRouterConfig.create("llm_router_middleware.integrations.django.LLMRouterConfig")
        config.ready()
    assert router.warmed


FRESH_SERVER = """
import sys
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient
from llm_router_middleware import LLMRouterMiddleware, Router

router = Router.from_config({config!r})

async def health(request):
    return JSONResponse({{"litellm_loaded": "litellm" in sys.modules}})

app = Starlette(
    routes=[Route("/health", health)],
    middleware=[Middleware(LLMRouterMiddleware, router=router)],
)
print("before startup:", "litellm" in sys.modules)
with TestClient(app) as client:
    print("first request:", client.get("/health").json()["litellm_loaded"])
"""


def test_in_a_fresh_interpreter_litellm_is_loaded_before_the_first_request(
    router_config: dict[str, Any],
) -> None:
    """So a /health sent while the first LLM call is in flight is not stuck behind the import
    (which took ~5 s on the event loop)."""
    code = textwrap.dedent(FRESH_SERVER.format(config=router_config))
    env = {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "PATH": ""}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.splitlines() == ["before startup: False", "first request: True"]

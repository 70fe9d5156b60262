"""The library needs only opentelemetry-api: without the SDK installed it imports and serves
calls; ``configure_telemetry()`` sets the SDK up from the OTEL_* variables (the ``otlp`` extra)
and says which extra is missing when it is."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from llm_router_middleware.otlp import TelemetrySetupError, configure_telemetry
from llm_router_middleware.testing import OTLPReceiver


def run(code: str, **env: str) -> dict[str, object]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    environment.update(LITELLM_LOCAL_MODEL_COST_MAP="True", **env)
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=180,
        env=environment,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


SERVE_ONE_CALL = """
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.responses import JSONResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    from llm_router_middleware import LLMRouterMiddleware, Router
    from llm_router_middleware.testing import FakeProvider

    async def answer(request):
        reply = await request.state.llm.acomplete([{"role": "user", "content": "hi"}])
        return JSONResponse({"model": reply.routing.model})

    with FakeProvider() as fake:
        router = Router.from_config({"models": [{
            "name": "cheap", "model": "openai/fake-cheap", "api_base": fake.base_url,
            "api_key": "sk-test", "input_cost_per_1m": 1, "output_cost_per_1m": 2,
            "context_window": 8000}]})
        app = Starlette(routes=[Route("/answer", answer)],
                        middleware=[Middleware(LLMRouterMiddleware, router=router)])
        response = TestClient(app).get("/answer")
"""


def test_serves_calls_with_no_sdk_installed() -> None:
    result = run(
        textwrap.dedent(
            """
        import importlib.abc, json, sys

        class NoSDK(importlib.abc.MetaPathFinder):  # as if only opentelemetry-api were installed
            def find_spec(self, name, path=None, target=None):
                if name.startswith(("opentelemetry.sdk", "opentelemetry.exporter")):
                    raise ModuleNotFoundError(f"No module named {name!r}", name=name)
                return None

        sys.meta_path.insert(0, NoSDK())
        """
        )
        + textwrap.dedent(SERVE_ONE_CALL)
        + """
import os
from llm_router_middleware import configure_telemetry
os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:9"
try:
    configure_telemetry()
    missing = ""
except ImportError as exc:
    missing = str(exc)
sdk = sorted(m for m in sys.modules if m.startswith(("opentelemetry.sdk", "opentelemetry.exp")))
print(json.dumps({"status": response.status_code, "body": response.json(), "sdk": sdk,
                  "missing": missing}))
"""
    )
    assert result["status"] == 200
    assert result["body"] == {"model": "cheap"}
    assert result["sdk"] == []
    assert "llm-router-middleware[otlp]" in str(result["missing"])


def test_configure_telemetry_exports_over_http_from_the_otel_variables(
    otlp_receiver: OTLPReceiver,
) -> None:
    result = run(
        textwrap.dedent(SERVE_ONE_CALL)
        + """
from llm_router_middleware import configure_telemetry
# spans before configure_telemetry() are not recorded; then the SDK exports over OTLP/HTTP
provider = configure_telemetry("fallback-name")
again = configure_telemetry("other")  # never replaces a provider
with FakeProvider() as fake:
    router = Router.from_config({"models": [{
        "name": "cheap", "model": "openai/fake-cheap", "api_base": fake.base_url,
        "api_key": "sk-test", "input_cost_per_1m": 1, "output_cost_per_1m": 2,
        "context_window": 8000}]})
    router.complete([{"role": "user", "content": "hi"}])
provider.shutdown()
import json
print(json.dumps({"same": again is provider, "type": type(provider).__name__}))
""",
        OTEL_EXPORTER_OTLP_ENDPOINT=otlp_receiver.endpoint,
        OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
        OTEL_SERVICE_NAME="from-the-environment",
    )
    assert result == {"same": True, "type": "TracerProvider"}
    spans = otlp_receiver.wait_for(2, timeout=10)
    assert {s.name for s in spans} == {"route fixed", "chat fake-cheap"}
    assert {s.resource["service.name"] for s in spans} == {"from-the-environment"}


@pytest.mark.parametrize(
    ("variable", "value"),
    [("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"), ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json")],
)
def test_a_protocol_it_cannot_export_is_named(
    variable: str, value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opentelemetry import trace

    # as in a process where nothing has set a TracerProvider yet
    monkeypatch.setattr(trace, "get_tracer_provider", trace.ProxyTracerProvider)
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", variable: value}
    with pytest.raises(TelemetrySetupError, match=f"{variable}='{value}'"):
        configure_telemetry(environ=env)
    assert configure_telemetry(environ={}) is None  # no endpoint: nothing is exported
    assert configure_telemetry(environ={**env, "OTEL_SDK_DISABLED": "true"}) is None

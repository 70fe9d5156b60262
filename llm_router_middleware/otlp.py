"""``configure_telemetry()``: an OpenTelemetry SDK exporting over OTLP/HTTP, set up from the
standard ``OTEL_*`` variables. The library itself needs only ``opentelemetry-api``; this helper is
for applications and needs the ``otlp`` extra (the SDK and the OTLP/HTTP exporter).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from opentelemetry import trace

ENDPOINT_ENV = "OTEL_EXPORTER_OTLP_ENDPOINT"
TRACES_ENDPOINT_ENV = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
PROTOCOL_ENV = "OTEL_EXPORTER_OTLP_PROTOCOL"
TRACES_PROTOCOL_ENV = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
SERVICE_NAME_ENV = "OTEL_SERVICE_NAME"
SDK_DISABLED_ENV = "OTEL_SDK_DISABLED"
HTTP_PROTOBUF = "http/protobuf"
EXTRA_HINT = (
    "install the 'otlp' extra: pip install 'llm-router-middleware[otlp]' "
    "(from a clone: pip install -e '.[otlp]')"
)


class TelemetrySetupError(RuntimeError):
    """The ``OTEL_*`` variables ask for something this helper cannot set up (names the variable)."""


def configure_telemetry(
    service_name: str = "llm-router-app",
    *,
    environ: Mapping[str, str] | None = None,
) -> trace.TracerProvider | None:
    """Install an SDK ``TracerProvider`` exporting spans over OTLP/HTTP, when the environment asks
    for export, and return it; else return None and change nothing.

    - ``OTEL_EXPORTER_OTLP_ENDPOINT`` (``http://localhost:4318``; ``/v1/traces`` is appended) or
      ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` (used as is): without either, nothing is exported.
    - ``OTEL_EXPORTER_OTLP_PROTOCOL`` / ``..._TRACES_PROTOCOL``: ``http/protobuf`` (the default
      here); anything else is refused with a ``TelemetrySetupError`` naming the variable.
    - ``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES`` as usual (``service_name`` is the
      default); ``OTEL_SDK_DISABLED=true`` turns the helper off.
    - A TracerProvider installed before (``opentelemetry-instrument``, or your own) is kept and
      returned: the helper never replaces one.

    Raises ``ImportError`` naming the ``otlp`` extra when the SDK or the exporter is missing."""
    env = os.environ if environ is None else environ
    current = trace.get_tracer_provider()
    if not isinstance(current, trace.ProxyTracerProvider):
        return current
    if env.get(SDK_DISABLED_ENV, "").strip().lower() == "true":
        return None
    traces_endpoint = env.get(TRACES_ENDPOINT_ENV, "").strip()
    endpoint = env.get(ENDPOINT_ENV, "").strip()
    if not traces_endpoint and not endpoint:
        return None
    for name in (TRACES_PROTOCOL_ENV, PROTOCOL_ENV):
        protocol = env.get(name, "").strip()
        if protocol:
            if protocol != HTTP_PROTOBUF:
                raise TelemetrySetupError(
                    f"{name}={protocol!r}: configure_telemetry() exports with http/protobuf only "
                    f"(set {name}=http/protobuf; Jaeger and the OpenTelemetry Collector accept "
                    "it on port 4318)"
                )
            break
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import SERVICE_NAME, Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as exc:
        raise ImportError(
            f"configure_telemetry() needs the OpenTelemetry SDK and OTLP exporter ({exc}): "
            + EXTRA_HINT
        ) from exc
    url = traces_endpoint or endpoint.rstrip("/") + "/v1/traces"
    name = env.get(SERVICE_NAME_ENV, "").strip() or service_name
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=url)))
    trace.set_tracer_provider(provider)
    return provider

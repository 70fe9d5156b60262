"""Environment reads and provider checks made on every call, at the cost of a dict lookup.

``os.environ.get`` of an unset variable raises and catches a ``KeyError`` inside ``os`` (about a
microsecond), and OpenTelemetry's ``get_tracer_provider`` / ``get_meter_provider`` do one such
read per call for as long as no provider is installed. These helpers read the same values from
``os.environ``'s own dict, so a variable changed at run time (``os.environ[...] = ...``,
``monkeypatch.setenv``) is still seen by the next call; where ``os.environ`` is not the CPython
``_Environ`` they fall back to ``os.environ.get``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.environment_variables import (
    OTEL_PYTHON_METER_PROVIDER,
    OTEL_PYTHON_TRACER_PROVIDER,
)

try:
    from opentelemetry.metrics import _internal as _metrics_internal
except ImportError:  # pragma: no cover - a future API without the module
    _metrics_internal = None  # type: ignore[assignment]


def _raw_environ() -> tuple[Mapping[Any, Any], Callable[[str], Any], Callable[[Any], str]]:
    """The mapping to look a variable up in (``.get(key) is None`` when unset), the key of a name
    in it and a value's decoding: ``os.environ``'s own dict, its encoded keys and values on
    CPython; else ``os.environ`` itself."""
    data = getattr(os.environ, "_data", None)
    encode = getattr(os.environ, "encodekey", None)
    decode = getattr(os.environ, "decodevalue", None)
    if not isinstance(data, dict) or encode is None or decode is None:
        return os.environ, str, str
    return data, encode, decode


_ENVIRON, _key, _decode = _raw_environ()


def env_reader(name: str) -> Callable[[], str | None]:
    """A function returning the variable ``name``'s current value (None when unset)."""
    data, key, decode = _ENVIRON, _key(name), _decode
    last: list[object] = [None, None]  # the raw value last seen and its decoding

    def read() -> str | None:
        raw = data.get(key)
        if raw is None:
            return None
        if raw is not last[0]:
            last[0], last[1] = raw, decode(raw)
        value = last[1]
        assert isinstance(value, str)
        return value

    return read


# Whether a provider variable is set, read inline below (one dict lookup, no call per check)
_TRACER_KEY = _key(OTEL_PYTHON_TRACER_PROVIDER)
_METER_KEY = _key(OTEL_PYTHON_METER_PROVIDER)
_PROXY_METER_PROVIDER = "_ProxyMeterProvider"
_MISSING = object()  # a future API without the private global: always ask the API


def tracer_provider() -> trace.TracerProvider | None:
    """The installed TracerProvider, or None while the API would hand out its proxy."""
    if getattr(trace, "_TRACER_PROVIDER", _MISSING) is None and _ENVIRON.get(_TRACER_KEY) is None:
        return None  # what get_tracer_provider() would find, without its os.environ read
    provider = trace.get_tracer_provider()
    return None if isinstance(provider, trace.ProxyTracerProvider) else provider


def metering() -> bool:
    """True once a MeterProvider is installed (else the instruments are the API's no-ops)."""
    if (
        getattr(_metrics_internal, "_METER_PROVIDER", _MISSING) is None
        and _ENVIRON.get(_METER_KEY) is None
    ):
        return False
    return type(metrics.get_meter_provider()).__name__ != _PROXY_METER_PROVIDER

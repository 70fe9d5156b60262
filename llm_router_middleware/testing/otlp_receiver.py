"""An OTLP/HTTP trace receiver on loopback that keeps the spans it receives as plain data.

with OTLPReceiver() as receiver:
    exporter = OTLPSpanExporter(endpoint=receiver.endpoint + "/v1/traces")
    ...
    receiver.wait_for(2)
"""

from __future__ import annotations

import base64
import gzip
import importlib
import json
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

from opentelemetry.trace import SpanKind, StatusCode

from llm_router_middleware.testing._server import BackgroundServer, BaseHandler

if TYPE_CHECKING:
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

__all__ = ["OTLPReceiver", "ReceivedSpan"]

Attributes = dict[str, Any]
_ID_FIELDS = ("traceId", "spanId", "parentSpanId")


@dataclass(frozen=True)
class ReceivedSpan:
    name: str
    kind: SpanKind
    trace_id: str
    span_id: str
    parent_span_id: str | None
    attributes: Attributes
    events: tuple[tuple[str, Attributes], ...]
    status_code: StatusCode
    status_description: str
    resource: Attributes
    scope: str
    start_time_unix_nano: int
    end_time_unix_nano: int

    @property
    def duration_s(self) -> float:
        return (self.end_time_unix_nano - self.start_time_unix_nano) / 1e9

    def event(self, name: str) -> Attributes:
        """The attributes of the first event called `name`; KeyError when absent."""
        for event_name, attributes in self.events:
            if event_name == name:
                return attributes
        raise KeyError(f"span {self.name!r} has no event {name!r}; it has {self.events!r}")


def _load_proto() -> ModuleType:
    try:
        from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "OTLPReceiver needs the 'opentelemetry-proto' package: "
            "pip install 'llm-router-middleware[dev]' (or opentelemetry-proto)"
        ) from exc
    return trace_service_pb2


class OTLPReceiver(BackgroundServer):
    """OTLP/HTTP receiver for traces (protobuf or JSON, optionally gzip) in a background thread."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self._proto = _load_proto()
        self._changed = threading.Condition()
        self._spans: list[ReceivedSpan] = []

    @property
    def endpoint(self) -> str:
        """The OTLP/HTTP base endpoint; traces go to `endpoint + "/v1/traces"`."""
        return f"http://{self._host}:{self.port}"

    @property
    def traces_endpoint(self) -> str:
        return f"{self.endpoint}/v1/traces"

    @property
    def spans(self) -> list[ReceivedSpan]:
        with self._changed:
            return list(self._spans)

    def spans_named(self, name: str) -> list[ReceivedSpan]:
        return [span for span in self.spans if span.name == name]

    def clear(self) -> None:
        with self._changed:
            self._spans.clear()

    def wait_for(
        self,
        condition: int | Callable[[Sequence[ReceivedSpan]], bool] = 1,
        timeout: float = 5.0,
    ) -> list[ReceivedSpan]:
        """Wait until `condition` spans arrived, or the predicate over all spans holds."""
        predicate: Callable[[Sequence[ReceivedSpan]], bool]
        if isinstance(condition, int):
            wanted = condition
            predicate = lambda spans: len(spans) >= wanted  # noqa: E731
        else:
            predicate = condition
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate(self._spans):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    names = [span.name for span in self._spans]
                    raise TimeoutError(
                        f"OTLPReceiver.wait_for({condition!r}) timed out after {timeout}s; "
                        f"received {len(names)} span(s): {names}"
                    )
                self._changed.wait(remaining)
            return list(self._spans)

    def _add(self, spans: list[ReceivedSpan]) -> None:
        with self._changed:
            self._spans.extend(spans)
            self._changed.notify_all()

    def _decode(self, body: bytes, is_json: bool) -> list[ReceivedSpan]:
        message = self._proto.ExportTraceServiceRequest()
        if is_json:
            json_format: Any = importlib.import_module("google.protobuf.json_format")
            json_format.ParseDict(_hex_ids_to_base64(json.loads(body)), message)
        else:
            message.ParseFromString(body)
        return _spans_from_request(message)


def _spans_from_request(message: Any) -> list[ReceivedSpan]:
    spans: list[ReceivedSpan] = []
    for resource_spans in message.resource_spans:
        resource = _attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                spans.append(
                    ReceivedSpan(
                        name=span.name,
                        kind=SpanKind(max(int(span.kind) - 1, 0)),
                        trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(),
                        parent_span_id=span.parent_span_id.hex() or None,
                        attributes=_attributes(span.attributes),
                        events=tuple((e.name, _attributes(e.attributes)) for e in span.events),
                        status_code=StatusCode(int(span.status.code)),
                        status_description=span.status.message,
                        resource=resource,
                        scope=scope_spans.scope.name,
                        start_time_unix_nano=int(span.start_time_unix_nano),
                        end_time_unix_nano=int(span.end_time_unix_nano),
                    )
                )
    return spans


def _attributes(pairs: Sequence[KeyValue]) -> Attributes:
    return {pair.key: _value(pair.value) for pair in pairs}


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return tuple(_value(v) for v in value.array_value.values)
    if kind == "kvlist_value":
        return _attributes(value.kvlist_value.values)
    return getattr(value, kind)


def _hex_ids_to_base64(node: Any) -> Any:
    """OTLP/JSON writes ids as hex; protobuf's JSON mapping expects base64 for bytes."""
    if isinstance(node, list):
        return [_hex_ids_to_base64(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted: dict[str, Any] = {}
    for key, item in node.items():
        if key in _ID_FIELDS and isinstance(item, str):
            converted[key] = base64.b64encode(bytes.fromhex(item)).decode()
        else:
            converted[key] = _hex_ids_to_base64(item)
    return converted


class _Handler(BaseHandler):
    def do_POST(self) -> None:
        path = self.path.split("?", 1)[0].rstrip("/")
        body = self.read_body()
        is_json = self.headers.get("Content-Type", "").startswith("application/json")
        if path in ("/v1/metrics", "/v1/logs"):
            self._ok(is_json)  # accepted and dropped: only traces are kept
            return
        if path != "/v1/traces":
            self.send_bytes(
                404, f"OTLPReceiver serves /v1/traces, not {path}".encode(), "text/plain"
            )
            return
        receiver: OTLPReceiver = self.server.owner
        try:
            encoding = self.headers.get("Content-Encoding", "").lower()
            if encoding == "gzip":
                body = gzip.decompress(body)
            elif encoding == "deflate":
                body = zlib.decompress(body)
            spans = receiver._decode(body, is_json)
        except Exception as exc:  # any decoding failure is the client's error
            message = f"OTLPReceiver could not decode the export request: {exc!r}"
            self.send_bytes(400, message.encode(), "text/plain")
            return
        receiver._add(spans)
        self._ok(is_json)

    def _ok(self, is_json: bool) -> None:
        if is_json:
            self.send_bytes(200, b"{}")
        else:
            self.send_bytes(200, b"", "application/x-protobuf")


OTLPReceiver.handler_class = _Handler

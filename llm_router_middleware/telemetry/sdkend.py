"""``span.end()`` of the OpenTelemetry SDK's spans without the SDK's general path, where that
hands every span processor the very span ``end()`` would.

``Span.end()`` takes the span's lock and stamps the end time, then calls the tracer's metrics
hook, every processor's ``_on_ending`` through the multi-processor, builds a ``ReadableSpan``
through its keyword ``__init__`` and hands it to every processor's ``on_end`` through the
multi-processor again. Where

- the span is the SDK's ``_Span``, its processor the SDK's ``SynchronousMultiSpanProcessor``, and
  each processor's ``_on_ending`` the SDK's no-op (its own processors', or the base class's);
- a probe made once showed ``ReadableSpan`` holds exactly the span's fields ``_readable_span``
  hands it, in this module's order, and ended two like spans, one by ``span.end()`` and one by
  this module: the spans afterwards and what a processor was handed for each matched field for
  field (end times aside, both set),

``end`` does the same steps directly: the lock, the same checks and end time, the metrics hook
(unless it is the SDK's no-op), a ``ReadableSpan`` with the same fields, each processor's
``on_end`` in order. Anything else, a span not started or already ended included, goes through
``span.end()``, which raises and warns as the SDK always has.
"""

from __future__ import annotations

from time import time_ns
from typing import Any

from opentelemetry.trace import Span

from .sdkbuild import same_fields

new = object.__new__


class _State:
    def __init__(self) -> None:
        self.probed = False
        self.span: Any = None  # the SDK's _Span class; None: always span.end()
        self.readable: Any = None  # ReadableSpan
        self.multi: Any = None  # SynchronousMultiSpanProcessor
        self.quiet_ending: frozenset[object] = frozenset()  # _on_ending functions doing nothing
        self.noop: object = None  # the no-op metrics hook
        # the processors tuple last judged, and whether each _on_ending does nothing
        self.judged: tuple[object, bool] = (None, False)


_Sdk = _State()  # an instance: its attributes read faster than a class's (CPython 3.11)


def _readable(span: Any) -> Any:
    """``span._readable_span()``: a ``ReadableSpan`` of the span's fields, stored one by one
    in ``ReadableSpan.__init__``'s order (so it keeps its compact layout)."""
    readable = new(_Sdk.readable)
    readable._name = span._name
    readable._context = span._context
    readable._kind = span._kind
    readable._instrumentation_info = span._instrumentation_info
    readable._instrumentation_scope = span._instrumentation_scope
    readable._parent = span._parent
    readable._start_time = span._start_time
    readable._end_time = span._end_time
    readable._attributes = span._attributes
    readable._events = span._events
    readable._links = span._links
    readable._resource = span._resource
    readable._status = span._status
    return readable


def _probe() -> None:
    _Sdk.probed = True
    try:
        from opentelemetry.sdk.trace import (
            ReadableSpan,
            SpanProcessor,
            SynchronousMultiSpanProcessor,
            _Span,
        )
        from opentelemetry.sdk.trace._tracer_metrics import noop
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
        from opentelemetry.trace import SpanContext

        _Sdk.readable = ReadableSpan
        span = _Span("probe", SpanContext(7, 9, False))
        span.start()
        span.set_attributes({"probe": 1})
        span.add_event("probe")
        theirs, ours = span._readable_span(), _readable(span)
        if type(theirs) is not ReadableSpan or list(vars(theirs)) != list(vars(ours)):
            return
        if any(value is not getattr(ours, key) for key, value in vars(theirs).items()):
            return
        _Sdk.quiet_ending = frozenset(
            {
                SpanProcessor._on_ending,
                BatchSpanProcessor._on_ending,
                SimpleSpanProcessor._on_ending,
            }
        )
        _Sdk.noop, _Sdk.multi, _Sdk.span = noop, SynchronousMultiSpanProcessor, _Span
        if not _ended_alike(_Span, SpanContext, SpanProcessor, SynchronousMultiSpanProcessor):
            _Sdk.span = None
    except (ImportError, AttributeError, TypeError, ValueError):  # another SDK, or none
        _Sdk.span = None


def _ended_alike(span_class: Any, context: Any, base: Any, multi_class: Any) -> bool:
    """End two like spans, one by ``span.end()``, one by ``end`` (``_Sdk`` set as the probe
    found it so far): do the spans afterwards, and the spans a processor was handed for them,
    match field for field? (An SDK release whose ``end()`` did more to the span, or handed on
    something else, would not.)"""

    class Kept(base):  # type: ignore[misc]
        def __init__(self) -> None:
            self.ended: list[Any] = []

        def on_end(self, span: Any) -> None:
            self.ended.append(span)

    kept = Kept()
    multi = multi_class()
    multi.add_span_processor(kept)
    spans = []
    for _ in range(2):
        span = span_class("probe", context(7, 9, False), span_processor=multi)
        span.start(start_time=1)
        span.set_attributes({"probe": 1})
        spans.append(span)
    spans[0].end()
    end(spans[1])
    return (
        len(kept.ended) == 2
        and same_fields(spans[1], spans[0], _ENDED)
        and same_fields(kept.ended[1], kept.ended[0], _ENDED)
    )


def _ended(mine: Any, value: Any) -> bool:
    return mine is not None  # an end time, on both (``same_fields`` checked the types alike)


_ENDED = {"_end_time": _ended}


def _quiet(processors: Any) -> bool:
    ok = type(processors) is tuple and all(
        getattr(type(p), "_on_ending", None) in _Sdk.quiet_ending for p in processors
    )
    _Sdk.judged = (processors, ok)
    return ok


def end(span: Span) -> None:
    """``span.end()``, the same steps taken directly where that gives the same result."""
    if not _Sdk.probed:
        _probe()
    if span.__class__ is not _Sdk.span or _Sdk.span is None:
        span.end()
        return
    sdk: Any = span
    multi = sdk._span_processor
    if multi.__class__ is not _Sdk.multi:
        span.end()
        return
    processors = multi._span_processors
    judged, ok = _Sdk.judged
    if not (ok if processors is judged else _quiet(processors)):
        span.end()
        return
    with sdk._lock:
        ending = sdk._start_time is not None and sdk._end_time is None
        if ending:
            sdk._end_time = time_ns()
            sdk._attributes._immutable = True
    if not ending:  # not started, or ended already: the SDK raises or warns
        span.end()
        return
    metrics = sdk._record_end_metrics
    if metrics and metrics is not _Sdk.noop:
        metrics()
    readable = _readable(sdk)
    for processor in processors:
        processor.on_end(readable)

"""Spans built as the OpenTelemetry SDK's ``Tracer.start_span`` builds them, without its general
path, where the SDK's own pieces make the result of each of its steps known in advance.

``start_span`` asks the sampler (three context lookups and a ``SamplingResult`` per span), makes
two ``TraceFlags``, calls the tracer's metrics hook, runs ``_Span.__init__`` (keyword plumbing
through three classes, a ``BoundedAttributes`` and two ``BoundedList``) and each processor's
``on_start``: about half of what a span costs us. Where

- the sampler is the SDK's ``StaticSampler`` (``ALWAYS_ON``/``ALWAYS_OFF``) or its
  ``ParentBased`` over five of them (the default ``ParentBased(ALWAYS_ON)``), so the decision
  follows from the parent alone, and it is ``RECORD_AND_SAMPLE``;
- the tracer's internal metrics are the SDK's no-op ones, and the tracer is enabled;
- every span processor's ``on_start`` is the SDK's no-op (judged in ``sdkspans``),

the span is built here: the ids still come from the tracer's own id generator (any one), in the
order the SDK asks for them, and the span's fields are those ``_Span.__init__`` and ``start``
set, with the same values. A probe made once per tracer builds spans both ways (a root, and a
child of each kind of parent the sampler samples) and compares every field, its order and its
type; on any difference, or another SDK, spans go through ``start_span`` for good.
"""

from __future__ import annotations

import inspect
import threading
from collections import deque
from collections.abc import Callable, Mapping
from time import time_ns
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanContext, SpanKind, TraceFlags, TraceState
from opentelemetry.trace.span import DEFAULT_TRACE_STATE

_Lock = threading.Lock
new = object.__new__
new_tuple = tuple.__new__
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_SAMPLED_RANDOM = TraceFlags(TraceFlags.SAMPLED | TraceFlags.RANDOM_TRACE_ID)

_DELEGATES = (
    "_root",
    "_remote_parent_sampled",
    "_remote_parent_not_sampled",
    "_local_parent_sampled",
    "_local_parent_not_sampled",
)
# The sampler's decision by parent: (root, remote sampled, remote not sampled, local sampled,
# local not sampled), True where it is RECORD_AND_SAMPLE (anything else: start_span).
Decisions = tuple[bool, bool, bool, bool, bool]


class _State:
    def __init__(self) -> None:
        self.probed = False
        self.span: Any = None  # the SDK's _Span class; None: never build
        self.bounded: Any = None
        self.bounded_list: Any = None
        self.static: Any = None  # StaticSampler
        self.parent_based: Any = None
        self.noop_metrics: Any = None
        self.record_and_sample: Any = None
        self.status: Any = None  # the Status every new span shares (ReadableSpan's default)
        self.end_metrics: Callable[[], None] | None = None  # what the no-op metrics hand each span
        self.trace_max = 0  # the largest valid trace id and span id (0 < id <= max)
        self.span_max = 0


_Sdk = _State()  # an instance: its attributes read faster than a class's (CPython 3.11)


def _probe_classes() -> None:
    _Sdk.probed = True
    try:
        from opentelemetry.attributes import BoundedAttributes
        from opentelemetry.sdk.trace import ReadableSpan, _Span, sampling
        from opentelemetry.sdk.trace._tracer_metrics import NoOpTracerMetrics
        from opentelemetry.sdk.util import BoundedList
        from opentelemetry.trace import span as api_span

        if not _validity_as_the_apis(api_span):
            return
        status = inspect.signature(ReadableSpan.__init__).parameters["status"].default
        _Sdk.end_metrics = NoOpTracerMetrics().start_span(None, sampling.Decision.DROP)
        _Sdk.static, _Sdk.parent_based = sampling.StaticSampler, sampling.ParentBased
        _Sdk.record_and_sample = sampling.Decision.RECORD_AND_SAMPLE
        _Sdk.noop_metrics, _Sdk.status = NoOpTracerMetrics, status
        _Sdk.bounded, _Sdk.bounded_list = BoundedAttributes, BoundedList
        _Sdk.span = _Span
    except (ImportError, AttributeError, TypeError, ValueError, KeyError):
        _Sdk.span = None


def _validity_as_the_apis(api_span: Any) -> bool:
    """Whether ``build``'s rule for a valid SpanContext (``0 < id <= max``) is the API's."""
    if api_span.INVALID_TRACE_ID != 0 or api_span.INVALID_SPAN_ID != 0:
        return False
    _Sdk.trace_max, _Sdk.span_max = api_span._TRACE_ID_MAX_VALUE, api_span._SPAN_ID_MAX_VALUE
    for trace_id, span_id in ((0, 1), (1, 0), (1, 1), (_Sdk.trace_max, _Sdk.span_max)):
        for more in (0, 1):
            ids = (trace_id + more, span_id + more)
            valid = 0 < ids[0] <= _Sdk.trace_max and 0 < ids[1] <= _Sdk.span_max
            made = SpanContext(ids[0], ids[1], False, _SAMPLED, None)
            if made != (*ids, False, _SAMPLED, DEFAULT_TRACE_STATE, valid):
                return False
    return True


def decisions(tracer: Any) -> Decisions | None:
    """What the tracer's sampler decides for each kind of parent, where that is fixed; None if it
    is not, or the tracer is not one spans can be built for (then ``start_span``)."""
    if not _Sdk.probed:
        _probe_classes()
    if _Sdk.span is None or type(getattr(tracer, "_tracer_metrics", None)) is not _Sdk.noop_metrics:
        return None
    sampler = tracer.sampler
    if type(sampler) is _Sdk.static:
        parts = [sampler] * 5
    elif type(sampler) is _Sdk.parent_based:
        parts = [getattr(sampler, name, None) for name in _DELEGATES]
    else:
        return None
    if any(type(part) is not _Sdk.static for part in parts):
        return None
    found = tuple(part._decision is _Sdk.record_and_sample for part in parts)
    if not any(found) or not _probe(tracer, found):  # type: ignore[arg-type]
        return None
    return found  # type: ignore[return-value]


def build(
    tracer: Any,
    name: str,
    kind: SpanKind,
    parent: Span | None,
    sampled: Decisions,
    attrs: dict[str, Any],
) -> Any:
    """``tracer.start_span(name, context, kind)`` (``parent``: the context's span, None for the
    current one) as a new ``_Span``, ``attrs`` its attribute dict (the caller's: values the
    SDK would store as they are, within the limits); None where the sampler's decision is not
    RECORD_AND_SAMPLE or the tracer is disabled (the caller then calls ``start_span``)."""
    if not tracer._tracer_config.is_enabled:
        return None
    if parent is None:
        parent = trace.get_current_span()
    parent_context: SpanContext | None = parent.get_span_context()
    if parent_context.__class__ is not SpanContext:
        return None
    # SpanContext is a tuple: (trace_id, span_id, is_remote, trace_flags, trace_state, is_valid)
    if parent_context[5]:
        flags = parent_context[3]
        if not sampled[(1 if parent_context[2] else 3) + (0 if flags & 1 else 1)]:
            return None
        trace_id = parent_context[0]
        state = parent_context[4]
        random_id = flags & 2  # TraceFlags.RANDOM_TRACE_ID
    else:
        if not sampled[0]:
            return None
        parent_context = None
        trace_id = tracer.id_generator.generate_trace_id()
        state = DEFAULT_TRACE_STATE
        random_id = tracer.id_generator.is_trace_id_random()
    span_id = tracer.id_generator.generate_span_id()
    # SpanContext(trace_id, span_id, False, flags, state): the tuple its Python __new__ makes
    # (checked against it by the probe), without the call through type_call and slot_tp_new.
    valid = 0 < trace_id <= _Sdk.trace_max and 0 < span_id <= _Sdk.span_max
    flags = _SAMPLED_RANDOM if random_id else _SAMPLED
    context = new_tuple(SpanContext, (trace_id, span_id, False, flags, state, valid))
    limits = tracer._span_limits
    # The SDK's BoundedAttributes/BoundedList of a new span, their fields stored as their
    # __init__ stores them, one attribute store each (so the instances keep their compact
    # layout); deque's maxlen passed by position (by keyword, CPython 3.11 makes a str of each
    # keyword name on every call).
    attributes = new(_Sdk.bounded)
    attributes._dict = attrs
    attributes.maxlen = limits.max_span_attributes
    attributes.dropped = 0
    attributes.max_value_len = limits.max_span_attribute_length
    attributes._lock = _Lock()
    attributes._immutable = False
    events = new(_Sdk.bounded_list)
    events.dropped = 0
    events._dq = deque((), limits.max_events)  # noqa: RUF037 - see above
    events._lock = _Lock()
    links = new(_Sdk.bounded_list)
    links.dropped = 0
    links._dq = deque((), limits.max_links)  # noqa: RUF037
    links._lock = _Lock()
    span = new(_Sdk.span)
    # _Span.__init__'s fields in its order (ReadableSpan's first), then start()'s start time.
    span._name = name
    span._context = context
    span._kind = kind
    span._instrumentation_info = tracer.instrumentation_info
    span._instrumentation_scope = tracer._instrumentation_scope
    span._parent = parent_context
    span._start_time = None
    span._end_time = None
    span._attributes = attributes
    span._events = events
    span._links = links
    span._resource = tracer.resource
    span._status = _Sdk.status
    span._sampler = tracer.sampler
    span._trace_config = None
    span._record_exception = True
    span._set_status_on_exception = True
    span._span_processor = tracer.span_processor
    span._limits = limits
    span._lock = _Lock()
    span._record_end_metrics = _Sdk.end_metrics
    span._start_time = time_ns()
    return span


_PARENTS = (
    None,
    (True, TraceFlags(TraceFlags.SAMPLED | TraceFlags.RANDOM_TRACE_ID)),
    (True, TraceFlags(TraceFlags.DEFAULT)),
    (False, TraceFlags(TraceFlags.SAMPLED)),
    (False, TraceFlags(TraceFlags.RANDOM_TRACE_ID)),
)


def _probe(tracer: Any, sampled: Decisions) -> bool:
    """Spans built here and by ``start_span`` for each kind of parent sampled: the same fields
    in the same order, of the same types and values (ids and start times apart)."""
    try:
        for parent, take in zip(_PARENTS, sampled, strict=True):
            if not take:
                continue
            if parent is None:
                span = trace.INVALID_SPAN
            else:
                state = TraceState([("probe", "1")])
                remote, flags = parent
                span = trace.NonRecordingSpan(SpanContext(7, 9, remote, flags, state))
            ours = build(tracer, "probe", SpanKind.CLIENT, span, sampled, {})
            theirs = tracer.start_span(
                "probe", trace.set_span_in_context(span, Context()), SpanKind.CLIENT
            )
            if ours is None or not _same(ours, theirs, span.get_span_context()):
                return False
    except Exception:  # any surprise from another SDK: never build
        return False
    return True


def _same(ours: Any, theirs: Any, parent: SpanContext) -> bool:
    def same_context(mine: Any, value: Any) -> bool:
        # our own span id, the rest as the SDK's; the parent's trace id when it has one
        if mine[2:] != value[2:] or not mine.is_valid or mine.span_id == value.span_id:
            return False
        return not parent.is_valid or mine.trace_id == value.trace_id == parent.trace_id

    return same_fields(ours, theirs, {"_context": same_context, "_start_time": _any})


def _any(mine: Any, value: Any) -> bool:
    return True


_CONTAINERS = ("_attributes", "_events", "_links")


def same_fields(ours: Any, theirs: Any, checks: Mapping[str, Callable[[Any, Any], bool]]) -> bool:
    """Two spans (the SDK's classes) alike field for field: the same class, the same fields in
    the same order, each of the same type, and the same object or equal; the attributes, events
    and links containers field by field (``_same_container``); the spans' own locks aside.
    ``checks``: how a field that may differ is compared instead (``sdkend``'s probe too)."""
    if type(ours) is not type(theirs) or list(vars(ours)) != list(vars(theirs)):
        return False
    for key, value in vars(theirs).items():
        mine = getattr(ours, key)
        if type(mine) is not type(value):
            return False
        check = checks.get(key)
        if check is not None:
            if not check(mine, value):
                return False
        elif key in _CONTAINERS:
            if not _same_container(mine, value):
                return False
        elif key != "_lock" and not (mine is value or mine == value):
            return False
    return True


def _same_container(mine: Any, theirs: Any) -> bool:
    if list(vars(mine)) != list(vars(theirs)):
        return False
    for key, value in vars(theirs).items():
        other = getattr(mine, key)
        if type(other) is not type(value):
            return False
        if key == "_dq" and (other.maxlen != value.maxlen or other or value):
            return False
        if key not in ("_lock", "_dq") and other != value:
            return False
    return True

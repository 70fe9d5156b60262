"""Attributes written straight into the OpenTelemetry SDK's spans, where that gives the very span
the public API would.

The SDK cleans every value it is given, one Python call and several type checks per value plus
a lock per set (about 6,000 instructions an attribute, more than the two spans themselves cost
together). Our values are plain already: strings, numbers, booleans and tuples of strings, which
the SDK stores as they are. So, where nothing could tell the difference, they go into the span's
attribute dict in one ``dict.update``:

- the span is the SDK's ``_Span`` holding the SDK's ``BoundedAttributes``, and a probe made once
  showed that ``BoundedAttributes`` keeps plain values unchanged in its ``_dict`` and reads them
  back from there (``_dict``, ``maxlen``, ``max_value_len`` and the locks are where this module
  expects them);
- every value is a ``str``, ``bool``, ``int`` or ``float`` or a tuple of ``str``; no key is set
  twice; the span's attribute count limit is not reached and no string is over its length limit
  (``OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT``, ``OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT``, ``SpanLimits``);
- for the attributes a span starts with (``start``), also: the tracer is the SDK's, its sampler
  one of the SDK's own (which read no attributes) and each span processor's ``on_start`` the
  SDK's no-op, since the attributes are then written just after the span has started rather
  than handed to ``start_span``.

Anything else goes through the public API (``start_span(attributes=...)``, ``set_attributes``),
which drops, truncates and warns as the SDK always has. Where the tracer is also one ``sdkbuild``
can build spans for (the SDK's static samplers, its internal metrics off), ``start`` builds the
span there, the attributes its dict from the start.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Tracer

from .sdkbuild import Decisions, build, decisions

_STR = frozenset((str,))
_SCALARS = frozenset((str, bool, int, float, type(None)))  # the SDK stores these as they are
_SCALARS_AND_TUPLE = _SCALARS | {tuple}


def plain(values: Iterable[Any]) -> bool:
    """Whether each value is of a type the SDK stores as it is (checked in C)."""
    return _SCALARS.issuperset(map(type, values))


_EMPTY: dict[str, Any] = {}  # the attributes of a span just built (never written to)
_SAMPLE: dict[str, Any] = {"s": "x", "b": True, "i": 3, "f": 0.5, "n": None, "t": ("a", "b")}


class _State:
    """What the probe found: the SDK's span and attribute classes (None: write through the API)
    and the parts of a tracer whose attributes at start are safe to write after it."""

    def __init__(self) -> None:
        self.probed = False
        self.span: Any = None  # the SDK's _Span class
        self.bounded: Any = None  # the SDK's BoundedAttributes class
        self.checked_span = False  # the first span's own fields were looked at
        self.judged: tuple[Any, Any, Any, bool, Decisions | None] = (None, None, None, False, None)
        # the tracer last judged, its sampler and span processors then, whether it was quiet and
        # its sampler's decisions where spans can be built for it (one tuple: read whole)
        self.tracer_class: Any = None
        self.multi: Any = None
        self.quiet_start: frozenset[object] = frozenset()  # on_start functions doing nothing
        # should_sample functions that read no attributes
        self.samplers: frozenset[object] = frozenset()
        self.parent_based: object = None


_Sdk = _State()  # an instance: its attributes read faster than a class's (CPython 3.11)


def _probe() -> None:
    _Sdk.probed = True
    try:
        from opentelemetry.attributes import BoundedAttributes
        from opentelemetry.sdk.trace import (
            SpanProcessor,
            SynchronousMultiSpanProcessor,
            _Span,
            sampling,
        )
        from opentelemetry.sdk.trace import Tracer as SdkTracer
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

        bounded = BoundedAttributes(8, _SAMPLE, immutable=False, max_value_len=None)
        kept = bounded._dict
        if type(kept) is not dict or kept != _SAMPLE or type(kept["t"]) is not tuple:
            return  # this SDK changes plain values, or keeps them elsewhere
        if bounded.maxlen != 8 or bounded.max_value_len is not None or bounded.dropped != 0:
            return
        with bounded._lock:
            kept["late"] = "y"
        if dict(bounded) != {**_SAMPLE, "late": "y"}:
            return
        _Sdk.quiet_start = frozenset(
            {
                SpanProcessor.on_start,
                BatchSpanProcessor.on_start,
                SimpleSpanProcessor.on_start,
            }
        )
        _Sdk.samplers = frozenset(
            {
                sampling.StaticSampler.should_sample,
                sampling.TraceIdRatioBased.should_sample,
                sampling.ParentBased.should_sample,
            }
        )
        _Sdk.parent_based = sampling.ParentBased.should_sample
        _Sdk.multi = SynchronousMultiSpanProcessor
        _Sdk.tracer_class = SdkTracer
        _Sdk.span, _Sdk.bounded = _Span, BoundedAttributes
    except (ImportError, AttributeError, TypeError, ValueError):  # another SDK, or none
        _Sdk.span = _Sdk.bounded = None


def _span_fits(span: Any) -> bool:
    """The first SDK span: its fields are the ones written through (else never write)."""
    _Sdk.checked_span = True
    fits = (
        type(getattr(span, "_attributes", None)) is _Sdk.bounded
        and hasattr(getattr(span, "_lock", None), "__enter__")
        and hasattr(span, "_end_time")
    )
    if not fits:
        _Sdk.span = None
    return fits


def _fits(
    data: dict[str, Any],
    limit: int | None,
    longest: int | None,
    attrs: Mapping[str, Any],
    checked: bool,
) -> bool:
    """Whether setting ``attrs`` on a ``BoundedAttributes`` holding ``data``, of at most
    ``limit`` attributes and strings of at most ``longest`` characters (its ``maxlen`` and
    ``max_value_len``), stores them as they are, dropping nothing.
    ``checked``: the caller built every value as a str, bool, int, float, None or tuple of str,
    so only the limits are looked at. Else the types are checked, in C where it can be
    (``map(type, ...)`` into set comparisons). Keys are never checked: every caller's keys are
    non-empty strings, the constants of ``names`` or ``llm_router.<key>``."""
    if limit is not None and len(data) + len(attrs) > limit:
        return False
    if data and not data.keys().isdisjoint(attrs):
        return False
    values = attrs.values()
    if not checked:
        kinds = set(map(type, values))
        if not kinds <= _SCALARS:
            if not kinds <= _SCALARS_AND_TUPLE:
                return False
            for value in values:
                if value.__class__ is tuple and not _STR.issuperset(map(type, value)):
                    return False
    if longest is not None:
        for value in values:
            if isinstance(value, str):
                if len(value) > longest:
                    return False
            elif value.__class__ is tuple and any(len(item) > longest for item in value):
                return False
    return True


def write(span: Span, attrs: Mapping[str, Any], checked: bool = False) -> None:
    """``span.set_attributes(attrs)`` of a recording span, in one ``dict.update`` where that
    stores the same (``checked``: as in ``_fits``)."""
    if not _Sdk.probed:
        _probe()
    if span.__class__ is _Sdk.span and (_Sdk.checked_span or _span_fits(span)):
        bounded = span._attributes  # type: ignore[attr-defined]
        if bounded.__class__ is _Sdk.bounded:
            data = bounded._dict
            limit, longest = bounded.maxlen, bounded.max_value_len
            # _fits inline for the common case (checked values, no length limit), else called
            if (
                checked
                and longest is None
                and (limit is None or len(data) + len(attrs) <= limit)
                and data.keys().isdisjoint(attrs)
            ) or _fits(data, limit, longest, attrs, checked):
                with span._lock:  # type: ignore[attr-defined]
                    if span._end_time is None:  # type: ignore[attr-defined]
                        with bounded._lock:
                            data |= attrs  # (an operator: no method call's argument parsing)
                        return
    if span.is_recording():
        span.set_attributes(attrs)


def _quiet_sampler(sampler: Any, depth: int = 0) -> bool:
    should_sample = getattr(type(sampler), "should_sample", None)
    if should_sample not in _Sdk.samplers or depth > 3:
        return False
    if should_sample is not _Sdk.parent_based:
        return True
    parts = (
        "_root",
        "_remote_parent_sampled",
        "_remote_parent_not_sampled",
        "_local_parent_sampled",
        "_local_parent_not_sampled",
    )
    return all(_quiet_sampler(getattr(sampler, part, None), depth + 1) for part in parts)


def _judge(tracer: Any) -> bool:
    """Whether attributes written just after ``tracer`` starts a span give the same span as
    attributes handed to ``start_span``: nothing reads them in between."""
    if not _Sdk.probed:
        _probe()
    sampler = getattr(tracer, "sampler", None)
    processor = getattr(tracer, "span_processor", None)
    processors = getattr(processor, "_span_processors", None)
    ok = (
        _Sdk.span is not None
        and type(tracer) is _Sdk.tracer_class
        and type(processor) is _Sdk.multi
        and type(processors) is tuple
        and all(type(p).on_start in _Sdk.quiet_start for p in processors)
        and _quiet_sampler(sampler)
    )
    _Sdk.judged = (tracer, sampler, processors, ok, None)
    if ok:  # the probe of sdkbuild starts spans: only where nothing sees them start
        _Sdk.judged = (tracer, sampler, processors, ok, decisions(tracer))
    return ok


def _quiet(tracer: Any) -> bool:
    judged, sampler, processors, ok, _ = _Sdk.judged
    if tracer is not judged:
        return _judge(tracer)
    if not ok:
        return False
    if tracer.sampler is sampler and tracer.span_processor._span_processors is processors:
        return True
    return _judge(tracer)  # a processor was added, or the sampler replaced


def start(
    tracer: Tracer,
    name: str,
    kind: SpanKind,
    attrs: Mapping[str, Any],
    parent: Span | None = None,
    checked: bool = False,
    owned: bool = False,
) -> Span:
    """``tracer.start_span(name, context, kind, attributes=attrs)``, ``context`` holding
    ``parent`` (None: the current context), the attributes written straight in where that gives
    the same span (``checked``: as in ``_fits``), the span built by ``sdkbuild`` where it can.
    ``owned``: ``attrs`` is a dict the caller made for this span and hands over (a built span
    then keeps it as its attribute dict, uncopied)."""
    # _quiet(tracer) inline, the judged tuple read once
    judged, sampler, processors, ok, sampled = _Sdk.judged
    sdk: Any = tracer
    if tracer is not judged or (
        ok and not (sdk.sampler is sampler and sdk.span_processor._span_processors is processors)
    ):
        ok = _judge(tracer)  # another tracer, a processor added or the sampler replaced
        sampled = _Sdk.judged[4]
    if not ok:
        context = None if parent is None else trace.set_span_in_context(parent)
        return tracer.start_span(name, context=context, kind=kind, attributes=attrs)
    span: Any
    if sampled is not None:  # built: the attributes are its dict from the start, if they fit
        limits: Any = tracer._span_limits  # type: ignore[attr-defined]
        longest = limits.max_span_attribute_length
        fits = _fits(_EMPTY, limits.max_span_attributes, longest, attrs, checked)
        own = attrs if owned and attrs.__class__ is dict else {**attrs}
        span = build(tracer, name, kind, parent, sampled, own if fits else {})
        if span is not None:
            if not fits:
                span.set_attributes(attrs)
            return span  # type: ignore[no-any-return]
    context = None if parent is None else trace.set_span_in_context(parent)
    span = tracer.start_span(name, context=context, kind=kind)
    if span.__class__ is _Sdk.span and (_Sdk.checked_span or _span_fits(span)):
        bounded = span._attributes
        data = bounded._dict
        if bounded.__class__ is _Sdk.bounded and _fits(
            data, bounded.maxlen, bounded.max_value_len, attrs, checked
        ):
            # no locks: nothing else holds the span yet (each processor's on_start is a no-op)
            data |= attrs
            return span  # type: ignore[no-any-return]
    if span.is_recording():
        span.set_attributes(attrs)
    return span  # type: ignore[no-any-return]

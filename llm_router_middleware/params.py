"""Validate a call's parameters before planning, so a client's mistake is a 400 naming the
parameter, never an error raised inside litellm that would be taken for a provider failure.

Known OpenAI parameters are checked for type and range; every value, known or not, is checked
for what cannot be sent at all: NaN or infinite numbers (not JSON) and strings that are not
valid Unicode (lone surrogates cannot be encoded as UTF-8).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, NoReturn

from .errors import InvalidRequestError

MAX_TOKENS_LIMIT = 2**31 - 1  # what an int32 field on the provider's side can take
_MAX_DEPTH = 32

# name -> (low, high) for numbers that may be fractional
_RANGES: Mapping[str, tuple[float, float]] = {
    "temperature": (0.0, 2.0),
    "top_p": (0.0, 1.0),
    "presence_penalty": (-2.0, 2.0),
    "frequency_penalty": (-2.0, 2.0),
}
# name -> (low, high) for whole numbers
_INT_RANGES: Mapping[str, tuple[int, int]] = {
    "max_tokens": (1, MAX_TOKENS_LIMIT),
    "max_completion_tokens": (1, MAX_TOKENS_LIMIT),
    "n": (1, 128),
    "top_logprobs": (0, 20),
    "seed": (-(2**63), 2**63 - 1),
}
_BOOLS = frozenset({"logprobs", "parallel_tool_calls", "store"})
_STRINGS = frozenset({"user", "reasoning_effort", "service_tier"})
_OBJECTS = frozenset({"response_format", "metadata", "stream_options", "extra_headers"})
_LISTS = frozenset({"tools", "functions", "modalities"})


def validate_params(params: Mapping[str, Any]) -> None:
    """Raise InvalidRequestError naming the first parameter that cannot be sent."""
    for name, value in params.items():
        if value is None:
            continue
        if name in _RANGES:
            _number(name, value, *_RANGES[name])
        elif name in _INT_RANGES:
            _integer(name, value, *_INT_RANGES[name])
        elif name in _BOOLS and not isinstance(value, bool):
            _wrong(name, "true or false", value)
        elif name in _STRINGS and not isinstance(value, str):
            _wrong(name, "a string", value)
        elif name in _OBJECTS and not isinstance(value, Mapping):
            _wrong(name, "an object", value)
        elif name in _LISTS and not isinstance(value, list):
            _wrong(name, "a list", value)
        elif name == "stop":
            _stop(value)
        elif name == "logit_bias":
            _logit_bias(value)
        elif name == "tool_choice" and not isinstance(value, str | Mapping):
            _wrong(name, "a string or an object", value)
        check_value(value, name)


def check_value(value: Any, where: str, depth: int = 0) -> None:
    """Every number finite and every string encodable, at any depth of lists and objects."""
    if isinstance(value, str):
        if not value.isascii():
            _unicode(value, where)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidRequestError(f"{where} must be a finite number, got {value!r}", where)
    elif isinstance(value, Mapping):
        if depth >= _MAX_DEPTH:
            raise InvalidRequestError(f"{where} is nested more than {_MAX_DEPTH} levels", where)
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidRequestError(f"{where} has a key that is not a string", where)
            if not key.isascii():
                _unicode(key, where)
            if item.__class__ is str:  # the common case, without building the path string
                if not item.isascii():
                    _unicode(item, f"{where}.{key}")
            elif item is not None and item.__class__ is not int and item.__class__ is not bool:
                check_value(item, f"{where}.{key}", depth + 1)
    elif isinstance(value, list | tuple):
        if depth >= _MAX_DEPTH:
            raise InvalidRequestError(f"{where} is nested more than {_MAX_DEPTH} levels", where)
        for i, item in enumerate(value):
            check_value(item, f"{where}[{i}]", depth + 1)


def _unicode(text: str, where: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidRequestError(
            f"{where} is not valid Unicode: a lone surrogate {text[exc.start]!r} at "
            f"character {exc.start}",
            where,
        ) from None


def _number(name: str, value: Any, low: float, high: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        _wrong(name, f"a number from {low:g} to {high:g}", value)
    if not math.isfinite(value) or not low <= value <= high:
        raise InvalidRequestError(
            f"{name} must be a number from {low:g} to {high:g}, got {value!r}", name
        )


def _integer(name: str, value: Any, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            pass  # 100.0 from a JSON body is 100
        else:
            _wrong(name, f"a whole number from {low} to {high}", value)
    if not low <= value <= high:
        raise InvalidRequestError(
            f"{name} must be a whole number from {low} to {high}, got {value!r}", name
        )


def _stop(value: Any) -> None:
    if isinstance(value, str):
        return
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        _wrong("stop", "a string or a list of strings", value)
    if len(value) > 4:
        raise InvalidRequestError(f"stop takes at most 4 sequences, got {len(value)}", "stop")


def _logit_bias(value: Any) -> None:
    if not isinstance(value, Mapping):
        _wrong("logit_bias", "an object of token ids to numbers", value)
    for token, bias in value.items():
        where = f"logit_bias.{token}"
        if isinstance(bias, bool) or not isinstance(bias, int | float):
            _wrong(where, "a number from -100 to 100", bias)
        if not (math.isfinite(bias) and -100 <= bias <= 100):
            raise InvalidRequestError(f"{where} must be from -100 to 100, got {bias!r}", where)


def _wrong(name: str, expected: str, value: Any) -> NoReturn:
    raise InvalidRequestError(f"{name} must be {expected}, got {_shown(value)}", name)


def _shown(value: Any) -> str:
    if isinstance(value, str | int | float | bool) or value is None:
        text = repr(value)
        return text if len(text) <= 40 else text[:39] + "…"
    return type(value).__name__

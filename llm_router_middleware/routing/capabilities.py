"""Capabilities as filters: a request that needs tools, JSON output, images or audio goes only
to models that support them.

What a request needs is read from its messages and parameters (``required_features``); what a
model lacks is resolved once, when the config is loaded (``lacking``): from the model's
``supports`` list when configured, else from litellm's model info. A model litellm does not
know and whose config says nothing is assumed to support everything (it is not filtered).
A model litellm knows lacks what its model info does not mark supported: ``supports_*`` flags
``function_calling`` (tools), ``response_schema`` (json_schema), ``vision``, ``audio_input`` or
``audio_output`` (audio).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from ..config.schema import ModelSpec
from ..errors import UnsupportedFeatureError
from .plan import Rejection

FEATURES = ("tools", "json_mode", "json_schema", "vision", "audio")

# feature -> litellm model-info flags; the model lacks the feature unless one of them is True
_LITELLM_FLAGS: Mapping[str, tuple[str, ...]] = {
    "tools": ("supports_function_calling",),
    "json_schema": ("supports_response_schema",),
    "vision": ("supports_vision",),
    "audio": ("supports_audio_input", "supports_audio_output"),
}
_NONE: frozenset[str] = frozenset()


_PARAM_KEYS = ("tools", "functions", "tool_choice", "response_format", "modalities", "audio")


def required_features(messages: Any, params: Mapping[str, Any]) -> frozenset[str]:
    """The features a call needs. Tolerant of malformed input: validation reports that.
    On every call's path: a plain text request costs a few dict lookups."""
    needs: set[str] | None = None
    if params:
        for name in _PARAM_KEYS:
            if name in params:
                needs = _from_params(params)
                break
    if messages.__class__ is list or isinstance(messages, (list, tuple)):  # no union per call
        for message in messages:
            if message.__class__ is dict or isinstance(message, Mapping):
                content = message.get("content")
                if isinstance(content, list):
                    needs = _from_parts(content, needs)
    return frozenset(needs) if needs else _NONE


def _from_params(params: Mapping[str, Any]) -> set[str]:
    needs: set[str] = set()
    tools = params.get("tools") or params.get("functions")
    choice = params.get("tool_choice")
    if tools or (choice is not None and choice != "none"):
        needs.add("tools")
    fmt = params.get("response_format")
    if isinstance(fmt, Mapping):
        kind = fmt.get("type")
        if kind == "json_schema":
            needs.add("json_schema")
        elif kind == "json_object":
            needs.add("json_mode")
    modalities = params.get("modalities")
    if (isinstance(modalities, list) and "audio" in modalities) or params.get("audio"):
        needs.add("audio")
    return needs


def _from_parts(content: list[Any], needs: set[str] | None) -> set[str] | None:
    for part in content:
        kind = part.get("type") if isinstance(part, Mapping) else None
        if kind == "image_url":
            needs = needs or set()
            needs.add("vision")
        elif kind in ("input_audio", "audio"):
            needs = needs or set()
            needs.add("audio")
    return needs


def lacking(supports: Sequence[str] | None, info: Mapping[str, Any] | None) -> frozenset[str]:
    """What a model lacks: the features ``supports`` leaves out when configured, else those
    litellm's model info does not mark supported (litellm's own ``supports_*`` helpers read an
    unstated flag as False too). JSON mode comes with JSON schema; litellm has no flag for it,
    so it is filtered only by ``supports``."""
    if supports is not None:
        have = set(supports)
        if "json_schema" in have:
            have.add("json_mode")
        return frozenset(f for f in FEATURES if f not in have)
    if not info:
        return _NONE
    lacks = set()
    for feature, flags in _LITELLM_FLAGS.items():
        if not any(info.get(flag) is True for flag in flags):
            lacks.add(feature)
    return frozenset(lacks)


def model_lacks(spec: ModelSpec) -> frozenset[str]:
    """What ``spec`` lacks: from its ``supports`` list, else from litellm's model info (read
    once per model string, when a request first needs a feature: loading a config does not
    import litellm)."""
    if spec.lacks is not None:
        return spec.lacks
    return _litellm_lacks(spec.model)


@functools.lru_cache(maxsize=1024)
def _litellm_lacks(model: str) -> frozenset[str]:
    import litellm

    litellm.suppress_debug_info = True  # else it prints a provider list for unknown models
    try:
        info: Mapping[str, Any] = litellm.get_model_info(model)
    except Exception:  # litellm does not know the model: it is not filtered
        return _NONE
    return lacking(None, info)


def why_capability(name: str, missing: tuple[str, ...]) -> str:
    return f"{name}: does not support {', '.join(missing)} (the request needs it)"


def missing(needs: frozenset[str], lacks: frozenset[str]) -> tuple[str, ...]:
    return tuple(f for f in FEATURES if f in needs and f in lacks)


def no_capable_model(needs: frozenset[str], rejected: Sequence[Rejection]) -> None:
    """Raise UnsupportedFeatureError (400) when every model the request may use was rejected
    for a missing capability: waiting cannot help, a different request can."""
    if not needs:
        return
    allowed = [r for r in rejected if r.code != "policy"]
    if not allowed or any(r.code != "capability" for r in allowed):
        return
    wanted = ", ".join(f for f in FEATURES if f in needs)
    raise UnsupportedFeatureError(
        f"no model this request may use supports what it needs ({wanted}): "
        + "; ".join(r.reason for r in allowed),
        features=tuple(f for f in FEATURES if f in needs),
    )

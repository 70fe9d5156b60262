"""How a model is called: the native OpenAI-compatible transport or litellm.

``transport_for(spec)`` is the one dispatch point the client loops use. A model's
``transport`` is resolved when the config loads (``resolve``): ``auto`` picks native for
``openai/...`` models (OpenAI itself or any ``api_base`` speaking chat completions) and litellm
for every other provider. litellm remains the source of model metadata either way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import TRANSPORTS, Transport, TransportName, resolve
from .errors import UpstreamError
from .litellm_path import LITELLM, LitellmTransport, litellm_module
from .native import NativeTransport
from .reply import Record, Reply
from .request import Endpoint

if TYPE_CHECKING:
    from ..config import ModelSpec

__all__ = [
    "TRANSPORTS",
    "LitellmTransport",
    "NativeTransport",
    "Record",
    "Reply",
    "Transport",
    "TransportName",
    "UpstreamError",
    "litellm_module",
    "resolve",
    "transport_for",
]

_NATIVE: dict[tuple[str, str | None], NativeTransport] = {}


def transport_for(spec: ModelSpec) -> Transport:
    if spec.transport != "native":
        return LITELLM
    key = (spec.model, spec.api_base)
    found = _NATIVE.get(key)
    if found is None:
        found = _NATIVE[key] = NativeTransport(Endpoint.of(spec.model, spec.api_base))
    return found

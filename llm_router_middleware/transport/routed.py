"""What every answered call reads from its reply and gives back: the token usage, and the reply
with ``routing`` attached, for either transport's reply.

litellm's ``ModelResponse`` keeps ``usage`` among pydantic's extra fields, which plain attribute
access reaches only after a failed lookup and pydantic's ``__getattr__`` (about 1 µs); and
``copy.copy`` of it dispatches once for the model and once for each of its four parts. For a
pydantic model that keeps pydantic's own ``__copy__``, ``__new__`` and slots, both are done here
directly, with the same result (tests/transport/test_routed.py compares them): the copy's four
slots are set through BaseModel's slot descriptors, as ``object.__setattr__`` would find them
after a lookup along the class's MRO.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from .reply import Reply

if TYPE_CHECKING:
    from ..response import RoutingInfo

_new_object = object.__new__
_PLAIN: dict[type, bool] = {}  # per reply class: a pydantic model read and copied directly
_UNDEFINED: Any = None  # pydantic_core.PydanticUndefined, once a pydantic reply was seen
_SLOTS = ("__dict__", "__pydantic_extra__", "__pydantic_fields_set__", "__pydantic_private__")
_set_dict: Any = None  # BaseModel's setters of those slots, once a pydantic reply was seen
_set_extra: Any = None
_set_fields_set: Any = None
_set_private: Any = None


def _plain(cls: type) -> bool:
    known = _PLAIN.get(cls)
    if known is None:
        known = _PLAIN[cls] = _plain_pydantic(cls)
    return known


def _plain_pydantic(cls: type) -> bool:
    """A pydantic model with pydantic's own ``__copy__`` and ``__new__``, BaseModel's slots
    unshadowed, and no class attribute named ``usage`` (so ``usage``, when set, is a field or
    an extra)."""
    global _UNDEFINED, _set_dict, _set_extra, _set_fields_set, _set_private
    copier = getattr(cls, "__copy__", None)
    if (
        getattr(copier, "__module__", None) != "pydantic.main"
        or getattr(copier, "__qualname__", None) != "BaseModel.__copy__"
        or getattr(cls, "__new__", None) is not object.__new__
        or hasattr(cls, "usage")
    ):
        return False
    from pydantic import BaseModel
    from pydantic_core import PydanticUndefined

    slots: list[Any] = [BaseModel.__dict__.get(name) for name in _SLOTS]
    found = [
        next((k.__dict__[name] for k in cls.__mro__ if name in k.__dict__), None) for name in _SLOTS
    ]
    if any(s is None or f is not s for s, f in zip(slots, found, strict=True)):
        return False
    _UNDEFINED = PydanticUndefined
    _set_dict, _set_extra, _set_fields_set, _set_private = (s.__set__ for s in slots)
    return True


def usage_of(response: Any) -> Any:
    """``response.usage``, or None when the reply has none."""
    cls = type(response)  # a pydantic model's .__class__ goes through its __getattr__ hook
    if cls is not Reply and (_PLAIN.get(cls) or _plain(cls)):
        extra = response.__pydantic_extra__
        if extra:
            usage = extra.get("usage")
            if usage is not None:
                return usage
    return getattr(response, "usage", None)


def routed(response: Any, info: RoutingInfo) -> Any:
    """The reply the caller gets, ``routing`` attached.

    The native transport's own reply is returned as it is (nobody else holds it). litellm's
    logging thread may still be serialising the object it returned, so ours is a shallow copy
    with ``routing`` a plain attribute (not a field, not serialised) that thread never sees
    appear."""
    cls = type(response)  # as usage_of
    if cls is Reply:
        response.routing = info
        return response
    if not (_PLAIN.get(cls) or _plain(cls)):
        new = copy.copy(response)
        new.__dict__["routing"] = info
        return new
    # pydantic's BaseModel.__copy__, with routing added to the copied __dict__
    new = _new_object(cls)
    fields = response.__dict__.copy()
    fields["routing"] = info
    _set_dict(new, fields)
    extra = response.__pydantic_extra__
    if extra is not None:
        extra = extra.copy() if extra.__class__ is dict else copy.copy(extra)
    _set_extra(new, extra)
    _set_fields_set(new, response.__pydantic_fields_set__.copy())
    private = getattr(response, "__pydantic_private__", None)
    if private is not None:
        kept = private.copy()
        for key, value in private.items():  # as pydantic: unset private attributes stay unset
            if value is _UNDEFINED:
                del kept[key]
        private = kept
    _set_private(new, private)
    return new

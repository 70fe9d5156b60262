"""Fast constructors for the frozen, slotted dataclasses built on every call.

A frozen dataclass's generated ``__init__`` sets each field through ``object.__setattr__``, a
lookup and a call per field: about 3x the cost of calling the slot descriptors directly. A
call builds a dozen such objects (plan input, state view, plan, routing info, attempts, ...),
so ``builder(cls)`` generates, once per class, a function with the same parameters and
defaults as the dataclass that fills the slots directly. The result is an ordinary instance
(equality, repr, hashing and immutability are the dataclass's own).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import MISSING, fields, is_dataclass
from typing import Any, TypeVar

T = TypeVar("T")


def builder(cls: type[T]) -> Callable[..., T]:
    """A constructor equivalent to ``cls(...)`` for a frozen dataclass with ``slots=True``
    and no ``__post_init__``; ``cls`` itself for any other class."""
    if (
        not is_dataclass(cls)
        or "__slots__" not in cls.__dict__
        or hasattr(cls, "__post_init__")
        or any(not f.init or f.kw_only is True for f in fields(cls))
    ):
        return cls
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    params, body = [], []
    for i, f in enumerate(fields(cls)):
        namespace[f"_set{i}"] = getattr(cls, f.name).__set__
        if f.default is not MISSING:
            namespace[f"_default{i}"] = f.default
            params.append(f"{f.name}=_default{i}")
            body.append(f"    _set{i}(obj, {f.name})")
        elif f.default_factory is not MISSING:
            namespace[f"_factory{i}"] = f.default_factory
            params.append(f"{f.name}=_MISSING")
            body.append(f"    _set{i}(obj, _factory{i}() if {f.name} is _MISSING else {f.name})")
        else:
            params.append(f.name)
            body.append(f"    _set{i}(obj, {f.name})")
    namespace["_MISSING"] = MISSING
    source = (
        f"def build_{cls.__name__}({', '.join(params)}):\n"
        "    obj = _new(_cls)\n" + "\n".join(body) + "\n    return obj\n"
    )
    exec(source, namespace)  # generated from the dataclass's own field names
    built: Callable[..., T] = namespace[f"build_{cls.__name__}"]
    return built

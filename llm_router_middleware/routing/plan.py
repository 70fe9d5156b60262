"""The output of planning: an ordered list of models to try and why."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

AttributeValue = str | bool | int | float


class Rejection:
    """A candidate that a filter removed. ``code`` is machine-readable, ``reason`` for people.

    The planner builds rejections on every request but their text is read only when someone
    looks (a recording span, an error, a test), so ``deferred`` keeps the formatting for then.
    A deferred rejection's ``_reason`` slot stays unset until then (one store fewer per
    rejection: a plan makes several).
    """

    __slots__ = ("_args", "_reason", "code", "model")
    model: str
    code: str  # tier, context_window, breaker_open, cooldown, rate_limit, budget, ...
    _reason: str
    # a deferred rejection's formatter, then its arguments: _args[0](*_args[1:]) is its reason
    # (one slot, one store fewer per rejection than the formatter in a slot of its own)
    _args: tuple[Any, ...]

    def __init__(self, model: str, code: str, reason: str) -> None:
        self.model = model
        self.code = code
        self._reason = reason

    @staticmethod
    def deferred(
        model: str, code: str, format: Callable[..., str], args: tuple[object, ...]
    ) -> Rejection:
        rejection: Rejection = Deferred()
        rejection.model = model
        rejection.code = code
        rejection._args = (format, *args)
        return rejection

    @property
    def reason(self) -> str:
        try:
            return self._reason
        except AttributeError:  # deferred: formatted on first read
            args = self._args
            reason: str = args[0](*args[1:])
            self._reason = reason
            return reason

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Rejection):
            return NotImplemented
        return (self.model, self.code, self.reason) == (other.model, other.code, other.reason)

    def __hash__(self) -> int:
        return hash((self.model, self.code, self.reason))

    def __repr__(self) -> str:
        return f"Rejection(model={self.model!r}, code={self.code!r}, reason={self.reason!r})"


class Deferred(Rejection):
    """A rejection whose reason is formatted on first read (``Rejection.deferred``, and the
    planner's candidate loop, which stores the same slots inline): made bare by ``Deferred()``,
    whose ``__init__`` is object's, then its slots stored. A class call with no Python
    ``__init__`` costs about 280 instructions less than ``object.__new__(Rejection)`` (callgrind:
    about 2.3k per plan of ``plan_speed.py``, eight rejections). It is a ``Rejection`` in every
    other way: same slots, equality, hash and repr."""

    __slots__ = ()
    __init__ = object.__init__


def _empty_attrs() -> Mapping[str, AttributeValue]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Plan:
    strategy: str
    order: tuple[str, ...]  # the selected model first, then the fallbacks in order
    reason: str
    tier: str
    candidates: tuple[str, ...]  # the tier's models before filters
    rejected: tuple[Rejection, ...]
    prompt_tokens: int
    estimates_usd: Mapping[str, float]  # estimated cost per model in ``order``
    budget_remaining_usd: float | None = None
    budget_scope: str | None = None  # which ledger bounds the remaining budget
    downgraded: bool = False
    experiment: str | None = None
    arm: str | None = None
    attributes: Mapping[str, AttributeValue] = field(default_factory=_empty_attrs)

    @property
    def selected(self) -> str:
        return self.order[0]

    @property
    def fallbacks(self) -> tuple[str, ...]:
        return self.order[1:]

"""Config errors collected like a compiler's: every problem of one load, with "did you mean".

The per-key checks raise ``ConfigError`` as before; while ``collecting()`` is active, the checks
wrapped by ``lenient`` record the error and go on with a placeholder, so one load reports them
all. ``ConfigErrors`` (a ``ConfigError``) carries the list; its ``key`` is the first error's.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ..errors import ConfigError

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class _Run:
    require_env: bool
    errors: list[ConfigError] = field(default_factory=list)


_run: ContextVar[_Run | None] = ContextVar("llm_router_config_run", default=None)


class ConfigErrors(ConfigError):
    """Several config problems at once; ``errors`` lists each (``key`` is the first's)."""

    def __init__(self, errors: list[ConfigError]) -> None:
        first = errors[0]
        listing = "\n".join(f"  {e}" for e in errors)
        super().__init__(first.key, f"{first.problem}\n{len(errors)} config errors:\n{listing}")
        self.errors = errors


@contextmanager
def collecting(*, require_env: bool = True) -> Iterator[list[ConfigError]]:
    """Collect the errors of the loads inside; ``require_env=False`` skips the checks that need
    the secrets themselves (``api_key_env`` naming a variable that is set)."""
    run = _Run(require_env=require_env)
    token = _run.set(run)
    try:
        yield run.errors
    finally:
        _run.reset(token)


def require_env() -> bool:
    run = _run.get()
    return run is None or run.require_env


def report(error: ConfigError) -> None:
    """Record ``error`` while collecting; else raise it."""
    run = _run.get()
    if run is None:
        raise error
    run.errors.append(error)


def raise_collected(errors: list[ConfigError]) -> None:
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise ConfigErrors(errors)


def lenient(
    placeholder: Callable[[Any, str, tuple[Any, ...], dict[str, Any]], Any], default_at: int = 0
) -> Callable[[F], F]:
    """Wrap a ``Table`` getter: while collecting, a ``ConfigError`` is recorded and the getter
    returns the key's default (positional argument ``default_at`` after the key, or keyword
    ``default``), or ``placeholder(table, key, args, kwargs)`` when it has none."""

    def wrap(getter: F) -> F:
        @functools.wraps(getter)
        def checked(self: Any, key: str, *args: Any, **kwargs: Any) -> Any:
            try:
                return getter(self, key, *args, **kwargs)
            except ConfigError as error:
                if _run.get() is None:
                    raise
                report(error)
                default = args[default_at] if len(args) > default_at else kwargs.get("default")
                if default is not None or "default" in kwargs or len(args) > default_at:
                    return default
                return placeholder(self, key, args, kwargs)

        return checked  # type: ignore[return-value]

    return wrap


def suggest(word: str, known: Iterable[str]) -> str:
    """``; did you mean 'x'?`` when a known name is close to ``word``, else ``""``."""
    close = difflib.get_close_matches(word, list(known), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""

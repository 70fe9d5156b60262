"""A strict reader for one table of user config: typed getters that name the key path in errors
and reject keys nobody asked for."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import ConfigError
from .collect import lenient, report, suggest

_MISSING: Any = object()


# What a getter returns after recording an error while collecting (see collect.py), so the load
# goes on to find the next error; the config is never built from these.
def _text(table: Table, key: str, args: tuple[Any, ...], kw: dict[str, Any]) -> str:
    return f"<{table.path(key)}>"


def _number(table: Table, key: str, args: tuple[Any, ...], kw: dict[str, Any]) -> float:
    value = 1.0 if kw.get("positive") else 0.0
    if kw.get("minimum") is not None:
        value = max(value, float(kw["minimum"]))
    if kw.get("maximum") is not None:
        value = min(value, float(kw["maximum"]))
    return value


def _integer(table: Table, key: str, args: tuple[Any, ...], kw: dict[str, Any]) -> int:
    return max(1, int(kw.get("minimum") or 1))


def _false(table: Table, key: str, args: tuple[Any, ...], kw: dict[str, Any]) -> bool:
    return False


def _option(table: Table, key: str, args: tuple[Any, ...], kw: dict[str, Any]) -> Any:
    return next(o for o in args[0] if o is not None)


def _empty(table: Table, key: str, args: tuple[Any, ...], kw: dict[str, Any]) -> tuple[str, ...]:
    return ()


class Table:
    def __init__(self, data: Any, where: str) -> None:
        if not isinstance(data, Mapping):
            raise ConfigError(where or "<root>", f"must be a table, got {type(data).__name__}")
        self._data: Mapping[str, Any] = data
        self.where = where
        self._seen: set[str] = set()

    def path(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def has(self, key: str) -> bool:
        return key in self._data

    def raw(self, key: str, default: Any = _MISSING) -> Any:
        self._seen.add(key)
        if key in self._data:
            return self._data[key]
        if default is _MISSING:
            raise ConfigError(self.path(key), "is required")
        return default

    @lenient(_text)
    def string(self, key: str, default: Any = _MISSING) -> Any:
        value = self.raw(key, default)
        if value is default and default is not _MISSING:
            return value
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(self.path(key), f"must be a non-empty string, got {value!r}")
        return value

    @lenient(_number)
    def number(
        self,
        key: str,
        default: Any = _MISSING,
        *,
        minimum: float | None = None,
        maximum: float | None = None,
        positive: bool = False,
    ) -> Any:
        value = self.raw(key, default)
        if value is default and default is not _MISSING:
            return value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(self.path(key), f"must be a number, got {value!r}")
        if not math.isfinite(value):
            raise ConfigError(self.path(key), f"must be a finite number, got {value!r}")
        if positive and value <= 0:
            raise ConfigError(self.path(key), f"must be greater than 0, got {value!r}")
        if minimum is not None and value < minimum:
            raise ConfigError(self.path(key), f"must be at least {minimum}, got {value!r}")
        if maximum is not None and value > maximum:
            raise ConfigError(self.path(key), f"must be at most {maximum}, got {value!r}")
        return float(value)

    @lenient(_integer)
    def integer(self, key: str, default: Any = _MISSING, *, minimum: int | None = None) -> Any:
        value = self.raw(key, default)
        if value is default and default is not _MISSING:
            return value
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(self.path(key), f"must be an integer, got {value!r}")
        if minimum is not None and value < minimum:
            raise ConfigError(self.path(key), f"must be at least {minimum}, got {value!r}")
        return value

    @lenient(_false)
    def boolean(self, key: str, default: Any = _MISSING) -> Any:
        value = self.raw(key, default)
        if not isinstance(value, bool):
            raise ConfigError(self.path(key), f"must be true or false, got {value!r}")
        return value

    @lenient(_option, default_at=1)
    def choice(self, key: str, options: Sequence[object], default: Any = _MISSING) -> Any:
        value = self.raw(key, default)
        if value not in options:
            names = ", ".join(str(o) for o in options if o is not None)
            hint = (
                suggest(value, [o for o in options if isinstance(o, str)])
                if isinstance(value, str)
                else ""
            )
            raise ConfigError(self.path(key), f"must be one of {names}; got {value!r}{hint}")
        return value

    @lenient(_empty)
    def str_list(self, key: str, default: Any = _MISSING, *, non_empty: bool = False) -> Any:
        value = self.raw(key, default)
        if value is default and default is not _MISSING:
            return value
        if not isinstance(value, list | tuple) or not all(
            isinstance(v, str) and v.strip() for v in value
        ):
            raise ConfigError(self.path(key), f"must be a list of non-empty strings, got {value!r}")
        if non_empty and not value:
            raise ConfigError(self.path(key), "must not be empty")
        return tuple(value)

    def table(self, key: str, *, required: bool = False) -> Table | None:
        if key not in self._data:
            if required:
                raise ConfigError(self.path(key), "is required")
            self._seen.add(key)
            return None
        return Table(self.raw(key), self.path(key))

    def tables(self, key: str) -> list[Table]:
        value = self.raw(key, [])
        if not isinstance(value, list):
            raise ConfigError(self.path(key), "must be an array of tables ([[...]] in TOML)")
        return [Table(item, f"{self.path(key)}[{i}]") for i, item in enumerate(value)]

    def items(self) -> list[tuple[str, Any]]:
        self._seen.update(self._data)
        return list(self._data.items())

    def done(self) -> None:
        for key in sorted(set(self._data) - self._seen):
            report(ConfigError(self.path(key), "unknown key" + suggest(key, self._seen)))

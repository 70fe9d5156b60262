"""How each Redis script's keys and arguments are encoded, and its reply decoded (redis_scripts.py
holds the scripts; redis.py calls them, sync and async alike)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from .oplog import TTL_S as RING_TTL_S
from .oplog import OpToken


def ms(ttl_s: float | None) -> str:
    """A TTL in whole milliseconds for PX/PEXPIRE; '0' means no TTL, so at least 1 ms."""
    if ttl_s is None:
        return "0"
    return str(max(1, round(ttl_s * 1000)))


_NO_TOKEN = ("", "0", "0")
_RING_TTL_MS = ms(RING_TTL_S)


def with_token(keys: list[str], args: list[str], op: OpToken | None) -> tuple[list[str], list[str]]:
    """The keys and arguments of a numeric write's script, with its write token (oplog.py)."""
    if op is None:
        return keys, [*_NO_TOKEN, *args]
    return [*keys, op.ring], [op.slot, str(op.seq), _RING_TTL_MS, *args]


def reserve_args(
    limits: Sequence[tuple[str, float]], amount: float, ttl_s: float | None, op: OpToken | None
) -> tuple[list[str], list[str]]:
    keys = [key for key, _ in limits]
    args = [repr(float(amount)), ms(ttl_s), *(_limit(limit) for _, limit in limits)]
    return with_token(keys, args, op)


def hincr_args(
    key: str, fields: Mapping[str, float], ttl_s: float | None, op: OpToken | None
) -> tuple[list[str], list[str]]:
    args = [ms(ttl_s)]
    for name, amount in fields.items():
        args += (name, repr(float(amount)))
    return with_token([key], args, op)


def _limit(limit: float) -> str:
    return "inf" if limit == math.inf else repr(float(limit))


def text(value: bytes | str | int | float) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def tally_args(
    key: str, bucket: int, keep_from: int, failed: bool, ttl_s: float, peek: str | None
) -> tuple[list[str], list[str]]:
    keys = [key] if peek is None else [key, peek]
    return keys, [str(bucket), str(keep_from), "1" if failed else "0", ms(ttl_s)]


def tally_reply(reply: Any) -> tuple[int, int, int, str | None]:
    streak, requests, failures, peeked = reply
    return int(streak), int(requests), int(failures), None if peeked is None else text(peeked)

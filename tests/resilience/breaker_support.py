"""Shared by the breaker tests: the spec they start from, variations of it, and a clock the
tests move by hand."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from llm_router_middleware.config.schema import BreakerSpec

# 5 failures in a row, or more than half of 10+ requests in 60 s; 30 s open; one probe
SPEC = BreakerSpec(
    consecutive_failures=5,
    failure_rate=0.5,
    window_s=60.0,
    min_requests=10,
    cooldown_s=30.0,
    half_open_probes=1,
)


def spec(**changes: Any) -> BreakerSpec:
    """``SPEC`` with ``changes``."""
    return replace(SPEC, **changes)


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

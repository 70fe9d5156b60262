"""When to try the same target again, and when to wait for a recovering candidate. Pure.

A retry is worth it only on a transient error: a rate limit or an overload (429, 503, 529)
whose ``Retry-After`` / ``retry-after-ms`` is absent or short, or a connection error (a reset).
A timeout has spent its budget already, a server error is more likely to repeat, and a client's
mistake (400, content policy) never changes by waiting. The wait is exponential backoff with
full jitter (``retry_backoff_s * 2**n`` scaled by a uniform draw), never shorter than the
provider's ``Retry-After``, and only when it ends before the request's deadline.
"""

from __future__ import annotations

import random

from ..config.schema import ModelSpec, TrafficSpec
from ..errors import NoModelAvailableError
from ..resilience import ErrorKind

TRANSIENT = frozenset({ErrorKind.RATE_LIMIT, ErrorKind.OVERLOADED, ErrorKind.CONNECTION})


def retry_wait(
    kind: ErrorKind,
    retry_after_s: float | None,
    retries_done: int,
    spec: ModelSpec,
    traffic: TrafficSpec,
    remaining_s: float | None,
    rng: random.Random,
) -> float | None:
    """Seconds to wait before retrying ``spec`` after this error, or None: fall back."""
    if retries_done >= spec.retries or kind not in TRANSIENT:
        return None
    cap = traffic.retry_max_wait_s
    if retry_after_s is not None and retry_after_s > cap:
        return None  # the provider asks for longer than we wait: the next target instead
    wait = min(cap, traffic.retry_backoff_s * 2.0**retries_done) * rng.random()
    if retry_after_s is not None:
        wait = max(wait, retry_after_s)
    if remaining_s is not None and wait >= remaining_s:
        return None
    return wait


def recovery_wait(
    error: NoModelAvailableError, traffic: TrafficSpec, remaining_s: float | None
) -> float | None:
    """How long to wait for the first candidate to recover when planning found none
    available, or None: fail now. Bounded by ``[traffic] wait_for_recovery_s`` and the
    request's deadline."""
    wait = error.retry_after_s
    if wait is None or wait > traffic.wait_for_recovery_s:
        return None
    if remaining_s is not None and wait >= remaining_s:
        return None
    return wait + 0.005  # past the recorded end, not on it

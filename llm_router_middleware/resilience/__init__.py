"""Error classification, Retry-After cooldowns, circuit breakers and secret redaction."""

from llm_router_middleware.resilience.breaker import (
    BreakerBoard,
    BreakerState,
    BreakerStatus,
    Transition,
)
from llm_router_middleware.resilience.classify import (
    MAX_RETRY_AFTER_S,
    Action,
    Classified,
    ErrorKind,
    classify,
    retry_after_seconds,
)
from llm_router_middleware.resilience.cooldown import Cooldowns
from llm_router_middleware.resilience.redact import REDACTED, redact

__all__ = [
    "MAX_RETRY_AFTER_S",
    "REDACTED",
    "Action",
    "BreakerBoard",
    "BreakerState",
    "BreakerStatus",
    "Classified",
    "Cooldowns",
    "ErrorKind",
    "Transition",
    "classify",
    "redact",
    "retry_after_seconds",
]

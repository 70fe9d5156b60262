"""Every error a user of the library can meet, each able to render itself as a JSON HTTP answer.

Messages name what was wrong and where (config key, model name, header) and never carry secrets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


class RouterError(Exception):
    """Base class. ``status_code`` and ``code`` say how a web adapter should answer."""

    status_code: int = 500
    code: str = "router_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_json(self) -> dict[str, Any]:
        return {"error": {"type": self.code, "message": self.message}}

    def headers(self) -> dict[str, str]:
        return {}


class ConfigError(RouterError, ValueError):
    """The configuration is invalid. ``key`` is the dotted path of the offending key."""

    code = "config_error"

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}" if key else problem)
        self.key = key
        self.problem = problem


class InvalidRequestError(RouterError, ValueError):
    """The caller passed something we cannot route (malformed messages, unknown model...).
    ``param`` is the offending field when one is to blame (``messages[0].role``, ``max_tokens``)."""

    status_code = 400
    code = "invalid_request"

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param

    def to_json(self) -> dict[str, Any]:
        body = super().to_json()
        if self.param is not None:
            body["error"]["param"] = self.param
        return body


class PromptTooLongError(RouterError):
    """The prompt does not fit the context window of any model the request may use."""

    status_code = 413
    code = "prompt_too_long"

    def __init__(self, message: str, *, prompt_tokens: int, largest_window: int) -> None:
        super().__init__(message)
        self.prompt_tokens = prompt_tokens
        self.largest_window = largest_window

    def to_json(self) -> dict[str, Any]:
        body = super().to_json()
        body["error"]["prompt_tokens"] = self.prompt_tokens
        body["error"]["largest_context_window"] = self.largest_window
        return body


class UnsupportedFeatureError(InvalidRequestError):
    """The request needs a feature (tools, JSON schema, images, audio) that no model it may use
    supports: a 400 before any provider is tried."""

    code = "unsupported_feature"

    def __init__(self, message: str, *, features: tuple[str, ...]) -> None:
        super().__init__(message)
        self.features = features

    def to_json(self) -> dict[str, Any]:
        body = super().to_json()
        body["error"]["features"] = list(self.features)
        return body


class ContextError(RouterError):
    """The app's context resolver failed or returned something unusable."""

    status_code = 500
    code = "context_error"


class ContextRejected(RouterError):
    """Raised by a context resolver to refuse the request (unauthenticated, bad signature...)."""

    code = "context_rejected"

    def __init__(self, message: str, status_code: int = 401) -> None:
        super().__init__(message)
        self.status_code = status_code


class BudgetExhaustedError(RouterError):
    """No model the request may use fits the remaining budget."""

    code = "budget_exhausted"

    def __init__(
        self, message: str, *, scope: str, remaining_usd: float, status_code: int = 402
    ) -> None:
        super().__init__(message)
        self.scope = scope
        self.remaining_usd = remaining_usd
        self.status_code = status_code

    def to_json(self) -> dict[str, Any]:
        body = super().to_json()
        body["error"]["scope"] = self.scope
        body["error"]["remaining_usd"] = round(self.remaining_usd, 6)
        return body


class ClientDisconnectedError(RouterError):
    """The client went away mid-call; the model call was cancelled and nothing was charged."""

    status_code = 499
    code = "client_disconnected"


class NoModelAvailableError(RouterError):
    """Every candidate was filtered out (breakers open, cooldowns, context window...)."""

    status_code = 503
    code = "no_model_available"

    def __init__(
        self,
        message: str,
        *,
        rejected: Sequence[tuple[str, str]] = (),
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message)
        self.rejected = tuple(rejected)
        self.retry_after_s = retry_after_s

    def to_json(self) -> dict[str, Any]:
        body = super().to_json()
        body["error"]["rejected"] = [{"model": m, "reason": r} for m, r in self.rejected]
        return body

    def headers(self) -> dict[str, str]:
        if self.retry_after_s is None:
            return {}
        return {"retry-after": str(max(1, round(self.retry_after_s)))}


class DeadlineExceededError(RouterError):
    """The request's deadline passed before any model answered."""

    status_code = 504
    code = "deadline_exceeded"

    def __init__(self, message: str, attempts: Sequence[Attempt] = ()) -> None:
        super().__init__(message)
        self.attempts = tuple(attempts)


@dataclass(frozen=True, slots=True)
class Attempt:
    """One try of one model: what happened and how long it took."""

    model: str
    outcome: str  # "success" | "error" | "skipped"
    error_type: str | None = None
    error_message: str | None = None
    latency_s: float = 0.0
    status_code: int | None = None
    deployment: str | None = None  # which deployment of the model (its name, never its key)
    retry: int = 0  # 0 = the first try of this target, n = its n-th retry

    def describe(self) -> str:
        target = self.model if self.deployment is None else f"{self.model}#{self.deployment}"
        if self.retry:
            target += f" (retry {self.retry})"
        if self.outcome == "success":
            return f"{target}: success in {self.latency_s * 1000:.0f} ms"
        detail = f" ({self.error_message})" if self.error_message else ""
        return f"{target}: {self.outcome} {self.error_type or ''}{detail}".rstrip()


class ProviderRequestError(RouterError):
    """A provider rejected the request itself (bad request): retrying elsewhere will not help."""

    status_code = 400
    code = "provider_rejected_request"

    def __init__(self, message: str, *, model: str, attempts: Sequence[Attempt] = ()) -> None:
        super().__init__(message)
        self.model = model
        self.attempts = tuple(attempts)


class AllModelsFailedError(RouterError):
    """Every model in the plan failed; ``attempts`` lists each try in order."""

    status_code = 502
    code = "all_models_failed"

    def __init__(
        self, attempts: Sequence[Attempt], last_error: BaseException | None = None
    ) -> None:
        lines = "; ".join(a.describe() for a in attempts) or "no attempt was made"
        super().__init__(f"all {len(attempts)} model attempts failed: {lines}")
        self.attempts = tuple(attempts)
        self.last_error = last_error

    def to_json(self) -> dict[str, Any]:
        body = super().to_json()
        body["error"]["attempts"] = [
            {"model": a.model, "outcome": a.outcome, "error_type": a.error_type}
            for a in self.attempts
        ]
        return body


class StreamInterruptedError(RouterError):
    """The model failed after it had started streaming; no fallback is possible then."""

    status_code = 502
    code = "stream_interrupted"

    def __init__(self, message: str, *, model: str, attempts: tuple[Attempt, ...]) -> None:
        super().__init__(message)
        self.model = model
        self.attempts = attempts


class RedisUnavailableError(RouterError):
    """Redis could not be reached or timed out. The message a client sees names no address:
    ``url`` (password masked) and ``detail`` are for the server's log."""

    status_code = 503
    code = "state_unavailable"

    def __init__(self, url: str, detail: str) -> None:
        super().__init__("the router's shared state store is unavailable; retry shortly")
        self.url = url
        self.detail = detail

    def headers(self) -> dict[str, str]:
        return {"retry-after": "1"}


class EncoderError(RuntimeError):
    """A semantic-routing encoder could not be loaded or failed to embed."""

"""What an Execution does when an attempt did not answer: classify the error, free what the
attempt held, update the breaker and cooldown, choose a retry of the same target, and, when no
attempt is left, raise the error that best explains why. Also the records every outcome ends
with (the experiment arm, the decision log line).
"""

from __future__ import annotations

import logging
import time
from typing import Any, NoReturn

from opentelemetry.trace import Status, StatusCode

from . import telemetry
from .errors import (
    AllModelsFailedError,
    Attempt,
    BudgetExhaustedError,
    DeadlineExceededError,
    ProviderRequestError,
    RouterError,
)
from .execution_queue import AttemptQueue, Call
from .resilience import Action, ErrorKind, classify
from .resilience.replies import billed_usd
from .traffic import retry_wait

logger = logging.getLogger("llm_router_middleware")


class Failures(AttemptQueue):
    request_id: str
    secrets: tuple[str, ...]
    last_error: BaseException | None
    budget_refusal: BudgetExhaustedError | None
    log_extra: dict[str, Any] | None

    def _ended(self, call: Call) -> None:
        """The call holds no more tokens and is no longer in flight."""
        if call.tokens is not None:
            self.router.tokens.release(call.tokens)
            call.tokens = None
        if call.spec.deployment is not None:
            self.router.deployments.ended(call.spec.target)

    def failed(self, call: Call, exc: BaseException) -> None:
        latency = time.perf_counter() - call.started
        spec = call.spec
        verdict = classify(exc, self.secrets)
        if call.reservation is not None:
            billed = billed_usd(exc, spec, self.plan.prompt_tokens)  # unusable 200: billed
            if billed is None:
                self.router.ledger.release(call.reservation)
            else:
                self.router.ledger.settle(call.reservation, billed)
            call.reservation = None
        self._ended(call)
        opened = None
        if verdict.breaker_failure:
            opened = self.router.breakers.record_failure(spec.target, probe=call.probe)
            self._transition(opened)
        else:
            self.router.breakers.release(spec.target)
        # Retry-After lengthens the breaker's open period; a lone 429 among successes does not
        # take a model out of every plan (the breaker judges whether it is failing)
        if verdict.retry_after_s is not None and opened is not None:
            self.router.cooldowns.start(spec.target, verdict.retry_after_s)
            self.span.add_event(
                telemetry.EVENT_COOLDOWN,
                {
                    "llm_router.model": spec.target,
                    "llm_router.retry_after_s": verdict.retry_after_s,
                },
            )
        if opened is None and spec.retries:
            wait = retry_wait(
                verdict.kind,
                verdict.retry_after_s,
                call.retry,
                spec,
                self.router.config.traffic,
                self.context.remaining_s(),
                self.router.deployments.rng,
            )
            if wait is not None:
                self.retry = (call.index, spec, call.retry + 1, wait)
        if verdict.kind == ErrorKind.TIMEOUT:
            self.router.latency.observe(spec.name, latency)
        if verdict.flagged:
            logger.warning(
                "model %s failed with %s: %s (check its configuration)",
                spec.name,
                verdict.kind,
                verdict.message,
            )
        telemetry.record_error(
            call.span,
            type(exc).__name__,
            str(verdict.kind),
            verdict.message,
            flagged=verdict.flagged,
            retry_after_s=verdict.retry_after_s,
        )
        call.span.end()
        self.attempts.append(
            Attempt(
                model=spec.name,
                outcome="error",
                error_type=str(verdict.kind),
                error_message=verdict.message,
                latency_s=latency,
                status_code=verdict.status_code,
                deployment=spec.deployment,
                retry=call.retry,
            )
        )
        self.last_error = exc
        prepared = self.prepared
        if prepared.features is not None and verdict.action != Action.FAIL:
            self.router.learned_routing().failed(
                prepared.features, spec.name, str(verdict.kind), self.plan.tier, prepared.text
            )
        if verdict.action == Action.FAIL:
            self.retry = None
            error = ProviderRequestError(
                f"model {spec.name!r} rejected the request ({verdict.kind}): {verdict.message}",
                model=spec.name,
                attempts=self.attempts,
            )
            self._fail(error)
        if verdict.action == Action.LARGER_WINDOW:
            self.min_window = max(self.min_window, spec.context_window + 1)

    def exhausted(self) -> NoReturn:
        """No call is left to make: raise the error that best explains why."""
        tried = [a for a in self.attempts if a.outcome == "error"]
        error: RouterError
        if not tried and self.budget_refusal is not None:
            error = self.budget_refusal
        elif any(a.error_type == "deadline" for a in self.attempts):
            error = DeadlineExceededError(
                "the request deadline passed before a model answered: "
                + "; ".join(a.describe() for a in self.attempts),
                self.attempts,
            )
        else:
            error = AllModelsFailedError(self.attempts, self.last_error)
        self._fail(error)

    def disconnected(self, call: Call, error: RouterError) -> NoReturn:
        """The client went away: the attempt was cancelled, its reservation and probe freed."""
        if call.reservation is not None:
            self.router.ledger.release(call.reservation)
            call.reservation = None
        self._ended(call)
        self.router.breakers.release(call.spec.target)
        call.span.set_status(Status(StatusCode.ERROR, "client disconnected"))
        call.span.end()
        self.attempts.append(
            Attempt(
                model=call.spec.name,
                outcome="skipped",
                error_type="client_disconnected",
                latency_s=time.perf_counter() - call.started,
                deployment=call.spec.deployment,
            )
        )
        self._fail(error)

    def cancelled(self, call: Call, exc: BaseException) -> None:
        """The attempt was interrupted (cancellation, KeyboardInterrupt): free what it held."""
        if call.reservation is not None:
            self.router.ledger.release(call.reservation)
            call.reservation = None
        self._ended(call)
        self.router.breakers.release(call.spec.target)
        call.span.set_status(Status(StatusCode.ERROR, f"cancelled ({type(exc).__name__})"))
        call.span.end()
        self.abort(exc)

    def abort(self, exc: BaseException) -> None:
        """An exception we do not handle (cancellation, a bug) escaped: close spans, free budget."""
        if self.span.is_recording():
            self.span.record_exception(exc)
            self.span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
        self.span.end()

    def _fail(self, error: RouterError) -> NoReturn:
        self._experiment(None, 0.0, 0.0)
        self.span.set_attribute(telemetry.ERROR_TYPE, error.code)
        self.span.set_attribute(telemetry.FALLBACK_COUNT, len(self.attempts))
        self.span.set_status(Status(StatusCode.ERROR, error.message[:300]))
        self.span.end()
        if telemetry.logger.isEnabledFor(logging.WARNING):
            self._log(error.code, None, len(self.attempts), 0.0, logging.WARNING)
        raise error

    def _experiment(self, model_used: str | None, latency: float, cost: float) -> None:
        spec = self.router.config.routing.experiment
        if spec is not None and self.plan.arm is not None:
            self.router.experiments.record_call(
                spec, self.plan.arm, self.request_id, model_used, latency_s=latency, cost_usd=cost
            )

    def _log(
        self,
        outcome: str,
        model: str | None,
        fallbacks: int,
        cost: float,
        level: int,
        deployment: str | None = None,
    ) -> None:
        """The decision log line (the caller checked the logger is enabled for ``level``)."""
        retries = sum(1 for a in self.attempts if a.retry)
        telemetry.log_plan_outcome(
            self.plan,
            self.context,
            self.request_id,
            outcome,
            model,
            fallbacks,
            cost,
            level,
            deployment,
            retries,
            self.log_extra,
        )

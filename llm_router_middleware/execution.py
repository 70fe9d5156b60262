"""One call's execution of a Plan, shared by the sync and async clients.

The loops in client.py only call litellm; everything else (breaker probes, budget
reservations, deadlines, classification, cooldowns, spans, the log line) happens here.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

from opentelemetry.trace import Span, Status, StatusCode

from . import telemetry
from .config import ModelSpec
from .errors import (
    AllModelsFailedError,
    Attempt,
    BudgetExhaustedError,
    DeadlineExceededError,
    ProviderRequestError,
    RouterError,
)
from .ids import request_id
from .resilience import Action, ErrorKind, Transition, classify
from .resilience.replies import billed_usd
from .response import RoutingInfo
from .routing import BudgetSnapshot, Reservation
from .traffic import TokenReservation, retry_wait
from .traffic.deployments import Choice
from .transport.reply import Reply

if TYPE_CHECKING:
    from .router import Prepared, Router

logger = logging.getLogger("llm_router_middleware")

RESERVED_PARAMS = frozenset(
    {
        "model",
        "messages",
        "api_key",
        "api_base",
        "base_url",
        "timeout",
        "stream",
        "fallbacks",
        "num_retries",
        "max_retries",
        "context_window_fallback_dict",
        "mock_response",
    }
)


@dataclass(slots=True)
class Call:
    index: int
    spec: ModelSpec
    kwargs: dict[str, Any]
    span: Span
    started: float
    reservation: Reservation | None
    probe: bool = False  # planned while the breaker was not closed: its outcome decides it
    counted: bool = False  # the success is already counted by the breaker (the async path)
    tokens: TokenReservation | None = None  # tokens reserved against tpm limits
    retry: int = 0  # the n-th retry of this target


class Execution:
    hedged_cost_usd = 0.0  # charged for hedged calls that lost (hedging.py)
    log_extra: dict[str, Any] | None = None  # more fields for the decision log line

    def __init__(self, router: Router, prepared: Prepared, params: Mapping[str, Any]) -> None:
        bad = sorted(RESERVED_PARAMS.intersection(params))
        if bad:
            from .errors import InvalidRequestError

            raise InvalidRequestError(
                f"parameter {bad[0]!r} is set by the router; configure it per model instead"
            )
        self.router = router
        self.prepared = prepared
        self.plan = prepared.plan
        self.params = dict(params)
        self.context = prepared.context
        self.request_id = request_id()
        self.attempts: list[Attempt] = []
        self.position = 0
        self.min_window = 0
        self.last_error: BaseException | None = None
        self.budget_refusal: BudgetExhaustedError | None = None
        self.secrets = router.secrets
        self.pending: list[tuple[ModelSpec, bool]] = []  # the current model's deployments left
        self.choices: dict[str, Choice] = {}  # deployments chosen ahead (the async path)
        self.retry: tuple[int, ModelSpec, int, float] | None = None  # index, target, n, wait
        self.retries = 0
        self.span = telemetry.start_route_span(self.plan.strategy)
        telemetry.record_plan(
            self.span,
            self.plan,
            user_id=self.context.user_id,
            endpoint=self.context.endpoint,
            request_id=self.request_id,
        )
        if prepared.waited_s:
            self.span.set_attribute(telemetry.RECOVERY_WAIT_S, prepared.waited_s)
        if router.degraded:  # the shared state store is lost: serving from local state
            self.span.set_attribute(telemetry.STATE_DEGRADED, True)

    # --- before an attempt -------------------------------------------------------------------
    def next_call(self) -> Call | None:
        if self.retry is not None and self.retry[3] > 0:
            time.sleep(self.retry[3])
        while (found := self._candidate()) is not None:
            index, spec, timeout, probe = found
            reservation = self._reserve(spec.name, spec)
            if reservation is None:
                self.router.breakers.release(spec.target)
                continue
            tokens = None
            if self.router.tokens.limited:
                held = self.router.tokens.reserve(spec, self._tokens_needed(spec))
                if isinstance(held, tuple):
                    self._refused_by_limit(spec, reservation, held)
                    continue
                tokens = held
            self.router.count_request(spec.name)
            return self._start(index, spec, timeout, reservation, probe, tokens)
        return None

    def _tokens_needed(self, spec: ModelSpec) -> int:
        routing = self.router.config.routing
        wanted = self.params.get("max_tokens") or self.params.get("max_completion_tokens")
        out = int(wanted) if isinstance(wanted, int) else routing.cost.expected_output_tokens
        return self.plan.prompt_tokens + min(out, spec.max_output_tokens)

    def _refused_by_limit(
        self, spec: ModelSpec, reservation: Reservation, refusal: tuple[str, str]
    ) -> None:
        """Another worker took the last of a tpm/rpm limit since planning: skip the target."""
        self.router.ledger.release(reservation)
        self.router.breakers.release(spec.target)
        self._skip(spec.name, refusal[0], refusal[1], spec.deployment)

    def _candidate(self) -> tuple[int, ModelSpec, float, bool] | None:
        """The next model (or deployment of a model) of the plan that may be tried now
        (window, deadline, breaker), with its attempt timeout; the ones passed over are
        recorded as skipped. A retry of the target that just failed comes first."""
        plan = self.plan
        while True:
            self.retries = 0  # set below for a retry only
            if self.retry is not None:
                index, spec, self.retries, _ = self.retry
                self.retry = None
                closed = True  # its failure left the breaker closed, or there is no retry
            elif self.pending:
                index = self.position - 1
                spec, closed = self.pending.pop(0)
            elif self.position < len(plan.order):
                index = self.position
                self.position += 1
                name = plan.order[index]
                spec = self.router.config.models[name]
                if spec.context_window < self.min_window:
                    self._skip(
                        name,
                        "context_window",
                        f"context window {spec.context_window} is not larger than the one "
                        f"that overflowed ({self.min_window - 1})",
                    )
                    continue
                if spec.deployments:
                    self._deployments(spec)
                    continue
                closed = name in self.prepared.closed
            else:
                return None
            timeout = spec.timeout_s
            remaining = self.context.remaining_s()
            if remaining is not None:
                if remaining <= 0:
                    self._skip(spec.name, "deadline", "request deadline passed", spec.deployment)
                    return None
                timeout = min(timeout, remaining)
            if not closed:
                allowed, transition = self.router.breakers.acquire(spec.target)
                self._transition(transition)
            else:
                allowed = True  # closed when planned: acquiring would only read it again
            if not allowed:
                self._skip(spec.name, "breaker_open", "circuit breaker is open", spec.deployment)
                continue
            return index, spec, timeout, not closed

    def _deployments(self, spec: ModelSpec) -> None:
        """Queue the model's healthy deployments in the order its ``balance`` picks."""
        choice = self.choices.pop(spec.name, None) or self.router.deployments.choose(spec)
        for deployment, code, reason in choice.skipped:
            self._skip(spec.name, code, reason, deployment.deployment)
        self.pending = list(choice.order)

    def _start(
        self,
        index: int,
        spec: ModelSpec,
        timeout: float,
        reservation: Reservation,
        probe: bool,
        tokens: TokenReservation | None = None,
    ) -> Call:
        kwargs = self._kwargs(spec, timeout)
        span = telemetry.start_attempt_span(spec, self.span, index, self.params)
        retry, self.retries = self.retries, 0
        if span.is_recording():
            span.set_attribute(telemetry.TIMEOUT_S, timeout)
            if spec.deployment is not None:
                span.set_attribute(telemetry.DEPLOYMENT, spec.deployment)
            if retry:
                span.set_attribute(telemetry.RETRY, retry)
            telemetry.record_input(span, self.prepared.messages)
        if spec.deployment is not None:
            self.router.deployments.started(spec.target)
        call = Call(index, spec, kwargs, span, time.perf_counter(), reservation, probe)
        if tokens is not None or retry:
            call.tokens, call.retry = tokens, retry
        return call

    def _ended(self, call: Call) -> None:
        """The call holds no more tokens and is no longer in flight."""
        if call.tokens is not None:
            self.router.tokens.release(call.tokens)
            call.tokens = None
        if call.spec.deployment is not None:
            self.router.deployments.ended(call.spec.target)

    def _reserve(self, name: str, spec: ModelSpec) -> Reservation | None:
        estimate = self.plan.estimates_usd.get(name, 0.0)
        tier = self.plan.tier
        return self._reserved(
            name, estimate, self.router.ledger.reserve(self.context.budget_key, tier, estimate)
        )

    def _reserved(
        self, name: str, estimate: float, result: Reservation | BudgetSnapshot
    ) -> Reservation | None:
        if isinstance(result, Reservation):
            return result
        remaining = result.remaining_usd if result.remaining_usd is not None else 0.0
        self.budget_refusal = BudgetExhaustedError(
            f"budget {result.scope} has ${remaining:.6f} left, model {name!r} needs an "
            f"estimated ${estimate:.6f}",
            scope=result.scope or "unknown",
            remaining_usd=remaining,
            status_code=self.router.config.budgets.refuse_status,
        )
        self._skip(name, "budget", self.budget_refusal.message)
        return None

    def _kwargs(self, spec: ModelSpec, timeout: float) -> dict[str, Any]:
        kwargs: dict[str, Any] = {**spec.params, **self.params}
        kwargs.update(
            model=spec.model,
            messages=self.prepared.messages,
            timeout=timeout,
            max_retries=0,
            num_retries=0,
        )
        if spec.api_base:
            kwargs["api_base"] = spec.api_base
        key = spec.resolved_api_key()
        if key:
            kwargs["api_key"] = key
        return kwargs

    def _skip(self, name: str, code: str, reason: str, deployment: str | None = None) -> None:
        self.attempts.append(
            Attempt(
                model=name,
                outcome="skipped",
                error_type=code,
                error_message=reason,
                deployment=deployment,
            )
        )
        event = {"llm_router.model": name, "llm_router.filter": code, "llm_router.reason": reason}
        if deployment is not None:
            event[telemetry.DEPLOYMENT] = deployment
        self.span.add_event(telemetry.EVENT_SKIPPED, event)

    def _transition(self, transition: Transition | None) -> None:
        if transition is not None:
            telemetry.breaker_event(
                self.span,
                transition.model,
                str(transition.from_state),
                str(transition.to_state),
                transition.reason,
            )

    # --- after an attempt --------------------------------------------------------------------
    def succeeded(self, call: Call, response: Any) -> Any:
        usage = getattr(response, "usage", None)
        info = self.finish(
            call,
            response,
            int(getattr(usage, "prompt_tokens", 0) or 0),
            int(getattr(usage, "completion_tokens", 0) or 0),
        )
        if isinstance(response, Reply):  # the native transport's own object: nobody else holds it
            response.routing = info
            return response
        # litellm's logging thread may still be serialising the object it returned: attach our
        # routing info to a shallow copy so that thread never sees the attribute appear.
        routed = copy.copy(response)
        routed.__dict__["routing"] = info  # plain attribute: not a field, not serialised
        return routed

    def finish(
        self, call: Call, response: Any, prompt_tokens: int, completion_tokens: int
    ) -> RoutingInfo:
        """The call answered (for a stream: the stream ended): settle, record, close spans."""
        latency = time.perf_counter() - call.started
        spec = call.spec
        cost = spec.estimate_cost(prompt_tokens, completion_tokens)
        if call.reservation is not None:
            self.router.ledger.settle(call.reservation, cost)
            call.reservation = None
        if call.tokens is not None:
            self.router.tokens.settle(call.tokens, prompt_tokens + completion_tokens)
            call.tokens = None
        if not call.counted:
            self._transition(self.router.breakers.record_success(spec.target, probe=call.probe))
        self.router.latency.observe(spec.name, latency)
        if spec.deployment is not None:
            self.router.latency.observe(spec.target, latency)
            self.router.deployments.ended(spec.target)
        telemetry.record_response(
            call.span,
            response,
            cost,
            latency,
            spec,
            input_tokens=prompt_tokens,
            output_tokens=completion_tokens,
        )
        call.span.end()
        self.attempts.append(
            Attempt(
                model=spec.name,
                outcome="success",
                latency_s=latency,
                deployment=spec.deployment,
                retry=call.retry,
            )
        )
        fallback_count = call.index
        self._experiment(spec.name, latency, cost)
        prepared = self.prepared
        if prepared.features is not None:
            models = self.router.config.models
            top = max(models[m].quality for m in self.plan.candidates)
            self.router.learned_routing().answered(
                self.request_id,
                prepared.features,
                spec.name,
                self.plan.tier,
                prepared.text,
                spec.quality >= top,
            )
        info = self.routing_info(spec, cost)
        self.span.set_attributes(
            {
                telemetry.MODEL_USED: spec.name,
                telemetry.FALLBACK_COUNT: fallback_count,
                telemetry.COST_USD: cost,
            }
        )
        if spec.deployment is not None:
            self.span.set_attribute(telemetry.DEPLOYMENT, spec.deployment)
        self.span.end()
        self._log("success", spec.name, fallback_count, cost, deployment=spec.deployment)
        return info

    def routing_info(self, spec: ModelSpec, cost: float) -> RoutingInfo:
        index = self.plan.order.index(spec.name)
        return RoutingInfo(
            model=spec.name,
            litellm_model=spec.model,
            strategy=self.plan.strategy,
            reason=self.plan.reason,
            fallback_count=index,
            attempts=tuple(self.attempts),
            cost_usd=cost,
            estimated_cost_usd=self.plan.estimates_usd.get(spec.name, 0.0),
            request_id=self.request_id,
            tier=self.plan.tier,
            experiment=self.plan.experiment,
            arm=self.plan.arm,
            downgraded=self.plan.downgraded,
            plan=self.plan,
            deployment=spec.deployment,
            hedged_cost_usd=self.hedged_cost_usd,
        )

    def failed(self, call: Call, exc: BaseException) -> None:
        latency = time.perf_counter() - call.started
        spec = call.spec
        verdict = classify(exc, self.secrets)
        if call.reservation is not None:
            billed = billed_usd(exc, spec, self.plan.prompt_tokens)  # an unusable 200 reply: billed
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
        self._log(error.code, None, len(self.attempts), 0.0, level=logging.WARNING)
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
        level: int = logging.INFO,
        deployment: str | None = None,
    ) -> None:
        if telemetry.logger.isEnabledFor(level):
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

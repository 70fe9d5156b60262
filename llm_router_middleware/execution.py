"""One call's execution of a Plan, shared by the sync and async clients.

The loops in client.py only call the transport; everything else (breaker probes, budget
reservations, deadlines, classification, cooldowns, spans, the log line) happens here, in
three layers: the attempt queue (execution_queue.py), what a failed attempt does
(execution_failures.py) and, here, starting an attempt and settling a success.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from opentelemetry.trace import INVALID_SPAN

from . import telemetry
from ._build import builder
from .config import ModelSpec
from .errors import Attempt, BudgetExhaustedError
from .execution_failures import Failures
from .execution_queue import Call
from .ids import request_id
from .response import RoutingInfo
from .routing import BudgetSnapshot, Reservation
from .telemetry.environ import metering
from .traffic import TokenReservation
from .traffic.deployments import Choice
from .transport.routed import routed, usage_of

if TYPE_CHECKING:
    from .prepared import Prepared
    from .router import Router

__all__ = ["RESERVED_PARAMS", "Call", "Execution"]

_new_info = builder(RoutingInfo)
_new_object = object.__new__
_new_attempt = builder(Attempt)

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


class Execution(Failures):
    hedged_cost_usd = 0.0  # charged for hedged calls that lost (hedging.py)
    log_extra: dict[str, Any] | None = None  # more fields for the decision log line
    # where every call starts (class defaults: set on the instance when they change)
    position = 0
    min_window = 0
    last_error: BaseException | None = None
    budget_refusal: BudgetExhaustedError | None = None
    retry: tuple[int, ModelSpec, int, float] | None = None  # index, target, n, wait
    retries = 0

    def __init__(self, router: Router, prepared: Prepared, params: Mapping[str, Any]) -> None:
        if params and not RESERVED_PARAMS.isdisjoint(params):
            from .errors import InvalidRequestError

            bad = sorted(RESERVED_PARAMS.intersection(params))
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
        self.secrets = router.secrets
        self.pending: list[tuple[ModelSpec, bool]] = []  # the current model's deployments left
        self.choices: dict[str, Choice] = {}  # deployments chosen ahead (the async path)
        self.span = telemetry.start_route(
            self.plan,
            user_id=self.context.user_id,
            endpoint=self.context.endpoint,
            request_id=self.request_id,
            waited_s=prepared.waited_s,
            degraded=router.may_degrade and router.degraded,
        )

    # --- before an attempt -------------------------------------------------------------------
    def next_call(self) -> Call | None:
        if self.retry is not None and self.retry[3] > 0:
            time.sleep(self.retry[3])
        router = self.router
        while (found := self._candidate()) is not None:
            index, spec, timeout, probe = found
            name = spec.name
            estimate = self.plan.estimates_usd.get(name, 0.0)
            context = self.context  # context.budget_key, inlined
            reserved = router.ledger.reserve(
                context.budget_scope or context.user_id, self.plan.tier, estimate
            )
            reservation = (
                reserved
                if reserved.__class__ is Reservation
                else self._reserved(name, estimate, reserved)
            )
            if reservation is None:
                router.breakers.release(spec.target)
                continue
            tokens = None
            if router.tokens.limited:
                held = router.tokens.reserve(spec, self._tokens_needed(spec))
                if isinstance(held, tuple):
                    self._refused_by_limit(spec, reservation, held)
                    continue
                tokens = held
            if name in router.reader.rpm_of:  # else nothing to count
                router.count_request(name)
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
        retry, self.retries = self.retries, 0
        span = (
            INVALID_SPAN  # no TracerProvider when the call started: no attempt span either
            if self.span is INVALID_SPAN
            else telemetry.start_attempt_span(
                spec,
                self.span,
                index,
                self.params,
                timeout_s=timeout,
                retry=retry,
                messages=self.prepared.messages,
            )
        )
        if spec.deployment is not None:
            self.router.deployments.started(spec.target)
        # Call(...) without its __init__ frame: every field of the dataclass stored here
        call = _new_object(Call)
        call.index, call.spec, call.kwargs = index, spec, kwargs
        call.span, call.started, call.reservation = span, time.perf_counter(), reservation
        call.probe, call.counted, call.tokens = probe, False, tokens
        call.retry = retry
        return call

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
        """The model's params, the call's, then what the router sets (``RESERVED_PARAMS``)."""
        tails = self.router.kwargs_tails
        found = tails.get(id(spec))
        if found is None or found[0] is not spec:
            tail = _tail(spec)
            found = tails[id(spec)] = (spec, tail, {**spec.params, **tail})
        params = self.params
        kwargs: dict[str, Any] = (
            {**spec.params, **params, **found[1]} if params else found[2].copy()
        )
        kwargs["messages"] = self.prepared.messages
        kwargs["timeout"] = timeout
        if spec.api_key is None and spec.api_key_env is not None:  # read per call, as always
            key = spec.resolved_api_key()
            if key:
                kwargs["api_key"] = key
        return kwargs

    def succeeded(self, call: Call, response: Any) -> Any:
        usage = usage_of(response)
        try:
            prompt, completion = usage.prompt_tokens, usage.completion_tokens
        except AttributeError:  # no usage, or a part of it missing: read as 0
            prompt = getattr(usage, "prompt_tokens", 0)
            completion = getattr(usage, "completion_tokens", 0)
        info = self.finish(call, response, int(prompt or 0), int(completion or 0))
        return routed(response, info)

    def finish(
        self, call: Call, response: Any, prompt_tokens: int, completion_tokens: int
    ) -> RoutingInfo:
        """The call answered (for a stream: the stream ended): settle, record, close spans."""
        latency = time.perf_counter() - call.started
        spec = call.spec
        router = self.router
        cost = spec.estimate_cost(prompt_tokens, completion_tokens)
        if call.reservation is not None:
            router.ledger.settle(call.reservation, cost)
            call.reservation = None
        if call.tokens is not None:
            router.tokens.settle(call.tokens, prompt_tokens + completion_tokens)
            call.tokens = None
        if not call.counted:
            target = spec.name if spec.deployment is None else spec.target
            move = router.breakers.record_success(target, call.probe)
            if move is not None:
                self._transition(move)
        router.latency.observe(spec.name, latency)
        if spec.deployment is not None:
            router.latency.observe(spec.target, latency)
            router.deployments.ended(spec.target)
        span = call.span
        if span is not INVALID_SPAN or metering():  # else nothing to record
            telemetry.record_response(
                span,
                response,
                cost,
                latency,
                spec,
                input_tokens=prompt_tokens,
                output_tokens=completion_tokens,
            )
            if span is not INVALID_SPAN:
                telemetry.end_span(span)
        self.attempts.append(
            _new_attempt(
                spec.name, "success", None, None, latency, None, spec.deployment, call.retry
            )
        )
        fallback_count = call.index
        if self.plan.arm is not None:
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
        if self.span is not INVALID_SPAN:
            telemetry.record_outcome(self.span, spec.name, fallback_count, cost, spec.deployment)
            telemetry.end_span(self.span)
        if telemetry.logger.isEnabledFor(logging.INFO):
            self._log("success", spec.name, fallback_count, cost, logging.INFO, spec.deployment)
        return info

    def routing_info(self, spec: ModelSpec, cost: float) -> RoutingInfo:
        plan = self.plan
        return _new_info(
            spec.name,
            spec.model,
            plan.strategy,
            plan.reason,
            plan.order.index(spec.name),
            tuple(self.attempts),
            cost,
            plan.estimates_usd.get(spec.name, 0.0),
            self.request_id,
            plan.tier,
            plan.experiment,
            plan.arm,
            plan.downgraded,
            plan,
            spec.deployment,
            self.hedged_cost_usd,
        )


def _tail(spec: ModelSpec) -> dict[str, Any]:
    """What the router sets in every call of ``spec`` (the same keys in the same order as
    before this was computed once per model; ``messages`` and ``timeout`` are set per call)."""
    tail: dict[str, Any] = {
        "model": spec.model,
        "messages": None,
        "timeout": None,
        "max_retries": 0,
        "num_retries": 0,
    }
    if spec.api_base:
        tail["api_base"] = spec.api_base
    if spec.api_key:
        tail["api_key"] = spec.api_key
    return tail

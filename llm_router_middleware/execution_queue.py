"""The attempt queue of one call: which model (or deployment of a model) of the plan is tried
next, skipping those that cannot be tried now (context window, deadline, breaker) and putting a
retry of the target that just failed first. Every target passed over is recorded as skipped.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from opentelemetry.trace import Span

from . import telemetry
from .config import ModelSpec
from .errors import Attempt
from .resilience import Transition
from .routing import Reservation
from .traffic import TokenReservation
from .traffic.deployments import Choice

if TYPE_CHECKING:
    from .context import RequestContext
    from .prepared import Prepared
    from .router import Router
    from .routing.plan import Plan


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


class AttemptQueue:
    router: Router
    prepared: Prepared
    plan: Plan
    context: RequestContext
    span: Span
    attempts: list[Attempt]
    position: int  # the next model of plan.order
    min_window: int  # a context overflow skips models whose window is not larger
    pending: list[tuple[ModelSpec, bool]]  # the current model's deployments left
    choices: dict[str, Choice]  # deployments chosen ahead (the async path)
    retry: tuple[int, ModelSpec, int, float] | None  # index, target, n, wait
    retries: int

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
            deadline = self.context.deadline  # remaining_s(), inlined: on every call's path
            remaining = None if deadline is None else deadline - time.monotonic()
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

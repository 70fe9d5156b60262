"""Hedged requests on the async path (``acomplete``): when the model being tried has not
answered within its observed p95 latency (or a configured delay while it has too little
history), the next model of the plan starts too; the first successful answer wins and the
other call is cancelled (asyncio cancellation through the transport: the HTTP connection is
closed, so the provider stops generating).

At most one hedge per request: a hedged request costs at most two calls at a time, and the
hedge starts only once, so the extra load is bounded by the share of slow first calls (about
5 % with the p95 delay).

Charging: the winner settles from the usage its reply reports, as any call. A loser cancelled
before it answered reports no usage, so it is settled at the estimate of what it consumed: its
prompt tokens at the model's input price (the provider had the whole prompt; output it may have
generated before the cancellation is unknown and not charged). A loser that answered in the
same instant as the winner settles from its own reported usage. Either way the amount is in
``reply.routing.hedged_cost_usd`` and the ledger, so budgets see what hedging costs.

A loser never counts against its breaker (it did not fail, it was cancelled); its probe lease
is given back. Its elapsed time enters its latency figures as a lower bound of its latency, so
hedging does not hide a slow model from the ``latency`` strategy.

Sync ``complete`` does not hedge: a second call would need a second thread, and a blocking
HTTP call in a thread cannot be cancelled (the thread would run the loser to the end). Streams
do not hedge either (the caller has seen chunks of one model before another could win).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import telemetry
from .config import RouterConfig
from .errors import Attempt, ClientDisconnectedError, RouterError
from .execution import Call
from .resilience.replies import check_reply
from .transport import transport_for

if TYPE_CHECKING:
    from .execution_async import AsyncExecution
    from .policy import Policy
    from .routing import LatencyTracker

Guard = Callable[[Awaitable[Any], str], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Hedge:
    after_s: float  # the delay while the model has fewer than ``min_samples`` observed calls
    min_samples: int

    def delay(self, latency: LatencyTracker, model: str) -> tuple[float, str]:
        """(seconds to wait for ``model`` before hedging, where that figure comes from)."""
        p95 = latency.p95(model)
        if p95 is not None and p95[1] >= self.min_samples:
            return p95[0], "p95"
        return self.after_s, "configured"


def hedge_for(config: RouterConfig, tier: str, policy: Policy | None) -> Hedge | None:
    """The hedging of one call: the view's policy over the tier's setting; None = no hedge."""
    spec = config.tiers[tier]
    if policy is None:
        if not spec.hedge:
            return None
        on, after = True, spec.hedge_after_s
    else:
        on = spec.hedge if policy.hedge is None else policy.hedge
        on = on or (policy.hedge is None and policy.hedge_after_s is not None)
        after = policy.hedge_after_s or spec.hedge_after_s
        if not on:
            return None
    latency = config.routing.latency
    return Hedge(after if after is not None else latency.hedge_after_s, latency.min_samples)


async def complete_hedged(execution: AsyncExecution, hedge: Hedge, guard: Guard) -> Any:
    """Execute the plan with one hedge; ``guard`` cancels the wait if the client goes away."""
    inflight: dict[asyncio.Task[Any], Call] = {}
    hedged = False
    due = 0.0  # perf_counter time at which the lone call in flight gets its hedge
    try:
        while True:
            if not inflight:
                call = await execution.anext_call()
                if call is None:
                    execution.exhausted()
                inflight[_launch(call)] = call
                if not hedged:
                    after, source = hedge.delay(execution.router.latency, call.spec.name)
                    due = call.started + after
                    _planned(execution, call, after, source)
            timeout = None if hedged else max(0.0, due - time.perf_counter())
            lead = next(iter(inflight.values())).spec.name
            done, _ = await guard(
                asyncio.wait(inflight, timeout=timeout, return_when=asyncio.FIRST_COMPLETED),
                lead,
            )
            if not done:  # the lone call is slower than its delay: start the next model too
                hedged = True
                first = next(iter(inflight.values()))
                second = await execution.anext_call()
                if second is not None:
                    inflight[_launch(second)] = second
                    _started(execution, first, second)
                continue
            for task in done:
                if not task.cancelled() and task.exception() is None:
                    winner = inflight.pop(task)
                    await _settle_losers(execution, inflight, winner)
                    if hedged:
                        _won(execution, winner)
                    return await execution.asucceeded(winner, task.result())
            for task in done:
                call = inflight.pop(task)
                exc = task.exception() if not task.cancelled() else asyncio.CancelledError()
                assert exc is not None
                await execution.afailed(call, exc)
    except ClientDisconnectedError as gone:
        calls = await _cancel(inflight)
        for call in calls[1:]:
            await _drop(execution, call)
        if calls:
            execution.disconnected(calls[0], gone)
        raise
    except BaseException as exc:  # cancelled by the caller, a provider's bad-request verdict
        for call in await _cancel(inflight):
            await _drop(execution, call)
        if not isinstance(exc, RouterError):  # a RouterError: the execution closed its spans
            execution.abort(exc)
        raise


def _launch(call: Call) -> asyncio.Task[Any]:
    return asyncio.ensure_future(_checked_call(call))


async def _checked_call(call: Call) -> Any:
    """The call, with an unusable 200 reply (empty, filtered) raised as that model's failure,
    as on the unhedged path."""
    response = await transport_for(call.spec).acomplete(call.kwargs)
    check_reply(response, call.spec.reply_failures)
    return response


async def _cancel(inflight: dict[asyncio.Task[Any], Call]) -> list[Call]:
    """Cancel every call in flight and wait until each has let go of its connection."""
    tasks = list(inflight)
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks)
    calls = [inflight[t] for t in tasks]
    inflight.clear()
    return calls


async def _settle_losers(
    execution: AsyncExecution, inflight: dict[asyncio.Task[Any], Call], winner: Call
) -> None:
    answered = [
        (t, c) for t, c in inflight.items() if t.done() and not t.cancelled() and not t.exception()
    ]
    pending = {t: c for t, c in inflight.items() if not t.done()}
    inflight.clear()
    for call in await _cancel(pending):
        await _lost(execution, call, winner, None)
    for task, call in answered:
        await _lost(execution, call, winner, task.result())


async def _lost(execution: AsyncExecution, call: Call, winner: Call, reply: Any) -> None:
    """Charge, free and record a hedged call that lost the race (see the module's notes)."""
    router = execution.router
    elapsed = time.perf_counter() - call.started
    spec = call.spec
    prompt = execution.plan.prompt_tokens
    completion = 0
    if reply is not None:  # it answered too: its own usage
        usage = getattr(reply, "usage", None)
        prompt = int(getattr(usage, "prompt_tokens", 0) or prompt)
        completion = int(getattr(usage, "completion_tokens", 0) or 0)
    cost = spec.estimate_cost(prompt, completion)
    if call.reservation is not None:
        reservation, call.reservation = call.reservation, None
        if router.astore is not None:
            await router.ledger.asettle(reservation, cost)
        else:
            router.ledger.settle(reservation, cost)
    if call.probe:  # give its half-open probe lease back; nothing counts on the breaker
        if router.astore is not None:
            await asyncio.to_thread(router.breakers.release, spec.name)
        else:
            router.breakers.release(spec.name)
    router.latency.observe(spec.name, elapsed)  # a lower bound: it took at least this long
    execution.hedged_cost_usd += cost
    span = call.span
    if span.is_recording():
        span.set_attributes(
            {
                telemetry.HEDGE_OUTCOME: "loser",
                telemetry.COST_USD: cost,
                telemetry.GEN_AI_USAGE_INPUT_TOKENS: prompt,
                telemetry.GEN_AI_USAGE_OUTPUT_TOKENS: completion,
            }
        )
    span.end()
    how = "answered after" if reply is not None else "cancelled: "
    execution.attempts.append(
        Attempt(
            model=spec.name,
            outcome="hedged_loser",
            error_type="hedged",
            error_message=f"{how}{'' if reply is None else ' '}{winner.spec.name} answered first",
            latency_s=elapsed,
        )
    )


async def _drop(execution: AsyncExecution, call: Call) -> None:
    """Free what a call cancelled without a winner held (reservation, probe) and end its span."""
    router = execution.router
    if call.reservation is not None:
        reservation, call.reservation = call.reservation, None
        if router.astore is not None:
            await router.ledger.arelease(reservation)
        else:
            router.ledger.release(reservation)
    if call.probe:
        router.breakers.release(call.spec.name)
    call.span.end()


def _planned(execution: AsyncExecution, call: Call, after: float, source: str) -> None:
    span = execution.span
    if span.is_recording():
        span.set_attributes(
            {
                telemetry.HEDGE_AFTER_S: round(after, 6),
                telemetry.HEDGE_DELAY_SOURCE: source,
                telemetry.HEDGE_STARTED: False,
            }
        )
    execution.log_extra = {"hedge_after_s": round(after, 6), "hedged": None}


def _started(execution: AsyncExecution, first: Call, second: Call) -> None:
    elapsed = time.perf_counter() - first.started
    span = execution.span
    if span.is_recording():
        span.set_attribute(telemetry.HEDGE_STARTED, True)
        span.add_event(
            telemetry.EVENT_HEDGE,
            {
                "llm_router.model": second.spec.name,
                "llm_router.hedge.waiting_for": first.spec.name,
                "llm_router.hedge.after_s": round(elapsed, 6),
            },
        )
    execution.log_extra = {**(execution.log_extra or {}), "hedged": second.spec.name}


def _won(execution: AsyncExecution, winner: Call) -> None:
    if winner.span.is_recording():
        winner.span.set_attribute(telemetry.HEDGE_OUTCOME, "winner")
    if execution.span.is_recording():
        execution.span.set_attributes(
            {
                telemetry.HEDGE_WINNER: winner.spec.name,
                telemetry.HEDGE_COST_USD: execution.hedged_cost_usd,
            }
        )
    execution.log_extra = {
        **(execution.log_extra or {}),
        "hedge_winner": winner.spec.name,
        "hedged_cost_usd": round(execution.hedged_cost_usd, 8),
    }

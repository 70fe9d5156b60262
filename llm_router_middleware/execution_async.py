"""The async twin of an Execution's store I/O: on the async paths (``acomplete``, ``astream``)
the budget reservation, the rate count and the settlement (for a stream, when it ends) go
through the store's asyncio client (redis-py's asyncio Redis), so no state round trip blocks
the event loop. With a store that does no I/O (the memory store) every step is the sync one,
called directly.

A success is counted on the breaker's outcome window through the asyncio client too. The
other breaker, cooldown and experiment records have no asyncio twin yet: when a step needs them
(a model failed, a breaker was not closed when planned, a probe closes a breaker, an experiment
arm is recorded) that step runs on the sync client in a worker thread, so it does not block the
event loop either.
"""

from __future__ import annotations

import asyncio
from typing import Any

from .config import ModelSpec
from .execution import Call, Execution
from .resilience.replies import billed_usd
from .state.base import AsyncStateStore
from .transport.routed import usage_of


class AsyncExecution(Execution):
    async def anext_call(self) -> Call | None:
        """``next_call`` for async callers: the budget reservation and the rate count go
        through the store's asyncio client (Redis), so the event loop is not blocked."""
        if self.retry is not None and self.retry[3] > 0:  # a retry of the same target
            await asyncio.sleep(self.retry[3])
            self.retry = (*self.retry[:3], 0.0)
        astore = self.router.astore
        if astore is None:
            return self.next_call()
        while (found := await self._acandidate(astore)) is not None:
            index, spec, timeout, probe = found
            estimate = self.plan.estimates_usd.get(spec.name, 0.0)
            result = await self.router.ledger.areserve(
                self.context.budget_key, self.plan.tier, estimate
            )
            reservation = self._reserved(spec.name, estimate, result)
            if reservation is None:
                self.router.breakers.release(spec.target)
                continue
            tokens = None
            if self.router.tokens.limited:
                held = await self.router.tokens.areserve(spec, self._tokens_needed(spec), astore)
                if isinstance(held, tuple):
                    await asyncio.to_thread(self._refused_by_limit, spec, reservation, held)
                    continue
                tokens = held
            await self.router.acount_request(spec.name)
            return self._start(index, spec, timeout, reservation, probe, tokens)
        return None

    async def _acandidate(
        self, astore: AsyncStateStore
    ) -> tuple[int, ModelSpec, float, bool] | None:
        if not self.router.deployments.configured:
            if self.prepared.closed.issuperset(self.plan.order[self.position :]):
                return self._candidate()  # every breaker read closed when planned: no store I/O
            return await asyncio.to_thread(self._candidate)  # acquiring a breaker probe
        models = self.router.config.models
        ahead = [models[name] for name in self.plan.order[self.position :]]
        for spec in ahead:  # choose among deployments through the asyncio client
            if spec.deployments and spec.name not in self.choices:
                self.choices[spec.name] = await self.router.deployments.achoose(spec, astore)
        closed = self.prepared.closed
        if (
            all(closed_ for _, closed_ in self.pending)
            and all(s.name in closed for s in ahead if not s.deployments)
            and all(c for choice in self.choices.values() for _, c in choice.order)
        ):
            return self._candidate()  # every breaker read closed: no store I/O
        return await asyncio.to_thread(self._candidate)  # acquiring a breaker probe

    async def asucceeded(self, call: Call, response: Any) -> Any:
        """``succeeded`` for async callers: the settlement goes through the asyncio client."""
        if self.router.astore is None:
            return self.succeeded(call, response)
        if call.reservation is not None or call.tokens is not None:
            usage = usage_of(response)
            prompt = int(getattr(usage, "prompt_tokens", 0) or 0)
            completion = int(getattr(usage, "completion_tokens", 0) or 0)
            cost = call.spec.estimate_cost(prompt, completion)
            await self.asettle(call, cost, prompt + completion)
        await self.acount_success(call)
        if self.router.config.routing.experiment is not None and self.plan.arm is not None:
            return await asyncio.to_thread(self.succeeded, call, response)  # experiment write
        return self.succeeded(call, response)

    async def acount_success(self, call: Call) -> None:
        """Count the success on the breaker through the asyncio client (``finish`` skips it)."""
        astore = self.router.astore
        if astore is not None and not call.counted:
            call.counted = True
            move = await self.router.breakers.arecord_success(
                astore, call.spec.target, probe=call.probe
            )
            self._transition(move)

    async def asettle(self, call: Call, cost: float, tokens: int | None = None) -> None:
        """Charge ``cost`` (and ``tokens`` against tpm limits) for the call now, asynchronously
        (``finish`` then skips it)."""
        astore = self.router.astore
        if astore is None:
            return
        if call.reservation is not None:
            reservation, call.reservation = call.reservation, None
            await self.router.ledger.asettle(reservation, cost)
        if call.tokens is not None and tokens is not None:
            held, call.tokens = call.tokens, None
            await self.router.tokens.asettle(held, tokens, astore)

    async def afailed(self, call: Call, exc: BaseException) -> None:
        """``failed`` for async callers: the reservation is released through the asyncio
        client, the breaker and cooldown records in a worker thread."""
        if self.router.astore is None:
            self.failed(call, exc)
            return
        if call.reservation is not None:
            reservation, call.reservation = call.reservation, None
            billed = billed_usd(exc, call.spec, self.plan.prompt_tokens)  # unusable 200: billed
            if billed is None:
                await self.router.ledger.arelease(reservation)
            else:
                await self.router.ledger.asettle(reservation, billed)
        if call.tokens is not None:
            tokens, call.tokens = call.tokens, None
            await self.router.tokens.arelease(tokens, self.router.astore)
        await asyncio.to_thread(self.failed, call, exc)

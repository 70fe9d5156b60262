"""The per-request handle: `request.llm.complete(...)` and `await request.llm.acomplete(...)`."""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from . import telemetry
from .config import TrafficSpec
from .context import RequestContext
from .disconnect import DisconnectWatcher, guarded
from .errors import ClientDisconnectedError, ContextError, NoModelAvailableError, RouterError
from .execution import Execution
from .execution_async import AsyncExecution
from .hedging import complete_hedged, hedge_for
from .params import validate_params
from .policy import Policy
from .resilience.replies import check_reply, screen_stream
from .routing.capabilities import required_features
from .routing.plan import Plan
from .strategy_models import THREADED_STRATEGIES
from .stream_open import close_unread, first_chunk
from .streaming import AsyncRoutedStream, RoutedStream, stream_kwargs
from .traffic.retry import recovery_wait
from .transport import litellm_module as litellm_module  # where callers have imported it
from .transport import transport_for

if TYPE_CHECKING:
    from litellm import ModelResponse

    from .prepared import Prepared
    from .router import Router

logger = logging.getLogger("llm_router_middleware")


class RequestLLM:
    """Bound to one request. The context is resolved on first use, through the app's resolver."""

    __slots__ = (
        "_context",
        "_endpoint",
        "_policy",
        "_request",
        "_resolver",
        "disconnect",
        "router",
    )

    def __init__(
        self,
        router: Router,
        *,
        context: RequestContext | None = None,
        resolver: Callable[[Any], Any] | None = None,
        request: Any = None,
        policy: Policy | None = None,
        endpoint: str | None = None,
    ) -> None:
        if context is None and resolver is None:
            context = RequestContext(endpoint=endpoint)
        self.router = router
        self._context = context
        self._resolver = resolver
        self._request = request
        self._policy = policy
        self._endpoint = endpoint
        self.disconnect: DisconnectWatcher | None = None

    @classmethod
    def lazy(
        cls, router: Router, resolver: Callable[[Any], Any], request: Any, policy: Policy | None
    ) -> RequestLLM:
        """The per-request handle the middleware creates for every request: as cheap as a
        handle can be, since most endpoints never touch it."""
        handle = cls.__new__(cls)
        handle.router = router
        handle._context = None
        handle._resolver = resolver
        handle._request = request
        handle._policy = policy
        handle._endpoint = None
        handle.disconnect = None
        return handle

    # --- context -----------------------------------------------------------------------------
    def context(self) -> RequestContext:
        if self._context is None:
            result = self._call_resolver()
            if inspect.isawaitable(result):
                if inspect.iscoroutine(result):
                    result.close()
                raise ContextError(
                    "the context resolver is async but complete() was called from sync code; "
                    "use `await llm.acomplete(...)`, or give the middleware a sync resolver"
                )
            self._context = self._checked(result)
        return self._context

    async def acontext(self) -> RequestContext:
        if self._context is None:
            result = self._call_resolver()
            if inspect.isawaitable(result):
                try:
                    result = await result
                except RouterError:
                    raise
                except Exception as exc:
                    raise self._resolver_failed(exc) from exc
            self._context = self._checked(result)
        return self._context

    def _call_resolver(self) -> Any:
        assert self._resolver is not None
        try:
            return self._resolver(self._request)
        except RouterError:
            raise
        except Exception as exc:
            raise self._resolver_failed(exc) from exc

    def _resolver_failed(self, exc: Exception) -> ContextError:
        logger.exception("the LLM router context resolver raised %s", type(exc).__name__)
        return ContextError(f"the request context could not be resolved ({type(exc).__name__})")

    def _checked(self, value: object) -> RequestContext:
        if not isinstance(value, RequestContext):
            raise ContextError(
                f"the context resolver returned {type(value).__name__}, expected RequestContext"
            )
        if self._endpoint is not None and value.endpoint is None:
            return replace(value, endpoint=self._endpoint)
        return value

    # --- narrowing ---------------------------------------------------------------------------
    def with_policy(self, policy: Policy | None = None, **fields: Any) -> RequestLLM:
        """A handle for the same request with routing narrowed (per view or per call)."""
        narrowed = (policy or Policy(**fields)).validate(self.router.config)
        merged = self._policy.merged(narrowed) if self._policy else narrowed
        return RequestLLM(
            self.router,
            context=self._context,
            resolver=self._resolver,
            request=self._request,
            policy=merged,
            endpoint=self._endpoint,
        )

    @property
    def policy(self) -> Policy | None:
        return self._policy

    # --- calls -------------------------------------------------------------------------------
    def plan(self, messages: Any, **params: Any) -> Plan:
        """The routing decision for these messages, without calling a model."""
        return self._prepare(messages, self.context(), params).plan

    async def aplan(self, messages: Any, **params: Any) -> Plan:
        return (await self._aprepare(messages, await self.acontext(), params)).plan

    def complete(self, messages: Any, **params: Any) -> ModelResponse:
        context = self._context if self._context is not None else self.context()
        if params or self._policy is not None:
            prepared = self._prepare(messages, context, params)
        else:  # _prepare's first step, as acomplete takes it
            try:
                prepared = self.router.prepare(
                    messages, context, None, None, required_features(messages, params)
                )
            except NoModelAvailableError:  # waiting for a cooling candidate may help
                prepared = self._prepare(messages, context, params)
            except RouterError as error:
                self._refused(context, error)
                raise
        cache = self.router.cache
        probe = (
            cache.probe(prepared, params, self._policy)
            if self._policy is not None or cache.tiers
            else None
        )
        if probe is not None and probe.reply is not None:
            hit: ModelResponse = probe.reply
            return hit
        execution = Execution(self.router, prepared, params)
        if probe is not None:
            probe.missed(execution.span)
        while (call := execution.next_call()) is not None:
            try:
                response = transport_for(call.spec).complete(call.kwargs)
                check_reply(response, call.spec.reply_failures)
            except Exception as exc:
                execution.failed(call, exc)
                continue
            except BaseException as exc:
                execution.cancelled(call, exc)
                raise
            result: ModelResponse = execution.succeeded(call, response)
            if probe is not None:
                self.router.cache.remember(probe, result)
            return result
        execution.exhausted()

    async def acomplete(self, messages: Any, **params: Any) -> ModelResponse:
        context = self._context if self._context is not None else await self.acontext()
        router = self.router
        if params or self._policy is not None or not router.plans_inline:
            prepared = await self._aprepare(messages, context, params)
        else:  # _aprepare's first step, without a coroutine: nothing in it awaits
            try:
                prepared = router.prepare(
                    messages, context, None, None, required_features(messages, params)
                )
            except NoModelAvailableError:  # waiting for a cooling candidate may help
                prepared = await self._aprepare(messages, context, params)
            except RouterError as error:
                self._refused(context, error)
                raise
        cache = router.cache  # off unless a tier or this view opts in: skip the await
        probe = (
            await cache.aprobe(prepared, params, self._policy)
            if self._policy is not None or cache.tiers
            else None
        )
        if probe is not None and probe.reply is not None:
            hit: ModelResponse = probe.reply
            return hit
        execution = AsyncExecution(self.router, prepared, params)
        if probe is not None:
            probe.missed(execution.span)
        watcher = self.disconnect
        if (self._policy is not None or self.router.hedging) and (
            hedge := hedge_for(self.router.config, prepared.plan.tier, self._policy)
        ) is not None:
            hedged: ModelResponse = await complete_hedged(
                execution, hedge, lambda work, model: guarded(work, watcher, model)
            )
            if probe is not None:
                await self.router.cache.aremember(probe, hedged)
            return hedged
        local = self.router.astore is None  # the memory store: its steps are called directly
        while (
            call := (
                execution.next_call()
                if local and execution.retry is None
                else await execution.anext_call()
            )
        ) is not None:
            try:
                work = transport_for(call.spec).acomplete(call.kwargs)
                if watcher is None:
                    response = await work
                else:
                    response = await guarded(work, watcher, call.spec.name)
                check_reply(response, call.spec.reply_failures)
            except ClientDisconnectedError as gone:
                execution.disconnected(call, gone)
            except Exception as exc:
                await execution.afailed(call, exc)
                continue
            except BaseException as exc:  # cancelled
                execution.cancelled(call, exc)
                raise
            result: ModelResponse = (
                execution.succeeded(call, response)
                if local
                else await execution.asucceeded(call, response)
            )
            if probe is not None:
                await self.router.cache.aremember(probe, result)
            return result
        execution.exhausted()

    def stream(self, messages: Any, **params: Any) -> RoutedStream:
        """Stream the reply. Falls back between models until one sends its first chunk."""
        execution = Execution(self.router, self._prepare(messages, self.context(), params), params)
        while (call := execution.next_call()) is not None:
            opened: Any = None
            try:
                opened = transport_for(call.spec).stream(stream_kwargs(call))
                first, chunks = screen_stream(next(opened, None), opened, call.spec.reply_failures)
            except Exception as exc:
                close_unread(opened)
                execution.failed(call, exc)
                continue
            except BaseException as exc:
                close_unread(opened)
                execution.cancelled(call, exc)
                raise
            return RoutedStream(execution, call, first, chunks)
        execution.exhausted()

    async def astream(self, messages: Any, **params: Any) -> AsyncRoutedStream:
        """``async for chunk in await llm.astream(...)``: the async twin of ``stream``."""
        context = await self.acontext()
        prepared = await self._aprepare(messages, context, params)
        execution = AsyncExecution(self.router, prepared, params)
        watcher = self.disconnect
        while (call := await execution.anext_call()) is not None:
            try:
                first, chunks = await guarded(
                    first_chunk(
                        transport_for(call.spec), stream_kwargs(call), call.spec.reply_failures
                    ),
                    watcher,
                    call.spec.name,
                )
            except ClientDisconnectedError as gone:
                execution.disconnected(call, gone)
            except Exception as exc:
                await execution.afailed(call, exc)
                continue
            except BaseException as exc:
                execution.cancelled(call, exc)
                raise
            return AsyncRoutedStream(execution, call, first, chunks)
        execution.exhausted()

    def _prepare(
        self, messages: Any, context: RequestContext, params: Mapping[str, Any]
    ) -> Prepared:
        try:
            max_tokens, waited = None, 0.0
            if params:  # most calls pass none: nothing to check
                validate_params(params)
                max_tokens = _max_tokens(params)
            needs = required_features(messages, params)
            while True:
                try:
                    prepared = self.router.prepare(
                        messages, context, self._policy, max_tokens, needs
                    )
                    return replace(prepared, waited_s=waited) if waited else prepared
                except NoModelAvailableError as error:  # wait for a cooling candidate?
                    wait = recovery_wait(error, self._traffic(waited), context.remaining_s())
                    if wait is None:
                        raise
                time.sleep(wait)
                waited += wait
        except RouterError as error:
            self._refused(context, error)
            raise

    async def _aprepare(
        self, messages: Any, context: RequestContext, params: Mapping[str, Any]
    ) -> Prepared:
        try:
            max_tokens, waited = None, 0.0
            if params:  # most calls pass none: nothing to check
                validate_params(params)
                max_tokens = _max_tokens(params)
            needs = required_features(messages, params)
            router, policy = self.router, self._policy
            inline = router.plans_inline and (
                policy is None or policy.strategy not in THREADED_STRATEGIES
            )
            while True:
                try:
                    prepared = (
                        router.prepare(messages, context, policy, max_tokens, needs)
                        if inline  # nothing to await: the same steps as aprepare
                        else await router.aprepare(messages, context, policy, max_tokens, needs)
                    )
                    return replace(prepared, waited_s=waited) if waited else prepared
                except NoModelAvailableError as error:  # wait for a cooling candidate?
                    wait = recovery_wait(error, self._traffic(waited), context.remaining_s())
                    if wait is None:
                        raise
                await asyncio.sleep(wait)
                waited += wait
        except RouterError as error:
            self._refused(context, error)
            raise

    def _traffic(self, waited: float) -> TrafficSpec:
        """``[traffic]`` with what is left of ``wait_for_recovery_s`` after ``waited``."""
        traffic = self.router.config.traffic
        left = traffic.wait_for_recovery_s - waited
        return replace(traffic, wait_for_recovery_s=left) if waited else traffic

    def _refused(self, context: RequestContext, error: RouterError) -> None:
        """Planning refused the call: still one routing span and one log line for it."""
        routing = self.router.config.routing
        telemetry.record_refusal(
            routing.strategy,
            context.tier or routing.default_tier,
            context.user_id,
            context.endpoint,
            error.code,
            error.message,
        )


def _max_tokens(params: Mapping[str, Any]) -> int | None:
    value = params.get("max_tokens") or params.get("max_completion_tokens")
    return int(value) if isinstance(value, int | float) else None  # validated: a whole number

"""The pure ASGI middleware: a lazy ``llm`` handle per HTTP request, errors as JSON."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .client import RequestLLM
from .context import ContextResolver, RequestContext, current_llm
from .disconnect import DisconnectWatcher
from .errors import RouterError
from .policy import Policy
from .router import Router

logger = logging.getLogger("llm_router_middleware")


def route_template(scope: Scope) -> str | None:
    """The matched route's path template (``/chat/{room}``), once routing has run."""
    route = scope.get("route")
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    return path if isinstance(path, str) else None


async def send_error(send: Send, error: RouterError) -> None:
    body = json.dumps(error.to_json()).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.encode(), v.encode()) for k, v in error.headers().items()]
    await send({"type": "http.response.start", "status": error.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class _StartTracker:
    """Wraps ``send`` to know whether the response has started (then an error can no longer be
    answered with a JSON body and must propagate)."""

    __slots__ = ("send", "started")

    def __init__(self, send: Send) -> None:
        self.send = send
        self.started = False

    def __call__(self, message: Message) -> Awaitable[None]:
        if message["type"] == "http.response.start":
            self.started = True
        return self.send(message)


class LLMRouterMiddleware:
    """``app.add_middleware(LLMRouterMiddleware, router=router, context=resolver)``.

    ``context`` gets a Starlette ``Request`` and returns a ``RequestContext`` (sync or async);
    without one every request is anonymous and gets the default tier. ``policy`` narrows routing
    for every request through this app. With ``cancel_on_disconnect`` (the default) a model call
    in ``acomplete`` is cancelled when the client goes away (``ClientDisconnectedError``, 499),
    and its reservation released.
    """

    def __init__(
        self,
        app: ASGIApp,
        router: Router,
        context: ContextResolver | None = None,
        policy: Policy | None = None,
        cancel_on_disconnect: bool = True,
    ) -> None:
        self.app = app
        self.cancel_on_disconnect = cancel_on_disconnect
        self.router = router
        self.resolver = context
        self.policy = policy.validate(router.config) if policy is not None else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                receive = self._warming(receive)
            await self.app(scope, receive, send)
            return
        handle = RequestLLM.lazy(self.router, self._resolve, scope, self.policy)
        watcher = None
        if self.cancel_on_disconnect:
            watcher = handle.disconnect = DisconnectWatcher(receive)
        if "state" in scope:
            scope["state"]["llm"] = handle
        else:
            scope["state"] = {"llm": handle}
        token = current_llm.set(handle)
        tracker = _StartTracker(send)
        try:
            await self.app(scope, watcher or receive, tracker)
        except RouterError as error:
            if tracker.started:
                raise
            logger.info("answering %s: %s", error.status_code, error.code)
            await send_error(send, error)
        finally:
            current_llm.reset(token)

    def _warming(self, receive: Receive) -> Receive:
        """At lifespan startup, before the app sees it: import litellm and load the semantic
        encoder in a worker thread, so the first LLM request does not freeze the event loop."""
        router = self.router

        async def receive_warmed() -> Message:
            message = await receive()
            if message["type"] == "lifespan.startup" and not router.warmed:
                await asyncio.to_thread(router.warm)
            return message

        return receive_warmed

    def _resolve(self, scope: Scope) -> RequestContext | Any:
        endpoint = route_template(scope)
        if self.resolver is None:
            return RequestContext(endpoint=endpoint)
        from starlette.requests import Request

        result = self.resolver(Request(scope))
        if isinstance(result, RequestContext) and result.endpoint is None and endpoint:
            from dataclasses import replace

            return replace(result, endpoint=endpoint)
        if not isinstance(result, RequestContext) and endpoint:
            return _with_endpoint(result, endpoint)
        return result


async def _with_endpoint(awaitable: Any, endpoint: str) -> Any:
    result = await awaitable
    if isinstance(result, RequestContext) and result.endpoint is None:
        from dataclasses import replace

        return replace(result, endpoint=endpoint)
    return result

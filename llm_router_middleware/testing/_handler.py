"""The fake provider's HTTP handler: chat completions (plain and streamed) and embeddings."""

from __future__ import annotations

import base64
import json
import re
import socket
import struct
import time
from typing import TYPE_CHECKING, Any, ClassVar, cast

from llm_router_middleware.testing._behavior import (
    Behavior,
    Messages,
    context_length_body,
    prompt_token_count,
    rough_tokens,
)
from llm_router_middleware.testing._records import RecordedRequest, StreamRecord, redact_headers
from llm_router_middleware.testing._server import BaseHandler

if TYPE_CHECKING:
    from llm_router_middleware.testing.fake_provider import FakeProvider

_WORDS = re.compile(r"\s*\S+\s*|\s+")


class ProviderHandler(BaseHandler):
    routes: ClassVar[dict[str, str]] = {
        "/chat/completions": "_chat",
        "/embeddings": "_embeddings",
    }
    generation = 0  # the provider's generation when the request being answered arrived

    @property
    def provider(self) -> FakeProvider:
        return cast("FakeProvider", self.server.owner)

    def _route(self) -> str:
        path = self.path.split("?", 1)[0].rstrip("/")
        return path.removeprefix("/v1")

    def do_GET(self) -> None:
        if self._route() == "/models":
            names = self.provider._models()
            data = [{"id": n, "object": "model", "created": 0, "owned_by": "fake"} for n in names]
            self.send_json(200, {"object": "list", "data": data})
        else:
            self._not_found()

    def do_POST(self) -> None:
        raw = self.read_body()
        handler_name = self.routes.get(self._route())
        if handler_name is None:
            self._not_found()
            return
        try:
            body = json.loads(raw or b"{}")
            if not isinstance(body, dict):
                raise ValueError("the body is not a JSON object")
        except ValueError as exc:
            message = f"We could not parse the JSON body of your request: {exc}"
            self.send_json(400, Behavior(error_message=message).error_body(400))
            return
        model = str(body.get("model", ""))
        self.generation = self.provider.generation
        behavior, index, request_id = self.provider._next(model)
        headers, had_auth, suffix = redact_headers(dict(self.headers.items()))
        messages = body.get("messages") if isinstance(body.get("messages"), list) else []
        self.provider._record(
            RecordedRequest(
                method="POST",
                path=self.path,
                model=model,
                messages=messages or [],
                stream=bool(body.get("stream")),
                body=body,
                headers=headers,
                had_auth=had_auth,
                api_key_suffix=suffix,
                timestamp=time.time(),
            )
        )
        provider = self.provider
        provider._enter(model, 1)
        try:
            self._answer(handler_name, body, model, behavior, index, request_id)
        finally:
            provider._enter(model, -1)

    def _answer(
        self,
        handler_name: str,
        body: dict[str, Any],
        model: str,
        behavior: Behavior,
        index: int,
        request_id: int,
    ) -> None:
        if behavior.latency_s and not self.sleep(behavior.latency_s):
            if not self.server.stopping.is_set():
                self.provider._gone(model, self.generation)
            return
        if behavior.hang:
            self.hang()
            if not self.server.stopping.is_set():
                self.provider._gone(model, self.generation)
            return
        try:
            getattr(self, handler_name)(body, model, behavior, index, request_id)
        except OSError:
            raise  # the client went away
        except Exception as exc:  # a user-supplied reply/embed callable failed
            message = f"FakeProvider: the behavior for model {model!r} raised {exc!r}"
            self.send_json(500, Behavior(error_message=message).error_body(500))

    def _not_found(self) -> None:
        message = f"Unknown path {self.path!r}: the fake provider serves /v1/chat/completions, "
        message += "/v1/embeddings and /v1/models"
        self.send_json(404, Behavior(error_message=message).error_body(404))

    def _fail(self, behavior: Behavior, model: str, index: int) -> bool:
        status = behavior.failure_status(index, model)
        if status is None:
            return False
        self.send_json(status, behavior.error_body(status), headers=behavior.error_headers())
        return True

    def _chat(
        self, body: dict[str, Any], model: str, behavior: Behavior, index: int, request_id: int
    ) -> None:
        messages: Messages = body.get("messages") or []
        counted = prompt_token_count(messages)
        if behavior.context_window is not None and counted > behavior.context_window:
            payload = context_length_body(behavior.context_window, counted)
            self.send_json(400, payload, headers=dict(behavior.headers))
            return
        if self._fail(behavior, model, index):
            return
        stream = bool(body.get("stream"))
        if behavior.malformed:
            broken = b"data: {not json\n\n" if stream else b'{"id": "chatcmpl-broken", "choices": ['
            ctype = "text/event-stream" if stream else "application/json"
            self.send_bytes(200, broken, ctype, headers=dict(behavior.headers))
            return
        text = behavior.reply_text(messages)
        prompt = behavior.prompt_tokens if behavior.prompt_tokens is not None else counted
        completion = (
            behavior.completion_tokens
            if behavior.completion_tokens is not None
            else rough_tokens(text)
        )
        usage = {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }
        base = {
            "id": f"chatcmpl-fake-{request_id}",
            "created": int(time.time()),
            "model": model,
            "system_fingerprint": "fp_fake",
        }
        if stream:
            options = body.get("stream_options") or {}
            include_usage = isinstance(options, dict) and bool(options.get("include_usage"))
            self._stream(base, text, behavior, usage if include_usage else None)
            return
        choice = {
            "index": 0,
            "message": {"role": "assistant", "content": text, "refusal": None},
            "logprobs": None,
            "finish_reason": behavior.finish_reason,
        }
        payload = {**base, "object": "chat.completion", "choices": [choice], "usage": usage}
        self.send_json(200, payload, headers=dict(behavior.headers))

    def _stream(
        self,
        base: dict[str, Any],
        text: str,
        behavior: Behavior,
        usage: dict[str, int] | None,
    ) -> None:
        def chunk(delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            return {**base, "object": "chat.completion.chunk", "choices": [choice]}

        pieces = [] if behavior.empty_stream else _WORDS.findall(text)
        events = [chunk({"role": "assistant", "content": ""}, None)]
        events.extend(chunk({"content": piece}, None) for piece in pieces)
        events.append(chunk({}, behavior.finish_reason))
        if behavior.empty_stream:
            events = []
        elif usage is not None:
            events.append(
                {**base, "object": "chat.completion.chunk", "choices": [], "usage": usage}
            )
        sent: list[str] = []
        completed = False
        try:
            self.start_chunked(200, "text/event-stream", dict(behavior.headers))
            for number, event in enumerate(events):
                delay = behavior.stream_chunk_delay_s
                if number and delay and not self.sleep(delay):
                    return
                is_text = 0 < number <= len(pieces)
                if is_text and number - 1 == behavior.stream_break_after:
                    self.close_connection = True  # a failure mid-stream: drop the connection
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                data = json.dumps(event, separators=(",", ":"))
                self.write_chunk(f"data: {data}\n\n".encode())
                if is_text:
                    sent.append(pieces[number - 1])
            self.write_chunk(b"data: [DONE]\n\n")
            self.end_chunked()
            completed = True
        finally:
            record = StreamRecord(str(base["model"]), "".join(sent), completed)
            self.provider._stream_ended(record, self.generation)

    def _embeddings(
        self, body: dict[str, Any], model: str, behavior: Behavior, index: int, request_id: int
    ) -> None:
        if self._fail(behavior, model, index):
            return
        if behavior.malformed:
            self.send_bytes(200, b'{"object": "list", "data": [', headers=dict(behavior.headers))
            return
        raw_input = body.get("input", "")
        inputs: list[Any] = raw_input if isinstance(raw_input, list) else [raw_input]
        if inputs and all(isinstance(x, int) for x in inputs):
            inputs = [inputs]
        texts = [x if isinstance(x, str) else " ".join(map(str, x)) for x in inputs]
        dimensions = body.get("dimensions")
        as_base64 = body.get("encoding_format") == "base64"
        data = []
        for position, text in enumerate(texts):
            vector = behavior.embedding(text, dimensions if isinstance(dimensions, int) else None)
            encoded: Any = vector
            if as_base64:
                encoded = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
            data.append({"object": "embedding", "index": position, "embedding": encoded})
        tokens = behavior.prompt_tokens
        if tokens is None:
            tokens = sum(rough_tokens(t) for t in texts)
        usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        payload = {"object": "list", "data": data, "model": model, "usage": usage}
        self.send_json(200, payload, headers=dict(behavior.headers))

"""A fault-injecting OpenAI-compatible provider on loopback, for tests and examples.

with FakeProvider() as provider:
    provider.set("fake-cheap", Behavior(status=429, retry_after=2))
    litellm.completion(model="openai/fake-cheap", api_base=provider.base_url, ...)

The HTTP side is in _handler.py, the records in _records.py, the behaviors in _behavior.py.
"""

from __future__ import annotations

import threading

from llm_router_middleware.testing._behavior import Behavior
from llm_router_middleware.testing._handler import ProviderHandler
from llm_router_middleware.testing._records import RecordedRequest, StreamRecord
from llm_router_middleware.testing._server import BackgroundServer

__all__ = ["Behavior", "FakeProvider", "RecordedRequest", "StreamRecord"]


class FakeProvider(BackgroundServer):
    """OpenAI-compatible HTTP server in a background thread, configured per model name."""

    def __init__(
        self, default: Behavior | None = None, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        super().__init__(host, port)
        self._lock = threading.Lock()
        self._initial_default = default or Behavior()
        self._default = self._initial_default
        self._behaviors: dict[str, Behavior] = {}
        self._served: dict[str, int] = {}
        self._requests: list[RecordedRequest] = []
        self._streams: list[StreamRecord] = []
        self._ids = 0
        self._in_flight: dict[str, int] = {}
        self._disconnects: dict[str, int] = {}
        #: bumped by reset(): a request answered across a reset (a stream an earlier test left
        #: running) records its end and disconnect under its own generation, so they never land
        #: in the next test's records
        self.generation = 0

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The litellm `api_base` / OpenAI `base_url`, e.g. http://127.0.0.1:PORT/v1."""
        return f"{self.url}/v1"

    def set(self, model: str, behavior: Behavior) -> None:
        """Configure `model` (the request's `model` field, without any "openai/" prefix)."""
        if "/" in model and model.split("/", 1)[0] in {"openai", "text-completion-openai"}:
            raise ValueError(
                f"FakeProvider.set({model!r}): use the name the provider receives, "
                f"{model.split('/', 1)[1]!r}, not the litellm model string"
            )
        with self._lock:
            self._behaviors[model] = behavior
            self._served.pop(model, None)

    def set_default(self, behavior: Behavior) -> None:
        with self._lock:
            self._default = behavior
            self._served = {m: n for m, n in self._served.items() if m in self._behaviors}

    def behavior(self, model: str) -> Behavior:
        with self._lock:
            return self._behaviors.get(model, self._default)

    def reset(self) -> None:
        """Forget every configured behavior and counter, and clear the recorded requests."""
        with self._lock:
            self._behaviors.clear()
            self._default = self._initial_default
            self._served.clear()
            self._requests.clear()
            self._streams.clear()
            self._disconnects.clear()
            self.generation += 1

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def streams(self) -> list[StreamRecord]:
        """Every streamed reply that has ended (completed, broken off, or its client gone)."""
        with self._lock:
            return list(self._streams)

    def count(self, model: str | None = None) -> int:
        """Recorded requests to `model` (all models when None)."""
        with self._lock:
            return sum(1 for r in self._requests if model is None or r.model == model)

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()
            self._streams.clear()

    def in_flight(self, model: str | None = None) -> int:
        """Requests to `model` (all models when None) being answered right now."""
        with self._lock:
            return sum(n for m, n in self._in_flight.items() if model is None or m == model)

    def disconnects(self, model: str | None = None) -> int:
        """Requests whose client closed the connection before the answer (a cancelled call)."""
        with self._lock:
            return sum(n for m, n in self._disconnects.items() if model is None or m == model)

    def _enter(self, model: str, delta: int) -> None:
        with self._lock:
            self._in_flight[model] = self._in_flight.get(model, 0) + delta

    def _gone(self, model: str, generation: int) -> None:
        with self._lock:
            if generation == self.generation:
                self._disconnects[model] = self._disconnects.get(model, 0) + 1

    def _next(self, model: str) -> tuple[Behavior, int, int]:
        with self._lock:
            index = self._served.get(model, 0)
            self._served[model] = index + 1
            self._ids += 1
            return self._behaviors.get(model, self._default), index, self._ids

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _stream_ended(self, record: StreamRecord, generation: int) -> None:
        with self._lock:
            if generation == self.generation:
                self._streams.append(record)

    def _models(self) -> list[str]:
        with self._lock:
            return sorted(self._behaviors)


FakeProvider.handler_class = ProviderHandler

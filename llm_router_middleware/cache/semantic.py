"""The semantic cache's index: per scope (the request without its last user message), the
embeddings of the last user messages already answered and the exact keys of their replies.

A request whose last user message embeds within ``threshold`` cosine similarity of one in its
scope is served that reply. The index lives in this process (bounded to ``max_entries``
vectors, least recently used scopes evicted first); the replies it points to live in the exact
cache, so with the state-store backend a worker whose index has the vector can serve another
worker's reply, and an index entry whose reply expired is a miss.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..semantic.encoders import Encoder

_PER_SCOPE = 256  # vectors kept per scope; the oldest go first


@dataclass(frozen=True, slots=True)
class Match:
    key: str  # the exact key of the reply to serve
    similarity: float


class SemanticIndex:
    def __init__(self, encoder: Encoder, threshold: float, max_entries: int) -> None:
        self.encoder = encoder
        self.threshold = threshold
        self.max_entries = max_entries
        self._scopes: OrderedDict[str, tuple[Any, list[str]]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def embed(self, text: str) -> Any:
        """The unit vector of ``text`` (CPU work: async callers run it in a thread)."""
        return self.encoder.encode([text]).vectors[0]

    def nearest(self, scope: str, vector: Any) -> Match | None:
        """The closest answered message in ``scope`` at or above the threshold, if any."""
        with self._lock:
            found = self._scopes.get(scope)
            if found is None:
                return None
            self._scopes.move_to_end(scope)
            matrix, keys = found
        scores = matrix @ vector
        best = int(scores.argmax())
        similarity = float(scores[best])
        if similarity < self.threshold:
            return None
        return Match(keys[best], similarity)

    def add(self, scope: str, vector: Any, key: str) -> None:
        import numpy as np

        row = np.asarray(vector, dtype=np.float32)[None, :]
        with self._lock:
            found = self._scopes.pop(scope, None)
            if found is None:
                matrix, keys = row, [key]
            else:
                matrix, keys = np.vstack([found[0], row]), [*found[1], key]
                self._size -= len(found[1])
                if len(keys) > _PER_SCOPE:
                    matrix, keys = matrix[-_PER_SCOPE:], keys[-_PER_SCOPE:]
            self._scopes[scope] = (matrix, keys)
            self._size += len(keys)
            while self._size > self.max_entries and len(self._scopes) > 1:
                _, (_, dropped) = self._scopes.popitem(last=False)
                self._size -= len(dropped)
            if self._size > self.max_entries:  # one scope over the bound: trim it
                matrix, keys = self._scopes[scope]
                keep = self.max_entries
                self._scopes[scope] = (matrix[-keep:], keys[-keep:])
                self._size = keep

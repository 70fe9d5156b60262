"""Each numeric write a worker sends to the shared store carries a token, so it is applied once.

A write in flight when the store goes away may have been applied with its reply lost; the
worker counts it locally then (FailoverStore, ``"local"``), and without a token the write-back
would apply it a second time, as would redis-py re-sending it on its one reconnect. So every
``incr``, ``reserve`` and ``hincr`` carries ``(ring, seq)``: ``seq`` counts this worker's writes
and the Lua script that applies the write also records ``seq`` in the worker's ring (a hash of
``SLOTS`` fields, ``seq % SLOTS`` -> ``seq``), in the same atomic step; a write whose ``seq`` is
already in its slot is not applied again. When the store is back, the worker reads its ring
once: a write that failed but is in the ring was applied, and is taken out of the deltas before
they are written back; each delta written back carries its own token too, kept until the
store confirms it, so a write-back cut short and resumed applies it once.

A slot is overwritten only after ``SLOTS`` more writes by the same worker, far more than can be
in flight at once. The ring expires ``TTL_S`` after the worker's last write: a worker away
longer (or a store that came back empty) treats its unconfirmed writes as not applied.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass

SLOTS = 1024
TTL_S = 24 * 3600.0


@dataclass(frozen=True, slots=True)
class OpToken:
    ring: str  # this worker's ring key
    seq: int

    @property
    def slot(self) -> str:
        return str(self.seq % SLOTS)


class OpLog:
    """This worker's write tokens (thread-safe: ``itertools.count`` under the GIL)."""

    def __init__(self, ring: str) -> None:
        self.ring = ring
        self._seq = itertools.count(1)

    def next(self) -> OpToken:
        return OpToken(self.ring, next(self._seq))


def applied(ring: Mapping[str, float], token: OpToken) -> bool:
    """Whether the write of ``token`` was applied, from the worker's ring as read back."""
    return ring.get(token.slot) == float(token.seq)

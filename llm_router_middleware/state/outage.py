"""What one worker knows and owes while the shared store is away (FailoverStore, "local").

``known``: the last value this worker read from the store per numeric key (a budget ledger, a
rate count), kept while the store answers. ``delta``: every numeric change made since the store
went away, written back when it returns. A reservation against a limited key may use only this
worker's share of what was left at its last read: ``(limit - known) / workers``; a key never
read has no known base and refuses. When the store is back, the deltas are written to it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from .oplog import OpLog, OpToken, applied

if TYPE_CHECKING:
    from .redis import RedisStore

_KNOWN_MAX = 100_000  # numeric keys remembered for a local allowance
_EPS = 1e-12
_Unsure = tuple[OpToken, list[tuple[str, float]], tuple[str, dict[str, float]] | None]


class OutageLedger:
    def __init__(self) -> None:
        self.known: dict[str, float] = {}
        self.known_hash: dict[str, dict[str, float]] = {}
        self.delta: dict[str, float] = {}
        self.delta_hash: dict[str, dict[str, float]] = {}
        self.expires: dict[str, float] = {}  # wall-clock expiry of each delta's key
        # writes that failed in flight, which the store may have applied: (token, numeric
        # amounts, hash fields) (state/oplog.py)
        self.unsure_writes: list[_Unsure] = []
        self._tokens: dict[tuple[bool, str], OpToken] = {}  # a delta's write-back token
        self.workers = 1  # live workers at the last heartbeat

    # --- while the store answers ---------------------------------------------------------------

    def remember(self, keys: Sequence[str], values: Sequence[float]) -> None:
        known = self.known
        if len(known) > _KNOWN_MAX:
            known.clear()
        known.update(zip(keys, values, strict=True))

    def remember_one(self, key: str, value: float) -> None:
        self.known[key] = value

    def remember_hash(self, key: str, table: dict[str, float]) -> None:
        self.known_hash[key] = table

    def granted(
        self, refused: str | None, limits: Sequence[tuple[str, float]], amount: float
    ) -> None:
        """The store's answer to a reservation: if granted, the keys we know moved by
        ``amount``."""
        if refused is not None:
            return
        known = self.known
        for key, _limit in limits:
            value = known.get(key)
            if value is not None:
                known[key] = value + amount

    # --- while it does not ---------------------------------------------------------------------

    def numbers(self, keys: Sequence[str]) -> list[float]:
        known, delta = self.known, self.delta
        return [known.get(k, 0.0) + delta.get(k, 0.0) for k in keys]

    def incr(self, key: str, amount: float, ttl_s: float | None) -> float:
        self._add(key, amount, ttl_s)
        return self.known.get(key, 0.0) + self.delta[key]

    def reserve(
        self, limits: Sequence[tuple[str, float]], amount: float, ttl_s: float | None
    ) -> str | None:
        if amount > 0.0:
            for key, limit in limits:
                if limit == math.inf:
                    continue
                base = self.known.get(key)
                if base is None:  # never read here: nothing known to spend from
                    return key
                share = max(0.0, limit - base) / self.workers
                if self.delta.get(key, 0.0) + amount > share + _EPS:
                    return key
        for key, _limit in limits:
            self._add(key, amount, ttl_s)
        return None

    def hincr(self, key: str, fields: Mapping[str, float], ttl_s: float | None) -> None:
        table = self.delta_hash.setdefault(key, {})
        for name, amount in fields.items():
            table[name] = table.get(name, 0.0) + amount
        self._expiry(key, ttl_s)

    def hash(self, key: str) -> dict[str, float]:
        table = dict(self.known_hash.get(key, {}))
        for name, amount in self.delta_hash.get(key, {}).items():
            table[name] = table.get(name, 0.0) + amount
        return table

    def unsure(
        self, op: OpToken, amounts: Sequence[tuple[str, float]], ttl_s: float | None
    ) -> None:
        """A numeric write failed in flight: the store may have applied it (checked when it is
        back, by its token)."""
        self.unsure_writes.append((op, list(amounts), None))
        for key, _amount in amounts:
            self._expiry(key, ttl_s)

    def unsure_hash(
        self, op: OpToken, key: str, fields: Mapping[str, float], ttl_s: float | None
    ) -> None:
        self.unsure_writes.append((op, [], (key, dict(fields))))
        self._expiry(key, ttl_s)

    # --- when it is back -----------------------------------------------------------------------

    def ttl_left(self, key: str, now: float) -> float | None:
        """The TTL to give ``key`` when its delta is written back (None: no expiry)."""
        expires = self.expires.get(key)
        if expires is None or expires == math.inf:
            return None
        return max(1.0, expires - now)

    def write_back(self, store: RedisStore, oplog: OpLog) -> int:
        """Add the deltas to the store, then start again from its values. A write that failed
        in flight but reached the store comes out of the deltas first. Each delta carries a
        write token and leaves the ledger once written: a write-back cut short (the store lost
        again) resumes, and applies each delta once. Returns the keys written."""
        now = time.time()
        if self.unsure_writes:
            self._settle_unsure(store.hgetall(oplog.ring))
        written = 0
        for key, amount in list(self.delta.items()):
            if abs(amount) > _EPS:
                store.incr(key, amount, self.ttl_left(key, now), self._token(False, key, oplog))
                written += 1
            del self.delta[key]
            self._tokens.pop((False, key), None)
        for key, fields in list(self.delta_hash.items()):
            store.hincr(key, fields, self.ttl_left(key, now), self._token(True, key, oplog))
            written += 1
            del self.delta_hash[key]
            self._tokens.pop((True, key), None)
        self.forget()
        return written

    def _settle_unsure(self, ring: Mapping[str, float]) -> None:
        """Take the writes the store applied before it went (found in the ring) out of the
        deltas: the local state counted them too."""
        for op, amounts, table in self.unsure_writes:
            if not applied(ring, op):
                continue
            for key, amount in amounts:
                self.delta[key] = self.delta.get(key, 0.0) - amount
            if table is not None:
                key, fields = table
                mine = self.delta_hash.setdefault(key, {})
                for name, amount in fields.items():
                    mine[name] = mine.get(name, 0.0) - amount
        self.unsure_writes.clear()

    def _token(self, is_hash: bool, key: str, oplog: OpLog) -> OpToken:
        token = self._tokens.get((is_hash, key))
        if token is None:
            token = self._tokens[is_hash, key] = oplog.next()
        return token

    def forget(self) -> None:
        """The deltas were written back: start again from the store's values."""
        self.delta.clear()
        self.delta_hash.clear()
        self.expires.clear()
        self.known.clear()
        self.known_hash.clear()
        self.unsure_writes.clear()
        self._tokens.clear()

    def _add(self, key: str, amount: float, ttl_s: float | None) -> None:
        self.delta[key] = self.delta.get(key, 0.0) + amount
        self._expiry(key, ttl_s)

    def _expiry(self, key: str, ttl_s: float | None) -> None:
        if key not in self.expires:
            self.expires[key] = time.time() + ttl_s if ttl_s is not None else math.inf

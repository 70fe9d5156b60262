"""In-process StateStore: a dict of (value, expiry) under one lock, bounded in size.

Expiry is checked on read (one clock read per call) and swept when the store grows past
``maxsize``. A cachetools TLRUCache did the same job at about 5 us per key read, which made
reading breaker, cooldown, rate and budget state for ten models cost more than the whole plan;
this store reads ten keys in about a microsecond.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

_FOREVER = float("inf")


class MemoryStore:
    """Shared by every request of one process. Not shared between workers: use Redis for that."""

    degraded = False  # never loses its state (read by ``Router.degraded`` on every call)

    def __init__(self, maxsize: int = 100_000, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._maxsize = maxsize
        self._data: dict[str, tuple[Any, float]] = {}
        self._lock = threading.Lock()
        # writes through _put so far (every write of a string record: breakers, cooldowns),
        # and their count when ``read_plan`` last found every key of ``_absent_keys`` absent
        self._strings = 0
        self._absent_keys: Sequence[str] | None = None
        self._absent_at = -1

    def _expiry(self, now: float, ttl_s: float | None) -> float:
        return _FOREVER if ttl_s is None else now + ttl_s

    def _live(self, key: str, now: float) -> tuple[Any, float] | None:
        entry = self._data.get(key)
        if entry is None:
            return None
        if entry[1] <= now:
            del self._data[key]
            return None
        return entry

    def _put(self, key: str, value: Any, expires: float, now: float) -> None:
        self._strings += 1  # set, compare_and_set (and incr, hincr): see read_plan
        data = self._data
        if key not in data and len(data) >= self._maxsize:
            self._evict(now)
        data[key] = (value, expires)

    def _evict(self, now: float) -> None:
        data = self._data
        for key in [k for k, (_, exp) in data.items() if exp <= now]:
            del data[key]
        # still full: drop the oldest insertions (dicts keep insertion order)
        excess = len(data) - int(self._maxsize * 0.9)
        for key in list(data)[: max(0, excess)]:
            del data[key]

    def get_numbers(self, keys: Sequence[str]) -> list[float]:
        now = self._clock()
        with self._lock:
            out = []
            for key in keys:
                entry = self._live(key, now)
                out.append(float(entry[0]) if entry is not None else 0.0)
            return out

    def incr(self, key: str, amount: float, ttl_s: float | None = None) -> float:
        now = self._clock()
        with self._lock:
            entry = self._live(key, now)
            if entry is None:
                value, expires = amount, self._expiry(now, ttl_s)
            else:
                value, expires = float(entry[0]) + amount, entry[1]
            self._put(key, value, expires, now)
            return float(value)

    def reserve(
        self, limits: Sequence[tuple[str, float]], amount: float, ttl_s: float | None = None
    ) -> str | None:
        now = self._clock()
        data = self._data
        new_expiry = _FOREVER if ttl_s is None else now + ttl_s
        lock = self._lock
        lock.acquire()  # not ``with``: every call reserves and settles here
        try:
            if len(data) + len(limits) >= self._maxsize:  # its inserts may evict: two passes
                return self._reserve_parsed(limits, amount, new_expiry, now)
            # One pass: each key is written once it passes, and the live entry it replaced
            # (None for a key inserted anew) kept, to be put back if a later key refuses: all
            # or nothing, as checking every key before writing any (which built and unpacked a
            # (key, (value, expiry)) pair per key, then looped again). Stored numbers are added
            # as they are (float() per key cost more than the add).
            replaced: list[tuple[Any, float] | None] = []
            try:
                for key, limit in limits:
                    entry = data.get(key)
                    if entry is not None and entry[1] > now:
                        value, expires = entry[0] + amount, entry[1]
                    else:
                        if entry is not None:  # expired: the key is inserted anew
                            del data[key]
                            entry = None
                        value, expires = 0.0 + amount, new_expiry
                    if value > limit + 1e-12:
                        self._put_back(limits, replaced)
                        return key
                    data[key] = (value, expires)
                    replaced.append(entry)
            except TypeError:  # a number stored as a string (set): parsed, as Redis would
                self._put_back(limits, replaced)
                return self._reserve_parsed(limits, amount, new_expiry, now)
            return None
        finally:
            lock.release()

    def _put_back(
        self, limits: Sequence[tuple[str, float]], replaced: list[tuple[Any, float] | None]
    ) -> None:
        """Undo ``reserve``'s writes of the first ``len(replaced)`` keys (the lock held), the
        last written first (a key listed twice ends as it was): the live entries put back in
        place, the keys inserted anew removed (an expired entry a key replaced stays removed,
        as a refused reservation leaves it)."""
        data = self._data
        written = list(zip(limits, replaced, strict=False))
        for (key, _limit), entry in reversed(written):
            if entry is None:
                del data[key]
            else:
                data[key] = entry

    def _reserve_parsed(
        self, limits: Sequence[tuple[str, float]], amount: float, new_expiry: float, now: float
    ) -> str | None:
        """``reserve`` checking every key before writing any (the lock held), every stored
        value read through float(): for a number stored as a string, and for a store so full
        that an insert may evict (the eviction happens only once every key has passed)."""
        data = self._data
        current = []
        for key, limit in limits:
            entry = data.get(key)
            if entry is not None and entry[1] > now:
                value, expires = float(entry[0]) + amount, entry[1]
            else:
                if entry is not None:  # expired
                    del data[key]
                value, expires = 0.0 + amount, new_expiry
            if value > limit + 1e-12:
                return key
            current.append((key, (value, expires)))
        for key, entry in current:
            if key not in data and len(data) >= self._maxsize:
                self._evict(now)
            data[key] = entry
        return None

    def charge(
        self, limits: Sequence[tuple[str, float]], amount: float, ttl_s: float | None = None
    ) -> None:
        """``reserve(limits, amount, ttl_s)`` with no limit applied (a budget settlement:
        the actual cost is charged even past a limit), in one pass."""
        now = self._clock()
        data = self._data
        lock = self._lock
        lock.acquire()
        try:
            for key, _limit in limits:
                entry = data.get(key)
                if entry is not None and entry[1] > now:
                    try:  # as reserve: a stored number added as it is
                        data[key] = (entry[0] + amount, entry[1])
                    except TypeError:  # a number stored as a string (set)
                        data[key] = (float(entry[0]) + amount, entry[1])
                else:
                    if entry is None and len(data) >= self._maxsize:
                        self._evict(now)
                    data[key] = (0.0 + amount, _FOREVER if ttl_s is None else now + ttl_s)
        finally:
            lock.release()

    def hincr(self, key: str, fields: Mapping[str, float], ttl_s: float | None = None) -> None:
        now = self._clock()
        with self._lock:
            entry = self._live(key, now)
            table: dict[str, float] = dict(entry[0]) if entry is not None else {}
            for name, amount in fields.items():
                table[name] = table.get(name, 0.0) + amount
            expires = entry[1] if entry is not None else self._expiry(now, ttl_s)
            self._put(key, table, expires, now)

    def hgetall(self, key: str) -> dict[str, float]:
        now = self._clock()
        with self._lock:
            entry = self._live(key, now)
            return dict(entry[0]) if entry is not None else {}

    def get_many(self, keys: Sequence[str]) -> list[str | None]:
        now = self._clock()
        with self._lock:
            out: list[str | None] = []
            for key in keys:
                entry = self._live(key, now)
                out.append(entry[0] if entry is not None else None)
            return out

    def read_plan(
        self, keys: Sequence[str], numeric: Sequence[str]
    ) -> tuple[list[str | None] | None, list[float]]:
        """``get_many(keys)`` and ``get_numbers(numeric)`` under one lock and one clock read
        (planning's two reads of every call), with None for the string values when every key
        is absent (planning's common case: no breaker record, no cooldown). ``keys`` is a list
        fixed at start-up (``StateReads.keys``): once found all absent, it is read again only
        after a write through ``_put`` (``set``, ``compare_and_set``, the writers of string
        records; also ``incr``, ``hincr``): a key does not appear otherwise (the budget and
        breaker-window writers write numbers and windows, never a string record), and expiry
        only removes."""
        now = self._clock()
        data = self._data
        lock = self._lock
        lock.acquire()
        try:
            if keys is self._absent_keys and self._strings == self._absent_at:
                out = None
            else:
                out = self._read_strings(keys, now)
                if not any(out):
                    out = None
                    self._absent_keys, self._absent_at = keys, self._strings
            values: list[float] = []
            for key in numeric:
                entry = data.get(key)
                if entry is None:
                    values.append(0.0)
                elif entry[1] <= now:
                    del data[key]
                    values.append(0.0)
                else:
                    values.append(float(entry[0]))
            return out, values
        finally:
            lock.release()

    def _read_strings(self, keys: Sequence[str], now: float) -> list[str | None]:
        """The string values at ``keys`` (None where absent or expired; expired ones dropped),
        the lock held."""
        data = self._data
        out: list[str | None] = []
        for key in keys:
            entry = data.get(key)
            if entry is None:
                out.append(None)
            elif entry[1] <= now:
                del data[key]
                out.append(None)
            else:
                out.append(entry[0])
        return out

    def set(self, key: str, value: str, ttl_s: float | None = None) -> None:
        now = self._clock()
        with self._lock:
            self._put(key, value, self._expiry(now, ttl_s), now)

    def compare_and_set(
        self, key: str, expected: str | None, new: str, ttl_s: float | None = None
    ) -> bool:
        now = self._clock()
        with self._lock:
            entry = self._live(key, now)
            if (entry[0] if entry is not None else None) != expected:
                return False
            self._put(key, new, self._expiry(now, ttl_s), now)
            return True

    def tally(
        self,
        key: str,
        bucket: int,
        keep_from: int,
        failed: bool,
        ttl_s: float,
        peek: str | None = None,
    ) -> tuple[int, int, int, str | None]:
        now = self._clock()
        with self._lock:
            streak, counts = self._count(key, bucket, keep_from, failed, ttl_s, now)
            requests = failures = 0
            for r, f in counts.values():
                requests += r
                failures += f
            return streak, requests, failures, self._peek(peek, now)

    def count_success(
        self, key: str, bucket: int, keep_from: int, ttl_s: float, peek: str | None = None
    ) -> str | None:
        """``tally(key, bucket, keep_from, False, ttl_s, peek)[3]`` without summing the window:
        every answered call's breaker count comes here (``BreakerBoard.record_success``)."""
        now = self._clock()
        data = self._data
        lock = self._lock
        lock.acquire()
        try:
            entry = data.get(key)  # _count's success path, inlined
            if entry is not None and entry[1] > now:
                record = entry[0]
                counts = record[2]
                got = counts.get(bucket)
                if got is not None:  # the current bucket, counted in: the record is kept
                    counts[bucket] = (got[0] + 1, got[1])
                    if record[0]:  # a failure streak ends
                        record = (0, record[1], counts)
                else:  # a new bucket: the old ones leave the window (tally drops them too)
                    if counts and min(counts) < keep_from:
                        counts = {b: rf for b, rf in counts.items() if b >= keep_from}
                    counts[bucket] = (1, 0)
                    record = (0, record[1], counts)
                data[key] = (record, now + ttl_s)
            else:
                self._count(key, bucket, keep_from, False, ttl_s, now)
            if peek is None:  # _peek, inlined
                return None
            entry = data.get(peek)
            if entry is None:
                return None
            if entry[1] <= now:
                del data[peek]
                return None
            value: str = entry[0]
            return value
        finally:
            lock.release()

    def _count(
        self, key: str, bucket: int, keep_from: int, failed: bool, ttl_s: float, now: float
    ) -> tuple[int, dict[int, tuple[int, int]]]:
        """Count one outcome in the window at ``key`` (the lock held): the streak and buckets."""
        data = self._data
        entry = data.get(key)  # _live and _put inlined
        if entry is not None and entry[1] > now:
            streak, last, counts = entry[0]
            if counts and min(counts) < keep_from:
                counts = {b: rf for b, rf in counts.items() if b >= keep_from}
        else:
            if entry is not None:
                del data[key]
            if len(data) >= self._maxsize:
                self._evict(now)
            streak, last, counts = 0, bucket, {}
        requests, failures = counts.get(bucket, (0, 0))
        if failed:
            counts[bucket] = (requests + 1, failures + 1)
            streak, last = (streak + 1 if last >= keep_from else 1), bucket
        else:
            counts[bucket] = (requests + 1, failures)
            streak = 0
        data[key] = ((streak, last, counts), now + ttl_s)
        return streak, counts

    def _peek(self, key: str | None, now: float) -> str | None:
        entry = None if key is None else self._live(key, now)
        if entry is None:
            return None
        value: str = entry[0]
        return value

    def delete(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)

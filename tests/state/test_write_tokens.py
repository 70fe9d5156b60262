"""A numeric write whose reply is lost is applied once: by Redis (redis-py re-sending it on its
reconnect) or by the write-back after an outage, including a write-back cut short and resumed.

A loopback TCP proxy in front of the real redis-server loses one reply on demand: Redis has
applied the write, the client sees its connection drop.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Iterator

import pytest
import redis

from llm_router_middleware.state import RedisStore
from llm_router_middleware.state.failover import FailoverStore


class LossyProxy:
    """Forwards TCP to Redis. ``lose_reply()``: the reply to the next script call (EVALSHA, a
    numeric write) is dropped with its connection, after Redis applied the write; with
    ``then_refuse`` every new connection then closes at once, as a dead server's would."""

    def __init__(self, target: tuple[str, int]) -> None:
        self._target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.refuse = False
        self._armed = False
        self._then_refuse = True
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def lose_reply(self, *, then_refuse: bool = True) -> None:
        with self._lock:
            self._armed, self._then_refuse = True, then_refuse

    def stop(self) -> None:
        self._stopped = True
        self._listener.close()
        with self._lock:
            for sock in self._sockets:
                sock.close()

    def _accept(self) -> None:
        while not self._stopped:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self.refuse:
                client.close()
                continue
            upstream = socket.create_connection(self._target)
            with self._lock:
                self._sockets += [client, upstream]
            doomed = threading.Event()  # this connection's next reply is lost
            for args in ((client, upstream, doomed, False), (upstream, client, doomed, True)):
                threading.Thread(target=self._pump, args=args, daemon=True).start()

    def _pump(
        self, source: socket.socket, sink: socket.socket, doomed: threading.Event, replies: bool
    ) -> None:
        try:
            while data := source.recv(65536):
                if replies and doomed.is_set():
                    self.refuse = self._then_refuse
                    break
                if not replies and b"EVALSHA" in data.upper():
                    with self._lock:
                        if self._armed:
                            self._armed = False
                            doomed.set()
                sink.sendall(data)
        except OSError:
            pass
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


@pytest.fixture
def proxy(redis_url: str) -> Iterator[LossyProxy]:
    port = int(redis_url.rsplit(":", 1)[1].split("/", 1)[0])
    lossy = LossyProxy(("127.0.0.1", port))
    yield lossy
    lossy.stop()


def _failover(proxy: LossyProxy) -> FailoverStore:
    primary = RedisStore.from_url(f"redis://127.0.0.1:{proxy.port}/0")
    return FailoverStore(primary, probe_interval_s=3600.0, heartbeat_s=3600.0)


def _value(redis_url: str, key: str) -> float:
    with redis.Redis.from_url(redis_url) as direct:
        raw = direct.get(key)
    return float(raw or 0)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_write_applied_before_redis_died_is_not_written_back_again(
    mode: str, proxy: LossyProxy, redis_url: str
) -> None:
    store = _failover(proxy)
    store.incr("spend", 1.0)
    store.get_numbers(["budget"])  # known, so a local reservation may spend from it
    store.reserve([("budget", 100.0)], 2.0)
    if mode == "sync":
        proxy.lose_reply()  # Redis applies the next write; its reply is lost and Redis is gone
        assert store.incr("spend", 5.0) == 6.0  # served locally from the last value read
    else:

        async def lost() -> float:
            await store.aget_numbers(["warm"])  # this loop's connection, before the loss
            proxy.lose_reply()
            return await store.aincr("spend", 5.0)

        assert asyncio.run(lost()) == 6.0
    assert store.degraded
    store.incr("spend", 0.5)  # made during the outage: written back
    assert store.reserve([("budget", 100.0)], 3.0) is None
    assert _value(redis_url, "spend") == 6.0  # the lost reply's write was applied
    proxy.refuse = False
    assert store.probe()
    assert _value(redis_url, "spend") == 6.5  # +5 once, +0.5 once
    assert _value(redis_url, "budget") == 5.0
    assert store.written_back == 2


def test_a_reservation_applied_before_redis_died_is_counted_once(
    proxy: LossyProxy, redis_url: str
) -> None:
    store = _failover(proxy)
    store.get_numbers(["budget"])  # known, so a local reservation may spend from it
    proxy.lose_reply()
    assert store.reserve([("budget", 100.0)], 4.0) is None
    proxy.refuse = False
    assert store.probe()
    assert _value(redis_url, "budget") == 4.0


def test_a_write_redis_py_re_sends_on_reconnect_is_applied_once(
    proxy: LossyProxy, redis_url: str
) -> None:
    store = _failover(proxy)
    store.incr("spend", 1.0)
    proxy.lose_reply(then_refuse=False)  # the connection drops; redis-py reconnects, re-sends
    assert store.incr("spend", 5.0) == 6.0
    store.hincr("arms", {"a": 1.0})
    proxy.lose_reply(then_refuse=False)
    store.hincr("arms", {"a": 2.0})
    assert not store.degraded
    assert _value(redis_url, "spend") == 6.0
    with redis.Redis.from_url(redis_url) as direct:
        assert float(direct.hget("arms", "a") or 0) == 3.0


def test_a_write_back_cut_short_resumes_and_applies_each_delta_once(
    proxy: LossyProxy, redis_url: str
) -> None:
    store = _failover(proxy)
    store.get_numbers(["a", "b"])
    proxy.refuse = True
    store.primary.close()  # drop the pooled connection: the next one is refused
    assert store.incr("a", 1.0) == 1.0
    assert store.degraded
    store.incr("b", 2.0)
    store.hincr("h", {"x": 3.0})
    proxy.refuse = False
    proxy.lose_reply()  # PING answers, then the first write-back's reply is lost
    assert not store.probe()
    assert store.degraded
    proxy.refuse = False
    assert store.probe()
    assert (_value(redis_url, "a"), _value(redis_url, "b")) == (1.0, 2.0)
    with redis.Redis.from_url(redis_url) as direct:
        assert float(direct.hget("h", "x") or 0) == 3.0

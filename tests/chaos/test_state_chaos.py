"""Shared state under faults: budgets exact across workers, Redis killed mid-run ("local" keeps
serving within a bounded overspend and reconciles; "refuse" answers 503 naming no address).

In process first (one FailoverStore or Router on a redis-server we kill), then over real HTTP:
uvicorn with two worker processes on one redis-server, the fake provider upstream. Figures are
read through the Router's read API (``/spend``, ``/health`` call ``aspend`` and ``ahealth``).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from state_support import (
    MESSAGES,
    RedisProcess,
    health_of_every_worker,
    load,
    router_config,
    served,
    served_in_process,
    spent,
    wait_until_recovered,
)

from llm_router_middleware import RequestContext, Router
from llm_router_middleware.state import RedisStore, RedisUnavailableError
from llm_router_middleware.state.failover import FailoverStore
from llm_router_middleware.testing import FakeProvider

BUDGET = 0.02  # per user per day, USD: about 40 calls of the primary
INFRA = ("redis", "127.0.0.1", "6379", "unreachable", "Connection refused")


def _exporter() -> InMemorySpanExporter:
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


EXPORTER = _exporter()


@pytest.fixture(scope="module")
def provider() -> Iterator[FakeProvider]:
    with FakeProvider() as fake:
        yield fake


@pytest.fixture(scope="module")
def redis_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisProcess]:
    server = RedisProcess(tmp_path_factory.mktemp("chaos-redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_up(redis_process: RedisProcess) -> RedisProcess:
    """The killable server, running and empty."""
    if redis_process.process is None:
        redis_process.start()
    redis_process.flush()
    return redis_process


def no_infrastructure(text: str, port: int) -> None:
    for leak in (*INFRA, str(port)):
        assert leak not in text, f"{leak!r} leaked into {text!r}"


# --- in process ----------------------------------------------------------------------------------


def test_a_lost_store_keeps_serving_within_each_workers_share_and_writes_back(
    redis_up: RedisProcess,
) -> None:
    workers = [
        FailoverStore(RedisStore.from_url(redis_up.url), probe_interval_s=3600.0, heartbeat_s=0)
        for _ in range(2)
    ]
    limits = [("spend:u1", 1.0), ("spend:global", math.inf)]
    try:
        first, _second = workers
        assert first.reserve(limits, 0.2) is None  # 0.2 spent while Redis is up
        for store in workers:  # each worker's last read, and the heartbeat counting both
            store.get_numbers(["spend:u1"])
        first.get_numbers(["spend:u1"])
        assert first.workers == 2

        redis_up.kill()
        # 0.8 was left: each of the two workers may spend 0.4 of it, no more
        assert first.reserve(limits, 0.3) is None
        assert first.degraded
        assert first.outages == 1
        assert first.reserve(limits, 0.15) == "spend:u1"
        assert first.reserve(limits, 0.1) is None
        assert first.get_numbers(["spend:u1"]) == [pytest.approx(0.6)]
        assert first.reserve(limits, -0.05) is None  # a settlement below the estimate
        assert first.reserve([("spend:stranger", 1.0)], 0.01) == "spend:stranger"  # never read
        assert first.incr("rpm:primary", 3.0, ttl_s=120) == 3.0
        first.hincr("arm:control", {"n": 2.0})
        first.set("breaker:primary", '{"s":"o"}', ttl_s=30)
        assert first.get_many(["breaker:primary"]) == ['{"s":"o"}']
        assert first.probes == 0  # no reconnect per call: the probe is due only every hour

        redis_up.start()  # the append-only file kept every acknowledged write
        assert first.probe()
        assert not first.degraded
        assert first.written_back == 4
        with RedisStore.from_url(redis_up.url) as direct:
            assert direct.get_numbers(["spend:u1", "spend:global", "rpm:primary"]) == [
                pytest.approx(0.55),
                pytest.approx(0.55),
                3.0,
            ]
            assert direct.hgetall("arm:control") == {"n": 2.0}
            assert direct.get_many(["breaker:primary"]) == [None]  # local records are dropped
    finally:
        for store in workers:
            store.close()


def test_refuse_mode_answers_503_naming_no_address_then_recovers(redis_up: RedisProcess) -> None:
    store = FailoverStore(
        RedisStore.from_url(redis_up.url), on_unavailable="refuse", probe_interval_s=3600.0
    )
    try:
        store.get_numbers(["k"])
        redis_up.kill()
        for _ in range(3):
            with pytest.raises(RedisUnavailableError) as caught:
                store.get_numbers(["k"])
            error = caught.value
            assert error.status_code == 503
            no_infrastructure(error.message + json.dumps(error.to_json()), redis_up.port)
        assert store.degraded
        assert not store.available
        redis_up.start()
        assert store.probe()
        assert store.get_numbers(["k"]) == [0.0]
    finally:
        store.close()


def test_a_degraded_router_says_so_in_its_span_log_and_health(
    redis_up: RedisProcess, provider: FakeProvider, caplog: pytest.LogCaptureFixture
) -> None:
    router = Router.from_config(router_config(provider.base_url, redis_up.url, per_user_usd=1.0))
    user = RequestContext(user_id="u-span")
    try:
        assert router.health().state == "redis"
        router.complete(MESSAGES, user, max_tokens=16)  # read once: the budget base is known
        redis_up.kill()
        EXPORTER.clear()
        with caplog.at_level(logging.WARNING, logger="llm_router_middleware.state"):
            reply = router.complete(MESSAGES, user, max_tokens=16)
        assert reply.routing.model == "primary"
        routes = [s for s in EXPORTER.get_finished_spans() if s.name.startswith("route ")]
        assert routes
        assert routes[-1].attributes is not None
        assert routes[-1].attributes["llm_router.state.degraded"] is True
        assert any("router degraded" in r.getMessage() for r in caplog.records)
        report = router.health()
        assert (report.ready, report.state, report.degraded) == (True, "degraded", True)
        no_infrastructure(json.dumps(report.to_json()), redis_up.port)
    finally:
        router.store.close()  # type: ignore[attr-defined]


async def test_the_async_read_api_matches_the_sync_one(
    redis_up: RedisProcess, provider: FakeProvider
) -> None:
    router = Router.from_config(router_config(provider.base_url, redis_up.url, per_user_usd=1.0))
    user = RequestContext(user_id="u-async")
    try:
        reply = await router.acomplete(MESSAGES, user, max_tokens=16)
        sync, asynchronous = router.spend("u-async"), await router.aspend("u-async")
        assert sync == asynchronous
        assert sync.scope("user:u-async").spent_usd == pytest.approx(reply.routing.cost_usd)
        assert sync.remaining_usd == pytest.approx(1.0 - reply.routing.cost_usd)
        assert router.models_status() == await router.amodels_status()
        assert (await router.ahealth()).ready
    finally:
        await router.store.aclose()  # type: ignore[attr-defined]


# --- over HTTP: uvicorn, two workers, one redis-server -------------------------------------------


@pytest.fixture(scope="module")
def local_app(
    redis_process: RedisProcess, provider: FakeProvider, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if redis_process.process is None:
        redis_process.start()
    config = router_config(provider.base_url, redis_process.url, per_user_usd=BUDGET)
    with served(config, tmp_path_factory.mktemp("chaos-local"), workers=2) as url:
        yield url


def _call_cost(url: str) -> float:
    """One call's cost, charged to a throwaway user."""
    response = httpx.post(f"{url}/chat", headers={"x-user": "probe"}, timeout=30.0)
    assert response.status_code == 200, response.text
    cost: float = response.json()["cost"]
    return cost


def test_two_workers_charge_exactly_what_clients_were_told_and_never_overspend(
    local_app: str, redis_process: RedisProcess
) -> None:
    users = [f"w{i}" for i in range(4)]
    outcome = load(local_app, users, requests=240, concurrency=16)
    assert outcome.failed == 0, outcome.bodies[:3]
    assert outcome.statuses[402] > 0  # the budgets were binding
    for user in users:
        recorded = spent(local_app, user)
        assert recorded == pytest.approx(outcome.charged[user], abs=1e-9)
        assert recorded <= BUDGET + 1e-9  # overspend 0
        assert recorded > BUDGET / 2  # the budget was used, not held by lost reservations


def test_redis_killed_mid_run_local_mode_serves_everything_and_reconciles(
    local_app: str, redis_process: RedisProcess
) -> None:
    users = ["k1", "k2"]
    cost = _call_cost(local_app)
    # about 12 calls per user before the kill, 50 while Redis is away (the budget runs out
    # then, each worker spending its share of what was left), the rest after it is back
    events = [(24, redis_process.kill), (124, redis_process.start)]
    outcome = load(local_app, users, requests=160, concurrency=8, events=events)
    wait_until_recovered(local_app, workers=2)
    outcome.add(load(local_app, users, requests=20, concurrency=8))
    assert outcome.failed == 0, outcome.bodies[:3]
    assert outcome.statuses[200] > 0
    assert outcome.statuses[402] > 0
    for user in users:
        recorded = spent(local_app, user)
        # every cost a client was told about is in Redis after the write-back, and nothing else:
        # a write in flight when Redis died is applied once (write tokens, README "When Redis
        # is lost"), and Redis keeps what it acknowledged (appendonly) across the SIGKILL
        assert recorded == pytest.approx(outcome.charged[user], abs=1e-9)
        # overspend bound (README): what other workers spent after a worker's last read,
        # at most the calls in flight for one user (8 at a time / 2 users) on each worker
        assert recorded - BUDGET <= 2 * 4 * cost
        assert recorded > BUDGET / 2
    healths = health_of_every_worker(local_app, workers=2)
    assert all(not h["degraded"] and h["state"] == "redis" for h in healths.values())


def test_redis_killed_in_refuse_mode_answers_503_without_infrastructure_details(
    redis_process: RedisProcess, provider: FakeProvider
) -> None:
    if redis_process.process is None:
        redis_process.start()
    config: dict[str, Any] = router_config(
        provider.base_url, redis_process.url, per_user_usd=BUDGET, on_unavailable="refuse"
    )
    users = ["r1", "r2"]
    with served_in_process(config) as url:
        before = load(url, users, requests=10, concurrency=4)
        assert before.statuses == {200: 10}
        redis_process.kill()
        during = load(url, users, requests=20, concurrency=4)
        assert during.statuses == {503: 20}
        for body in during.bodies:
            assert json.loads(body)["error"]["type"] == "state_unavailable"
            no_infrastructure(body, redis_process.port)
        health = httpx.get(f"{url}/health", timeout=10.0).json()
        assert (health["ready"], health["state"]) == (False, "unavailable")
        redis_process.start()
        wait_until_recovered(url, workers=1)
        after = load(url, users, requests=10, concurrency=4)
        assert after.statuses == {200: 10}
        assert spent(url, "r1") == pytest.approx(before.charged["r1"] + after.charged["r1"])

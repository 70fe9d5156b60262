"""A real redis-server for the state tests: one per session on a free loopback port."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import redis

from llm_router_middleware.state import RedisStore
from llm_router_middleware.state.failover import FailoverStore
from llm_router_middleware.state.redis_connection import async_kwargs


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_for_ping(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 10.0
    with redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0) as client:
        while True:
            if server.poll() is not None:
                pytest.fail(f"redis-server exited with {server.returncode}:\n{log.read_text()}")
            try:
                if client.ping():
                    return
            except redis.ConnectionError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"redis-server did not answer PING within 10 s:\n{log.read_text()}")
            time.sleep(0.02)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a private redis-server, stopped when the session ends."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail(
            "redis-server is not on PATH; the Redis state-store tests need a real server. "
            "Install it with scripts/ensure-redis.sh (apt-get install redis-server)."
        )
    workdir = tmp_path_factory.mktemp("redis")
    port = free_port()
    log = workdir / "redis.log"
    command = [
        binary,
        "--port", str(port),
        "--bind", "127.0.0.1",
        "--save", "",
        "--appendonly", "no",
        "--dir", str(workdir),
        "--logfile", str(log),
    ]  # fmt: skip
    server = subprocess.Popen(command, cwd=workdir, stdin=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        _wait_for_ping(url, server, log)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=5)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=5)


@pytest.fixture
def redis_url(redis_server: str) -> str:
    """The server's URL, emptied (FLUSHALL) before the test."""
    with redis.Redis.from_url(redis_server) as client:
        client.flushall()
    return redis_server


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on."""
    return free_port()


@pytest.fixture
async def split_store(redis_url: str, closed_port: int) -> AsyncIterator[FailoverStore]:
    """A store whose asyncio client reaches the real Redis and whose sync client a port nothing
    listens on: any sync call degrades it (``router.degraded``), so a test can show a path does
    all its state I/O on the asyncio client."""
    dead = redis.Redis.from_url(f"redis://127.0.0.1:{closed_port}/0", socket_connect_timeout=1)
    live = async_kwargs(redis.Redis.from_url(redis_url))
    store = FailoverStore(RedisStore(dead, async_options=live), probe_interval_s=3600.0)
    yield store
    await store.aclose()

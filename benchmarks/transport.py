"""Per-call cost of each way to call an OpenAI-compatible model, against the same local upstream,
in interleaved rounds in one run; then requests/s through uvicorn (2 workers, 64 concurrent
clients, 50 ms upstream) for an app calling ours (native) vs an app calling a raw client.

    python benchmarks/transport.py [--rounds 150] [--per-round 2] [--seconds 6] [--no-uvicorn]

Variants per call: raw httpx, httpcore and aiohttp POSTs + JSON decode (the client libraries
the native transport could use), the OpenAI SDK (cached AsyncOpenAI), litellm.acompletion, ours
through litellm, the native transport alone (its ``acomplete``, no router), ours native, and
TensorZero's embedded gateway when the `tensorzero` package is installed
(`pip install -e '.[bench]'`). Each call's wall time, and each variant's process CPU time per
call (steadier on a busy machine; it counts work a call leaves running in the background, such
as litellm's logging, which is let finish after each variant's turn so it never lands on the
next variant). The upstream is the project's fake provider in a separate process (no GIL shared
with the callers). Targets (issue 12): native adds <= 0.5 ms p50 over raw httpx and is within
1.5x of TensorZero embedded; ours through litellm adds <= 0.3 ms over litellm.acompletion;
through uvicorn, ours >= 0.9 of the raw client's requests/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, Stats, machine, settle_heap, setup_env, table

setup_env()

import aiohttp  # noqa: E402
import httpcore  # noqa: E402
import httpx  # noqa: E402

from llm_router_middleware import RequestContext, Router  # noqa: E402
from llm_router_middleware.client import litellm_module  # noqa: E402
from llm_router_middleware.transport import transport_for  # noqa: E402

KEY = "sk-bench-not-a-real-key"
MESSAGES = [{"role": "user", "content": "Hi! What is the capital of France?"}]
CONTEXT = RequestContext(user_id="u1")
AsyncFn = Callable[[], Awaitable[object]]

_UPSTREAM = """
import sys, time
from llm_router_middleware.testing import Behavior, FakeProvider
with FakeProvider(Behavior(latency_s=float(sys.argv[1]))) as provider:
    print(provider.base_url, flush=True)
    sys.stdin.read()
"""


@contextmanager
def upstream(latency_s: float) -> Iterator[str]:
    """The fake provider in its own process; yields its base URL."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _UPSTREAM, str(latency_s)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    assert proc.stdin is not None
    try:
        yield proc.stdout.readline().strip()
    finally:
        proc.stdin.close()
        proc.wait(timeout=10)


def config(base: str, transport: str) -> dict[str, Any]:
    model = {
        "name": "cheap",
        "model": "openai/gpt-4o-mini",
        "api_base": base,
        "api_key": KEY,
        "input_cost_per_1m": 0.15,
        "output_cost_per_1m": 0.6,
        "context_window": 128000,
        "timeout_s": 30,
        "transport": transport,
    }
    return {"models": [model], "routing": {"strategy": "fixed"}}


def tensorzero_config(base: str) -> str:
    return f"""
[gateway.observability]
enabled = false

[models.fake]
routing = ["fake"]

[models.fake.providers.fake]
type = "openai"
model_name = "gpt-4o-mini"
api_base = "{base}/"
api_key_location = "none"
"""


async def tensorzero_variant(base: str) -> tuple[AsyncFn | None, str]:
    try:
        from tensorzero import AsyncTensorZeroGateway
    except ImportError:
        return None, "skipped: the tensorzero package is not installed (pip install -e '.[bench]')"
    folder = tempfile.mkdtemp(prefix="tz-bench-")
    path = Path(folder) / "tensorzero.toml"
    path.write_text(tensorzero_config(base))
    try:
        building: Any = AsyncTensorZeroGateway.build_embedded(
            config_file=str(path), async_setup=True
        )
        gateway: Any = await building
    except Exception as exc:  # a build that needs what this machine lacks: say so, go on
        return None, f"skipped: TensorZero's embedded gateway did not start ({exc!s:.200})"
    tz_input = {"messages": MESSAGES}

    async def call() -> object:
        return await gateway.inference(model_name="fake", input=tz_input)

    return call, f"tensorzero {_version('tensorzero')}, embedded gateway"


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


async def per_call(
    base: str, rounds: int, per_round: int
) -> tuple[dict[str, Stats], dict[str, float]]:
    litellm = litellm_module()
    from openai import AsyncOpenAI

    url = base + "/chat/completions"
    body = json.dumps({"model": "gpt-4o-mini", "messages": MESSAGES}).encode()
    headers = {"content-type": "application/json", "authorization": f"Bearer {KEY}"}
    hx = httpx.AsyncClient(timeout=30)
    pool = httpcore.AsyncConnectionPool(max_connections=1024)
    core_headers = [(k.encode(), v.encode()) for k, v in headers.items()]
    session = aiohttp.ClientSession()
    sdk = AsyncOpenAI(base_url=base, api_key=KEY, max_retries=0)
    via_litellm = Router.from_config(config(base, "litellm"))
    native = Router.from_config(config(base, "native"))
    kwargs = {
        "model": "openai/gpt-4o-mini",
        "messages": MESSAGES,
        "api_base": base,
        "api_key": KEY,
        "timeout": 30.0,
        "max_retries": 0,
        "num_retries": 0,
    }

    async def raw_httpx() -> object:
        return json.loads((await hx.post(url, content=body, headers=headers)).content)

    async def raw_httpcore() -> object:
        answer = await pool.request("POST", url, headers=core_headers, content=body)
        return json.loads(answer.content)

    async def raw_aiohttp() -> object:
        async with session.post(url, data=body, headers=headers) as answer:
            return json.loads(await answer.read())

    async def openai_sdk() -> object:
        return await sdk.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)  # type: ignore[arg-type]

    async def litellm_raw() -> object:
        return await litellm.acompletion(**kwargs)

    async def ours_litellm() -> object:
        return await via_litellm.handle(CONTEXT).acomplete(MESSAGES)

    alone = transport_for(native.config.models["cheap"])

    async def native_alone() -> object:
        return await alone.acomplete(kwargs)

    async def ours_native() -> object:
        return await native.handle(CONTEXT).acomplete(MESSAGES)

    variants: dict[str, AsyncFn] = {
        "raw httpx POST": raw_httpx,
        "raw httpcore POST": raw_httpcore,
        "raw aiohttp POST": raw_aiohttp,
        "OpenAI SDK (AsyncOpenAI)": openai_sdk,
        "litellm.acompletion": litellm_raw,
        "ours, transport=litellm": ours_litellm,
        "native transport alone": native_alone,
        "ours, transport=native": ours_native,
    }
    tz_call, tz_note = await tensorzero_variant(base)
    if tz_call is not None:
        variants["TensorZero embedded"] = tz_call
    print(f"  TensorZero: {tz_note}")
    samples, cpu = await interleaved(variants, rounds, per_round, warmup=20)
    await hx.aclose()
    await pool.aclose()
    await session.close()
    await sdk.close()
    return {name: Stats.of([v / 1000 for v in values]) for name, values in samples.items()}, cpu


async def settle(step_s: float = 0.002, limit_s: float = 0.5) -> None:
    """Wait until the process is idle: work a variant left behind (litellm logs each call and
    computes its cost in a background task and threads after ``acompletion`` returned) runs
    now, counted in that variant's CPU time instead of landing on the next variant's calls."""
    deadline = time.perf_counter() + limit_s
    while time.perf_counter() < deadline:
        cpu = time.process_time()
        await asyncio.sleep(step_s)
        if time.process_time() - cpu < step_s / 10:
            return


async def interleaved(
    variants: dict[str, AsyncFn], rounds: int, per_round: int, warmup: int
) -> tuple[dict[str, list[float]], dict[str, float]]:
    """Each call's wall time in µs, variants taking turns (each round in a new shuffled order, so
    none always runs on the caches litellm's heavy calls left cold), and each variant's process
    CPU time per call in µs (median over rounds): its calls plus what they left running in the
    background, settled after each turn so no variant pays for another's leftovers."""
    for fn in variants.values():
        for _ in range(warmup):
            await fn()
        await settle()
    settle_heap()
    samples: dict[str, list[float]] = {name: [] for name in variants}
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    clock, used = time.perf_counter_ns, time.process_time_ns
    order = list(variants.items())
    shuffle = random.Random(12).shuffle
    for _ in range(rounds):
        shuffle(order)
        for name, fn in order:
            out = samples[name]
            c0 = used()
            for _ in range(per_round):
                t0 = clock()
                await fn()
                out.append((clock() - t0) / 1000)
            await settle()
            cpu[name].append((used() - c0) / 1000 / per_round)
    return samples, {name: sorted(v)[len(v) // 2] for name, v in cpu.items()}


# --- requests/s through uvicorn ------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def served(base: str, port: int) -> Iterator[str]:
    env = {**os.environ, "BENCH_UPSTREAM": base, "PYTHONPATH": str(ROOT / "benchmarks")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "_transport_app:app",
            "--workers",
            "2",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env=env,
        cwd=ROOT / "benchmarks",
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300  # two workers importing litellm on a loaded machine
        while True:
            try:
                if httpx.get(url + "/raw-aiohttp", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn did not serve {url} (exit code {proc.poll()})")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


async def load(url: str, seconds: float, clients: int) -> tuple[float, int]:
    """``clients`` concurrent clients, each sending its next request when the last returns."""
    connector = aiohttp.TCPConnector(limit=clients)
    done = errors = 0
    async with aiohttp.ClientSession(connector=connector) as session:
        end = time.perf_counter() + seconds

        async def client() -> None:
            nonlocal done, errors
            while time.perf_counter() < end:
                async with session.get(url) as answer:
                    await answer.read()
                    if answer.status == 200:
                        done += 1
                    else:
                        errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        elapsed = time.perf_counter() - started
    return done / elapsed, errors


def throughput(seconds: float, rounds: int) -> dict[str, list[float]]:
    paths = {"app -> ours (native)": "/ours", "app -> raw aiohttp": "/raw-aiohttp"}
    paths["app -> raw httpx"] = "/raw-httpx"
    rates: dict[str, list[float]] = {name: [] for name in paths}
    with upstream(0.05) as base, served(base, free_port()) as url:
        for path in paths.values():  # warm each worker's clients
            asyncio.run(load(url + path, 1.0, 64))
        for _ in range(rounds):
            for name, path in paths.items():
                rate, errors = asyncio.run(load(url + path, seconds, 64))
                if errors:
                    print(f"    {name}: {errors} non-200 answers")
                rates[name].append(rate)
    return rates


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=150)
    parser.add_argument("--per-round", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=6.0, help="per uvicorn round")
    parser.add_argument("--uvicorn-rounds", type=int, default=3)
    parser.add_argument("--no-uvicorn", action="store_true")
    args = parser.parse_args(argv)
    litellm_module().encoding.encode("warm up")
    print("transport.py: one call per variant, interleaved, against one fake provider process")
    print(machine())
    with upstream(0.0) as base:
        stats, cpu = asyncio.run(per_call(base, args.rounds, args.per_round))
    print("\n  per call, sequential, async (ms); CPU: process CPU time per call (µs, median of")
    print("  rounds), the call plus the background work it left, e.g. litellm's logging")
    rows = table(stats, "raw httpx POST", unit="ms")
    print("    " + rows[0].replace("+p50 vs raw httpx POST", "+p50 vs raw httpx") + "   CPU µs")
    for name, line in zip(stats, rows[1:], strict=True):
        print(f"    {line}{cpu[name]:9.0f}")
    raw, native = stats["raw httpx POST"].p50, stats["ours, transport=native"].p50
    lines = [
        f"native adds {native - raw:+.3f} ms p50 over raw httpx (target <= +0.5); "
        f"CPU per call {cpu['ours, transport=native'] - cpu['raw httpx POST']:+.0f} µs "
        f"(vs raw aiohttp {cpu['ours, transport=native'] - cpu['raw aiohttp POST']:+.0f} µs)",
        f"ours through litellm adds "
        f"{stats['ours, transport=litellm'].p50 - stats['litellm.acompletion'].p50:+.3f} ms p50 "
        "over litellm.acompletion (target <= +0.3); CPU per call "
        f"{cpu['ours, transport=litellm'] - cpu['litellm.acompletion']:+.0f} µs",
    ]
    if "TensorZero embedded" in stats:
        ratio = native / stats["TensorZero embedded"].p50
        cpu_ratio = cpu["ours, transport=native"] / cpu["TensorZero embedded"]
        lines.append(
            f"native / TensorZero embedded p50 = {ratio:.2f}x (target <= 1.5x); "
            f"CPU per call {cpu_ratio:.2f}x"
        )
    if not args.no_uvicorn:
        print(f"\n  uvicorn, 2 workers, 64 concurrent clients, 50 ms upstream ({machine()})")
        rates = throughput(args.seconds, args.uvicorn_rounds)
        for name, values in rates.items():
            shown = ", ".join(f"{v:.0f}" for v in values)
            print(f"    {name:24} median {sorted(values)[len(values) // 2]:7.0f} req/s  ({shown})")
        ours = sorted(rates["app -> ours (native)"])[len(rates["app -> ours (native)"]) // 2]
        for raw_name in ("app -> raw aiohttp", "app -> raw httpx"):
            other = sorted(rates[raw_name])[len(rates[raw_name]) // 2]
            lines.append(f"uvicorn: ours / {raw_name[7:]} = {ours / other:.2f} (target >= 0.9)")
    print("\n== summary")
    for line in lines:
        print("  " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main())

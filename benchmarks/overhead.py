"""Added overhead of `RequestLLM.acomplete()` / `.complete()` over a raw `litellm.acompletion` /
`litellm.completion` and over `litellm.Router.acompletion` (one deployment, num_retries=0), all
against the same local fake provider (latency 0), in interleaved rounds, measured in one run.

    python benchmarks/overhead.py [--rounds 200] [--per-round 2] [--profile]

Each comparison runs twice: with no tracer provider (the OpenTelemetry API's no-op default) and
with an SDK TracerProvider + BatchSpanProcessor whose exporter drops everything (spans are built
and queued, as in production, but not sent). A third measurement stubs litellm out
(`litellm.acompletion` returns a canned reply) so what remains is our own code per call, free
of the HTTP round trip's noise. Targets (issue 2): ours <= 50 µs p50 added; litellm's Router
adds about 950 µs on these machines. Issue 12's for our code alone: <= 50 µs p50 with no tracer
provider, <= 150 µs with the SDK tracer and the dropping exporter.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import math
import pstats
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import Stats, ainterleave, interleave, machine, setup_env, table

setup_env()

from opentelemetry import trace  # noqa: E402
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult  # noqa: E402

from llm_router_middleware import RequestContext, RequestLLM, Router  # noqa: E402
from llm_router_middleware.client import litellm_module  # noqa: E402
from llm_router_middleware.testing import FakeProvider  # noqa: E402

TARGET_US = 50.0
SDK_TARGET_US = 150.0  # our code alone with the SDK tracer and a dropping exporter (issue 12)
MESSAGES = [{"role": "user", "content": "Hi! What is the capital of France?"}]
CONTEXT = RequestContext(user_id="u1", tier="pro")
ANY_TIER = RequestContext(user_id="u1")  # the minimal config has only the default tier
KEY = "sk-bench-not-a-real-key"

AsyncFn = Callable[[], Awaitable[object]]


class DroppingExporter(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None


def model(name: str, base: str, quality: float, price: float) -> dict[str, Any]:
    return {
        "name": name,
        # A model litellm knows, so its own cost lookup takes the short path; the fake
        # provider answers for any name.
        "model": "openai/gpt-4o-mini",
        "api_base": base,
        "api_key": KEY,
        "input_cost_per_1m": price,
        "output_cost_per_1m": 4 * price,
        "quality": quality,
        "context_window": 16000,
        "timeout_s": 30,
        "transport": "litellm",  # this benchmark compares with litellm; see transport.py for native
    }


def full_config(base: str) -> dict[str, Any]:
    """The demo's shape: 3 models, complexity routing, tiers, budgets, breakers."""
    return {
        "models": [
            model("cheap", base, 0.4, 1.0),
            model("balanced", base, 0.7, 3.0),
            model("premium", base, 0.95, 15.0),
        ],
        "routing": {"strategy": "complexity", "fallbacks": ["premium", "balanced", "cheap"]},
        "tiers": {"pro": {"models": ["premium", "balanced", "cheap"]}},
        "budgets": {"per_user_usd": 1e6, "per_tier_usd": {"pro": 1e6}, "global_usd": 1e6},
    }


def minimal_config(base: str) -> dict[str, Any]:
    """One model, fixed strategy, no budgets: the least the router can do."""
    return {"models": [model("cheap", base, 0.4, 1.0)], "routing": {"strategy": "fixed"}}


def direct_kwargs(base: str) -> dict[str, Any]:
    """What Execution passes to litellm for the model `cheap`, so the baselines do the same."""
    return {
        "model": "openai/gpt-4o-mini",
        "messages": MESSAGES,
        "api_base": base,
        "api_key": KEY,
        "timeout": 30.0,
        "max_retries": 0,
        "num_retries": 0,
    }


def litellm_router(base: str) -> Any:
    litellm = litellm_module()
    deployment = {
        "model_name": "cheap",
        "litellm_params": {
            "model": "openai/gpt-4o-mini",
            "api_base": base,
            "api_key": KEY,
            "timeout": 30.0,
            "max_retries": 0,
        },
    }
    return litellm.Router(model_list=[deployment], num_retries=0)


def report(title: str, samples: dict[str, list[float]], baseline: str) -> dict[str, Stats]:
    stats = {name: Stats.of(values) for name, values in samples.items()}
    print(f"\n  {title}")
    for line in table(stats, baseline):
        print("    " + line)
    return stats


def summary(stats: dict[str, Stats], ours: str, raw: str, peer: str | None) -> str:
    added = stats[ours].p50 - stats[raw].p50
    text = f"ours adds {added:+.1f} µs p50 over {raw} (target <= {TARGET_US:.0f})"
    if peer is not None:
        peer_added = stats[peer].p50 - stats[raw].p50
        ratio = peer_added / added if added > 0 else float("inf")
        text += f"; {peer} adds {peer_added:+.1f} µs ({ratio:.1f}x ours)"
    return text


async def over_http(base: str, rounds: int, per_round: int) -> list[str]:
    litellm = litellm_module()
    kwargs = direct_kwargs(base)
    full, minimal = Router.from_config(full_config(base)), Router.from_config(minimal_config(base))
    peer = litellm_router(base)

    async def raw() -> object:
        return await litellm.acompletion(**kwargs)

    async def via_router() -> object:
        return await peer.acompletion(model="cheap", messages=MESSAGES)

    async def ours_full() -> object:
        return await RequestLLM(full, context=CONTEXT).acomplete(MESSAGES)

    async def ours_minimal() -> object:
        return await RequestLLM(minimal, context=ANY_TIER).acomplete(MESSAGES)

    variants: dict[str, AsyncFn] = {
        "litellm.acompletion": raw,
        "litellm.Router.acompletion": via_router,
        "ours acomplete (3 models)": ours_full,
        "ours acomplete (1 model)": ours_minimal,
    }
    samples = await ainterleave(variants, rounds, per_round, warmup=30)
    stats = report("async, over HTTP to the fake provider", samples, "litellm.acompletion")
    lines = [
        "async 3 models: "
        + summary(
            stats, "ours acomplete (3 models)", "litellm.acompletion", "litellm.Router.acompletion"
        ),
        "async 1 model:  "
        + summary(stats, "ours acomplete (1 model)", "litellm.acompletion", None),
    ]

    def raw_sync() -> object:
        return litellm.completion(**kwargs)

    def ours_sync() -> object:
        return RequestLLM(full, context=CONTEXT).complete(MESSAGES)

    sync_variants = {"litellm.completion": raw_sync, "ours complete (3 models)": ours_sync}
    # Sync calls block the loop: run them in a worker thread, as a sync view would be.
    sync_samples = await asyncio.to_thread(
        interleave, sync_variants, max(4, rounds // 2), per_round, 20
    )
    sync_stats = report("sync, over HTTP to the fake provider", sync_samples, "litellm.completion")
    lines.append(
        "sync 3 models:  "
        + summary(sync_stats, "ours complete (3 models)", "litellm.completion", None)
    )
    return lines


async def stubbed(base: str, rounds: int, per_round: int, target: float) -> tuple[list[str], float]:
    """Our own code per call: litellm.(a)completion replaced by a stub returning a real reply."""
    litellm = litellm_module()
    kwargs = direct_kwargs(base)
    reply = await litellm.acompletion(**kwargs)
    full = Router.from_config(full_config(base))
    real_async, real_sync = litellm.acompletion, litellm.completion

    async def stub_async(**_: Any) -> Any:
        return reply

    def stub_sync(**_: Any) -> Any:
        return reply

    litellm.acompletion, litellm.completion = stub_async, stub_sync
    try:

        async def direct() -> object:
            return await litellm.acompletion(**kwargs)

        async def ours() -> object:
            return await RequestLLM(full, context=CONTEXT).acomplete(MESSAGES)

        def direct_sync() -> object:
            return litellm.completion(**kwargs)

        def ours_sync() -> object:
            return RequestLLM(full, context=CONTEXT).complete(MESSAGES)

        n, per_round = 100, 40  # cheap calls: longer rounds, same interleaving
        pairs = {"stub": direct, "ours acomplete": ours}
        samples = await ainterleave(pairs, n, per_round, 500)
        stats = report("async, litellm stubbed (our code alone), wall clock", samples, "stub")
        cpu = await ainterleave(pairs, n, per_round, 0, clock=time.thread_time_ns)
        cpu_stats = report("async, litellm stubbed, CPU time of this thread", cpu, "stub")
        sync_pairs = {"stub": direct_sync, "ours complete": ours_sync}
        sync_samples = interleave(sync_pairs, n, per_round, 500)
        sync_stats = report(
            "sync, litellm stubbed (our code alone), wall clock", sync_samples, "stub"
        )

        # breakdown (its own interleaved run, after the rows above): planning alone, the rest
        # of the call (execution, bookkeeping, the reply) is the difference
        async def planning() -> object:
            return await full.aprepare(MESSAGES, CONTEXT)

        parts = {"stub": direct, "planning (router.aprepare)": planning, "ours acomplete": ours}
        part_cpu = await ainterleave(parts, n, per_round, 0, clock=time.thread_time_ns)
        part_stats = report("breakdown, litellm stubbed, CPU time of this thread", part_cpu, "stub")
    finally:
        litellm.acompletion, litellm.completion = real_async, real_sync
    added = stats["ours acomplete"].p50 - stats["stub"].p50
    cpu_added = cpu_stats["ours acomplete"].p50 - cpu_stats["stub"].p50
    sync_added = sync_stats["ours complete"].p50 - sync_stats["stub"].p50
    lines = [
        f"our code alone: acomplete {added:.1f} µs p50 wall ({cpu_added:.1f} µs CPU), "
        f"complete {sync_added:.1f} µs p50 wall (target <= {target:.0f})",
        f"breakdown (CPU p50): planning {part_stats['planning (router.aprepare)'].p50:.1f} µs, "
        f"the whole call {part_stats['ours acomplete'].p50:.1f} µs",
    ]
    return lines, min(added, cpu_added)


def profile(base: str, calls: int = 3000) -> None:
    """cProfile of `acomplete` with litellm stubbed: where our per-call time goes."""
    litellm = litellm_module()
    full = Router.from_config(full_config(base))
    kwargs = direct_kwargs(base)
    loop = asyncio.new_event_loop()
    reply = loop.run_until_complete(litellm.acompletion(**kwargs))
    real = litellm.acompletion

    async def stub(**_: Any) -> Any:
        return reply

    async def run() -> None:
        for _ in range(calls):
            await RequestLLM(full, context=CONTEXT).acomplete(MESSAGES)

    litellm.acompletion = stub
    profiler = cProfile.Profile()
    try:
        loop.run_until_complete(run())  # warm
        profiler.enable()
        loop.run_until_complete(run())
        profiler.disable()
    finally:
        litellm.acompletion = real
        loop.close()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(18)
    print(f"\n  cProfile, {calls} stubbed acomplete calls, top functions by own time:")
    lines = out.getvalue().splitlines()
    start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
    for line in lines[start:]:
        if line.strip():
            print("    " + line.replace(str(Path(sys.prefix)), "<venv>").rstrip()[:150])


async def phase(
    name: str, base: str, rounds: int, per_round: int, target: float
) -> tuple[list[str], float]:
    """The rows of one tracer setting, and how far our code alone is over ``target`` (µs)."""
    print(f"\n== {name}")
    lines = await over_http(base, rounds, per_round)
    stub_lines, added = await stubbed(base, rounds, per_round, target)
    return [*lines, *stub_lines], added - target


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--per-round", type=int, default=2)
    parser.add_argument("--profile", action="store_true", help="always print the cProfile")
    args = parser.parse_args(argv)
    litellm = litellm_module()
    litellm.encoding.encode("warm up")
    print("overhead.py: acomplete()/complete() vs litellm, fake provider on 127.0.0.1")
    print(machine())
    results: dict[str, list[str]] = {}
    worst = -math.inf  # the most our code alone is over its target, in µs
    with FakeProvider() as provider:
        base = provider.base_url
        results["no tracer provider"], added = asyncio.run(
            phase(
                "no tracer provider (OpenTelemetry API no-op)",
                base,
                args.rounds,
                args.per_round,
                TARGET_US,
            )
        )
        worst = max(worst, added)
        sdk = TracerProvider()
        sdk.add_span_processor(BatchSpanProcessor(DroppingExporter()))
        trace.set_tracer_provider(sdk)
        results["SDK tracer, dropping exporter"], added = asyncio.run(
            phase(
                "SDK TracerProvider + BatchSpanProcessor (exporter drops)",
                base,
                args.rounds,
                args.per_round,
                SDK_TARGET_US,
            )
        )
        worst = max(worst, added)
        if args.profile or worst > 0:
            profile(base)
        sdk.shutdown()
    print("\n== summary (p50 differences; HTTP figures carry the round trip's noise)")
    for name, lines in results.items():
        for line in lines:
            print(f"  [{name}] {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

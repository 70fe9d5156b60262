"""Instructions per call of our own code (litellm stubbed, as in ``overhead.py``'s "our code
alone" rows), counted by valgrind's callgrind: repeatable on a loaded machine, where the
wall-clock and CPU-time figures are not.

    python benchmarks/call_instructions.py [--calls 1000] [--variants acomplete,complete,...]

Needs valgrind and a C compiler with ``valgrind/callgrind.h`` (a tiny helper is compiled into a
temporary directory, so the script can switch callgrind's instrumentation on after imports and
warm-up, and count only the measured calls). Each variant runs in its own valgrind process:
the 3-model config of ``overhead.py`` (complexity routing, tiers, three budget ledgers,
breakers), ``litellm.acompletion``/``completion`` returning a reply it returned once for real,
and ``--calls`` calls after 300 warm ones. Figures are instructions per call, the loop's own
few instructions included; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _callgrind
from _common import machine, settle_heap, setup_env

setup_env()

VARIANTS = {
    "acomplete": "acomplete(), no tracer provider",
    "complete": "complete(), no tracer provider",
    "aprepare": "router.aprepare() alone (planning), no tracer provider",
    "acomplete-sdk": "acomplete(), SDK TracerProvider + BatchSpanProcessor (exporter drops)",
    "complete-sdk": "complete(), SDK TracerProvider + BatchSpanProcessor (exporter drops)",
}


def measure(variant: str, calls: int, helper: str) -> None:
    """Inside valgrind: warm up, then count ``calls`` calls of ``variant``."""
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from overhead import CONTEXT, MESSAGES, DroppingExporter, direct_kwargs, full_config

    from llm_router_middleware import RequestLLM, Router
    from llm_router_middleware.client import litellm_module
    from llm_router_middleware.testing import FakeProvider

    cg = ctypes.CDLL(helper)
    litellm = litellm_module()
    if variant.endswith("-sdk"):
        sdk = TracerProvider()
        sdk.add_span_processor(BatchSpanProcessor(DroppingExporter()))
        trace.set_tracer_provider(sdk)
    with FakeProvider() as provider:
        base = provider.base_url
        reply = litellm.completion(**direct_kwargs(base))
    router = Router.from_config(full_config(base))

    async def stub_async(**_: Any) -> Any:
        return reply

    def stub_sync(**_: Any) -> Any:
        return reply

    litellm.acompletion, litellm.completion = stub_async, stub_sync
    kind = variant.removesuffix("-sdk")

    async def run_async(n: int) -> None:
        if kind == "aprepare":
            for _ in range(n):
                await router.aprepare(MESSAGES, CONTEXT)
        else:
            for _ in range(n):
                await RequestLLM(router, context=CONTEXT).acomplete(MESSAGES)

    def run(n: int) -> None:
        if kind == "complete":
            for _ in range(n):
                RequestLLM(router, context=CONTEXT).complete(MESSAGES)
        else:
            loop.run_until_complete(run_async(n))

    loop = asyncio.new_event_loop()
    run(300)
    settle_heap()
    cg.cg_start()
    run(20)  # the instrumented code's first pass
    cg.cg_toggle()
    run(calls)
    cg.cg_toggle()
    cg.cg_stop()
    loop.close()


def count(variant: str, calls: int, helper: str, out_dir: str) -> int:
    out = Path(out_dir) / f"callgrind.{variant}.out"
    args = ["--inside", variant, "--calls", str(calls), "--helper", helper]
    found = re.search(r"Collected : (\d+)", _callgrind.run(__file__, args, out))
    if found is None:
        raise SystemExit(f"valgrind reported no count for {variant}")
    return int(found.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--inside", help=argparse.SUPPRESS)
    parser.add_argument("--helper", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        measure(args.inside, args.calls, args.helper)
        return 0
    print("call_instructions.py: our code per call, litellm stubbed, counted by callgrind")
    print(machine())
    with tempfile.TemporaryDirectory() as directory:
        helper = _callgrind.build_helper(directory)
        for variant in args.variants.split(","):
            total = count(variant, args.calls, helper, directory)
            print(f"  {VARIANTS[variant]:<75} {total / args.calls:>10,.0f} instructions per call")
    return 0


if __name__ == "__main__":
    sys.exit(main())

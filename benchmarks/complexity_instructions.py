"""Instructions per ``classify_complexity`` call, counted by valgrind's callgrind (repeatable on
a loaded machine, where wall-clock figures are not).

    python benchmarks/complexity_instructions.py [--calls 2000] [--cases plan149,short34,...]

Needs valgrind and a C compiler with ``valgrind/callgrind.h`` (see ``call_instructions.py``). One
valgrind process runs every case: ``--calls`` calls after 200 warm ones, counted alone and dumped
per case. Figures are instructions per call, the loop's own few instructions included; nothing
is asserted.
"""

from __future__ import annotations

import argparse
import ctypes
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _callgrind
from _common import machine, setup_env

setup_env()

PLAN_PROMPT = (  # plan_speed.py's PROMPT
    "Please analyze the trade-offs between a write-ahead log and shadow paging for an "
    "embedded database, and recommend one for a device with little flash."
)
SHORT = "Hi! What is the capital of France?"  # overhead.py's prompt
FILLER = (
    "We keep a small service that answers questions from the support team about orders, "
    "refunds and shipping times; the answers come from a handful of tables and some notes. "
)
USER_KEYWORDS = tuple(f"keyword{i}" for i in range(90)) + tuple(f"two words{i}" for i in range(10))


def prompt(n: int) -> str:
    text = PLAN_PROMPT + " " + FILLER * (n // len(FILLER) + 1)
    return text[:n]


def cases() -> dict[str, tuple[str, str]]:
    """name -> (prompt, spec name)"""
    return {
        "plan149": (PLAN_PROMPT, "defaults"),
        "short34": (SHORT, "defaults"),
        "nokw26": ("Tell me a joke about cats.", "defaults"),
        "accent40": ("Qu'est-ce qu'un café? Define it, please.", "defaults"),
        "len250": (prompt(250), "defaults"),
        "len1000": (prompt(1000), "defaults"),
        "plain120": (FILLER[:120], "defaults"),
        "plain250": ((FILLER * 2)[:250], "defaults"),
        **{f"kw{n}": (prompt(n), "defaults") for n in (40, 60, 80, 100, 120)},
        **{f"plain{n}": ((FILLER * 2)[:n], "defaults") for n in (40, 60, 80, 100)},
        "user34": (SHORT, "user100"),
        "user149": (PLAN_PROMPT, "user100"),
        "user250": (prompt(250), "user100"),
    }


def specs() -> dict[str, Any]:
    from llm_router_middleware.config import load_config
    from llm_router_middleware.config.routing import DEFAULT_COMPLEX_KEYWORDS

    def spec(complexity: dict[str, Any]) -> Any:
        models = [
            {
                "name": "a",
                "model": "openai/a",
                "input_cost_per_1m": 1.0,
                "output_cost_per_1m": 1.0,
                "context_window": 16000,
            }
        ]
        routing = {"strategy": "complexity", "complexity": complexity}
        return load_config({"models": models, "routing": routing}).routing.complexity

    return {
        "defaults": spec({}),
        "user100": spec({"complex_keywords": [*DEFAULT_COMPLEX_KEYWORDS, *USER_KEYWORDS]}),
    }


def measure(names: list[str], calls: int, helper: str) -> None:
    """Inside valgrind: per case, warm up, then count ``calls`` calls."""
    from llm_router_middleware.routing import classify_complexity

    cg = ctypes.CDLL(helper)
    all_specs = specs()
    table = cases()
    cg.cg_start()
    for name in names:
        text, spec_name = table[name]
        spec = all_specs[spec_name]
        for _ in range(200):
            classify_complexity(text, spec)
        cg.cg_toggle()
        for _ in range(calls):
            classify_complexity(text, spec)
        cg.cg_toggle()
        cg.cg_dump(name.encode())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--cases", default=",".join(cases()))
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--helper", help=argparse.SUPPRESS)
    args = parser.parse_args()
    names = args.cases.split(",")
    if args.inside:
        measure(names, args.calls, args.helper)
        return 0
    print("complexity_instructions.py: classify_complexity per call, counted by callgrind")
    print(machine())
    inside = ["--inside", "--cases", args.cases, "--calls", str(args.calls)]
    totals = _callgrind.dumped(__file__, inside)
    table = cases()
    for name in names:
        text, spec_name = table[name]
        per_call = totals[name] / args.calls
        print(f"  {name:<10} {len(text):>5} chars, {spec_name:<9} {per_call:>9,.0f} per call")
    return 0


if __name__ == "__main__":
    sys.exit(main())

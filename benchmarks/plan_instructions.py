"""Instructions per ``make_plan`` for every row of ``plan_speed.py`` (the same configs and
inputs), counted by valgrind's callgrind: repeatable on a loaded machine, where the wall clock
of plan_speed.py is not. A ``classify_complexity`` row (the prompt of plan_speed.py) shows
what the complexity and semantic-miss rows spend classifying.

    python benchmarks/plan_instructions.py [--calls 2000] [--rows fixed,latency,...]

Needs valgrind and a C compiler with ``valgrind/callgrind.h`` (as call_instructions.py). One
valgrind process runs every row: each row warms up, then its ``--calls`` calls are counted
alone (statistics zeroed before, dumped after). Figures are instructions per call, the loop's
own few instructions included; nothing is asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import io
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _callgrind
from _common import machine, settle_heap, setup_env

setup_env()

CLASSIFY = "classify_complexity"


def rows() -> list[str]:
    from plan_speed import STRATEGIES

    return [*STRATEGIES, CLASSIFY]


def measure(labels: list[str], calls: int, helper: str) -> None:
    """Inside valgrind: for each row, warm up, then count ``calls`` calls in a dump of its own."""
    from plan_speed import PROMPT, config_dict, ours

    from llm_router_middleware.config import load_config
    from llm_router_middleware.routing import classify_complexity

    cg = ctypes.CDLL(helper)
    fns = {}
    with contextlib.redirect_stdout(io.StringIO()):  # ours() prints the plan
        for label in labels:
            if label == CLASSIFY:
                spec = load_config(config_dict("complexity")).routing.complexity
                fns[label] = lambda spec=spec: classify_complexity(PROMPT[:200], spec)
            else:
                fns[label] = ours(label)
    for fn in fns.values():
        for _ in range(300):
            fn()
    settle_heap()
    cg.cg_start()
    for label, fn in fns.items():
        for _ in range(20):  # the instrumented code's first pass
            fn()
        cg.cg_zero()
        cg.cg_toggle()
        for _ in range(calls):
            fn()
        cg.cg_toggle()
        cg.cg_dump(label.encode())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rows", default="")
    parser.add_argument("--inside", help=argparse.SUPPRESS)
    parser.add_argument("--helper", help=argparse.SUPPRESS)
    args = parser.parse_args()
    labels = args.rows.split(",") if args.rows else rows()
    if args.inside:
        measure(labels, args.calls, args.helper)
        return 0
    print("plan_instructions.py: instructions per make_plan (plan_speed.py rows), by callgrind")
    print(machine())
    inside = ["--inside", "x", "--rows", ",".join(labels), "--calls", str(args.calls)]
    totals = _callgrind.dumped(__file__, inside)  # one dump per row, named after it
    for label in labels:
        print(f"  {label:<24} {totals[label] / args.calls:>10,.0f} instructions per call")
    return 0


if __name__ == "__main__":
    sys.exit(main())

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
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, settle_heap, setup_env

setup_env()

HELPER_C = r"""
#include <valgrind/callgrind.h>
void cg_start(void) { CALLGRIND_START_INSTRUMENTATION; }
void cg_toggle(void) { CALLGRIND_TOGGLE_COLLECT; }
void cg_zero(void) { CALLGRIND_ZERO_STATS; }
void cg_dump(void) { CALLGRIND_DUMP_STATS; }
"""

CLASSIFY = "classify_complexity"


def rows() -> list[str]:
    from plan_speed import STRATEGIES

    return [*STRATEGIES, CLASSIFY]


def build_helper(directory: str) -> str:
    source = Path(directory) / "cgctl.c"
    library = Path(directory) / "cgctl.so"
    source.write_text(HELPER_C)
    subprocess.run(
        ["cc", "-O1", "-shared", "-fPIC", "-o", str(library), str(source)],
        check=True,
        capture_output=True,
    )
    return str(library)


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
    for fn in fns.values():
        for _ in range(20):  # the instrumented code's first pass
            fn()
        cg.cg_zero()
        cg.cg_toggle()
        for _ in range(calls):
            fn()
        cg.cg_toggle()
        cg.cg_dump()


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
    with tempfile.TemporaryDirectory() as directory:
        helper = build_helper(directory)
        out = Path(directory) / "callgrind.out"
        command = [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            "--collect-atstart=no",
            f"--callgrind-out-file={out}",
            sys.executable,
            str(Path(__file__).resolve()),
            "--inside",
            "x",
            "--rows",
            ",".join(labels),
            "--calls",
            str(args.calls),
            "--helper",
            helper,
        ]
        done = subprocess.run(command, capture_output=True, text=True, env=os.environ)
        if done.returncode != 0:
            sys.stderr.write(done.stderr[-3000:])
            raise SystemExit("valgrind failed")
        # one dump per row, in order: <out>.1, <out>.2, ...
        for i, label in enumerate(labels, 1):
            text = Path(f"{out}.{i}").read_text()
            found = re.search(r"^(?:summary|totals): (\d+)", text, re.MULTILINE)
            total = int(found.group(1)) if found else 0
            print(f"  {label:<24} {total / args.calls:>10,.0f} instructions per call")
    return 0


if __name__ == "__main__":
    sys.exit(main())

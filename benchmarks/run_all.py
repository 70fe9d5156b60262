"""`make bench`: every benchmark in its own interpreter, one after another, outputs in order.

    python benchmarks/run_all.py [--only overhead,asgi_throughput]

Figures are printed side by side, never asserted. Benchmarks that are not present are skipped.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = ("overhead", "asgi_throughput", "plan_speed", "semantic_speed", "hedging")
TIMEOUT_S = 600


def run(name: str) -> int:
    script = HERE / f"{name}.py"
    print(f"\n{'=' * 100}\n{name}.py\n{'=' * 100}", flush=True)
    if not script.exists():
        print("  (not present, skipped)")
        return 0
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "PYTHONUNBUFFERED": "1"}
    started = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, str(script)], cwd=HERE.parent, env=env, timeout=TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        print(f"  {name}.py did not finish in {TIMEOUT_S} s")
        return 1
    print(f"\n  ({name}.py: exit {done.returncode}, {time.perf_counter() - started:.1f} s)")
    return done.returncode


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated names, e.g. overhead")
    args = parser.parse_args(argv)
    names = [n for n in args.only.split(",") if n] or list(BENCHMARKS)
    failed = [name for name in names if run(name) != 0]
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

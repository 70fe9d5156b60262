"""Shared by the benchmarks: environment, interleaved rounds, percentiles, result tables.

Every variant of a comparison runs in the same process, in interleaved rounds (A B C A B C ...),
so machine drift (other processes, CPU frequency, GC) lands on all of them alike. Figures are
printed side by side; nothing is asserted.
"""

from __future__ import annotations

import gc
import os
import platform
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup_env() -> None:
    """Offline litellm price map (else `import litellm` waits for the network), repo on sys.path."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


def machine() -> str:
    return (
        f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs, "
        f"load average {', '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )


def percentile(samples: Sequence[float], q: float) -> float:
    """Nearest-rank percentile, ``q`` in [0, 100]."""
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


@dataclass(frozen=True, slots=True)
class Stats:
    n: int
    p50: float
    p90: float
    p99: float
    mean: float

    @classmethod
    def of(cls, samples: Sequence[float]) -> Stats:
        return cls(
            n=len(samples),
            p50=percentile(samples, 50),
            p90=percentile(samples, 90),
            p99=percentile(samples, 99),
            mean=sum(samples) / len(samples) if samples else float("nan"),
        )


def settle_heap() -> None:
    """Collect once and move every live object to the permanent generation: with litellm
    imported a full collection scans ~350k objects (0.4 s here), which would land on
    whichever sample happens to trigger it."""
    gc.collect()
    gc.freeze()


def interleave(
    variants: Mapping[str, Callable[[], object]],
    rounds: int,
    per_round: int,
    warmup: int = 0,
    clock: Callable[[], int] = time.perf_counter_ns,
) -> dict[str, list[float]]:
    """Time each call of each variant in µs: ``rounds`` rounds of ``per_round`` calls per
    variant, the variants taking turns (A B C A B C ...). ``clock`` may be
    ``time.thread_time_ns`` to count CPU time only (steadier on a busy machine)."""
    for fn in variants.values():
        for _ in range(warmup):
            fn()
    settle_heap()
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, fn in variants.items():
            out = samples[name]
            for _ in range(per_round):
                t0 = clock()
                fn()
                out.append((clock() - t0) / 1000)
    return samples


async def ainterleave(
    variants: Mapping[str, Callable[[], Awaitable[object]]],
    rounds: int,
    per_round: int,
    warmup: int = 0,
    clock: Callable[[], int] = time.perf_counter_ns,
) -> dict[str, list[float]]:
    """The async twin of ``interleave``: each sample is one awaited call, in µs."""
    for fn in variants.values():
        for _ in range(warmup):
            await fn()
    settle_heap()
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, fn in variants.items():
            out = samples[name]
            for _ in range(per_round):
                t0 = clock()
                await fn()
                out.append((clock() - t0) / 1000)
    return samples


def table(results: Mapping[str, Stats], baseline: str | None = None, unit: str = "µs") -> list[str]:
    """One line per variant: p50, p90, p99, and the p50 added over ``baseline``."""
    width = max(len(name) for name in results) + 2
    head = f"{'':{width}}{'n':>7} {'p50 ' + unit:>10} {'p90 ' + unit:>10} {'p99 ' + unit:>10}"
    lines = [head + (f" {'+p50 vs ' + baseline:>22}" if baseline else "")]
    base = results[baseline].p50 if baseline else 0.0
    for name, s in results.items():
        line = f"{name:{width}}{s.n:7d} {s.p50:10.1f} {s.p90:10.1f} {s.p99:10.1f}"
        if baseline:
            line += f" {'-' if name == baseline else f'{s.p50 - base:+.1f}':>22}"
        lines.append(line)
    return lines

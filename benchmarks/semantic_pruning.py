"""A bounded first pass for `max` decisions, measured against `RouteIndex.decide` (issue 10).

    python benchmarks/semantic_pruning.py [--data DIR] [--queries N] [--dims 64 96 128]

The idea tried: rotate the example rows into their principal axes (an orthonormal basis, so every
dot product is unchanged), score all rows on the leading `k` axes only, bound the rest by
Cauchy-Schwarz (|q_tail . e_tail| <= |q_tail| |e_tail|, with a slack far above float32
rounding), keep the rows whose upper bound reaches the second-best route's best lower bound
(only they can be the nearest row or the runner-up) and score those exactly. It is exact by
construction; this script checks it against `decide` on every query (same nearest route and
runner-up, scores within 1e-6) and times both, taking turns in blocks, at 100 routes x 10
Banking77 examples. It does not pay on these machines (see docs/semantic.md): the rotation and
the prefix product cost a third of the full product, and the dozen numpy calls around them cost
more than the product they save. Kept so the figures can be re-measured; nothing in the library
uses it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
import numpy.typing as npt
from semantic_speed import DATA, _rows, build_routes

from llm_router_middleware.semantic import LocalMiniLMEncoder, RouteIndex

Vector = npt.NDArray[np.float32]


class PrefixBound:
    """Nearest row and runner-up (best row outside the nearest route) by a bounded first pass."""

    def __init__(self, index: RouteIndex, dims: int) -> None:
        rows = index.matrix.astype(np.float64)
        eigenvalues, vectors = np.linalg.eigh(rows.T @ rows)
        basis = vectors[:, np.argsort(eigenvalues)[::-1][:dims]]
        prefix = rows @ basis
        tail2 = (rows**2).sum(axis=1) - (prefix**2).sum(axis=1)
        self.basis = np.ascontiguousarray(basis.T, dtype=np.float32)
        self.prefix = np.asfortranarray(prefix, dtype=np.float32)
        # rounded up: a bound, not an estimate
        self.tail = (np.sqrt(np.maximum(tail2, 0.0)) * (1 + 1e-6) + 1e-7).astype(np.float32)
        self.matrix = index.matrix
        self.route_of = [int(r) for r in index.route_of_example]
        self.route_arr = index.route_of_example
        self.starts = [int(o) for o in index.offsets]
        self.ends = [*self.starts[1:], len(self.route_of)]
        self.candidates: list[int] = []

    def decide(self, q: Vector) -> tuple[int, float, int, float]:
        """(nearest route, its score, runner-up route, its score)."""
        qk = self.basis @ q
        qq = float(np.dot(q, q))
        # |q_tail|^2 = |q|^2 - |q_k|^2, padded against the rounding of q_k; the slack on the
        # comparison (2e-3 |q|) is ~10x the worst-case float32 error of the prefix product
        tq = np.float32((max(qq - float(np.dot(qk, qk)), 0.0) + 1e-3 * qq) ** 0.5)
        scores = self.prefix @ qk
        width = self.tail * tq
        lower = scores - width
        route = self.route_of[int(lower.argmax())]
        lower[self.starts[route] : self.ends[route]] = -np.inf
        floor = lower.max() - 2e-3 * qq**0.5  # second-best route's best lower bound
        scores += width  # upper bounds
        rows = np.flatnonzero(scores >= floor)
        self.candidates.append(len(rows))
        sims = self.matrix[rows] @ q
        best = int(sims.argmax())
        nearest, top = self.route_of[rows.item(best)], sims.item(best)
        sims[self.route_arr[rows] == nearest] = -np.inf
        second = int(sims.argmax())
        return nearest, top, self.route_of[rows.item(second)], sims.item(second)


def turns(
    calls: dict[str, Callable[[int], object]], rounds: int, block: int = 500
) -> dict[str, tuple[float, float]]:
    """Wall and calling-thread CPU p50 per call in µs, the calls taking turns in blocks."""
    wall: dict[str, list[int]] = {k: [] for k in calls}
    cpu: dict[str, list[int]] = {k: [] for k in calls}
    for start in range(0, rounds, block):
        for label, call in calls.items():
            call(start)
            for i in range(start, start + block):
                t0, c0 = time.perf_counter_ns(), time.thread_time_ns()
                call(i)
                cpu[label].append(time.thread_time_ns() - c0)
                wall[label].append(time.perf_counter_ns() - t0)
    return {k: (float(np.median(wall[k])) / 1000, float(np.median(cpu[k])) / 1000) for k in calls}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--dims", type=int, nargs="+", default=[64, 96, 128])
    args = parser.parse_args()
    routes = build_routes(args.data)
    queries = [t for t, _ in _rows(args.data / "test.csv")][::7][: args.queries]
    encoder = LocalMiniLMEncoder()
    index = RouteIndex.build(list(routes.items()), encoder, [0.6] * len(routes))
    vectors = encoder.encode(queries).vectors
    n = len(vectors)
    variants = {k: PrefixBound(index, k) for k in args.dims}
    for k, variant in variants.items():
        for q in vectors:
            d = index.decide(q)
            near, top, second, runner = variant.decide(q)
            assert d.nearest == index.names[near], k
            assert d.runner_up == index.names[second], k
            assert d.runner_up_score is not None
            assert abs(d.score - top) < 1e-6, k
            assert abs(d.runner_up_score - runner) < 1e-6, k
        variant.candidates.clear()
    load = os.getloadavg()[0]
    calls: dict[str, Callable[[int], object]] = {"decide": lambda i: index.decide(vectors[i % n])}
    for k, variant in variants.items():
        calls[f"first pass on {k} axes"] = lambda i, v=variant: v.decide(vectors[i % n])
    timed = turns(calls, rounds=6000)
    print(f"{len(routes)} routes x 10 examples, {n} Banking77 test queries, all exact vs decide")
    for label, (wall, cpu) in timed.items():
        extra = ""
        k = int(label.split()[3]) if label != "decide" else 0
        if k:
            c = variants[k].candidates
            extra = f"; rows scored exactly p50 {np.median(c):.0f}, p90 {np.percentile(c, 90):.0f}"
        print(f"  {label:24} p50 wall {wall:6.1f} µs, CPU {cpu:6.1f} µs{extra}")
    print(f"load average (1 min) {load:.1f} / {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()

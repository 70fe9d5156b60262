"""Semantic routing accuracy and latency: our router beside aurelio semantic-router 1.1.x.

    python benchmarks/semantic_eval.py FILE [--threshold T | --calibrate] [--aggregation max|mean]

FILE is JSONL, one {"route": "<name>" | null, "text": "...", "split": "examples" | "test"} per
line (null = out of scope). Routes are built from the "examples" lines only; examples with a
null route never become routes. With no flags the threshold is the router's default, "auto":
chosen at startup from the route examples and the shipped background prompts (auto_threshold.py),
never from the test lines nor from labelled negatives. `--threshold T` fixes it; `--calibrate`
chooses thresholds with calibrate.py on the examples split, null-route examples as negatives.
Both routers use the same encoder (the local int8 MiniLM), the same examples and the same
thresholds.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from llm_router_middleware.semantic import (
    Encoder,
    LocalMiniLMEncoder,
    RouteIndex,
    auto_threshold,
    background_vectors,
    calibrate_embeddings,
)


@dataclass(frozen=True)
class Line:
    route: str | None
    text: str
    split: str


def read_lines(path: Path) -> list[Line]:
    lines: list[Line] = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not raw.strip():
            continue
        item = json.loads(raw)
        route, text, split = item.get("route"), item.get("text"), item.get("split")
        if split not in ("examples", "test") or not isinstance(text, str):
            raise SystemExit(f"{path}:{number}: need split examples|test and a text string")
        if route is not None and not isinstance(route, str):
            raise SystemExit(f"{path}:{number}: route must be a string or null")
        lines.append(Line(route, text, split))
    return lines


def route_examples(lines: Sequence[Line]) -> dict[str, list[str]]:
    routes: dict[str, list[str]] = {}
    for line in lines:
        if line.split == "examples" and line.route is not None:
            routes.setdefault(line.route, []).append(line.text)
    return routes


def aurelio_encoder(encoder: Encoder, lookup: dict[str, list[float]] | None = None) -> Any:
    """A semantic_router DenseEncoder over our encoder; with `lookup`, known texts skip it."""
    from semantic_router.encoders import DenseEncoder

    class Adapter(DenseEncoder):  # type: ignore[misc]
        name: str = encoder.name
        type: str = "llm-router-middleware"

        def __call__(self, docs: list[Any]) -> list[list[float]]:
            if lookup is not None:
                hits = [lookup.get(d) for d in docs]
                if all(h is not None for h in hits):
                    return hits  # type: ignore[return-value]
            vectors: list[list[float]] = encoder.encode([str(d) for d in docs]).vectors.tolist()
            return vectors

    return Adapter()


def aurelio_router(
    encoder: Encoder,
    routes: dict[str, list[str]],
    thresholds: dict[str, float],
    lookup: dict[str, list[float]] | None = None,
    aggregation: str = "mean",
) -> Any:
    from semantic_router import IndexedRouter, Route

    return IndexedRouter(
        encoder=aurelio_encoder(encoder, lookup),
        routes=[
            Route(name=n, utterances=u, confidence_threshold=thresholds[n])
            for n, u in routes.items()
        ],
        aggregation=aggregation,  # type: ignore[arg-type]
    )


def percentiles(samples_ns: Sequence[int]) -> tuple[float, float]:
    ordered = sorted(samples_ns)
    return ordered[len(ordered) // 2] / 1000, ordered[int(len(ordered) * 0.99)] / 1000


def time_calls(call: Callable[[int], object], n: int, warmup: int = 20) -> tuple[float, float]:
    for i in range(warmup):
        call(i)
    samples = []
    for i in range(n):
        start = time.perf_counter_ns()
        call(i)
        samples.append(time.perf_counter_ns() - start)
    return percentiles(samples)


@dataclass
class Row:
    name: str
    predictions: list[str | None]
    excluded: tuple[float, float]
    included: tuple[float, float]


def report(rows: Sequence[Row], truth: Sequence[str | None], routes: Sequence[str]) -> None:
    def acc(pred: Sequence[str | None], keep: Callable[[str | None], bool]) -> str:
        pairs = [(p, t) for p, t in zip(pred, truth, strict=True) if keep(t)]
        if not pairs:
            return "   n/a"
        return f"{sum(p == t for p, t in pairs) / len(pairs):6.3f}"

    width = max(24, *(len(r) + 2 for r in routes))
    header = f"{'':{width}}" + "".join(f"{r.name:>22}" for r in rows)
    print(header)
    print(
        f"{'overall accuracy':{width}}"
        + "".join(f"{acc(r.predictions, lambda t: True):>22}" for r in rows)
    )
    print(
        f"{'in-scope accuracy':{width}}"
        + "".join(f"{acc(r.predictions, lambda t: t is not None):>22}" for r in rows)
    )
    print(
        f"{'out-of-scope recall':{width}}"
        + "".join(f"{acc(r.predictions, lambda t: t is None):>22}" for r in rows)
    )
    for route in routes:
        print(
            f"  {route:{width - 2}}"
            + "".join(f"{acc(r.predictions, lambda t, n=route: t == n):>22}" for r in rows)
        )
    fmt = "{:.1f} / {:.1f}"
    print(
        f"{'decide excl. embed µs p50/p99':{width}}"
        + "".join(f"{fmt.format(*r.excluded):>22}" for r in rows)
    )
    print(
        f"{'decide incl. embed µs p50/p99':{width}}"
        + "".join(f"{fmt.format(*r.included):>22}" for r in rows)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path)
    parser.add_argument(
        "--threshold", type=float, default=None, help="one fixed threshold (default: auto)"
    )
    parser.add_argument(
        "--calibrate", action="store_true", help="thresholds from the examples split (calibrate.py)"
    )
    parser.add_argument(
        "--per-route", action="store_true", help="with --calibrate: refine each route's threshold"
    )
    parser.add_argument("--aggregation", choices=("max", "mean"), default="max")
    parser.add_argument("--timed", type=int, default=300, help="queries timed with the embedding")
    parser.add_argument("--no-aurelio", action="store_true")
    parser.add_argument(
        "--kernels",
        choices=("int8", "dequantized"),
        default="int8",
        help="local encoder: the default int8-kernel model or its dequantized source model",
    )
    args = parser.parse_args()

    lines = read_lines(args.file)
    routes = route_examples(lines)
    test = [x for x in lines if x.split == "test"]
    if not routes or not test:
        raise SystemExit("need examples lines with a route and test lines")
    encoder = LocalMiniLMEncoder(kernels=args.kernels)
    names = list(routes)
    if args.threshold is not None:
        thresholds = {n: args.threshold for n in names}
    elif not args.calibrate:
        matrix = encoder.encode([t for n in names for t in routes[n]]).vectors
        auto = auto_threshold(
            matrix,
            [len(routes[n]) for n in names],
            background_vectors(encoder),
            aggregation=args.aggregation,
        )
        thresholds = {n: auto.threshold for n in names}
        print(auto.summary())
    if args.calibrate:
        labelled = [
            x for x in lines if x.split == "examples" and (x.route is None or x.route in routes)
        ]
        vectors = encoder.encode([x.text for x in labelled]).vectors
        cal = calibrate_embeddings(
            vectors,
            [x.route for x in labelled],
            aggregation=args.aggregation,
            per_route=args.per_route,
        )
        thresholds = cal.thresholds
        print(cal.summary())
    print(
        f"{len(names)} routes, {sum(map(len, routes.values()))} examples, {len(test)} test lines "
        f"({sum(x.route is None for x in test)} out of scope); thresholds "
        + ", ".join(f"{n}={t:.3f}" for n, t in thresholds.items())
    )

    index = RouteIndex.build(
        list(routes.items()), encoder, [thresholds[n] for n in names], aggregation=args.aggregation
    )
    vectors = encoder.encode([x.text for x in test]).vectors
    truth = [x.route for x in test]
    ours_pred = [index.decide(v).route for v in vectors]
    n = len(test)
    timed = [x.text for x in test[: args.timed]]
    ours = Row(
        f"ours ({args.aggregation})",
        ours_pred,
        time_calls(lambda i: index.decide(vectors[i % n]), 5000),
        time_calls(
            lambda i: index.decide(encoder.encode([timed[i % len(timed)]]).vectors[0]), len(timed)
        ),
    )
    rows = [ours]
    if not args.no_aurelio:
        lookup = {x.text: v.tolist() for x, v in zip(test, vectors, strict=True)}
        for aggregation in ("mean", "max"):
            fast = aurelio_router(encoder, routes, thresholds, lookup, aggregation)
            pred = [getattr(fast(x.text), "name", None) for x in test]
            slow = aurelio_router(encoder, routes, thresholds, None, aggregation)
            rows.append(
                Row(
                    f"aurelio 1.1 ({aggregation})",
                    pred,
                    time_calls(lambda i, r=fast: r(test[i % n].text), 2000),
                    time_calls(lambda i, r=slow: r(timed[i % len(timed)]), len(timed)),
                )
            )
    report(rows, truth, names)
    ratio = rows[1].excluded[0] / ours.excluded[0] if len(rows) > 1 else float("nan")
    if len(rows) > 1:
        print(f"decision speed-up vs aurelio default, embedding excluded (p50): {ratio:.1f}x")


if __name__ == "__main__":
    main()

